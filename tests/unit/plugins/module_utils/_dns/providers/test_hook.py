# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hook provider: dehydrated's calling convention, chain mode, environment, failures and timeouts.

The hooks are small shell scripts written into tmp_path that log their
arguments and environment, so every call shape is checked against a real
process, without any DNS server.
"""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    ProviderConfigError,
    ProviderError,
    secret_strings,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.hook import (
    HookProvider,
    call_rounds,
    hook_domain,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    build_provider,
    secret_values,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import plan_changes, sync_records

SECRET = "hunter2-api-key-0123456789"
V1 = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
V2 = "gfj9Xq-DOnW-CNyk7bJ1xD7-dHhW9V3yHO1DGJEvWjI"

# Appends one JSON line per call: argv and the environment variables of interest.
LOGGING_HOOK = """#!/bin/sh
python3 - "$@" <<'EOF'
import json, os, sys
keys = ("API_KEY", "PLAIN", "CERTFLEET_ZONE", "CERTFLEET_TXT_NAMES", "CERTFLEET_TTL")
entry = {"argv": sys.argv[1:], "env": {k: os.environ[k] for k in keys if k in os.environ}, "path": bool(os.environ.get("PATH"))}
with open(os.environ["HOOK_LOG"], "a") as handle:
    handle.write(json.dumps(entry) + "\\n")
EOF
"""


def write_hook(tmp_path, body: str, name: str = "hook.sh") -> str:
    path = tmp_path / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def logging_hook(tmp_path):
    log = tmp_path / "calls.jsonl"
    hook = write_hook(tmp_path, LOGGING_HOOK)

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    return hook, str(log), calls


def entry(hook: str, **extra) -> dict:
    config = {"name": "dehydrated", "type": "hook", "zones": ["example.org", "example.net"], "hook": hook}
    config.update(extra)
    return config


@pytest.fixture
def factory(ansible_module):
    """build_provider as the modules call it: hooks run through a real AnsibleModule's run_command."""
    return lambda config: build_provider(config, run_command=ansible_module.run_command)


@pytest.fixture
def provider(factory):
    def build(hook: str, log: str | None = None, **extra) -> HookProvider:
        environment = dict(extra.pop("environment", {}))
        if log:
            environment["HOOK_LOG"] = log
        return factory(entry(hook, environment=environment, **extra))

    return build


# ------------------------------------------------------------------ helpers
def test_domain_is_the_name_without_the_challenge_label():
    assert hook_domain("_acme-challenge.www.example.org") == "www.example.org"
    assert hook_domain("_ACME-Challenge.Example.org.") == "example.org"
    # A CNAME-delegated target has no such label: passed as it is.
    assert hook_domain("www-example-org.acme.example.net") == "www-example-org.acme.example.net"
    assert hook_domain("_acme-challenge") == "_acme-challenge"


def test_rounds_never_hold_one_name_twice():
    rounds = call_rounds({"a": ["1", "2"], "b": ["3"], "c": ["4", "5", "6"]})
    assert rounds == [[("a", "1"), ("b", "3"), ("c", "4")], [("a", "2"), ("c", "5")], [("c", "6")]]


def test_secret_strings_flattens_dicts_and_lists():
    assert secret_strings("s") == ["s"]
    assert secret_strings({"A": "x", "B": 42, "C": "", "D": True, "E": None}) == ["x", "42"]
    assert secret_strings(["y", 1.5]) == ["y", "1.5"]
    assert secret_strings(None) == []


# ------------------------------------------------------------ configuration
def test_options_and_defaults(logging_hook, provider):
    hook, log, _calls = logging_hook
    made = provider(hook, log)
    assert made.hook == hook and made.chain is False and made.timeout == 300
    assert made.CAN_READ is False and made.CONCURRENCY == 1
    made = build_provider(entry(hook, chain="yes", timeout="20", environment={"N": 5}))
    assert made.chain is True and made.timeout == 20 and made.environment == {"N": "5"}


def test_hook_found_in_path(tmp_path, monkeypatch):
    write_hook(tmp_path, "#!/bin/sh\n", name="my-dns-hook")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    assert build_provider(entry("my-dns-hook")).hook == str(tmp_path / "my-dns-hook")


@pytest.mark.parametrize(
    "change, field, shown",
    [
        ({"hook": None}, "hook", None),
        ({"hook": "/nonexistent/hook.sh"}, "hook", "/nonexistent/hook.sh"),
        ({"hook": "no-such-hook-in-path-xyz"}, "hook", "no-such-hook-in-path-xyz"),
        ({"hook": "hooks/dns.sh"}, "hook", "absolute path"),
        ({"chain": "maybe"}, "chain", "maybe"),
        ({"timeout": 0}, "timeout", None),
        ({"environment": ["A=1"]}, "environment", None),
        ({"environment": {"A": {"nested": SECRET}}}, "environment", None),
        ({"environment": {"A=B": SECRET}}, "environment", None),
        ({"environment": {"FLAG": True}}, "environment", None),
        ({"hooks": "x"}, "hooks", None),
    ],
)
def test_bad_options_name_the_field_and_never_show_environment_values(logging_hook, change, field, shown):
    hook, _log, _calls = logging_hook
    config = entry(hook)
    config.update(change)
    with pytest.raises(ProviderConfigError) as err:
        build_provider(config)
    assert err.value.field == field
    assert SECRET not in str(err.value)
    if shown:
        assert shown in str(err.value)


def test_not_executable_hook_is_refused(tmp_path):
    path = tmp_path / "hook.sh"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o644)
    with pytest.raises(ProviderConfigError, match="not executable"):
        build_provider(entry(str(path)))
    with pytest.raises(ProviderConfigError, match="not an existing file"):
        build_provider(entry(str(tmp_path)))


def test_every_environment_value_is_a_secret_for_masking(logging_hook):
    hook, _log, _calls = logging_hook
    config = entry(hook, environment={"API_KEY": SECRET, "PORT": 8443})
    assert {SECRET, "8443"} <= secret_values([config])
    assert SECRET not in build_provider(config).scrub("key=%s" % SECRET)
    # An unknown type (a typo) still has its environment masked in the error.
    assert SECRET in secret_values([dict(config, type="hok")])


# -------------------------------------------------------------- call shapes
def test_deploy_and_clean_argument_order(logging_hook, provider):
    hook, log, calls = logging_hook
    made = provider(hook, log)
    made.add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    made.remove_values("example.org", {"_acme-challenge.www.example.org": [V1]})
    assert [call["argv"] for call in calls()] == [
        ["deploy_challenge", "www.example.org", V1, V1],
        ["clean_challenge", "www.example.org", V1, V1],
    ]


def test_one_call_per_value_without_chain(logging_hook, provider):
    hook, log, calls = logging_hook
    made = provider(hook, log)
    made.add_values(
        "example.org",
        {"_acme-challenge.example.org": [V1, V2], "_acme-challenge.www.example.org": [V2]},
        60,
    )
    assert [call["argv"] for call in calls()] == [
        ["deploy_challenge", "example.org", V1, V1],
        ["deploy_challenge", "example.org", V2, V2],
        ["deploy_challenge", "www.example.org", V2, V2],
    ]


def test_chain_mode_passes_triples_in_one_call_per_round(logging_hook, provider):
    hook, log, calls = logging_hook
    made = provider(hook, log, chain=True)
    made.add_values(
        "example.org",
        {
            "_acme-challenge.example.org": [V1, V2],  # wildcard and apex: one name, two values
            "_acme-challenge.www.example.org": [V2],
            "_acme-challenge.api.example.org": [V1],
        },
        60,
    )
    made.remove_values(
        "example.org", {"_acme-challenge.www.example.org": [V2], "_acme-challenge.api.example.org": [V1]}
    )
    assert [call["argv"] for call in calls()] == [
        ["deploy_challenge", "example.org", V1, V1, "www.example.org", V2, V2, "api.example.org", V1, V1],
        ["deploy_challenge", "example.org", V2, V2],
        ["clean_challenge", "www.example.org", V2, V2, "api.example.org", V1, V1],
    ]
    first = calls()[0]["env"]
    assert first["CERTFLEET_TXT_NAMES"] == (
        "_acme-challenge.example.org _acme-challenge.www.example.org _acme-challenge.api.example.org"
    )


def test_environment_is_passed_with_the_callers_and_the_zone(logging_hook, provider):
    hook, log, calls = logging_hook
    made = provider(hook, log, environment={"API_KEY": SECRET, "PLAIN": 7})
    made.add_values("example.net", {"_acme-challenge.example.net": [V1]}, 120)
    made.remove_values("example.net", {"_acme-challenge.example.net": [V1]})
    deploy, clean = calls()
    assert deploy["env"] == {
        "API_KEY": SECRET,
        "PLAIN": "7",
        "CERTFLEET_ZONE": "example.net",
        "CERTFLEET_TXT_NAMES": "_acme-challenge.example.net",
        "CERTFLEET_TTL": "120",
    }
    assert deploy["path"] is True  # the caller's environment (PATH) is inherited
    assert "CERTFLEET_TTL" not in clean["env"]


# ----------------------------------------------------------------- failures
FAILING_HOOK = """#!/bin/sh
echo "this goes to stdout" >&1
echo "rackspace said 401 for key $API_KEY on $2" >&2
exit 3
"""


def test_failure_names_hook_verb_domain_code_and_stderr_without_secrets(tmp_path, provider):
    hook = write_hook(tmp_path, FAILING_HOOK)
    made = provider(hook, environment={"API_KEY": SECRET})
    with pytest.raises(ProviderError) as err:
        made.add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    text = str(err.value)
    for part in (hook, "deploy_challenge", "www.example.org", "exited with code 3", "rackspace said 401"):
        assert part in text
    assert SECRET not in text and "********" in text
    assert "stdout" not in text.split("stderr:")[1]
    assert err.value.record == "_acme-challenge.www.example.org"


def test_failure_without_stderr_shows_stdout(tmp_path, provider):
    hook = write_hook(tmp_path, '#!/bin/sh\necho "ERROR: zone $2 not found"\nexit 1\n')
    with pytest.raises(ProviderError, match=r"exited with code 1: stdout: ERROR: zone www.example.org not found"):
        provider(hook).add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)


def test_deploy_stops_at_the_first_failure_clean_tries_every_value(tmp_path, provider):
    log = tmp_path / "calls.log"
    hook = write_hook(tmp_path, '#!/bin/sh\necho "$1 $2" >> %s\necho "no $2" >&2\nexit 2\n' % log)
    made = provider(hook)
    records = {"_acme-challenge.a.example.org": [V1], "_acme-challenge.b.example.org": [V2]}
    with pytest.raises(ProviderError):
        made.add_values("example.org", records, 60)
    assert log.read_text().splitlines() == ["deploy_challenge a.example.org"]
    log.unlink()
    with pytest.raises(ProviderError) as err:
        made.remove_values("example.org", records)
    assert log.read_text().splitlines() == ["clean_challenge a.example.org", "clean_challenge b.example.org"]
    assert "no a.example.org" in str(err.value) and "no b.example.org" in str(err.value)


def test_timeout_kills_the_hook_and_its_children(tmp_path, provider):
    marker = tmp_path / "still-running"
    hook = write_hook(tmp_path, "#!/bin/sh\n(sleep 3; touch %s) &\nsleep 30\n" % marker)
    made = provider(hook, timeout=1)
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        made.add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    assert "hook %s deploy_challenge www.example.org: no exit within 1s (the hook's timeout)" % hook in str(err.value)
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists()


def test_timeout_kills_a_child_that_sleeps_forever(tmp_path, provider):
    pid_file = tmp_path / "child.pid"
    hook = write_hook(tmp_path, "#!/bin/sh\nsleep 100000 &\necho $! > %s\nwait\n" % pid_file)
    with pytest.raises(ProviderError, match=r"no exit within 1s .* stopped it and its children"):
        provider(hook, timeout=1).add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    child = int(pid_file.read_text())
    for _attempt in range(50):  # SIGKILL is sent; the kernel may take a moment to reap it
        if not alive(child):
            break
        time.sleep(0.1)
    assert not alive(child)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hook_built_without_a_module_says_so(logging_hook):
    hook, _log, _calls = logging_hook
    with pytest.raises(ProviderError, match=r"deploy_challenge www.example.org: cannot run: no module to run it"):
        build_provider(entry(hook)).add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)


def test_a_hook_the_system_cannot_start_is_named(tmp_path, provider):
    hook = write_hook(tmp_path, "#!/nonexistent/interpreter\n")
    with pytest.raises(ProviderError) as err:
        provider(hook).add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    assert "exited with code 127: stderr: cannot run %s: No such file or directory" % hook in str(err.value)


def test_hook_reads_no_stdin(tmp_path, provider):
    # A hook written for a person ("press enter") gets end of file instead of hanging.
    hook = write_hook(tmp_path, "#!/bin/sh\nread answer\nexit 0\n")
    provider(hook, timeout=5).add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)


# --------------------------------------------------------- through the sync
def test_plan_changes_without_reading_changes_every_given_value():
    assert plan_changes("present", [V1, V2], None) == ([V1, V2], [])
    assert plan_changes("absent", [V1, V2], None) == ([], [V1, V2])


def test_sync_deploys_and_cleans_every_value_without_reading(logging_hook, monkeypatch, factory):
    hook, log, calls = logging_hook

    def no_read(self, zone, fqdn):
        raise AssertionError("read_values must not be called for a provider that cannot read")

    monkeypatch.setattr(HookProvider, "read_values", no_read)
    config = entry(hook, environment={"HOOK_LOG": log})
    records = [{"name": "_acme-challenge.example.org", "values": [V1, V2]}]

    check = sync_records(records, [config], check_mode=True, factory=factory)
    assert check.changed and check.records[0]["added"] == [V1, V2] and calls() == []

    added = sync_records(records, [config], ttl=90, factory=factory)
    item = added.records[0]
    assert added.changed and not added.errors and item["added"] == [V1, V2]
    assert item["before"] is None and item["after"] is None
    assert added.diff["after"] == (
        'dehydrated: _acme-challenge.example.org. TXT "%s"\ndehydrated: _acme-challenge.example.org. TXT "%s"\n'
        % tuple(sorted([V1, V2]))
    )
    # Present again: the hook cannot know the values are there, so it deploys them again.
    assert sync_records(records, [config], factory=factory).changed

    removed = sync_records(records, [config], state="absent", factory=factory)
    assert removed.changed and removed.records[0]["removed"] == [V1, V2]
    assert removed.diff["before"].count("TXT") == 2 and removed.diff["after"] == ""
    verbs = [call["argv"][0] for call in calls()]
    assert verbs == ["deploy_challenge"] * 4 + ["clean_challenge"] * 2


def test_sync_reports_a_failing_hook_without_its_secret(tmp_path, factory):
    hook = write_hook(tmp_path, FAILING_HOOK)
    config = entry(hook, environment={"API_KEY": SECRET})
    result = sync_records([{"name": "_acme-challenge.www.example.org", "values": [V1]}], [config], factory=factory)
    assert len(result.errors) == 1
    assert "exited with code 3" in result.errors[0] and "rackspace said 401" in result.errors[0]
    assert SECRET not in json.dumps(result.records) + result.errors[0]
    item = result.records[0]
    assert item["added"] == [] and item["after"] is None and not result.changed
