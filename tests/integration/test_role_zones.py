# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A name in no configured zone is refused at the input check, before any order, naming the certificate and name.

With CNAME following (the default) where a TXT value goes is known only after DNS lookups; the role looks the
chains up with its input checks (certfleet.acme.challenge_zones), so a stray name no longer reaches the order step,
where it stopped every other certificate of the run. With letsencrypt_dns_keep_going the refused certificates are
left out, the others are issued, and the run still fails at the end naming them. The rig's zones hold a CNAME into
validation.test (served) and one to target.unmanaged.invalid (in no zone). The ACME directory is reached through
the fault proxy, which records every request, so "no order" is what the CA saw.
"""

from __future__ import annotations

import pytest
from playbook_runner import role_vars, run_renew, through
from test_role import assert_no_challenge_values, assert_verifies

pytestmark = pytest.mark.rig

ZONE_CHECK = "Refuse the certificates whose challenge names lie in no zone of the providers"
REPORT = "Write the run report and send the alerts"
FINAL_TASK = "Fail naming every certificate that was not issued"
STRAY = {"name": "zones-stray", "names": ["zones-stray.example.test", "www.elsewhere.test"]}
DANGLING = {"name": "zones-dangling", "names": ["dangling.example.test"]}


def error_blocks(run) -> list[str]:
    """Every ``[ERROR]`` block the run printed, each up to the next one."""
    output = run.stdout + "\n" + run.stderr
    return ["[ERROR]" + block for block in output.split("[ERROR]")[1:]]


def test_a_name_in_no_zone_stops_the_run_at_validation_with_one_error(rig, proxy, tmp_path):
    state = tmp_path / "state"
    good = {"name": "zones-good", "names": ["zones-good.example.test"]}
    run = run_renew(through(proxy, role_vars(rig, state, [good, STRAY, DANGLING])), tmp_path)
    assert run.rc != 0
    blocks = error_blocks(run)
    assert len(blocks) == 1, blocks
    for fragment in (
        "certificate 'zones-stray': field 'names' value 'www.elsewhere.test'",
        "_acme-challenge.www.elsewhere.test lies in no zone of the providers",
        "certificate 'zones-dangling': field 'names' value 'dangling.example.test'",
        "delegated by CNAME to target.unmanaged.invalid",
    ):
        assert fragment in blocks[0], blocks[0][:3000]
    assert "zones-good" not in blocks[0] and "zones-stray.example.test" not in blocks[0]
    assert [entry["name"] for entry in run.task_results(ZONE_CHECK)[0]["refused"]] == ["zones-stray", "zones-dangling"]
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
    assert proxy.seen("newOrder") == []
    assert not state.exists(), "the state directory was written before the names were refused"
    assert_no_challenge_values(rig, [good, STRAY, DANGLING])


def test_keep_going_issues_the_others_and_fails_naming_the_refused(rig, proxy, pebble_root_file, tmp_path):
    state = tmp_path / "state"
    kept = {"name": "zones-kept", "names": ["zones-kept.example.test"]}
    # Served by CNAME: _acme-challenge.delegated.example.test points into validation.test, a configured zone.
    delegated = {"name": "zones-delegated", "names": ["delegated.example.test"]}
    # A field the input check refuses (the variables' types and choices are run-level: they always stop the run).
    bad_field = {"name": "zones-badfield", "names": ["www.*.example.test"]}
    certificates = [kept, STRAY, delegated, bad_field, DANGLING]
    variables = through(proxy, role_vars(rig, state, certificates, letsencrypt_dns_keep_going=True))
    run = run_renew(variables, tmp_path)
    assert run.rc != 0, run.text()[-4000:]

    checked = run.task_results(ZONE_CHECK)[0]
    assert checked["delegations"] == {"_acme-challenge.delegated.example.test": "delegated.validation.test"}
    assert [entry["name"] for entry in checked["refused"]] == ["zones-stray", "zones-dangling"]
    for cert in (kept, delegated):
        assert_verifies(pebble_root_file, state / cert["name"])
    ordered = {name for seen in proxy.seen("newOrder") for name in seen.names or ()}
    assert ordered == {"zones-kept.example.test", "delegated.example.test"}
    for cert in (STRAY, bad_field, DANGLING):
        assert not (state / cert["name"]).exists()

    rows = {row["certificate"]: row for row in run.task_results(REPORT)[0]["report"]["certificates"]}
    for cert in (STRAY, bad_field, DANGLING):
        assert rows[cert["name"]]["action"] == "failed"
        assert rows[cert["name"]]["stage"] == "validation"
    assert "www.elsewhere.test" in rows["zones-stray"]["error"]
    assert "field 'names' value 'www.*.example.test' has a wildcard" in rows["zones-badfield"]["error"]

    blocks = error_blocks(run)
    assert len(blocks) == 1, blocks
    assert "3 certificate(s) not issued or not deployed" in blocks[0]
    for fragment in ("zones-stray (validation:", "zones-badfield (validation:", "zones-dangling (validation:"):
        assert fragment in blocks[0], blocks[0][:3000]
    assert "The run stopped" not in blocks[0]
    assert_no_challenge_values(rig, [kept, delegated])
