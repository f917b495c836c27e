# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Providers ``hook`` and ``manual`` through dns_txt_record, against the rig's BIND9 primary.

The hook is a dehydrated-style bash script, as sites already run with
dehydrated: it takes ``deploy_challenge``/``clean_challenge DOMAIN
TOKEN_FILENAME TOKEN_VALUE`` (several triples with HOOK_CHAIN=yes) and writes
``_acme-challenge.DOMAIN`` with ``nsupdate -k`` and a TSIG key file. It knows
nothing of this collection, which proves such hooks keep working unchanged.
"""

from __future__ import annotations

import json
import secrets
import stat
import subprocess

import pytest
from playbook_runner import label, run_adhoc, run_module, token, txt_values

pytestmark = pytest.mark.rig

HOOK_SCRIPT = r"""#!/usr/bin/env bash
# dehydrated hook: DNS-01 challenges through RFC 2136 updates (nsupdate -k).
set -euo pipefail

NSUPDATE_SERVER="__SERVER__"
NSUPDATE_KEY="__KEYFILE__"
HOOK_LOG="__LOG__"

nsupdate_challenges() {
    local action="${1}"; shift
    {
        echo "server ${NSUPDATE_SERVER}"
        # One triple per domain; HOOK_CHAIN=yes passes several.
        while [[ $# -ge 3 ]]; do
            local DOMAIN="${1}" TOKEN_FILENAME="${2}" TOKEN_VALUE="${3}"
            shift 3
            if [[ "${action}" == "add" ]]; then
                echo "update add _acme-challenge.${DOMAIN}. 60 IN TXT \"${TOKEN_VALUE}\""
            else
                echo "update delete _acme-challenge.${DOMAIN}. IN TXT \"${TOKEN_VALUE}\""
            fi
        done
        echo "send"
    } | nsupdate -v -t 10 -k "${NSUPDATE_KEY}"
}

deploy_challenge() {
    nsupdate_challenges add "$@"
}

clean_challenge() {
    nsupdate_challenges delete "$@"
}

HANDLER="${1}"; shift
echo "${HANDLER} $*" >> "${HOOK_LOG}"
if [[ "${HANDLER}" =~ ^(deploy_challenge|clean_challenge)$ ]]; then
    "${HANDLER}" "$@"
fi
"""

FAILING_HOOK = r"""#!/usr/bin/env bash
echo "this line is on stdout"
echo "dns api refused ${2} (token ${API_TOKEN})" >&2
exit 3
"""


def executable(path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def nsupdate_hook(rig, tmp_path):
    """A dehydrated hook for the rig's primary; returns (hook path, log of its calls)."""
    tsig = rig["tsig"]
    keyfile = tmp_path / "tsig.key"
    keyfile.write_text(
        'key "%s" {\n    algorithm %s;\n    secret "%s";\n};\n'
        % (tsig["key_name"], tsig["key_algorithm"], tsig["key_secret"])
    )
    keyfile.chmod(0o600)
    log = tmp_path / "hook.log"
    text = HOOK_SCRIPT.replace("__SERVER__", rig["primary"]).replace("__KEYFILE__", str(keyfile))
    hook = executable(tmp_path / "nsupdate-hook.sh", text.replace("__LOG__", str(log)))
    return hook, log


def hook_provider(rig, hook: str, **extra) -> dict:
    config = {"name": "dehydrated", "type": "hook", "zones": list(rig["zones"]), "hook": hook, "timeout": 60}
    config.update(extra)
    return config


def warnings_shown(output: str) -> str:
    """The warnings ansible printed, unwrapped (it wraps at the terminal width, also after hyphens)."""
    text = output.split("localhost | ")[0]
    return text.replace("-\n", "-").replace("\n", " ")


# --------------------------------------------------------------------------
# hook


def test_hook_adds_two_values_at_one_name_and_removes_one(rig, nsupdate_hook):
    hook, log = nsupdate_hook
    name = "_acme-challenge.%s.example.test" % label("h")
    wild, apex = token(), token()
    provider = hook_provider(rig, hook)

    added = run_module("dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [wild, apex]}]})
    assert added.get("changed") is True and not added.get("failed"), added
    assert added["records"][0]["added"] == [wild, apex] and added["records"][0]["before"] is None
    assert txt_values(rig["primary"], name) == {wild, apex}

    domain = name[len("_acme-challenge.") :]
    assert log.read_text().splitlines() == [
        "deploy_challenge %s %s %s" % (domain, wild, wild),
        "deploy_challenge %s %s %s" % (domain, apex, apex),
    ]

    removed = run_module(
        "dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [wild]}], "state": "absent"}
    )
    assert removed.get("changed") is True and not removed.get("failed"), removed
    assert removed["records"][0]["removed"] == [wild]
    assert txt_values(rig["primary"], name) == {apex}
    assert log.read_text().splitlines()[-1] == "clean_challenge %s %s %s" % (domain, wild, wild)

    run_module(
        "dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [apex]}], "state": "absent"}
    )
    assert txt_values(rig["primary"], name) == set()


def test_hook_chain_mode_passes_many_records_per_call(rig, nsupdate_hook):
    hook, log = nsupdate_hook
    apex_name = "_acme-challenge.%s.example2.test" % label("h")
    www_name = "_acme-challenge.www.%s" % apex_name[len("_acme-challenge.") :]
    other_zone = "_acme-challenge.%s.example3.test" % label("h")
    wild, apex, www, other = token(), token(), token(), token()
    records = [
        {"name": apex_name, "values": [wild, apex]},
        {"name": www_name, "values": [www]},
        {"name": other_zone, "values": [other]},
    ]
    provider = hook_provider(rig, hook, chain=True)

    added = run_module("dns_txt_record", {"provider": provider, "records": records})
    assert added.get("changed") is True and not added.get("failed"), added
    assert txt_values(rig["primary"], apex_name) == {wild, apex}
    assert txt_values(rig["primary"], www_name) == {www}
    assert txt_values(rig["primary"], other_zone) == {other}
    calls = sorted(log.read_text().splitlines())
    apex_domain, www_domain = apex_name[len("_acme-challenge.") :], www_name[len("_acme-challenge.") :]
    # example2.test: one call with both names, then the second value of the shared name on its own
    # (like dehydrated, never one DOMAIN twice in a call); example3.test: its own call.
    assert calls == sorted(
        [
            "deploy_challenge %s %s %s %s %s %s" % (apex_domain, wild, wild, www_domain, www, www),
            "deploy_challenge %s %s %s" % (apex_domain, apex, apex),
            "deploy_challenge %s %s %s" % (other_zone[len("_acme-challenge.") :], other, other),
        ]
    )

    removed = run_module("dns_txt_record", {"provider": provider, "records": records, "state": "absent"})
    assert removed.get("changed") is True and not removed.get("failed"), removed
    for record in records:
        assert txt_values(rig["primary"], record["name"]) == set()
    assert sum(line.startswith("clean_challenge") for line in log.read_text().splitlines()) == 3


def test_failing_hook_is_named_with_its_stderr_and_no_secret(rig, tmp_path):
    hook = executable(tmp_path / "failing-hook.sh", FAILING_HOOK)
    api_token = "tok-" + secrets.token_hex(16)
    name = "_acme-challenge.%s.example.test" % label("h")
    provider = hook_provider(rig, hook, environment={"API_TOKEN": api_token})

    result, output = run_adhoc(
        "dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [token()]}]}
    )
    assert result.get("failed") is True, result
    message = result["msg"]
    domain = name[len("_acme-challenge.") :]
    for part in (hook, "deploy_challenge", domain, "exited with code 3", "dns api refused %s" % domain):
        assert part in message, message
    assert result["records"][0]["error"] and result["records"][0]["added"] == []
    assert api_token not in json.dumps(result) + output
    assert txt_values(rig["primary"], name) == set()


# --------------------------------------------------------------------------
# manual


def test_manual_shows_records_writes_json_and_leaves_dns_alone(rig, nsupdate_hook, tmp_path):
    path = tmp_path / "manual" / "records.json"
    name = "_acme-challenge.%s.example.test" % label("h")
    value = token()
    provider = {"name": "ops", "type": "manual", "zones": list(rig["zones"]), "path": str(path)}

    result, output = run_adhoc("dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [value]}]})
    assert result.get("changed") is True and not result.get("failed"), result
    line = "provider 'ops': create in zone example.test: %s. 60 IN TXT \"%s\"" % (name, value)
    assert result["notices"][0] == line
    assert "[WARNING]: " + line in warnings_shown(output)
    assert json.loads(path.read_text()) == {
        "provider": "ops",
        "state": "present",
        "ttl": 60,
        "records": [{"name": name, "zone": "example.test", "values": [value]}],
    }
    assert txt_values(rig["primary"], name) == set()
    for secondary in rig["secondaries"]:
        assert txt_values(secondary, name) == set()

    # The "other automation" applies the file; dns_wait_propagated then sees the record everywhere.
    hook, _log = nsupdate_hook
    document = json.loads(path.read_text())
    for record in document["records"]:
        for item in record["values"]:
            domain = record["name"][len("_acme-challenge.") :]
            subprocess.run([hook, "deploy_challenge", domain, item, item], check=True, timeout=60)
    try:
        waited = run_module(
            "dns_wait_propagated",
            {
                "records": [{"name": name, "values": [value]}],
                "timeout": 60,
                "interval": 1,
                "resolvers": [rig["resolver"]],
            },
        )
        assert not waited.get("failed"), waited
    finally:
        subprocess.run([hook, "clean_challenge", name[len("_acme-challenge.") :], value, value], check=True, timeout=60)

    gone, output = run_adhoc(
        "dns_txt_record", {"provider": provider, "records": [{"name": name, "values": [value]}], "state": "absent"}
    )
    assert gone.get("changed") is True and not gone.get("failed"), gone
    line = "provider 'ops': delete from zone example.test: %s. IN TXT \"%s\"" % (name, value)
    assert gone["notices"][0] == line and "[WARNING]: " + line in warnings_shown(output)
    assert json.loads(path.read_text())["state"] == "absent"
