# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TXT journal: values listed before they are published, struck once gone, and what a killed run left removed."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import RecordInputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import (
    clean_journal,
    sync_records,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state import journal as txt_journal
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import JOURNAL_FILE

NAME = "_acme-challenge.www.example.com"


class MemoryProvider(DnsProvider):
    """Values in a dict shared per provider name; ``broken`` makes every write fail, ``blind`` makes it unreadable."""

    TYPE = "memory"
    OPTIONAL_OPTIONS = ("broken", "blind")
    STORES: dict[str, dict[str, set[str]]] = {}
    WRITES: list[tuple] = []

    def configure(self, config):
        self.broken = bool(config.get("broken"))
        self.CAN_READ = not config.get("blind")
        self.store = self.STORES.setdefault(self.name, {})

    def read_values(self, zone, fqdn):
        return set(self.store.get(fqdn, set()))

    def add_values(self, zone, records, ttl):
        self.WRITES.append((self.name, "add", zone, {k: sorted(v) for k, v in records.items()}))
        if self.broken:
            raise self.error(None, "REFUSED")
        for fqdn, values in records.items():
            self.store.setdefault(fqdn, set()).update(values)

    def remove_values(self, zone, records):
        self.WRITES.append((self.name, "remove", zone, {k: sorted(v) for k, v in records.items()}))
        if self.broken:
            raise self.error(None, "REFUSED")
        for fqdn, values in records.items():
            self.store.get(fqdn, set()).difference_update(values)


@pytest.fixture(autouse=True)
def memory_type(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_TYPES, "memory", MemoryProvider)
    MemoryProvider.STORES.clear()
    MemoryProvider.WRITES.clear()


def memory(name, zones=("example.com",), **extra):
    return dict({"name": name, "type": "memory", "zones": list(zones)}, **extra)


def listed(path) -> dict:
    return {txt_journal.entry_key(entry): sorted(entry["values"]) for entry in txt_journal.load(str(path))}


# ---------------------------------------------------------------- the file


def test_record_and_strike_keep_exactly_the_values_not_yet_gone(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    txt_journal.record(path, [("bind", "example.com", NAME, ["a", "b"]), ("pdns", "example.com", NAME, ["a"])])
    txt_journal.record(path, [("bind", "example.com", NAME, ["b", "c"])])
    assert listed(path) == {("bind", "example.com", NAME): ["a", "b", "c"], ("pdns", "example.com", NAME): ["a"]}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    txt_journal.strike(path, [("bind", "example.com", NAME, ["a", "c"]), ("other", "example.com", NAME, ["b"])])
    assert listed(path) == {("bind", "example.com", NAME): ["b"], ("pdns", "example.com", NAME): ["a"]}
    txt_journal.strike(path, [("bind", "example.com", NAME, ["b"]), ("pdns", "example.com", NAME, ["a"])])
    assert not os.path.exists(path), "an empty journal is deleted"
    assert os.listdir(tmp_path) == []


def test_no_journal_means_nothing_listed(tmp_path):
    path = str(tmp_path / "none" / JOURNAL_FILE)
    assert txt_journal.load(path) == []
    txt_journal.strike(path, [("bind", "example.com", NAME, ["a"])])
    assert not os.path.exists(os.path.dirname(path))


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    left = tmp_path / (".%s.k1ll3d" % JOURNAL_FILE)
    left.write_text('{"entries": [')
    txt_journal.record(path, [("bind", "example.com", NAME, ["a"])])
    assert sorted(os.listdir(tmp_path)) == [JOURNAL_FILE]


def test_a_damaged_journal_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / JOURNAL_FILE
    path.write_text('{"entries": [{"provider": "bind"}]}')
    with pytest.raises(txt_journal.JournalError, match=str(path)):
        txt_journal.load(str(path))
    path.write_text("{not json")
    with pytest.raises(txt_journal.JournalError, match="cannot read"):
        txt_journal.record(str(path), [("bind", "example.com", NAME, ["a"])])


# ----------------------------------------------------- publishing with it


def test_values_are_listed_before_they_are_published(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    seen_at_write = []
    real_add = MemoryProvider.add_values

    def add_values(self, zone, records, ttl):
        seen_at_write.append(listed(path))
        real_add(self, zone, records, ttl)

    MemoryProvider.add_values = add_values
    try:
        sync_records([{"name": NAME, "values": ["v1", "v2"]}], [memory("bind")], journal=path)
    finally:
        MemoryProvider.add_values = real_add
    assert seen_at_write == [{("bind", "example.com", NAME): ["v1", "v2"]}]


def test_a_value_that_was_already_there_is_not_listed(tmp_path):
    """It belongs to someone else: the clean-up of a killed run must never remove it."""
    path = str(tmp_path / JOURNAL_FILE)
    MemoryProvider.STORES["bind"] = {NAME: {"theirs"}}
    sync_records([{"name": NAME, "values": ["theirs", "mine"]}], [memory("bind")], journal=path)
    assert listed(path) == {("bind", "example.com", NAME): ["mine"]}


def test_no_journal_no_publishing(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the journal's directory should be")
    with pytest.raises(RecordInputError, match="nothing was published"):
        sync_records([{"name": NAME, "values": ["v1"]}], [memory("bind")], journal=str(blocked / JOURNAL_FILE))
    assert MemoryProvider.WRITES == []


def test_disk_full_journal_publishes_nothing(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(txt_journal, "atomic_write_json", full)
    with pytest.raises(RecordInputError, match="No space left on device"):
        sync_records([{"name": NAME, "values": ["v1"]}], [memory("bind")], journal=str(tmp_path / "j.json"))
    assert MemoryProvider.WRITES == []


def test_check_mode_touches_no_journal(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    sync_records([{"name": NAME, "values": ["v1"]}], [memory("bind")], journal=path, check_mode=True)
    assert not os.path.exists(path)


def test_removal_strikes_only_what_is_confirmed_gone(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    configs = [memory("bind"), memory("pdns", broken=False)]
    records = [{"name": NAME, "values": ["v1"]}]
    sync_records(records, configs, journal=path)
    assert set(listed(path)) == {("bind", "example.com", NAME), ("pdns", "example.com", NAME)}
    configs[1]["broken"] = True
    result = sync_records(records, configs, state="absent", journal=path)
    assert result.errors and "pdns" in result.errors[0]
    assert listed(path) == {("pdns", "example.com", NAME): ["v1"]}, "the failed removal stays listed"


def test_a_provider_that_cannot_read_is_struck_after_a_successful_removal(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    configs = [memory("hook", blind=True)]
    records = [{"name": NAME, "values": ["v1"]}]
    sync_records(records, configs, journal=path)
    assert listed(path) == {("hook", "example.com", NAME): ["v1"]}
    sync_records(records, configs, state="absent", journal=path)
    assert not os.path.exists(path)


# -------------------------------------------------- what a killed run left


def test_clean_up_removes_exactly_the_listed_values_at_the_listed_provider(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    configs = [memory("bind"), memory("pdns")]
    # The killed run published v1 at both providers of a dual-hosted zone; others hold values at the same name.
    sync_records([{"name": NAME, "values": ["v1"]}], configs, journal=path)
    MemoryProvider.STORES["bind"][NAME].add("theirs")
    MemoryProvider.STORES["pdns"]["_acme-challenge.other.example.com"] = {"v1"}
    MemoryProvider.WRITES.clear()

    result = clean_journal(path, configs)
    assert not result.errors and result.changed
    assert sorted((item["provider"], item["removed"]) for item in result.records) == [
        ("bind", ["v1"]),
        ("pdns", ["v1"]),
    ]
    assert MemoryProvider.STORES["bind"][NAME] == {"theirs"}
    assert MemoryProvider.STORES["pdns"] == {NAME: set(), "_acme-challenge.other.example.com": {"v1"}}
    assert all(write[1] == "remove" for write in MemoryProvider.WRITES)
    assert not os.path.exists(path)
    again = clean_journal(path, configs)
    assert again.records == [] and not again.changed


def test_clean_up_of_values_that_never_made_it_to_dns_just_strikes_them(tmp_path):
    """Killed between the journal and the write: nothing to remove, nothing written."""
    path = str(tmp_path / JOURNAL_FILE)
    txt_journal.record(path, [("bind", "example.com", NAME, ["v1"])])
    result = clean_journal(path, [memory("bind")])
    assert not result.changed and not result.errors
    assert MemoryProvider.WRITES == []
    assert not os.path.exists(path)


def test_clean_up_keeps_entries_it_cannot_remove(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    txt_journal.record(
        path,
        [
            ("gone", "example.com", NAME, ["g1"]),
            ("down", "example.com", NAME, ["d1"]),
            ("skipped", "example.com", NAME, ["s1"]),
        ],
    )
    configs = [memory("down", broken=True), memory("skipped")]
    MemoryProvider.STORES["down"] = {NAME: {"d1"}}
    result = clean_journal(path, configs, skip=["skipped"])
    assert len(result.errors) == 2
    assert any("'gone'" in line and "not configured" in line and "g1" in line for line in result.errors)
    assert any("'down'" in line and "REFUSED" in line for line in result.errors)
    assert any("skipped" in line for line in result.notices)
    assert listed(path) == {
        ("gone", "example.com", NAME): ["g1"],
        ("down", "example.com", NAME): ["d1"],
        ("skipped", "example.com", NAME): ["s1"],
    }


def test_clean_up_in_check_mode_changes_nothing(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    sync_records([{"name": NAME, "values": ["v1"]}], [memory("bind")], journal=path)
    before = open(path, encoding="utf-8").read()
    result = clean_journal(path, [memory("bind")], check_mode=True)
    assert result.changed and result.records[0]["removed"] == ["v1"]
    assert MemoryProvider.STORES["bind"][NAME] == {"v1"}
    assert open(path, encoding="utf-8").read() == before


def test_clean_up_refuses_a_damaged_journal_before_any_change(tmp_path):
    path = tmp_path / JOURNAL_FILE
    path.write_text(json.dumps({"entries": "nope"}))
    with pytest.raises(RecordInputError, match="not a list"):
        clean_journal(str(path), [memory("bind")])
    assert MemoryProvider.WRITES == []


# ---------------------------------------------------------------- entries this collection never writes


def forged(path, *entries) -> None:
    """A journal written by someone else: the file is this user's, the entries are not the collection's."""
    path.write_text(
        json.dumps({"version": 1, "entries": [dict(entry, since="2026-01-01T00:00:00Z") for entry in entries]})
    )
    os.chmod(path, 0o600)


SPF = {"provider": "bind", "zone": "example.com", "name": "example.com", "values": ["v=spf1 -all"]}


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (SPF, "name 'example.com' is neither an _acme-challenge name nor a CNAME target"),
        (
            dict(SPF, name="_acme-challenge.example.com", zone="www.example.com"),
            "does not lie below its zone 'www.example.com'",
        ),
        (dict(SPF, name="_acme-challenge.example.org", zone="example.org"), "zone 'example.org' is not a configured"),
        (dict(SPF, name="x;rm -rf ~.example.com"), "has an invalid label"),
        (dict(SPF, name="mail.example.com", **{"for": ["mail.example.com"]}), "nor a CNAME target recorded"),
        (dict(SPF, name="_ACME-challenge.Example.com"), "not written as this collection writes it"),
    ],
    ids=["spf-at-apex", "zone-not-above-name", "unconfigured-zone", "crafted-name", "for-without-challenge", "case"],
)
def test_clean_up_refuses_an_entry_the_collection_never_writes(tmp_path, entry, why):
    path = tmp_path / JOURNAL_FILE
    good = {"provider": "bind", "zone": "example.com", "name": NAME, "values": ["v1"]}
    forged(path, good, entry)
    MemoryProvider.STORES["bind"] = {"example.com": {"v=spf1 -all"}, NAME: {"v1"}}
    with pytest.raises(RecordInputError) as refused:
        clean_journal(str(path), [memory("bind")])
    message = str(refused.value)
    assert "entry (provider 'bind', zone %r, name %r): " % (entry["zone"], entry["name"]) in message
    assert why in message and "nothing in it is removed" in message
    assert MemoryProvider.WRITES == []
    assert MemoryProvider.STORES["bind"]["example.com"] == {"v=spf1 -all"}


def test_a_name_routed_to_a_deeper_zone_is_refused(tmp_path):
    path = tmp_path / JOURNAL_FILE
    forged(
        path, {"provider": "bind", "zone": "example.com", "name": "_acme-challenge.a.sub.example.com", "values": ["v"]}
    )
    with pytest.raises(RecordInputError, match="belongs to zone 'sub.example.com', not 'example.com'"):
        clean_journal(str(path), [memory("bind", zones=("example.com", "sub.example.com"))])


def test_a_recorded_cname_target_is_cleaned_up(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    target = "www.acme.example.com"
    configs = [memory("bind")]
    sync_records([{"name": target, "values": ["v1"]}], configs, journal=path, delegations={NAME: target})
    assert txt_journal.load(path)[0]["for"] == [NAME]
    result = clean_journal(path, configs)
    assert not result.errors and result.records[0]["removed"] == ["v1"]
    assert not os.path.exists(path)


def test_an_unrecorded_cname_target_is_refused(tmp_path):
    path = str(tmp_path / JOURNAL_FILE)
    sync_records([{"name": "www.acme.example.com", "values": ["v1"]}], [memory("bind")], journal=path)
    with pytest.raises(RecordInputError, match="'www.acme.example.com' is neither an _acme-challenge name"):
        clean_journal(path, [memory("bind")])


def test_a_journal_writable_by_others_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / JOURNAL_FILE
    forged(path, {"provider": "bind", "zone": "example.com", "name": NAME, "values": ["v1"]})
    os.chmod(path, 0o666)
    with pytest.raises(txt_journal.JournalError, match="%s is writable by its group and others" % path):
        txt_journal.load(str(path))
    with pytest.raises(txt_journal.JournalError, match="writable by its group and others"):
        txt_journal.record(str(path), [("bind", "example.com", NAME, ["v2"])])


def test_a_journal_that_is_a_symlink_is_refused(tmp_path):
    real = tmp_path / "real.json"
    forged(real, {"provider": "bind", "zone": "example.com", "name": NAME, "values": ["v1"]})
    path = tmp_path / JOURNAL_FILE
    path.symlink_to(real)
    with pytest.raises(RecordInputError, match="is a symbolic link"):
        clean_journal(str(path), [memory("bind")])
