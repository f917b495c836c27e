# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_wait_propagated logic: satisfaction, polling, referrals and the timeout table (no servers)."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.nameservers import Answer, DiscoveryError, Server
from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import (
    describe,
    format_table,
    is_satisfied,
    wait_propagated,
)

NS1 = Server("ns1.example.com", "192.0.2.1")
NS2 = Server("ns2.example.com", "192.0.2.2")


class FakeDiscovery:
    def __init__(self, zones=None, servers=None, fail=()):
        self.zones = zones or {}
        self.servers = servers or {"example.com": [NS1, NS2]}
        self.fail = set(fail)
        self.calls = []

    def zone_of(self, name):
        self.calls.append(("zone", name))
        if name in self.fail:
            raise DiscoveryError("cannot find the zone of %s: resolver timeout" % name)
        return self.zones.get(name, "example.com")

    def servers_of(self, zone):
        self.calls.append(("servers", zone))
        return self.servers[zone]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Zone:
    """What each address serves, changeable between rounds; records every query."""

    def __init__(self, data):
        self.data = data
        self.asked = []
        self.lock = threading.Lock()

    def query(self, name, address, timeout):
        with self.lock:
            self.asked.append((name, address))
        answer = self.data.get(address, {}).get(name)
        if isinstance(answer, Answer):
            return answer
        return Answer(values=frozenset(answer or ()), status="NOERROR" if answer else "NXDOMAIN")


def run(zone, records, clock=None, **kwargs):
    clock = clock or Clock()
    kwargs.setdefault("discovery", FakeDiscovery())
    return wait_propagated(records, query=zone.query, clock=clock, sleep=clock.sleep, **kwargs)


REC = [{"name": "_acme-challenge.example.com", "values": ["wild", "apex"]}]


# ----------------------------------------------------------- satisfaction
def test_is_satisfied_present_and_absent():
    shows = Answer(values=frozenset({"wild", "apex", "other"}), status="NOERROR")
    assert is_satisfied("present", ["wild", "apex"], shows)
    assert not is_satisfied("present", ["wild", "x"], shows)
    assert is_satisfied("absent", ["x"], shows)
    assert not is_satisfied("absent", ["x", "other"], shows)
    assert not is_satisfied("absent", ["x"], Answer(status="timeout", error="timeout"))
    assert is_satisfied("absent", ["x"], Answer(values=frozenset(), status="NXDOMAIN"))


def test_all_servers_show_all_values_returns_at_once():
    zone = Zone({a: {"_acme-challenge.example.com": {"wild", "apex"}} for a in ("192.0.2.1", "192.0.2.2")})
    result = run(zone, REC)
    assert result.ok and result.elapsed == 0
    [record] = result.records
    assert record["zone"] == "example.com" and record["ok"]
    assert [(s["name"], s["address"], s["answered"], s["ok"]) for s in record["servers"]] == [
        ("ns1.example.com", "192.0.2.1", ["apex", "wild"], True),
        ("ns2.example.com", "192.0.2.2", ["apex", "wild"], True),
    ]


def test_polls_until_the_lagging_server_catches_up_and_does_not_reask_satisfied_ones():
    data = {"192.0.2.1": {"_acme-challenge.example.com": {"wild", "apex"}}, "192.0.2.2": {}}
    zone = Zone(data)
    clock = Clock()
    original = clock.sleep

    def sleep(seconds):
        original(seconds)
        if clock.now >= 1004:
            data["192.0.2.2"] = {"_acme-challenge.example.com": {"wild", "apex"}}

    clock.sleep = sleep
    result = run(zone, REC, clock=clock, timeout=30, interval=2)
    assert result.ok and result.elapsed == 4
    assert zone.asked.count(("_acme-challenge.example.com", "192.0.2.1")) == 1
    assert zone.asked.count(("_acme-challenge.example.com", "192.0.2.2")) == 3


def test_timeout_table_names_record_server_and_answer():
    zone = Zone(
        {
            "192.0.2.1": {"_acme-challenge.example.com": {"wild"}},
            "192.0.2.2": {"_acme-challenge.example.com": Answer(status="REFUSED", error="REFUSED")},
        }
    )
    result = run(zone, REC, timeout=5, interval=2)
    assert not result.ok and result.elapsed == 5
    lines = result.message.splitlines()
    assert "timed out after 5s: 1 of 1 record(s) not published" in lines[0]
    assert lines[1].split("|")[0].strip() == "record" and lines[2].startswith("---")
    assert "ns1.example.com (192.0.2.1)" in lines[3] and '"wild" (missing "apex")' in lines[3]
    assert "ns2.example.com (192.0.2.2)" in lines[4] and lines[4].endswith("REFUSED")
    assert result.records[0]["servers"][1]["error"] == "REFUSED"


def test_absent_waits_until_no_server_has_any_value():
    zone = Zone({"192.0.2.1": {}, "192.0.2.2": {"_acme-challenge.example.com": {"apex", "theirs"}}})
    result = run(zone, REC, state="absent", timeout=3)
    assert not result.ok and 'still has "apex"' in result.message and "not removed" in result.message
    zone.data["192.0.2.2"] = {"_acme-challenge.example.com": {"theirs"}}
    assert run(zone, REC, state="absent").ok


def test_zone_and_servers_are_looked_up_once_per_zone():
    discovery = FakeDiscovery(zones={"_acme-challenge.deep.sub.example2.test": "deep.sub.example2.test"})
    discovery.servers["deep.sub.example2.test"] = [NS1]
    records = [
        {"name": "_acme-challenge.a.example.com", "values": ["1"]},
        {"name": "_acme-challenge.b.example.com", "values": ["2"]},
        {"name": "_acme-challenge.deep.sub.example2.test", "values": ["3"]},
    ]
    zone = Zone(
        {
            "192.0.2.1": {r["name"]: set(r["values"]) for r in records},
            "192.0.2.2": {r["name"]: set(r["values"]) for r in records},
        }
    )
    result = run(zone, records, discovery=discovery)
    assert result.ok
    assert sorted(call for call in discovery.calls if call[0] == "servers") == [
        ("servers", "deep.sub.example2.test"),
        ("servers", "example.com"),
    ]
    assert [r["zone"] for r in result.records] == ["example.com", "example.com", "deep.sub.example2.test"]


def test_referral_moves_the_record_to_the_child_zone():
    child = Server("ns.child", "192.0.2.9")
    discovery = FakeDiscovery()
    discovery.servers["_acme-challenge.example.com"] = [child]
    referral = Answer(status="referral", error="referral", referral="_acme-challenge.example.com")
    zone = Zone(
        {
            "192.0.2.1": {"_acme-challenge.example.com": referral},
            "192.0.2.2": {"_acme-challenge.example.com": referral},
            "192.0.2.9": {"_acme-challenge.example.com": {"wild", "apex"}},
        }
    )
    result = run(zone, REC, discovery=discovery, timeout=10)
    assert result.ok and result.records[0]["zone"] == "_acme-challenge.example.com"
    assert [s["address"] for s in result.records[0]["servers"]] == ["192.0.2.9"]


def test_discovery_failure_shows_in_the_table():
    zone = Zone({})
    discovery = FakeDiscovery(fail=["_acme-challenge.example.com"])
    result = run(zone, REC, discovery=discovery, timeout=2)
    assert not result.ok and "resolver timeout" in result.message and "| -" in result.message
    assert result.records[0]["error"].startswith("cannot find the zone")


def test_unreachable_ipv6_address_is_ignored_when_the_server_has_another():
    v6 = Server("ns1.example.com", "2001:db8::1")
    discovery = FakeDiscovery(servers={"example.com": [NS1, v6]})
    zone = Zone(
        {
            "192.0.2.1": {"_acme-challenge.example.com": {"wild", "apex"}},
            "2001:db8::1": {"_acme-challenge.example.com": Answer(status="error", error="unreachable", unusable=True)},
        }
    )
    assert run(zone, REC, discovery=discovery).ok
    # Only an unreachable address left for a server: that server is not satisfied.
    discovery = FakeDiscovery(servers={"example.com": [NS1, Server("ns2.example.com", "2001:db8::1")]})
    assert not run(zone, REC, discovery=discovery, timeout=1).ok


def test_explicit_nameservers_skip_discovery():
    zone = Zone({"192.0.2.7": {"_acme-challenge.example.com": {"wild", "apex"}}})
    discovery = FakeDiscovery()
    result = run(zone, REC, discovery=discovery, nameservers=["192.0.2.7"])
    assert result.ok and discovery.calls == []
    assert result.records[0]["zone"] is None
    assert result.records[0]["servers"] == [
        {"name": "192.0.2.7", "address": "192.0.2.7", "answered": ["apex", "wild"], "ok": True, "error": None}
    ]


def test_bad_input_is_rejected_before_any_query():
    zone = Zone({})
    with pytest.raises(ValueError, match="nameservers"):
        run(zone, REC, nameservers=["ns1.example.com"])
    with pytest.raises(ValueError, match="interval"):
        run(zone, REC, interval=0)
    with pytest.raises(ValueError, match="state"):
        run(zone, REC, state="published")
    assert zone.asked == []


def test_no_records_is_immediately_done():
    result = run(Zone({}), [])
    assert result.ok and result.records == []


# -------------------------------------------------------------- formatting
def test_format_table_aligns_columns_and_truncates():
    rows = [("a.example.com", "ns1 (192.0.2.1)", "timeout"), ("long.name.example.com", "x", "NXDOMAIN")]
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[0] == "record                | server          | answered"
    assert lines[1] == "----------------------+-----------------+---------"
    assert lines[2] == "a.example.com         | ns1 (192.0.2.1) | timeout"
    assert lines[3] == "long.name.example.com | x               | NXDOMAIN"
    assert format_table(rows * 3, limit=2).endswith("... and 4 more")


def test_describe_answers():
    assert describe("present", ["a"], None) == "not asked yet"
    assert describe("present", ["a"], Answer(values=frozenset(), status="NXDOMAIN")) == 'NXDOMAIN (missing "a")'
    assert describe("present", ["a"], Answer(values=frozenset(), status="NOERROR")) == 'no TXT values (missing "a")'
    assert (
        describe("absent", ["a"], Answer(values=frozenset({"a", "b"}), status="NOERROR")) == '"a", "b" (still has "a")'
    )
    assert describe("present", ["a"], Answer(status="timeout", error="timeout after 3s")) == "timeout after 3s"
