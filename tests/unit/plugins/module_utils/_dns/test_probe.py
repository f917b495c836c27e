# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check-mode probe of the DNS providers: one read each, never a write, errors worded as a real run's."""

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.probe import (
    probe_groups,
    probe_providers,
    unreadable_providers,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

SECRET = "probe-secret-value"


class ReadingProvider(DnsProvider):
    """Records every call; ``refuse`` makes each read fail quoting the secret (which must be scrubbed)."""

    TYPE = "probe_fake"
    SECRET_OPTIONS = ("token",)
    OPTIONAL_OPTIONS = ("token", "refuse")
    CALLS: list[tuple] = []

    def configure(self, config):
        self.refuse = config.get("refuse")

    def read_values(self, zone, fqdn):
        self.CALLS.append((self.name, "read", zone, fqdn))
        if self.refuse:
            raise self.error(fqdn, "TSIG rejected by the server: key %s unknown" % self._secrets[0])
        return {"someone-elses-value"}

    def add_values(self, zone, records, ttl):
        self.CALLS.append((self.name, "add", zone))

    def remove_values(self, zone, records):
        self.CALLS.append((self.name, "remove", zone))


class SilentProvider(ReadingProvider):
    """A provider that cannot read, as ``hook`` and ``manual``."""

    TYPE = "probe_silent"
    CAN_READ = False


@pytest.fixture(autouse=True)
def fake_types(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_TYPES, "probe_fake", ReadingProvider)
    monkeypatch.setitem(registry.PROVIDER_TYPES, "probe_silent", SilentProvider)
    ReadingProvider.CALLS.clear()


def entry(name, zones, kind="probe_fake", **extra):
    return dict({"name": name, "type": kind, "zones": zones, "token": SECRET}, **extra)


def test_each_readable_provider_that_is_not_skipped_gets_its_first_zone():
    configs = [
        entry("one", ["Example.COM.", "example.net"]),
        entry("two", ["sub.example.com"]),
        entry("skipped", ["example.org"]),
        entry("silent", ["example.io"], kind="probe_silent"),
    ]
    assert probe_groups(configs, skip=["skipped"]) == {
        ("one", "example.com"): {"_acme-challenge.example.com": []},
        ("two", "sub.example.com"): {"_acme-challenge.sub.example.com": []},
    }
    assert unreadable_providers(configs, skip=["skipped"]) == ["silent"]
    assert unreadable_providers(configs, skip=["silent"]) == []


def test_the_probe_reads_once_per_provider_and_never_writes():
    configs = [entry("one", ["example.com"]), entry("two", ["example.net"]), entry("silent", ["x.io"], "probe_silent")]
    outcome = probe_providers(configs)
    assert sorted(ReadingProvider.CALLS) == [
        ("one", "read", "example.com", "_acme-challenge.example.com"),
        ("two", "read", "example.net", "_acme-challenge.example.net"),
    ]
    assert outcome.errors == [] and outcome.changed is False
    assert [(item["provider"], item["before"], item["removed"]) for item in outcome.records] == [
        ("one", ["someone-elses-value"], []),
        ("two", ["someone-elses-value"], []),
    ]


def test_a_refused_read_is_worded_as_the_real_run_words_it_without_the_secret():
    configs = [entry("good", ["example.com"]), entry("broken", ["example.net"], refuse=True)]
    outcome = probe_providers(configs)
    [line] = outcome.errors
    real = sync_records([{"name": "_acme-challenge.example.net", "values": ["v"]}], configs, check_mode=True)
    assert real.errors == [line]
    assert line.startswith("provider 'broken' zone 'example.net' record '_acme-challenge.example.net': read failed: ")
    assert "TSIG rejected by the server" in line and SECRET not in line


def test_bad_entries_and_unknown_skip_names_fail_before_anything_is_read():
    with pytest.raises(ProviderConfigError, match="zones"):
        probe_providers([entry("one", [])])
    with pytest.raises(ValueError, match="nobody"):
        probe_providers([entry("one", ["example.com"])], skip=["nobody"])
    assert ReadingProvider.CALLS == []
