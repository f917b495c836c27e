# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider entries: validation, routing by zone, secret collection, retries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common import retry
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle, retry_call
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    RoutingError,
    build_provider,
    route,
    secret_values,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.rfc2136 import Rfc2136Provider

SECRET = "c2VjcmV0LXRzaWcta2V5LXZhbHVlLTEyMzQ1Njc4OTA="


def bind(name="bind", zones=("example.com",), **extra):
    config = {"name": name, "type": "rfc2136", "zones": list(zones), "server": "192.0.2.53"}
    config.update(extra)
    return config


# ------------------------------------------------------------------ routing
def test_route_picks_the_longest_zone_across_providers():
    configs = [bind("parent", ["example.com"]), bind("child", ["sub.example.com"])]
    assert [(c["name"], z) for c, z in route("_acme-challenge.www.sub.example.com", configs)] == [
        ("child", "sub.example.com")
    ]
    assert [(c["name"], z) for c, z in route("_acme-challenge.www.example.com", configs)] == [("parent", "example.com")]


def test_route_deep_subzone_and_apex_and_normalization():
    configs = [bind("a", ["example2.test", "deep.sub.example2.test"])]
    assert route("_acme-challenge.x.deep.sub.example2.test.", configs)[0][1] == "deep.sub.example2.test"
    assert route("_acme-challenge.sub.example2.test", configs)[0][1] == "example2.test"
    assert route("EXAMPLE2.test", configs)[0][1] == "example2.test"


def test_route_dual_hosted_zone_goes_to_both():
    configs = [bind("one", ["example.com"]), bind("two", ["example.com", "example.net"])]
    assert [c["name"] for c, _zone in route("_acme-challenge.example.com", configs)] == ["one", "two"]
    assert [c["name"] for c, _zone in route("_acme-challenge.example.net", configs)] == ["two"]


def test_route_skip_never_falls_back_to_a_parent_zone():
    configs = [bind("parent", ["example.com"]), bind("child", ["sub.example.com"]), bind("dual", ["sub.example.com"])]
    assert [c["name"] for c, _zone in route("x.sub.example.com", configs, skip=["child"])] == ["dual"]
    assert route("x.sub.example.com", configs, skip=["child", "dual"]) == []


def test_route_name_in_no_zone_is_an_error_naming_the_record():
    with pytest.raises(RoutingError) as err:
        route("_acme-challenge.other.org", [bind()])
    assert "_acme-challenge.other.org" in str(err.value) and "example.com" in str(err.value)
    # A suffix match is not a zone match.
    with pytest.raises(RoutingError):
        route("notexample.com", [bind()])


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"type": "rfc2136", "zones": ["a.com"]}, "name"),
        ({"name": "x", "zones": ["a.com"]}, "type"),
        ({"name": "x", "type": "nope", "zones": ["a.com"]}, "type"),
        ({"name": "x", "type": "rfc2136"}, "zones"),
        ({"name": "x", "type": "rfc2136", "zones": "a.com"}, "zones"),
        ({"name": "x", "type": "rfc2136", "zones": ["bad zone.com"]}, "zones"),
        ({"name": "x", "type": "rfc2136", "zones": ["a.com"]}, "server"),
        ({"name": "x", "type": "rfc2136", "zones": ["a.com"], "server": "s", "port": 70000}, "port"),
        ({"name": "x", "type": "rfc2136", "zones": ["a.com"], "server": "s", "sever": 1}, "sever"),
        ({"name": "x", "type": "rfc2136", "zones": ["a.com"], "server": "s", "key_name": "k"}, "key_secret"),
        (
            {"name": "x", "type": "rfc2136", "zones": ["a.com"], "server": "s", "key_algorithm": "hmac-sha3"},
            "key_algorithm",
        ),
    ],
)
def test_bad_entries_name_the_provider_and_field(config, field):
    with pytest.raises(ProviderConfigError) as err:
        build_provider(config)
    assert err.value.field == field
    assert repr(field) in str(err.value)
    if config.get("name"):
        assert repr(config["name"]) in str(err.value)


def test_unknown_type_lists_known_types():
    with pytest.raises(ProviderConfigError) as err:
        build_provider({"name": "cf", "type": "clouflare", "zones": ["a.com"]})
    assert "'clouflare'" in str(err.value) and "rfc2136" in str(err.value)


def test_duplicate_provider_names_are_rejected():
    with pytest.raises(ProviderConfigError, match="more than one"):
        route("a.example.com", [bind("x"), bind("x", ["example.net"])])


def test_bad_tsig_secret_is_reported_without_its_value():
    bad = "not*base64*%s" % SECRET
    with pytest.raises(ProviderConfigError) as err:
        build_provider(bind(key_name="acme", key_secret=bad))
    assert err.value.field == "key_secret"
    assert bad not in str(err.value) and SECRET not in str(err.value)


def test_rfc2136_options_and_defaults():
    provider = build_provider(bind(key_name="acme-key", key_secret=SECRET, port="5353", zones=["Example.COM."]))
    assert isinstance(provider, Rfc2136Provider)
    assert (provider.port, provider.timeout, provider.key_algorithm) == (5353, 10, "hmac-sha256")
    assert provider.zones == ["example.com"]
    assert provider.scrub("x %s y" % SECRET) == "x ******** y"
    assert SECRET not in str(provider.error("r", "echo %s" % SECRET))


# ------------------------------------------------------------------ secrets
def test_secret_values_collects_secret_options_only():
    configs = [bind(key_name="acme-key", key_secret=SECRET), bind("other", ["example.net"])]
    assert secret_values(configs) == {SECRET}
    assert secret_values(configs[0]) == {SECRET}


def test_secret_values_tolerates_garbage():
    configs = [None, "x", {"name": "cf", "type": "cloudflare", "api_token": "tok-123", "zones": ["a.com"]}, {}]
    assert secret_values(configs) == {"tok-123"}
    assert secret_values(None) == set()


@pytest.mark.parametrize(
    "config",
    [
        # Misspelt secret options of a known type: the option is unknown, so its value is masked.
        {"name": "p", "type": "powerdns", "zones": ["a.com"], "api_url": "https://p", "apikey": "S3CRET-1"},
        bind(key_secert="S3CRET-1"),
        # An unknown type: only name, type and zones are shown, whatever the option is called.
        {"name": "b", "type": "bind9", "zones": ["a.com"], "tsig": "S3CRET-1"},
        {"name": "b", "type": 7, "zones": ["a.com"], "nested": {"deep": ["S3CRET-1"]}},
        # A URL with credentials in it.
        {"name": "p", "type": "powerdns", "zones": ["a.com"], "api_url": "https://u:S3CRET-1@p", "api_key": "k"},
    ],
)
def test_every_string_outside_the_public_options_is_masked(config):
    secrets = secret_values([config])
    assert "S3CRET-1" in secrets or "https://u:S3CRET-1@p" in secrets
    assert not secrets & {"a.com", "p", "b", "powerdns", "bind9", "rfc2136", "192.0.2.53"}


def test_public_options_are_not_masked_and_hook_environment_is_masked_deep():
    hook = {
        "name": "h",
        "type": "hook",
        "zones": ["a.com"],
        "hook": "/usr/local/bin/dns-hook",
        "timeout": 30,
        "environment": {"TOKEN": "T0KEN", "NESTED": ["L1ST"], "N": 42},
    }
    assert secret_values([hook]) == {"T0KEN", "L1ST", "42"}
    pdns = {
        "name": "p",
        "type": "powerdns",
        "zones": ["a.com"],
        "api_url": "https://pdns.example",
        "api_key": "K3Y",
        "server_id": "localhost",
        "timeout": 5,
        "validate_certs": True,
        "allow_plain_http": False,
    }
    assert secret_values([pdns]) == {"K3Y"}
    assert secret_values([bind(key_name="acme-key", key_algorithm="hmac-sha512", key_secret=SECRET)]) == {SECRET}


@pytest.mark.parametrize("kind", sorted(registry.PROVIDER_TYPES))
def test_public_and_secret_options_are_options_of_the_type(kind):
    cls = registry.PROVIDER_TYPES[kind]
    known = set(cls.COMMON_OPTIONS) | set(cls.type_options())
    assert set(cls.public_options()) <= known and set(cls.SECRET_OPTIONS) <= known
    assert not set(cls.public_options()) & set(cls.SECRET_OPTIONS)
    assert set(cls.URL_OPTIONS) <= set(cls.public_options())


@pytest.mark.parametrize(
    ("config", "field", "hint"),
    [
        (
            {"name": "p", "type": "powerdns", "zones": ["a.com"], "api_url": "https://p", "apikey": "S3"},
            "apikey",
            "api_key",
        ),
        (bind(key_secert="S3"), "key_secert", "key_secret"),
        ({"name": "b", "type": "bind9", "zones": ["a.com"], "tsig": "S3"}, "type", None),
        ({"name": "c", "type": "clouflare", "zones": ["a.com"], "api_token": "S3"}, "type", "cloudflare"),
    ],
)
def test_unknown_options_and_types_are_refused_with_a_suggestion(config, field, hint):
    with pytest.raises(ProviderConfigError) as err:
        build_provider(config)
    assert err.value.field == field and repr(config["name"]) in str(err.value) and "S3" not in str(err.value)
    if hint:
        assert "did you mean %r?" % hint in str(err.value)
    assert registry.entry_problems(config)[0][0] == field
    with pytest.raises(ProviderConfigError):
        registry.Router([config])


def test_secret_values_also_masks_the_secret_without_whitespace():
    assert secret_values([bind(key_secret=" abc def ")]) == {" abc def ", "abcdef"}


# ------------------------------------------------------------------ helpers
def test_retry_call_backs_off_and_honours_retry_after(monkeypatch):
    calls, sleeps = [], []

    class Throttled(Exception):
        retry_after = 7

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise Throttled()
        return "ok"

    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)
    assert retry_call(flaky, attempts=5, base_delay=1, is_retryable=lambda e: True, sleep=sleeps.append) == "ok"
    assert sleeps == [7.0, 7.0]


def test_retry_call_gives_up_and_does_not_retry_other_errors():
    sleeps = []
    with pytest.raises(KeyError):
        retry_call(lambda: {}["x"], attempts=3, is_retryable=lambda e: isinstance(e, KeyError), sleep=sleeps.append)
    assert len(sleeps) == 2
    with pytest.raises(ValueError):
        retry_call(lambda: int("x"), attempts=3, is_retryable=lambda e: False, sleep=sleeps.append)
    assert len(sleeps) == 2


def test_throttle_spaces_calls():
    now = [100.0]
    slept = []
    throttle = Throttle(4, clock=lambda: now[0], sleep=slept.append)
    for _call in range(3):
        throttle.wait()
    assert slept == [0.25, 0.5]


def test_registry_knows_rfc2136():
    assert registry.PROVIDER_TYPES["rfc2136"] is Rfc2136Provider
    assert Rfc2136Provider.SECRET_OPTIONS == ("key_secret",)


def test_provider_libraries_are_imported_only_for_configured_types():
    # boto3 and requests cost every DNS task about half a second of start-up; an rfc2136-only run needs neither.
    code = (
        "import sys\n"
        "from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry\n"
        "registry.build_provider({'name': 'b', 'type': 'rfc2136', 'zones': ['example.org'], 'server': '127.0.0.1'})\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'requests') if m in sys.modules))\n"
    )
    collections_root = str(Path(registry.__file__).parents[7])
    env = dict(os.environ, PYTHONPATH=collections_root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
    assert sorted(registry.PROVIDER_TYPES) == sorted(
        ["cloudflare", "hook", "manual", "powerdns", "rackspace", "rfc2136", "route53"]
    )


def test_missing_library_names_the_library_of_a_configured_type(monkeypatch):
    monkeypatch.setattr(Rfc2136Provider, "missing_library", classmethod(lambda cls: "Traceback: no dns"))
    entry = {"name": "b", "type": "rfc2136", "zones": ["example.org"], "server": "127.0.0.1"}
    assert registry.missing_library([entry]) == ("dnspython", "Traceback: no dns")
    assert registry.missing_library([{"name": "h", "type": "manual", "zones": ["example.org"]}]) is None
    assert registry.missing_library([{"name": "x", "type": "unknown"}, "not a dict"]) is None
