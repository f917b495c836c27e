# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 13, High and Low (provider API URLs): a secret under any option name stays out of all output and files.

Each attack is a role run at ``-vvv`` (every task's invocation and result
printed): a secret under a misspelt option or an unknown type is refused at the
input check, before any order, naming the provider and the option but never
the value; a valid run keeps the values of unusual options (a hook's
environment) out of the output too; an ``http://`` PowerDNS API URL is refused
unless its entry says ``allow_plain_http: true``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playbook_runner import label, role_vars, run_renew

pytestmark = pytest.mark.rig


def verbose_vars(rig: dict, state: Path, certificates: list[dict], providers: list[dict]) -> dict:
    """Role variables for the run; every task result then carries its invocation (ansible-core 2.21 asks for it)."""
    return role_vars(rig, state, certificates, letsencrypt_dns_providers=providers, ansible_inject_invocation=True)


def secret() -> str:
    return "S3CRET-" + secrets.token_urlsafe(18)


def files_holding(state: Path, value: str) -> list[str]:
    """The files under ``state`` whose bytes contain ``value``."""
    if not state.exists():
        return []
    return [str(path) for path in state.rglob("*") if path.is_file() and value.encode() in path.read_bytes()]


def assert_refused_before_any_order(run, state: Path, value: str, *expected: str) -> None:
    """The run failed at the input check with every ``expected`` text, and ``value`` is nowhere."""
    text = run.text()
    assert run.rc != 0
    for message in expected:
        assert message in text, text[-3000:]
    assert value not in text
    assert files_holding(state, value) == []
    assert not list(state.rglob("order.json")) and not list(state.rglob("cert.pem"))


def misspelt_api_key(rig: dict, value: str) -> tuple[dict, str]:
    entry = {key: item for key, item in rig["powerdns_provider"].items() if key != "api_key"}
    entry["apikey"] = value
    return entry, ("provider 'rig-pdns': field 'apikey' is not an option of type 'powerdns', did you mean 'api_key'?")


def misspelt_key_secret(rig: dict, value: str) -> tuple[dict, str]:
    entry = {key: item for key, item in rig["provider"].items() if key != "key_secret"}
    entry["key_secert"] = value
    return entry, "provider %r: field 'key_secert' is not an option of type 'rfc2136', did you mean 'key_secret'?" % (
        entry["name"]
    )


def unknown_type(rig: dict, value: str) -> tuple[dict, str]:
    entry = {"name": "b9", "type": "bind9", "zones": list(rig["zones"]), "tsig": value}
    return entry, "provider 'b9': field 'type' value 'bind9' is not a known provider type"


@pytest.mark.parametrize("make", [misspelt_api_key, misspelt_key_secret, unknown_type], ids=lambda make: make.__name__)
def test_secret_under_an_unknown_option_or_type_is_refused_unseen(rig, tmp_path, make):
    value = secret()
    entry, message = make(rig, value)
    state = tmp_path / "state"
    certificates = [{"name": "masked", "names": ["%s.%s" % (label("m"), entry["zones"][0])]}]
    run = run_renew(verbose_vars(rig, state, certificates, [entry]), tmp_path, "-vvv")
    assert_refused_before_any_order(run, state, value, message)


def test_plain_http_powerdns_api_is_refused_without_allow_plain_http(rig, tmp_path):
    entry = {key: item for key, item in rig["powerdns_provider"].items() if key != "allow_plain_http"}
    assert entry["api_url"].startswith("http://")
    state = tmp_path / "state"
    certificates = [{"name": "plain", "names": ["%s.pdns.test" % label("p")]}]
    run = run_renew(verbose_vars(rig, state, certificates, [entry]), tmp_path, "-vvv")
    assert_refused_before_any_order(
        run,
        state,
        entry["api_key"],
        "provider 'rig-pdns': field 'api_url' is a plain http:// URL: the API key or token would travel in clear "
        "text; use https://, or set allow_plain_http: true",
    )


def test_valid_run_at_vvv_shows_no_secret_of_any_option(rig, tmp_path):
    """PowerDNS over http with allow_plain_http, BIND with TSIG, and a hook whose environment holds secrets."""
    hook_secrets = [secret(), secret()]
    hook = {
        "name": "idle-hook",
        "type": "hook",
        "zones": ["idle-hook.invalid"],
        "hook": "/bin/true",
        "environment": {"DNS_API_TOKEN": hook_secrets[0], "HOOK_COLOUR": hook_secrets[1]},
    }
    pdns = dict(rig["powerdns_provider"], allow_plain_http=True)
    state = tmp_path / "state"
    certificates = [
        {"name": "masked-pdns", "names": ["%s.pdns.test" % label("v")]},
        {"name": "masked-bind", "names": ["%s.example3.test" % label("v")]},
    ]
    run = run_renew(verbose_vars(rig, state, certificates, [rig["provider"], pdns, hook]), tmp_path, "-vvv")
    assert run.rc == 0, run.text()[-4000:]
    for name in ("masked-pdns", "masked-bind"):
        assert (state / name / "cert.pem").exists()
    text = run.text()
    # The tasks that take the providers did show their invocation, with the public options in clear.
    published = run.task_results("Publish every TXT record of every order")[0]
    shown = published["invocation"]["module_args"]["providers"]
    assert [entry["name"] for entry in shown] == ["rig-bind", "rig-pdns", "idle-hook"]
    assert shown[2]["zones"] == ["idle-hook.invalid"] and shown[1]["api_url"] == pdns["api_url"]
    for value in hook_secrets + [pdns["api_key"], rig["provider"]["key_secret"]]:
        assert value not in text
        assert files_holding(state, value) == []
