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
            "no zone of the providers (example.test, validation.test): a CNAME target must lie below a configured "
            "zone",
        )
    ]


def test_a_cname_to_a_zone_apex_is_refused_naming_name_target_and_zone():
    resolver = FakeResolver({"_acme-challenge.apex.example.test": "validation.test"})
    with pytest.raises(cd.DelegationError) as err:
        plan([spec("apex", "apex.example.test")], resolver)
    assert str(err.value) == (
        "certificate 'apex': field 'names' value 'apex.example.test': _acme-challenge.apex.example.test is delegated "
        "by CNAME to validation.test, the apex of the zone validation.test: a CNAME target must lie below a "
        "configured zone, not at its apex"
    )


def test_a_challenge_zone_of_its_own_is_no_apex_problem():
    """Delegating _acme-challenge.<name> as a zone of its own (no CNAME) is fine."""
    zones = ["_acme-challenge.example.test"]
    assert cd.plan_delegation([spec("z", "example.test")], zones=zones, follow_cnames=False) == {
        "_acme-challenge.example.test": "_acme-challenge.example.test"
    }


def test_a_chain_that_leaves_the_zones_is_not_followed_further():
    """The outside target is never looked up: that lookup would end in a resolver timeout, not an answer."""
    table = {"_acme-challenge.out.example.test": "hop.elsewhere.invalid", "hop.elsewhere.invalid": "x.example.test"}
    resolver = FakeResolver(table, failing={"hop.elsewhere.invalid"})
    with pytest.raises(cd.DelegationError) as err:
        cd.plan_delegation(
            [spec("out", "out.example.test")], zones=ZONES, resolve=lambda n: cd.cname_chain(n, resolver, ZONES)
        )
    assert resolver.asked == ["_acme-challenge.out.example.test"]
    assert (
        "_acme-challenge.out.example.test is delegated by CNAME to hop.elsewhere.invalid, which lies in no zone of "
        "the providers (example.test, validation.test): a CNAME target must lie below a configured zone"
        in str(err.value)
    )


def test_the_default_resolution_stops_outside_the_zones(monkeypatch):
    resolver = FakeResolver(
        {"_acme-challenge.out.example.test": "hop.elsewhere.invalid"}, failing={"hop.elsewhere.invalid"}
    )
    monkeypatch.setattr(cd, "make_resolver", lambda resolvers: resolver)
    targets, problems = cd.delegation_problems([spec("out", "out.example.test")], zones=ZONES)
    assert targets == {} and "hop.elsewhere.invalid, which lies in no zone" in problems[0][2]
    assert resolver.asked == ["_acme-challenge.out.example.test"]


def test_without_zones_the_whole_chain_is_followed():
    resolver = FakeResolver(CNAMES)
    assert cd.cname_chain("_acme-challenge.chained.example.test", resolver) == [
        "_acme-challenge.chained.example.test",
        "hop.example2.test",
        "chained.validation.test",
    ]
