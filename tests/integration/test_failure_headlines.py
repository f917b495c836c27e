# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a person reads when a renew run fails: the headline names the certificate and the cause.

On ansible-core 2.21 a task whose ``failed_when`` evaluates to true gets the
headline "A 'failed_when' expression evaluated to 'True'", and the module's
message is only in the JSON below it. The role therefore never fails a task
through ``failed_when``; these runs check, on whatever ansible-core runs
them, that every ``[ERROR]`` and ``fatal:`` line of a failed renew run names
the certificate and the cause, and that ``failed_when`` appears nowhere:

* a propagation timeout (one secondary never gets the update);
* a rate limit on the new order (the CA's ``rateLimited`` with a Retry-After
  of an hour), which costs only that certificate;
* a rate limit on the account lookup, which stops the whole batch (one error: the report's last task).
"""

from __future__ import annotations

import re

import pytest
from playbook_runner import role_vars, run_renew, through
from test_role import assert_names_empty, assert_no_challenge_values, challenge_names

pytestmark = pytest.mark.rig

FINAL_TASK = "Fail naming every certificate that was not issued"


def headlines(run) -> list[str]:
    """The first line of every ``[ERROR]`` and ``fatal:`` message the run printed."""
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    found = [line for line in lines if line.startswith(("[ERROR]", "fatal:"))]
    assert found, "the failed run printed no headline:\n%s\n%s" % (run.stdout[-3000:], run.stderr[-3000:])
    return found


def assert_headlines_name(run, certificate: str, *causes: str) -> list[str]:
    """Every headline names ``certificate`` and each cause; no ``failed_when`` anywhere in the output."""
    found = headlines(run)
    for line in found:
        assert certificate in line, line
        for cause in causes:
            assert cause in line, line
    assert "failed_when" not in run.stdout + run.stderr
    return found


def test_a_propagation_timeout_is_headlined_with_the_certificate_and_the_server(rig, rig_module, tmp_path):
    cert = {"name": "headline-slow", "names": ["headline-slow.example3.test"]}
    stale = rig["secondaries"][1]
    variables = role_vars(rig, tmp_path / "state", [cert], letsencrypt_dns_propagation_timeout=5)
    rig_module.hold_notifies(rig["dir"], stale)
    try:
        run = run_renew(variables, tmp_path)
        assert_names_empty(rig, challenge_names([cert]), servers_of=lambda rig_, name_: [rig_["primary"]])
    finally:
        rig_module.release_notifies(rig["dir"])
    assert run.rc != 0
    found = assert_headlines_name(run, "headline-slow", "propagation: not on every authoritative nameserver")
    assert any(line.startswith("[ERROR]: Task failed: Action failed: 1 certificate(s) not issued") for line in found)
    # The table under the headline names the server that lacks the value.
    assert stale in run.task_results(FINAL_TASK)[0]["msg"]
    assert_no_challenge_values(rig, [cert])


def test_a_rate_limited_order_is_headlined_with_the_certificate_and_the_retry_time(rig, proxy, tmp_path):
    limited = {"name": "headline-limited", "names": ["headline-limited.example.test"]}
    variables = through(proxy, role_vars(rig, tmp_path / "state", [limited]))
    proxy.add_fault("newOrder", times=1000, retry_after=3600, names=limited["names"])
    run = run_renew(variables, tmp_path)
    assert run.rc != 0
    found = assert_headlines_name(run, "headline-limited", "(order: rate limited by the CA", "(rateLimited)")
    assert len([line for line in found if line.startswith("[ERROR]")]) == 1, found
    assert re.search(r"retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 3600 s\)", found[0]), found[0]


def test_a_rate_limited_account_lookup_stops_the_batch_naming_every_certificate(rig, proxy, tmp_path):
    certificates = [
        {"name": "headline-a", "names": ["headline-a.example.test"]},
        {"name": "headline-b", "names": ["headline-b.example2.test"]},
    ]
    variables = through(proxy, role_vars(rig, tmp_path / "state", certificates))
    proxy.add_fault("newAccount", times=1000, retry_after=3600)
    run = run_renew(variables, tmp_path)
    assert run.rc != 0
    cause = "cannot use the ACME account at %s: rateLimited" % proxy.directory_url
    found = assert_headlines_name(run, "2 certificate(s) (headline-a, headline-b) not ordered: " + cause)
    # The task that stopped the batch keeps its message without failing; the report's last task is the one error.
    assert len([line for line in found if line.startswith("[ERROR]")]) == 1, found
    stopped = run.task_results("Stop when no order could be created")
    assert stopped and not stopped[0].get("failed") and not stopped[0].get("skipped"), stopped
    assert run.task_results(FINAL_TASK)[0]["failed"]
    assert (
        "The run stopped: 2 certificate(s) (headline-a, headline-b) not ordered"
        in run.task_results(FINAL_TASK)[0]["msg"]
    )
    assert_no_challenge_values(rig, certificates)
