# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--check`` asks the CA and every DNS provider, so a run that would fail fails in check mode too.

Check mode orders and publishes nothing, so an unreachable CA or a wrong
provider secret used to pass ``--check`` ("would issue", exit 0) and fail
the real run. The role now runs ``certfleet.acme.preflight`` in check mode
(also when nothing is due): the directory and the account at the CA, one
authenticated read at each provider. Each test here compares the check
run's message with the real run's: the cause is worded the same.
"""

from __future__ import annotations

import base64
import os
import re

import pytest
from playbook_runner import role_vars, run_renew
from test_role import assert_no_challenge_values

pytestmark = pytest.mark.rig

PREFLIGHT = "Check that the CA and every DNS provider answer (check mode)"
FINAL_TASK = "Fail naming every certificate that was not issued"
# A loopback port nothing listens on: the connection is refused at once.
CLOSED_DIRECTORY = "https://127.0.0.1:9/directory"


def preflight_result(run) -> dict:
    [result] = run.task_results(PREFLIGHT)
    return result


def without_addresses(text: str) -> str:
    """``text`` without the memory addresses Python puts in some exception texts (they differ between runs)."""
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def state_files(state) -> list[str]:
    return sorted(str(path.relative_to(state)) for path in state.rglob("*")) if state.exists() else []


@pytest.mark.parametrize("due", [True, False], ids=["one-due", "nothing-due"])
def test_check_against_an_unreachable_ca_fails_with_the_real_runs_message(rig, tmp_path, due):
    state = tmp_path / "state"
    certificates = [{"name": "probe-ca", "names": ["probe-ca.example.test"]}] if due else []
    variables = role_vars(rig, state, certificates, letsencrypt_dns_acme_directory=CLOSED_DIRECTORY)
    variables["letsencrypt_dns_allow_empty"] = not due

    checked = run_renew(variables, tmp_path, "--check")
    assert checked.rc != 0
    message = preflight_result(checked)["msg"]
    assert message.startswith("cannot use the ACME account at %s: " % CLOSED_DIRECTORY), message
    assert "Connection refused" in message, message
    headline = next(line for line in checked.stdout.splitlines() if line.startswith("fatal:"))
    assert CLOSED_DIRECTORY in headline and "Connection refused" in headline, headline
    stopped = "The run stopped: %s: %s" % (PREFLIGHT, message)
    assert checked.task_results(FINAL_TASK)[0]["msg"] == stopped
    assert state_files(state) == []

    if due:
        real = run_renew(variables, tmp_path)
        assert real.rc != 0
        # The stop is recorded, not raised: the final task says it, the one error of the run.
        expected = "The run stopped: 1 certificate(s) (probe-ca) not ordered: " + message
        assert without_addresses(real.task_results(FINAL_TASK)[0]["msg"]) == without_addresses(expected)
        assert real.stdout.count("[ERROR]") == 1, real.stdout[-4000:]


def test_check_with_a_wrong_tsig_secret_fails_with_the_real_runs_message(rig, tmp_path):
    state = tmp_path / "state"
    wrong_secret = base64.b64encode(os.urandom(32)).decode()
    working = dict(rig["provider"], zones=[zone for zone in rig["zones"] if zone != "example3.test"])
    broken = dict(rig["provider"], name="broken", zones=["example3.test"], key_secret=wrong_secret)
    certificates = [{"name": "probe-lost", "names": ["probe-lost.example3.test"]}]
    variables = role_vars(rig, state, certificates, letsencrypt_dns_providers=[working, broken])

    checked = run_renew(variables, tmp_path, "--check")
    assert checked.rc != 0
    result = preflight_result(checked)
    message = result["msg"]
    assert message.startswith("1 of 2 DNS provider(s) failed a read: provider 'broken' zone 'example3.test' "), message
    assert "TSIG rejected by the server" in message, message
    assert {entry["name"]: bool(entry["error"]) for entry in result["providers"]} == {
        working["name"]: False,
        "broken": True,
    }
    assert result["acme"]["account"] == "would_register"
    headline = next(line for line in checked.stdout.splitlines() if line.startswith("fatal:"))
    assert "broken" in headline and "TSIG rejected" in headline, headline
    assert wrong_secret not in checked.text() and rig["tsig"]["key_secret"] not in checked.text()
    assert state_files(state) == []

    real = run_renew(variables, tmp_path)
    assert real.rc != 0
    cause = re.search(r"read failed: TSIG rejected by the server: [^;)]*", message).group(0)
    assert "probe-lost (publish: provider 'broken'" in real.task_results(FINAL_TASK)[0]["msg"]
    assert cause in real.task_results(FINAL_TASK)[0]["msg"]
    assert_no_challenge_values(rig, certificates)


def test_check_with_a_wrong_powerdns_api_key_fails_naming_the_provider(rig, tmp_path):
    wrong_key = "wrong-" + base64.b16encode(os.urandom(8)).decode()
    broken = dict(rig["powerdns_provider"], api_key=wrong_key)
    variables = role_vars(rig, tmp_path / "state", [], letsencrypt_dns_providers=[rig["provider"], broken])
    variables["letsencrypt_dns_allow_empty"] = True

    checked = run_renew(variables, tmp_path, "--check")
    assert checked.rc != 0
    message = preflight_result(checked)["msg"]
    assert message.startswith("1 of 2 DNS provider(s) failed a read: provider 'rig-pdns' zone "), message
    assert "401" in message or "Unauthorized" in message, message
    assert wrong_key not in checked.text() and rig["powerdns_provider"]["api_key"] not in checked.text()


def test_check_on_a_healthy_rig_asks_everyone_and_changes_nothing(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": "probe-fine", "names": ["probe-fine.example.test"]}]
    providers = [rig["provider"], rig["powerdns_provider"]]
    variables = role_vars(rig, state, certificates, letsencrypt_dns_providers=providers)

    checked = run_renew(variables, tmp_path, "--check")
    assert checked.rc == 0, checked.text()[-4000:]
    result = preflight_result(checked)
    assert result["changed"] is False and not result.get("failed")
    assert result["acme"] == {"directory": rig["acme_directory"], "account": "would_register", "account_url": None}
    assert [(entry["name"], entry["read"], entry["error"]) for entry in result["providers"]] == [
        (rig["provider"]["name"], True, None),
        ("rig-pdns", True, None),
    ]
    assert state_files(state) == []
    assert checked.stats["changed"] == 1, "only the planned order reports a change"
    assert_no_challenge_values(rig, certificates)

    # Once the account exists, check mode finds it (read-only) and still writes nothing.
    issued = run_renew(variables, tmp_path)
    assert issued.rc == 0, issued.text()[-4000:]
    before = {path: (state / path).read_bytes() for path in state_files(state) if (state / path).is_file()}
    again = run_renew(variables, tmp_path, "--check")
    assert again.rc == 0, again.text()[-4000:]
    account = preflight_result(again)["acme"]
    assert account["account"] == "exists" and account["account_url"].startswith("https://")
    assert {path: (state / path).read_bytes() for path in state_files(state) if (state / path).is_file()} == before
    assert again.stats["changed"] == 0


def test_a_real_run_does_not_run_the_preflight(rig, tmp_path):
    variables = role_vars(rig, tmp_path / "state", [], letsencrypt_dns_allow_empty=True)
    run = run_renew(variables, tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    assert run.task_results(PREFLIGHT)[0].get("skipped") is True
