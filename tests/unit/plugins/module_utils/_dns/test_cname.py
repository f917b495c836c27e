# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import dns.name
import dns.rdatatype
import dns.resolver
import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._dns import cname as cd

ZONES = ["example.test", "validation.test"]
CNAMES = {
    "_acme-challenge.delegated.example.test": "delegated.validation.test",
    "_acme-challenge.chained.example.test": "hop.example2.test",
    "hop.example2.test": "chained.validation.test",
    "_acme-challenge.loop.example.test": "loop-b.example.test",
    "loop-b.example.test": "_acme-challenge.loop.example.test",
    "_acme-challenge.dangling.example.test": "target.unmanaged.invalid",
    "_acme-challenge.customer.other.test": "customer.validation.test",
}


class FakeAnswer:
    def __init__(self, target):
        self.rrset = None if target is None else [type("R", (), {"target": dns.name.from_text(target)})()]


class FakeResolver:
    """Answers CNAME queries from a table; names not in it have no CNAME."""

    def __init__(self, table, failing=()):
        self.table = table
        self.failing = set(failing)
        self.asked = []

    def resolve(self, name, rdtype, raise_on_no_answer=True):
        assert rdtype == dns.rdatatype.CNAME
        self.asked.append(name)
        if name in self.failing:
            raise dns.resolver.NoNameservers()
        if name.startswith("_acme-challenge.absent"):
            raise dns.resolver.NXDOMAIN()
        return FakeAnswer(self.table.get(name))


def spec(name, *names):
    return CertSpec(name=name, names=tuple(names))


def plan(specs, resolver=None, follow=True):
    resolver = resolver or FakeResolver(CNAMES)
    return cd.plan_delegation(specs, zones=ZONES, follow_cnames=follow, resolve=lambda n: cd.cname_chain(n, resolver))


def test_undelegated_names_map_to_themselves():
    assert plan([spec("a", "www.example.test", "*.example.test")]) == {
        "_acme-challenge.www.example.test": "_acme-challenge.www.example.test",
        "_acme-challenge.example.test": "_acme-challenge.example.test",
    }


def test_single_cname_and_chain_are_followed_to_the_end():
    targets = plan([spec("d", "delegated.example.test"), spec("c", "chained.example.test")])
    assert targets["_acme-challenge.delegated.example.test"] == "delegated.validation.test"
    assert targets["_acme-challenge.chained.example.test"] == "chained.validation.test"


def test_name_outside_managed_zones_is_fine_when_delegated_into_one():
    assert plan([spec("x", "customer.other.test")]) == {
        "_acme-challenge.customer.other.test": "customer.validation.test"
    }


def test_loop_is_refused_naming_certificate_and_chain():
    with pytest.raises(cd.DelegationError) as err:
        plan([spec("looped", "loop.example.test")])
    message = str(err.value)
    assert "certificate 'looped'" in message and "'loop.example.test'" in message
    assert "CNAME loop: _acme-challenge.loop.example.test -> loop-b.example.test -> _acme-challenge.loop" in message


def test_dangling_cname_is_refused():
    with pytest.raises(cd.DelegationError) as err:
        plan([spec("dang", "dangling.example.test")])
    assert "delegated by CNAME to target.unmanaged.invalid, which lies in no zone" in str(err.value)


def test_every_problem_is_reported_at_once_and_lookup_failures_too():
    resolver = FakeResolver(CNAMES, failing={"_acme-challenge.broken.example.test"})
    with pytest.raises(cd.DelegationError) as err:
        plan([spec("a", "loop.example.test", "broken.example.test"), spec("b", "www.nowhere.test")], resolver)
    message = str(err.value)
    assert "cannot look up the CNAME of _acme-challenge.broken.example.test" in message
    assert "CNAME loop" in message
    assert "certificate 'b': field 'names' value 'www.nowhere.test'" in message


def test_nxdomain_means_no_delegation():
    assert plan([spec("a", "absent.example.test")]) == {
        "_acme-challenge.absent.example.test": "_acme-challenge.absent.example.test"
    }


def test_without_following_only_zones_are_checked():
    resolver = FakeResolver(CNAMES)
    assert plan([spec("d", "delegated.example.test")], resolver, follow=False) == {
        "_acme-challenge.delegated.example.test": "_acme-challenge.delegated.example.test"
    }
    assert resolver.asked == []


def test_too_long_chain_is_refused():
    table = {"_acme-challenge.long.example.test": "h0.example.test"}
    table.update({"h%d.example.test" % i: "h%d.example.test" % (i + 1) for i in range(12)})
    with pytest.raises(cd.DelegationError) as err:
        plan([spec("l", "long.example.test")], FakeResolver(table))
    assert "longer than 8 hops" in str(err.value)


def test_delegate_records_merges_values_at_a_shared_target():
    records = [
        {"name": "_acme-challenge.a.example.test", "txt_values": ["1"]},
        {"name": "_acme-challenge.b.example.test", "txt_values": ["2"]},
        {"name": "_acme-challenge.c.example.test", "txt_values": ["3"]},
    ]
    targets = {
        "_acme-challenge.a.example.test": "shared.validation.test",
        "_acme-challenge.b.example.test": "shared.validation.test",
    }
    assert cd.delegate_records(records, targets) == [
        {"name": "_acme-challenge.c.example.test", "txt_values": ["3"]},
        {"name": "shared.validation.test", "txt_values": ["1", "2"]},
    ]


def test_delegation_problems_lists_each_certificate_and_name_without_raising():
    resolver = FakeResolver(CNAMES)
    targets, problems = cd.delegation_problems(
        [spec("ok", "delegated.example.test"), spec("bad", "dangling.example.test", "www.example.test")],
        zones=ZONES,
        resolve=lambda n: cd.cname_chain(n, resolver),
    )
    assert targets == {
        "_acme-challenge.delegated.example.test": "delegated.validation.test",
        "_acme-challenge.www.example.test": "_acme-challenge.www.example.test",
    }
    assert problems == [
        (
            "bad",
            "dangling.example.test",
            "_acme-challenge.dangling.example.test is delegated by CNAME to target.unmanaged.invalid, which lies in "
            "no zone of the providers",
        )
    ]
