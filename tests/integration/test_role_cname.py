# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml with CNAME-delegated _acme-challenge names on the rig.

The rig's zones hold the delegations: _acme-challenge.delegated.example.test
points into validation.test, _acme-challenge.chained.example.test reaches it
through a hop in example2.test, and a loop and a dangling CNAME exist too.
"""

from __future__ import annotations

from playbook_runner import role_vars, run_renew, txt_values
from test_role import assert_names_empty, assert_no_challenge_values, assert_verifies

DELEGATED = [
    {"name": "delegated", "names": ["delegated.example.test"]},
    {"name": "chained", "names": ["chained.example.test"], "key_type": "rsa2048"},
]
TARGETS = {
    "_acme-challenge.delegated.example.test": "delegated.validation.test",
    "_acme-challenge.chained.example.test": "chained.validation.test",
}


def test_delegated_names_are_validated_at_the_end_of_the_cname_chain(rig, pebble_root_file, tmp_path):
    state = tmp_path / "state"
    run = run_renew(role_vars(rig, state, DELEGATED), tmp_path)
    assert run.rc == 0, run.text()[-4000:]

    ordered = run.task_results("Create one ACME order per due certificate")[0]
    assert ordered["delegations"] == TARGETS
    assert sorted(record["name"] for record in ordered["records"]) == sorted(TARGETS.values())
    published = run.task_results("Publish every TXT record of every order")[0]
    assert {item["name"] for item in published["records"]} == set(TARGETS.values())

    for cert in DELEGATED:
        assert_verifies(pebble_root_file, state / cert["name"])

    assert_names_empty(rig, TARGETS.values())
    assert_no_challenge_values(rig, DELEGATED)


def test_cname_loop_and_dangling_cname_fail_before_any_change(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [
        {"name": "fine", "names": ["fine.example.test"]},
        {"name": "looped", "names": ["loop.example.test"]},
        {"name": "dangling", "names": ["dangling.example.test"]},
    ]
    run = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert run.rc != 0
    # Refused by the input check (challenge_zones), before any order: the order task never runs.
    refused = run.task_results("Refuse the certificates whose challenge names lie in no zone of the providers")[0]
    assert [entry["name"] for entry in refused["refused"]] == ["looped", "dangling"]
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
    message = run.task_results("Fail naming every certificate that was not issued")[0]["msg"]
    assert "certificate 'looped'" in message and "CNAME loop" in message
    assert "certificate 'dangling'" in message and "target.unmanaged.invalid" in message
    assert "certificate 'fine'" not in message
    assert not state.exists(), "nothing may be written before the delegation problems are refused"


def test_delegated_values_are_removed_at_the_target(rig, tmp_path):
    """The clean-up works on the target names too: nothing stays in validation.test."""
    state = tmp_path / "state"
    certificates = [{"name": "again", "names": ["delegated.example.test"]}]
    run = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    assert txt_values(rig["primary"], "delegated.validation.test") == set()
