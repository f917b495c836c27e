# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rackspace and cloudflare providers against local fakes of their documented APIs.

No rig is needed: each test starts its own fake (tests/fakes) on a free
loopback port, so every test sees fresh zones. The same checks run through
module_utils (``sync_records``) and through ``dns_txt_record`` run by
ansible as users run it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field

import cloudflare_fake
import pytest
import rackspace_fake
import requests
from playbook_runner import run_adhoc, run_module

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.rackspace import RackspaceProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

NAME = "_acme-challenge.www.example.com"
APEX = "_acme-challenge.example.com"
WILD = "wildcard-value-7Q2vJcS1mJxH0nq2bJ8oJ3kq6b0Yh1v4tq5m3c8n2aQ"
PLAIN = "apex-value-Zp3cV0mWq9Lr2xT6yB1nK4hD7gF8sJ5aE0uI3oP6lC9"


@dataclass
class Target:
    """One fake provider and the entry that points at it."""

    kind: str
    fake: object
    entry: dict
    secret: str
    #: What the provider's refusal of bad credentials says.
    auth_message: str
    bad_credentials: dict = field(default_factory=dict)

    def values(self, name: str) -> set:
        return self.fake.txt_values(name)

    def set_limit(self, count: int, window: float, retry_after: int) -> None:
        if self.kind == "rackspace":
            self.fake.set_limit("GET", count, window, retry_after)
        else:
            self.fake.set_limit(count, window, retry_after)


def rackspace_target() -> Target:
    fake = rackspace_fake.RackspaceFake(domains=["example.com", "sub.example.com"]).start()
    entry = {
        "name": "rax",
        "type": "rackspace",
        "zones": ["example.com"],
        "username": fake.username,
        "api_key": fake.api_key,
        "identity_url": fake.identity_url,
        "timeout": 10,
        "allow_plain_http": True,  # the fake serves http on loopback
    }
    wrong = {"api_key": "wrong-api-key-5f2b9c0d7e1a4b3c"}
    return Target("rackspace", fake, entry, fake.api_key, "Username or api key is invalid.", wrong)


def cloudflare_target() -> Target:
    fake = cloudflare_fake.CloudflareFake(zones=["example.com", "example.net"], max_per_page=5).start()
    entry = {
        "name": "cf",
        "type": "cloudflare",
        "zones": ["example.com"],
        "api_token": fake.token,
        "api_url": fake.api_url,
        "allow_plain_http": True,  # the fake serves http on loopback
    }
    wrong = {"api_token": "wrong-token-Kq8vZ2mX5nB7cV1"}
    return Target("cloudflare", fake, entry, fake.token, "9109: Invalid access token", wrong)


MAKERS = {"rackspace": rackspace_target, "cloudflare": cloudflare_target}


def serving(kind: str):
    """A started fake of ``kind`` (and its entry) for one test; stopped after it."""
    made = MAKERS[kind]()
    try:
        yield made
    finally:
        made.fake.stop()


@pytest.fixture(params=list(MAKERS))
def target(request):
    yield from serving(request.param)


@pytest.fixture
def rackspace():
    yield from serving("rackspace")


@pytest.fixture
def cloudflare():
    yield from serving("cloudflare")


@pytest.fixture
def fast_jobs(monkeypatch):
    """Poll Rackspace jobs often in-process (the module keeps the default)."""
    monkeypatch.setattr(RackspaceProvider, "poll_interval", 0.1)


def assert_waited(fake) -> None:
    """Every rate-limit answer was followed by a wait of at least its Retry-After before the retry.

    The retry of a request is the next request with the same method, path
    and query: the requests over the limit here are reads of distinct names
    (zone lookups happen once per run) or a zone's writes, sent one by one.
    """
    assert fake.over_limit, "the fake never answered over the limit"
    for event in fake.over_limit:
        key = (event["method"], event["path"], event["query"])
        retries = [
            r for r in fake.requests if r["time"] > event["time"] and (r["method"], r["path"], r["query"]) == key
        ]
        assert retries, "the request answered over the limit was never retried: %r" % (event,)
        assert retries[0]["time"] - event["time"] >= event["retry_after"] - 0.05, (event, retries[0])
    assert fake.requests[-1]["status"] < 400


# --------------------------------------------------------------------------
# module_utils


def test_values_are_added_and_removed_one_by_one(target, fast_jobs):
    configs = [target.entry]
    added = sync_records([{"name": NAME, "values": [WILD, PLAIN]}], configs)
    assert not added.errors and added.changed
    assert added.records[0]["added"] == [WILD, PLAIN] and added.records[0]["provider"] == target.entry["name"]
    assert target.values(NAME) == {WILD, PLAIN}

    again = sync_records([{"name": NAME, "values": [PLAIN, WILD]}], configs)
    assert not again.errors and not again.changed and again.records[0]["before"] == sorted([WILD, PLAIN])

    preview = sync_records([{"name": NAME, "values": [WILD]}], configs, state="absent", check_mode=True)
    assert preview.changed and preview.records[0]["after"] == [PLAIN]
    assert target.values(NAME) == {WILD, PLAIN}

    removed = sync_records([{"name": NAME, "values": [WILD]}], configs, state="absent")
    assert not removed.errors and removed.records[0]["removed"] == [WILD]
    assert target.values(NAME) == {PLAIN}
    assert not sync_records([{"name": NAME, "values": [WILD]}], configs, state="absent").changed


def test_check_mode_writes_nothing(target, fast_jobs):
    result = sync_records([{"name": APEX, "values": [PLAIN]}], [target.entry], check_mode=True)
    assert result.changed and result.records[0]["after"] == [PLAIN]
    assert target.values(APEX) == set()
    writes = [r for r in target.fake.requests if r["method"] in ("POST", "DELETE") and "/v2.0/" not in r["path"]]
    assert not writes


def test_values_held_by_others_stay(target, fast_jobs):
    target.fake.add_txt(NAME, "someone-elses-value")
    sync_records([{"name": NAME, "values": [WILD]}], [target.entry])
    sync_records([{"name": NAME, "values": [WILD]}], [target.entry], state="absent")
    assert target.values(NAME) == {"someone-elses-value"}


def test_rate_limit_answers_are_retried_after_retry_after(target, fast_jobs):
    target.set_limit(count=2, window=60, retry_after=1)
    names = ["_acme-challenge.h%d.example.com" % i for i in range(3)]
    result = sync_records([{"name": n, "values": [WILD]} for n in names], [target.entry])
    assert not result.errors, result.errors
    assert all(target.values(n) == {WILD} for n in names)
    assert_waited(target.fake)


def test_rackspace_duplicate_is_a_job_error(rackspace, fast_jobs):
    rackspace.fake.add_txt(NAME, WILD)
    provider = build_provider(rackspace.entry)
    with pytest.raises(ProviderError) as err:
        provider.add_values("example.com", {NAME: [WILD]}, 300)
    assert err.value.provider == "rax" and err.value.record == NAME
    assert "ended in ERROR" in str(err.value) and "Record is a duplicate of another record." in str(err.value)


def test_rackspace_expired_token_is_renewed(rackspace, fast_jobs):
    provider = build_provider(rackspace.entry)
    assert provider.read_values("example.com", NAME) == set()
    rackspace.fake.expire_tokens()
    provider.add_values("example.com", {NAME: [WILD]}, 300)
    assert rackspace.values(NAME) == {WILD}
    assert [r["status"] for r in rackspace.fake.requests if r["path"] == "/v2.0/tokens"] == [200, 200]


def test_cloudflare_read_only_token_cannot_write(cloudflare):
    read_only = cloudflare.fake.add_token("read-only-token-3x9", write=False)
    entry = dict(cloudflare.entry, api_token=read_only)
    result = sync_records([{"name": NAME, "values": [WILD]}], [entry])
    (error,) = result.errors
    assert "10000: Authentication error" in error and "DNS:Edit" in error and read_only not in error
    assert result.records[0]["added"] == [] and cloudflare.values(NAME) == set()


def test_cloudflare_zone_outside_the_token_scope(cloudflare):
    scoped = cloudflare.fake.add_token("scoped-token-8c1", zones=["example.net"])
    result = sync_records([{"name": NAME, "values": [WILD]}], [dict(cloudflare.entry, api_token=scoped)])
    (error,) = result.errors
    assert "zone 'example.com' not found" in error and "Zone:Read" in error


# --------------------------------------------------------------------------
# dns_txt_record, run by ansible


def test_module_adds_removes_and_is_idempotent(target):
    args = {"provider": target.entry, "records": [{"name": NAME, "values": [WILD, PLAIN]}]}
    result = run_module("dns_txt_record", args)
    assert result.get("changed") and not result.get("failed"), result
    assert target.values(NAME) == {WILD, PLAIN}

    again = run_module("dns_txt_record", args)
    assert again.get("changed") is False and not again.get("failed"), again

    one = {"provider": target.entry, "records": [{"name": NAME, "values": [WILD]}], "state": "absent"}
    checked, output = run_adhoc("dns_txt_record", one, "--check", "--diff")
    assert checked.get("changed") and checked["records"][0]["removed"] == [WILD], output
    assert target.values(NAME) == {WILD, PLAIN}

    removed = run_module("dns_txt_record", one)
    assert removed.get("changed") and removed["records"][0]["removed"] == [WILD], removed
    assert target.values(NAME) == {PLAIN}
    assert run_module("dns_txt_record", one).get("changed") is False
    assert target.secret not in json.dumps([result, again, checked, removed])


def test_module_waits_out_rate_limits(target):
    target.set_limit(count=2, window=60, retry_after=1)
    records = [{"name": "_acme-challenge.r%d.example.com" % i, "values": [WILD]} for i in range(3)]
    result = run_module("dns_txt_record", {"provider": target.entry, "records": records})
    assert result.get("changed") and not result.get("failed"), result.get("msg")
    assert_waited(target.fake)


def test_module_auth_error_is_clear_and_hides_the_secret(target):
    entry = dict(target.entry, **target.bad_credentials)
    (wrong,) = target.bad_credentials.values()
    args = {"provider": entry, "records": [{"name": NAME, "values": [WILD]}]}
    result, output = run_adhoc("dns_txt_record", args, "-vvv")
    assert result.get("failed"), output
    assert "provider %r" % entry["name"] in result["msg"] and NAME in result["msg"], result["msg"]
    assert target.auth_message in result["msg"], result["msg"]
    assert wrong not in output and wrong not in json.dumps(result)
    assert target.values(NAME) == set()


def test_module_job_error_names_provider_record_and_message(rackspace):
    rackspace.fake.fail_next_job("Simulated: the DNS backend refused the change")
    args = {"provider": rackspace.entry, "records": [{"name": NAME, "values": [WILD]}]}
    result, output = run_adhoc("dns_txt_record", args)
    assert result.get("failed"), output
    message = result["msg"]
    assert "provider 'rax'" in message and NAME in message, message
    assert "ended in ERROR" in message and "Simulated: the DNS backend refused the change" in message, message
    # Nothing landed, and the result says so (the clean-up relies on it).
    assert result["records"][0]["added"] == [] and rackspace.values(NAME) == set()


def test_module_never_prints_secrets_even_with_vvv(target):
    args = {"provider": target.entry, "records": [{"name": NAME, "values": [WILD]}]}
    result, output = run_adhoc("dns_txt_record", args, "-vvv", "--diff")
    assert result.get("changed") and not result.get("failed"), output
    absent, output_absent = run_adhoc("dns_txt_record", dict(args, state="absent"), "-vvv")
    assert absent.get("changed"), output_absent
    everything = output + output_absent + json.dumps([result, absent])
    assert target.secret not in everything
    if target.kind == "rackspace":
        # The Identity tokens the run was given are credentials too.
        assert not any(token in everything for token in target.fake.issued_tokens)


# --------------------------------------------------------------------------
# the fakes as commands


@pytest.mark.parametrize("fake, path", [(rackspace_fake, "/v2.0/tokens"), (cloudflare_fake, "/client/v4/zones")])
def test_fakes_run_as_commands(fake, path):
    command = [sys.executable, fake.__file__, "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            info = json.loads(proc.stdout.readline())
            base = info.get("identity_url") or info["api_url"]
            url = base.split("/v2.0/")[0].split("/client/v4")[0] + path
            answer = requests.request("POST" if "tokens" in path else "GET", url, json={}, timeout=10)
            assert answer.status_code in (400, 401)
            assert answer.json()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
