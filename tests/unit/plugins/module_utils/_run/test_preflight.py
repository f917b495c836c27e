# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode's preflight: the CA and every provider asked together, every problem named once."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import AccountError
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._run.preflight import preflight

SETTINGS = AcmeSettings(directory_url="https://ca.test/dir", state_dir="/nonexistent/state", terms_agreed=True)


class Provider(DnsProvider):
    TYPE = "preflight_fake"
    SECRET_OPTIONS = ("token",)
    OPTIONAL_OPTIONS = ("token", "refuse")
    THREADS: set[str] = set()

    def configure(self, config):
        self.refuse = config.get("refuse")

    def read_values(self, zone, fqdn):
        self.THREADS.add(threading.current_thread().name)
        if self.refuse:
            raise self.error(fqdn, "HTTP 401 Unauthorized with key %s" % self._secrets[0])
        return set()

    def add_values(self, zone, records, ttl):
        raise AssertionError("the preflight never writes")

    def remove_values(self, zone, records):
        raise AssertionError("the preflight never writes")


class Hook(Provider):
    TYPE = "preflight_hook"
    CAN_READ = False


@pytest.fixture(autouse=True)
def fake_types(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_TYPES, "preflight_fake", Provider)
    monkeypatch.setitem(registry.PROVIDER_TYPES, "preflight_hook", Hook)


def entry(name, zone, kind="preflight_fake", **extra):
    return dict({"name": name, "type": kind, "zones": [zone], "token": "tok-" + name}, **extra)


def answering(settings):
    return {"directory": settings.directory_url, "account": "exists", "account_url": "https://ca.test/acct/1"}


def test_all_answer_then_there_is_no_problem():
    result = preflight(SETTINGS, [entry("a", "a.test"), entry("hook", "h.test", "preflight_hook")], probe=answering)
    assert result == {
        "acme": answering(SETTINGS),
        "providers": [
            {"name": "a", "zone": "a.test", "record": "_acme-challenge.a.test", "read": True, "error": None},
            {"name": "hook", "zone": None, "record": None, "read": False, "error": None},
        ],
        "problems": [],
    }


def test_the_ca_and_the_providers_each_name_their_problem():
    def unreachable(settings):
        raise ConnectionError("Connection refused")

    configs = [entry("a", "a.test"), entry("b", "b.test", refuse=True), entry("c", "c.test")]
    result = preflight(SETTINGS, configs, skip=["c"], probe=unreachable)
    assert result["acme"] == {"directory": "https://ca.test/dir", "account": None, "account_url": None}
    assert result["problems"] == [
        "cannot use the ACME account at https://ca.test/dir: ConnectionError: Connection refused",
        "1 of 2 DNS provider(s) failed a read: provider 'b' zone 'b.test' record '_acme-challenge.b.test': "
        "read failed: HTTP 401 Unauthorized with key ********",
    ]
    assert [(item["name"], bool(item["error"])) for item in result["providers"]] == [("a", False), ("b", True)]


def test_an_account_the_run_would_refuse_is_the_runs_message():
    def refused(settings):
        raise AccountError("no ACME account exists ...: set terms_agreed: true")

    assert preflight(SETTINGS, [], probe=refused)["problems"] == ["no ACME account exists ...: set terms_agreed: true"]


def test_bad_provider_entries_fail_before_the_ca_is_asked():
    def never(settings):
        raise AssertionError("the CA must not be asked")

    with pytest.raises(ProviderConfigError, match="zones"):
        preflight(SETTINGS, [dict(entry("a", "a.test"), zones=[])], probe=never)
