# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_txt_record logic: merging, planning, routing, concurrency and failure handling (fake providers)."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import RecordInputError, values_by_name
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import (
    format_diff,
    plan_changes,
    sync_records,
)

SECRET = "s3cr3t-token-value"


class FakeProvider(DnsProvider):
    """In-memory provider; instances share state per provider name through ``STORES``."""

    TYPE = "fake"
    SECRET_OPTIONS = ("token",)
    OPTIONAL_OPTIONS = ("token", "fail", "fail_read", "partial")
    STORES: dict[str, dict[str, set[str]]] = {}
    CALLS: list[tuple] = []
    LOCK = threading.Lock()

    def configure(self, config):
        self.fail = config.get("fail")
        self.fail_read = config.get("fail_read")
        self.partial = config.get("partial")
        self.store = self.STORES.setdefault(self.name, {})

    def read_values(self, zone, fqdn):
        if self.fail_read:
            raise self.error(fqdn, "read boom with %s" % self._secrets[0])
        return set(self.store.get(fqdn, set()))

    def add_values(self, zone, records, ttl):
        with self.LOCK:
            self.CALLS.append((self.name, "add", zone, {k: list(v) for k, v in records.items()}, ttl))
        if self.partial:
            first = sorted(records)[0]
            self.store.setdefault(first, set()).update(records[first])
            raise RuntimeError("half done, token %s" % self._secrets[0])
        if self.fail:
            raise self.error(None, "REFUSED")
        for fqdn, values in records.items():
            self.store.setdefault(fqdn, set()).update(values)

    def remove_values(self, zone, records):
        with self.LOCK:
            self.CALLS.append((self.name, "remove", zone, {k: list(v) for k, v in records.items()}))
        if self.fail:
            raise self.error(None, "REFUSED")
        for fqdn, values in records.items():
            self.store.get(fqdn, set()).difference_update(values)


@pytest.fixture(autouse=True)
def fake_type(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_TYPES, "fake", FakeProvider)
    FakeProvider.STORES.clear()
    FakeProvider.CALLS.clear()


def fake(name, zones, **extra):
    config = {"name": name, "type": "fake", "zones": zones, "token": SECRET}
    config.update(extra)
    return config


# ----------------------------------------------------------------- merging
def test_merge_unions_values_of_the_same_name_keeping_order():
    merged = values_by_name(
        [
            {"name": "_acme-challenge.Example.com.", "values": ["a", "b"]},
            {"name": "_acme-challenge.example.com", "values": ["b", "c"]},
            {"name": "_acme-challenge.www.example.com", "values": []},
        ]
    )
    assert merged == {"_acme-challenge.example.com": ["a", "b", "c"], "_acme-challenge.www.example.com": []}


def test_merge_reports_every_bad_record_at_once():
    with pytest.raises(RecordInputError) as err:
        values_by_name(
            [
                {"name": "bad name.example.com", "values": ["a"]},
                {"name": "ok.example.com", "values": "a"},
                {"name": "ok.example.com", "values": ["x" * 256, ""]},
                "nope",
            ]
        )
    text = str(err.value)
    for part in ("records[0]", "records[1]", "records[2]", "255 bytes", "records[3]", "non-empty"):
        assert part in text


# ---------------------------------------------------------------- planning
def test_plan_present_adds_only_missing_and_never_removes():
    assert plan_changes("present", ["a", "b"], {"b", "other"}) == (["a"], [])


def test_plan_absent_removes_only_given_values_that_exist():
    assert plan_changes("absent", ["a", "b"], {"b", "other"}) == ([], ["b"])
    assert plan_changes("absent", ["a"], set()) == ([], [])


# -------------------------------------------------------------------- sync
def test_present_adds_keeps_others_and_is_idempotent():
    configs = [fake("p", ["example.com"])]
    FakeProvider.STORES["p"] = {"_acme-challenge.example.com": {"theirs"}}
    records = [{"name": "_acme-challenge.example.com", "values": ["wild", "apex"]}]
    first = sync_records(records, configs)
    assert first.changed and not first.errors
    [item] = first.records
    assert item["added"] == ["wild", "apex"] and item["before"] == ["theirs"]
    assert item["after"] == ["apex", "theirs", "wild"]
    assert FakeProvider.STORES["p"]["_acme-challenge.example.com"] == {"theirs", "wild", "apex"}
    second = sync_records(records, configs)
    assert not second.changed and second.records[0]["added"] == []


def test_absent_removes_exactly_the_given_values():
    configs = [fake("p", ["example.com"])]
    FakeProvider.STORES["p"] = {"_acme-challenge.example.com": {"theirs", "mine"}}
    result = sync_records(
        [{"name": "_acme-challenge.example.com", "values": ["mine", "gone"]}], configs, state="absent"
    )
    assert result.changed and result.records[0]["removed"] == ["mine"]
    assert FakeProvider.STORES["p"]["_acme-challenge.example.com"] == {"theirs"}


def test_one_batch_per_provider_and_zone():
    configs = [fake("p", ["example.com", "example.net"])]
    records = [
        {"name": "_acme-challenge.a.example.com", "values": ["1"]},
        {"name": "_acme-challenge.b.example.com", "values": ["2"]},
        {"name": "_acme-challenge.example.net", "values": ["3"]},
    ]
    sync_records(records, configs, ttl=120)
    adds = sorted((call[2], sorted(call[3]), call[4]) for call in FakeProvider.CALLS if call[1] == "add")
    assert adds == [
        ("example.com", ["_acme-challenge.a.example.com", "_acme-challenge.b.example.com"], 120),
        ("example.net", ["_acme-challenge.example.net"], 120),
    ]


def test_check_mode_reads_but_never_writes():
    configs = [fake("p", ["example.com"])]
    result = sync_records([{"name": "_acme-challenge.example.com", "values": ["v"]}], configs, check_mode=True)
    assert result.changed and result.records[0]["after"] == ["v"]
    assert FakeProvider.CALLS == [] and FakeProvider.STORES["p"] == {}
    assert '"v"' in result.diff["after"] and result.diff["before"] == ""


def test_dual_hosted_zone_is_written_to_both_and_one_failure_does_not_stop_the_other():
    configs = [fake("good", ["example.com"]), fake("bad", ["example.com"], fail=True)]
    result = sync_records([{"name": "_acme-challenge.example.com", "values": ["v"]}], configs)
    by_provider = {item["provider"]: item for item in result.records}
    assert by_provider["good"]["added"] == ["v"] and by_provider["good"]["error"] is None
    assert by_provider["bad"]["added"] == [] and "REFUSED" in by_provider["bad"]["error"]
    assert result.changed
    assert len(result.errors) == 1 and "'bad'" in result.errors[0] and "_acme-challenge.example.com" in result.errors[0]
    assert FakeProvider.STORES["good"]["_acme-challenge.example.com"] == {"v"}


def test_skip_providers_are_not_contacted():
    configs = [fake("good", ["example.com"]), fake("down", ["example.com"], fail_read=True)]
    result = sync_records([{"name": "_acme-challenge.example.com", "values": ["v"]}], configs, skip=["down"])
    assert [item["provider"] for item in result.records] == ["good"] and not result.errors


def test_unknown_skip_provider_is_an_input_error():
    with pytest.raises(RecordInputError, match="skip_providers"):
        sync_records([], [fake("p", ["example.com"])], skip=["typo"])


def test_name_in_no_zone_fails_before_any_read_or_write():
    configs = [fake("p", ["example.com"])]
    records = [
        {"name": "_acme-challenge.example.com", "values": ["v"]},
        {"name": "_acme-challenge.example.org", "values": ["w"]},
    ]
    with pytest.raises(RecordInputError) as err:
        sync_records(records, configs)
    assert "_acme-challenge.example.org" in str(err.value)
    assert FakeProvider.CALLS == [] and FakeProvider.STORES == {}


def test_bad_provider_entry_fails_before_any_write():
    configs = [fake("p", ["example.com"]), {"name": "q", "type": "rfc2136", "zones": ["example.net"]}]
    with pytest.raises(ProviderConfigError, match="server"):
        sync_records([{"name": "_acme-challenge.example.com", "values": ["v"]}], configs)
    assert FakeProvider.CALLS == []


def test_read_failure_is_reported_without_the_secret_and_nothing_is_written():
    configs = [fake("p", ["example.com"], fail_read=True)]
    result = sync_records([{"name": "_acme-challenge.example.com", "values": ["v"]}], configs)
    assert result.records[0]["error"].startswith("read failed")
    assert SECRET not in result.errors[0] and "********" in result.errors[0]
    assert FakeProvider.CALLS == [] and not result.changed


def test_partial_failure_reports_what_really_landed():
    configs = [fake("p", ["example.com"], partial=True)]
    records = [{"name": "a.example.com", "values": ["1"]}, {"name": "b.example.com", "values": ["2"]}]
    result = sync_records(records, configs)
    by_name = {item["name"]: item for item in result.records}
    assert by_name["a.example.com"]["added"] == ["1"] and by_name["a.example.com"]["after"] == ["1"]
    assert by_name["b.example.com"]["added"] == [] and by_name["b.example.com"]["after"] == []
    assert len(result.errors) == 2 and all(SECRET not in error for error in result.errors)
    assert "unexpected RuntimeError" in result.errors[0]
    assert result.changed


def test_bad_state_and_ttl_are_rejected():
    with pytest.raises(RecordInputError, match="state"):
        sync_records([], [fake("p", ["example.com"])], state="gone")
    with pytest.raises(RecordInputError, match="ttl"):
        sync_records([], [fake("p", ["example.com"])], ttl=-1)


def test_format_diff_lists_provider_name_and_value():
    diff = format_diff(
        [{"provider": "p", "name": "a.example.com", "before": [], "after": ["x"]}],
    )
    assert diff == {"before": "", "after": 'p: a.example.com. TXT "x"\n'}
