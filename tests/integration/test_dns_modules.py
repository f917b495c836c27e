# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_txt_record and dns_wait_propagated against the rig's BIND9 primary and secondaries.

Each test uses its own random names, so tests do not see each other's values
and a rerun against the same rig starts clean.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from playbook_runner import label, run_adhoc, token, txt_values

from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import wait_propagated
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import RecordInputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

pytestmark = pytest.mark.rig


# --------------------------------------------------------------------------
# module_utils directly


def test_values_are_added_and_removed_one_by_one(rig):
    name = "_acme-challenge.%s.example.test" % label()
    wild, apex = token(), token()
    configs = [rig["provider"]]

    added = sync_records([{"name": name, "values": [wild, apex]}], configs)
    assert added.changed and not added.errors
    assert added.records[0]["added"] == [wild, apex] and added.records[0]["zone"] == "example.test"
    assert txt_values(rig["primary"], name) == {wild, apex}

    again = sync_records([{"name": name, "values": [apex, wild]}], configs)
    assert not again.changed and again.records[0]["before"] == sorted([wild, apex])

    removed = sync_records([{"name": name, "values": [wild]}], configs, state="absent")
    assert removed.changed and removed.records[0]["removed"] == [wild]
    assert txt_values(rig["primary"], name) == {apex}

    assert not sync_records([{"name": name, "values": [wild]}], configs, state="absent").changed
    sync_records([{"name": name, "values": [apex]}], configs, state="absent")
    assert txt_values(rig["primary"], name) == set()


def test_check_mode_writes_nothing(rig):
    name = "_acme-challenge.%s.example3.test" % label()
    result = sync_records([{"name": name, "values": [token()]}], [rig["provider"]], check_mode=True)
    assert result.changed and result.records[0]["after"]
    assert txt_values(rig["primary"], name) == set()


def test_name_in_no_zone_changes_nothing(rig):
    good = "_acme-challenge.%s.example.test" % label()
    with pytest.raises(RecordInputError, match="_acme-challenge.www.example.invalid"):
        sync_records(
            [{"name": good, "values": [token()]}, {"name": "_acme-challenge.www.example.invalid", "values": [token()]}],
            [rig["provider"]],
        )
    assert txt_values(rig["primary"], good) == set()


def test_wrong_tsig_secret_fails_without_showing_it(rig):
    wrong = base64.b64encode(os.urandom(32)).decode()
    config = dict(rig["provider"], key_secret=wrong)
    name = "_acme-challenge.%s.example.test" % label()
    result = sync_records([{"name": name, "values": [token()]}], [config])
    assert result.errors and not result.changed
    text = json.dumps(result.records) + " ".join(result.errors)
    assert "rig-bind" in text and name in text and wrong not in text
    assert txt_values(rig["primary"], name) == set()


def test_wait_sees_values_on_both_secondaries_in_every_zone(rig):
    records = [
        {"name": "_acme-challenge.%s.example.test" % label(), "values": [token(), token()]},
        {"name": "_acme-challenge.%s.example2.test" % label(), "values": [token()]},
        {"name": "_acme-challenge.%s.deep.sub.example2.test" % label(), "values": [token()]},
        {"name": "_acme-challenge.deep.sub.example2.test", "values": [token()]},
    ]
    assert not sync_records(records, [rig["provider"]]).errors
    try:
        result = wait_propagated(records, timeout=60, interval=0.5, resolvers=[rig["resolver"]])
        assert result.ok, result.message
        zones = [record["zone"] for record in result.records]
        assert zones == ["example.test", "example2.test", "deep.sub.example2.test", "deep.sub.example2.test"]
        for record in result.records:
            assert sorted(server["address"] for server in record["servers"]) == sorted(rig["secondaries"])
            assert all(server["ok"] for server in record["servers"])
        for record in records:
            for secondary in rig["secondaries"]:
                assert set(record["values"]) <= txt_values(secondary, record["name"])
    finally:
        sync_records(records, [rig["provider"]], state="absent")
    gone = wait_propagated(records, state="absent", timeout=60, interval=0.5, resolvers=[rig["resolver"]])
    assert gone.ok, gone.message


def test_wait_times_out_with_a_table_naming_each_server(rig):
    name = "_acme-challenge.%s.example2.test" % label()
    result = wait_propagated(
        [{"name": name, "values": [token()]}], timeout=2, interval=0.5, resolvers=[rig["resolver"]]
    )
    assert not result.ok
    for address in rig["secondaries"]:
        assert address in result.message
    assert "ns1.example.test (%s)" % rig["secondaries"][0] in result.message
    assert name in result.message and "NXDOMAIN" in result.message


def test_wait_with_explicit_nameservers_can_watch_the_hidden_primary(rig):
    name = "_acme-challenge.%s.example3.test" % label()
    value = token()
    sync_records([{"name": name, "values": [value]}], [rig["provider"]])
    try:
        result = wait_propagated([{"name": name, "values": [value]}], timeout=10, nameservers=[rig["primary"]])
        assert result.ok and result.records[0]["servers"][0]["address"] == rig["primary"]
    finally:
        sync_records([{"name": name, "values": [value]}], [rig["provider"]], state="absent")


# --------------------------------------------------------------------------
# through ansible, as a playbook would run them


def test_module_add_rerun_check_and_remove(rig):
    name = "_acme-challenge.%s.example.test" % label()
    first, second = token(), token()
    args = {"provider": rig["provider"], "records": [{"name": name, "values": [first, second]}]}

    result, _output = run_adhoc("dns_txt_record", args)
    assert result.get("changed") is True and not result.get("failed"), result
    assert result["records"][0]["added"] == [first, second]
    assert txt_values(rig["primary"], name) == {first, second}

    result, _output = run_adhoc("dns_txt_record", args)
    assert result.get("changed") is False and not result.get("failed"), result

    absent = dict(args, state="absent", records=[{"name": name, "values": [first]}])
    result, output = run_adhoc("dns_txt_record", absent, "--check", "--diff")
    assert result.get("changed") is True and result["records"][0]["removed"] == [first]
    assert txt_values(rig["primary"], name) == {first, second}
    assert rig["provider"]["key_secret"] not in output

    result, _output = run_adhoc("dns_txt_record", absent)
    assert result.get("changed") is True
    assert txt_values(rig["primary"], name) == {second}

    result, _output = run_adhoc(
        "dns_wait_propagated",
        {
            "records": [{"name": name, "values": [second]}],
            "resolvers": [rig["resolver"]],
            "timeout": 60,
            "interval": 0.5,
        },
    )
    assert not result.get("failed"), result.get("msg")
    assert sorted(server["address"] for server in result["records"][0]["servers"]) == sorted(rig["secondaries"])

    routed = {"providers": [rig["provider"]], "records": args["records"], "state": "absent"}
    result, _output = run_adhoc("dns_txt_record", routed)
    assert result.get("changed") is True and txt_values(rig["primary"], name) == set()


def test_module_rejects_a_name_in_no_zone(rig):
    args = {
        "providers": [rig["provider"]],
        "records": [{"name": "_acme-challenge.nowhere.invalid", "values": [token()]}],
    }
    result, _output = run_adhoc("dns_txt_record", args)
    assert result.get("failed") and "_acme-challenge.nowhere.invalid" in result["msg"]
    assert result.get("changed") is False


def test_module_bad_secret_is_masked_everywhere(rig):
    wrong = base64.b64encode(os.urandom(32)).decode()
    name = "_acme-challenge.%s.example.test" % label()
    args = {"provider": dict(rig["provider"], key_secret=wrong), "records": [{"name": name, "values": [token()]}]}
    result, output = run_adhoc("dns_txt_record", args, "-vvv")
    assert result.get("failed") and "rig-bind" in result["msg"] and name in result["msg"]
    assert wrong not in output and wrong not in json.dumps(result)
    # Not even an input error may show it (this one fails during argument validation).
    result, output = run_adhoc("dns_txt_record", dict(args, records=[{"name": name}]), "-vvv")
    assert result.get("failed") and wrong not in output


def test_module_wait_timeout_names_the_server(rig):
    name = "_acme-challenge.%s.deep.sub.example2.test" % label()
    args = {"records": [{"name": name, "values": [token()]}], "resolvers": [rig["resolver"]], "timeout": 2}
    result, _output = run_adhoc("dns_wait_propagated", args)
    assert result.get("failed")
    assert "ns1.deep.sub.example2.test (%s)" % rig["secondaries"][0] in result["msg"]
    assert result["records"][0]["zone"] == "deep.sub.example2.test"
