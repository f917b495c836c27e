# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The powerdns provider against the rig's real PowerDNS, alone and dual-hosted with BIND.

PowerDNS has no caches in the rig and no secondaries, so what its API
accepted is what it answers at once. Each test uses its own random names.
"""

from __future__ import annotations

import json
import secrets

import pytest
from playbook_runner import label, run_adhoc, run_module, token, txt_values

from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import wait_propagated
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

pytestmark = pytest.mark.rig


# --------------------------------------------------------------------------
# PowerDNS only (pdns.test)


def test_two_values_at_one_name_then_one_removed(rig):
    pdns = rig["powerdns"]["address"]
    provider = build_provider(rig["powerdns_provider"])
    name = "_acme-challenge.%s.pdns.test" % label()
    first, second = token(), token()

    provider.add_values("pdns.test", {name: [first]}, 60)
    provider.add_values("pdns.test", {name: [second]}, 60)
    assert provider.read_values("pdns.test", name) == {first, second}
    assert txt_values(pdns, name) == {first, second}

    provider.remove_values("pdns.test", {name: [first]})
    assert provider.read_values("pdns.test", name) == {second}
    assert txt_values(pdns, name) == {second}

    provider.remove_values("pdns.test", {name: [second]})
    assert provider.read_values("pdns.test", name) == set()
    assert txt_values(pdns, name) == set()


def test_values_that_need_quoting_survive_the_round_trip(rig):
    provider = build_provider(rig["powerdns_provider"])
    name = "_acme-challenge.%s.pdns.test" % label()
    odd = ['with "quotes" and \\', "café ünïcode", "semi;colon space"]
    provider.add_values("pdns.test", {name: odd}, 60)
    try:
        assert provider.read_values("pdns.test", name) == set(odd)
        assert txt_values(rig["powerdns"]["address"], name) == set(odd)
    finally:
        provider.remove_values("pdns.test", {name: odd})
    assert txt_values(rig["powerdns"]["address"], name) == set()


def test_module_adds_reruns_checks_and_removes(rig):
    pdns = rig["powerdns"]["address"]
    name = "_acme-challenge.%s.pdns.test" % label()
    first, second = token(), token()
    args = {"provider": rig["powerdns_provider"], "records": [{"name": name, "values": [first, second]}]}

    result = run_module("dns_txt_record", args)
    assert result.get("changed") is True and not result.get("failed"), result
    assert result["records"][0]["added"] == [first, second] and result["records"][0]["provider"] == "rig-pdns"
    assert txt_values(pdns, name) == {first, second}

    again = run_module("dns_txt_record", args)
    assert again.get("changed") is False and not again.get("failed"), again

    absent = dict(args, state="absent", records=[{"name": name, "values": [first]}])
    checked, output = run_adhoc("dns_txt_record", absent, "--check", "--diff")
    assert checked.get("changed") is True and checked["records"][0]["removed"] == [first]
    assert txt_values(pdns, name) == {first, second}
    assert rig["powerdns"]["api_key"] not in output and rig["powerdns"]["api_key"] not in json.dumps(checked)

    removed = run_module("dns_txt_record", absent)
    assert removed.get("changed") is True and not removed.get("failed"), removed
    assert txt_values(pdns, name) == {second}

    removed = run_module("dns_txt_record", dict(args, state="absent"))
    assert removed.get("changed") is True and removed["records"][0]["removed"] == [second]
    assert txt_values(pdns, name) == set()


def test_bad_api_key_fails_clearly_without_showing_any_key(rig):
    wrong = "wrong-" + secrets.token_urlsafe(18)
    name = "_acme-challenge.%s.pdns.test" % label()
    config = dict(rig["powerdns_provider"], api_key=wrong)

    with pytest.raises(ProviderError) as err:
        build_provider(config).read_values("pdns.test", name)
    assert "rig-pdns" in str(err.value) and "API key was not accepted" in str(err.value)
    assert wrong not in str(err.value)

    args = {"provider": config, "records": [{"name": name, "values": [token()]}]}
    result, output = run_adhoc("dns_txt_record", args, "-vvv")
    assert result.get("failed") and result.get("changed") is False
    assert "rig-pdns" in result["msg"] and name in result["msg"] and "API key was not accepted" in result["msg"]
    assert wrong not in output and wrong not in json.dumps(result)
    assert rig["powerdns"]["api_key"] not in output
    assert txt_values(rig["powerdns"]["address"], name) == set()


def test_a_zone_powerdns_does_not_have_is_named(rig):
    config = dict(rig["powerdns_provider"], zones=["example3.test"])
    result = sync_records([{"name": "_acme-challenge.%s.example3.test" % label(), "values": [token()]}], [config])
    assert result.errors and not result.changed
    assert "no zone example3.test." in result.errors[0] and "rig-pdns" in result.errors[0]


# --------------------------------------------------------------------------
# dual-hosted (dual.test on BIND and on PowerDNS)


def test_dual_hosted_zone_gets_every_value_at_both_providers(rig):
    providers = [rig["provider"], rig["powerdns_provider"]]
    name = "_acme-challenge.%s.dual.test" % label()
    apex = "_acme-challenge.dual.test"
    values, apex_value = [token(), token()], token()
    records = [{"name": name, "values": values}, {"name": apex, "values": [apex_value]}]

    result = run_module("dns_txt_record", {"providers": providers, "records": records})
    assert result.get("changed") is True and not result.get("failed"), result
    try:
        written = {(item["provider"], item["name"]): item["added"] for item in result["records"]}
        assert written == {
            ("rig-bind", name): values,
            ("rig-pdns", name): values,
            ("rig-bind", apex): [apex_value],
            ("rig-pdns", apex): [apex_value],
        }
        for server in (rig["primary"], rig["powerdns"]["address"]):
            assert txt_values(server, name) == set(values), server
            assert txt_values(server, apex) == {apex_value}, server

        waited = run_module(
            "dns_wait_propagated",
            {"records": records, "resolvers": [rig["resolver"]], "timeout": 60, "interval": 0.5},
        )
        assert not waited.get("failed"), waited.get("msg")
        expected = sorted(rig["secondaries"] + [rig["powerdns"]["address"]])
        for record in waited["records"]:
            assert record["zone"] == "dual.test"
            assert sorted(server["address"] for server in record["servers"]) == expected
            assert all(server["ok"] for server in record["servers"])
    finally:
        removed = run_module("dns_txt_record", {"providers": providers, "records": records, "state": "absent"})
    assert removed.get("changed") is True and not removed.get("failed"), removed
    for server in (rig["primary"], rig["powerdns"]["address"]):
        assert txt_values(server, name) == set() and txt_values(server, apex) == set(), server
    gone = wait_propagated(records, state="absent", timeout=60, interval=0.5, resolvers=[rig["resolver"]])
    assert gone.ok, gone.message


def test_dual_hosted_wait_names_powerdns_when_it_lacks_a_value(rig):
    # Only BIND gets the value: the wait must not pass on the secondaries alone.
    name = "_acme-challenge.%s.dual.test" % label()
    records = [{"name": name, "values": [token()]}]
    assert not sync_records(records, [rig["provider"]]).errors
    try:
        result = wait_propagated(
            records, timeout=3 * rig["notify_delay"] + 3, interval=0.5, resolvers=[rig["resolver"]]
        )
        assert not result.ok
        servers = {server["address"]: server["ok"] for server in result.records[0]["servers"]}
        assert servers[rig["powerdns"]["address"]] is False
        assert "ns.pdns.test (%s)" % rig["powerdns"]["address"] in result.message
    finally:
        sync_records(records, [rig["provider"]], state="absent")


def test_one_provider_of_a_dual_hosted_zone_failing_is_reported_and_the_other_is_written(rig):
    broken = dict(rig["powerdns_provider"], api_key="wrong-" + secrets.token_urlsafe(12))
    name = "_acme-challenge.%s.dual.test" % label()
    value = token()
    records = [{"name": name, "values": [value]}]
    result = sync_records(records, [rig["provider"], broken])
    try:
        assert result.changed and len(result.errors) == 1
        assert "rig-pdns" in result.errors[0] and broken["api_key"] not in result.errors[0]
        by_provider = {item["provider"]: item for item in result.records}
        assert by_provider["rig-bind"]["added"] == [value] and by_provider["rig-pdns"]["added"] == []
        assert txt_values(rig["primary"], name) == {value}
        assert txt_values(rig["powerdns"]["address"], name) == set()
    finally:
        sync_records(records, [rig["provider"]], state="absent")
