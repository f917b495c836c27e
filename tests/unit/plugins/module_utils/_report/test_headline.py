# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message that fails a run names each certificate, its stage and its cause, as the report table does."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.filter.run_report import FilterModule
from ansible_collections.certfleet.acme.plugins.module_utils._report.headline import failure_line, failure_message
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import format_error

UNAUTHORIZED = {
    "type": "urn:ietf:params:acme:error:unauthorized",
    "detail": "Correct value not found for DNS challenge",
    "identifier": {"type": "dns", "value": "v07.example.test"},
}


def test_an_acme_problem_names_the_refused_identifier():
    assert format_error(UNAUTHORIZED) == "v07.example.test: Correct value not found for DNS challenge (unauthorized)"


def test_subproblems_each_name_their_identifier():
    problem = {
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "2 authorizations failed",
        "subproblems": [UNAUTHORIZED, dict(UNAUTHORIZED, identifier={"type": "dns", "value": "v08.example.test"})],
    }
    assert format_error(problem) == (
        "2 authorizations failed (malformed): v07.example.test: Correct value not found for DNS challenge "
        "(unauthorized); v08.example.test: Correct value not found for DNS challenge (unauthorized)"
    )


def test_an_identifier_already_in_the_detail_is_not_repeated():
    problem = dict(UNAUTHORIZED, detail="No TXT record found at _acme-challenge.v07.example.test")
    assert format_error(problem) == "No TXT record found at _acme-challenge.v07.example.test (unauthorized)"


def test_a_deploy_failure_names_the_host_once():
    failure = {"name": "www", "stage": "deploy", "host": "web1", "error": "nginx -t failed: bad key"}
    assert failure_line(failure) == "www (deploy on web1: nginx -t failed: bad key)"
    failure["error"] = "nginx on web1: nginx -t failed: bad key"
    assert failure_line(failure) == "www (deploy: nginx on web1: nginx -t failed: bad key)"


def test_the_whole_message_sentence_by_sentence():
    failures = [
        {"name": "v07", "stage": "finalize", "error": UNAUTHORIZED},
        {"name": "lost", "stage": "publish", "error": "provider 'broken': TSIG rejected"},
    ]
    message = failure_message(
        failures,
        ["_acme-challenge.a.example.test at provider bind: timed out"],
        "/srv/state/.txt-journal.json",
        "Lock the state directory: held by run 42",
    )
    assert message == (
        "2 certificate(s) not issued or not deployed: v07 (finalize: v07.example.test: Correct value not found for "
        "DNS challenge (unauthorized)); lost (publish: provider 'broken': TSIG rejected). Clean-up could not confirm "
        "that these TXT values are gone; they stay listed in /srv/state/.txt-journal.json and the next run tries "
        "again to remove them: _acme-challenge.a.example.test at provider bind: timed out. The run stopped: Lock the "
        "state directory: held by run 42"
    )


def test_only_what_happened_is_said():
    assert failure_message([]) == ""
    assert failure_message(None, run_error="validate: bad input") == "The run stopped: validate: bad input"
    assert failure_message([{"name": "x", "stage": "order", "error": None}]) == (
        "1 certificate(s) not issued or not deployed: x (order: failed)."
    )


def test_the_role_reaches_it_as_a_filter():
    assert FilterModule().filters()["failure_message"] is failure_message


def test_the_journal_is_named_only_when_given():
    cleanup = ["_acme-challenge.a.example.test at provider bind: read failed: timed out"]
    listed = failure_message([], cleanup, "/srv/state/.txt-journal.json")
    assert listed == (
        "Clean-up could not confirm that these TXT values are gone; they stay listed in /srv/state/.txt-journal.json "
        "and the next run tries again to remove them: _acme-challenge.a.example.test at provider bind: read failed: "
        "timed out."
    )
    for missing in (None, ""):
        unlisted = failure_message([], cleanup, missing)
        assert unlisted == (
            "Clean-up could not confirm that these TXT values are gone, and they could not be listed for the next "
            "run; check the zones and remove them by hand where they exist: _acme-challenge.a.example.test at "
            "provider bind: read failed: timed out."
        )
        assert "journal" not in unlisted and "stay listed" not in unlisted
