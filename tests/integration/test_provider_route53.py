# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route53 provider against a moto server on loopback: module_utils directly and dns_txt_record via ansible.

A public and a private hosted zone share the name example.test; every write
must land in the public one. Each test uses its own random names.
"""

from __future__ import annotations

import json
import secrets

from moto_fixture import CREDENTIALS, DECOY_NAME, DECOY_VALUE, provider_entry, run_aws_adhoc, txt_set
from playbook_runner import token

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records


def name(label: str = "") -> str:
    return "_acme-challenge.%s%s.example.test" % (label, secrets.token_hex(5))


def public_values(zones, fqdn: str) -> set[str]:
    rrset = txt_set(zones["client"], zones["public"], fqdn)
    return {record["Value"].strip('"') for record in rrset["ResourceRecords"]} if rrset else set()


def assert_no_credentials(text: str) -> None:
    for secret in CREDENTIALS:
        assert secret not in text


# --------------------------------------------------------------------------
# module_utils directly


def test_public_zone_is_used_and_values_come_and_go_one_by_one(moto_server, route53_zones):
    fqdn = name()
    first, second = token(), token()
    configs = [provider_entry(moto_server)]

    added = sync_records([{"name": fqdn, "values": [first, second]}], configs)
    assert added.changed and not added.errors, added.errors
    assert added.records[0]["added"] == [first, second]
    assert public_values(route53_zones, fqdn) == {first, second}
    assert txt_set(route53_zones["client"], route53_zones["private"], fqdn) is None

    again = sync_records([{"name": fqdn, "values": [second, first]}], configs)
    assert not again.changed and not again.errors and again.records[0]["before"] == sorted([first, second])

    removed = sync_records([{"name": fqdn, "values": [first]}], configs, state="absent")
    assert removed.changed and removed.records[0]["removed"] == [first]
    assert public_values(route53_zones, fqdn) == {second}

    assert not sync_records([{"name": fqdn, "values": [first]}], configs, state="absent").changed
    last = sync_records([{"name": fqdn, "values": [second]}], configs, state="absent")
    assert last.changed and not last.errors
    assert txt_set(route53_zones["client"], route53_zones["public"], fqdn) is None


def test_reads_never_see_the_private_twin(moto_server, route53_zones):
    public = build_provider(provider_entry(moto_server))
    assert public.read_values("example.test", DECOY_NAME) == set()
    private = build_provider(provider_entry(moto_server, private_zone=True))
    assert private.read_values("example.test", DECOY_NAME) == {DECOY_VALUE}


def test_values_with_quotes_spaces_and_backslashes_round_trip(moto_server, route53_zones):
    provider = build_provider(provider_entry(moto_server))
    fqdn = name("odd-")
    odd = ['say "hi"', "two  words", "back\\slash", "x" * 255]
    provider.add_values("example.test", {fqdn: odd}, 60)
    assert provider.read_values("example.test", fqdn) == set(odd)
    provider.remove_values("example.test", {fqdn: odd[:2]})
    assert provider.read_values("example.test", fqdn) == set(odd[2:])
    provider.remove_values("example.test", {fqdn: odd[2:]})
    assert provider.read_values("example.test", fqdn) == set()


def test_check_mode_writes_nothing(moto_server, route53_zones):
    fqdn = name()
    mark = moto_server.mark()
    result = sync_records([{"name": fqdn, "values": [token()]}], [provider_entry(moto_server)], check_mode=True)
    assert result.changed and result.records[0]["after"] and not result.errors
    assert moto_server.change_calls_since(mark) == 0
    assert txt_set(route53_zones["client"], route53_zones["public"], fqdn) is None


def test_a_batch_of_names_is_one_change_each_way(moto_server, route53_zones):
    records = [{"name": name("n%d-" % index), "values": [token(), token()]} for index in range(6)]
    configs = [provider_entry(moto_server)]
    mark = moto_server.mark()
    added = sync_records(records, configs)
    assert added.changed and not added.errors, added.errors
    assert moto_server.change_calls_since(mark) == 1
    for record in records:
        assert public_values(route53_zones, record["name"]) == set(record["values"])

    mark = moto_server.mark()
    removed = sync_records(records, configs, state="absent")
    assert removed.changed and not removed.errors
    assert moto_server.change_calls_since(mark) == 1
    for record in records:
        assert txt_set(route53_zones["client"], route53_zones["public"], record["name"]) is None


def test_zone_that_does_not_exist_names_provider_and_record(moto_server, route53_zones):
    good, bad = name(), "_acme-challenge.www.nowhere.test"
    configs = [provider_entry(moto_server, zones=["example.test", "nowhere.test"])]
    result = sync_records([{"name": good, "values": [token()]}, {"name": bad, "values": [token()]}], configs)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert "aws-moto" in error and bad in error and "no public hosted zone named nowhere.test." in error
    assert_no_credentials(json.dumps(result.records) + error)
    # The other zone of the same provider was written all the same.
    assert len(public_values(route53_zones, good)) == 1
    sync_records([{"name": good, "values": list(public_values(route53_zones, good))}], configs[:1], state="absent")


# --------------------------------------------------------------------------
# dns_txt_record through ansible, as a playbook would run it


def test_module_add_rerun_check_and_remove(moto_server, route53_zones):
    fqdn = name("mod-")
    first, second = token(), token()
    entry = provider_entry(moto_server)
    args = {"provider": entry, "records": [{"name": fqdn, "values": [first, second]}]}

    result, output = run_aws_adhoc("dns_txt_record", args)
    assert result.get("changed") is True and not result.get("failed"), output
    assert result["records"][0]["added"] == [first, second]
    assert public_values(route53_zones, fqdn) == {first, second}
    assert_no_credentials(json.dumps(result) + output)

    result, output = run_aws_adhoc("dns_txt_record", args)
    assert result.get("changed") is False and not result.get("failed"), output

    mark = moto_server.mark()
    absent = {"provider": entry, "records": [{"name": fqdn, "values": [first]}], "state": "absent"}
    result, output = run_aws_adhoc("dns_txt_record", absent, "--check", "--diff")
    assert result.get("changed") is True and not result.get("failed"), output
    assert moto_server.change_calls_since(mark) == 0
    assert public_values(route53_zones, fqdn) == {first, second}

    result, output = run_aws_adhoc("dns_txt_record", absent, "-vvv")
    assert result.get("changed") is True and result["records"][0]["removed"] == [first], output
    assert public_values(route53_zones, fqdn) == {second}
    assert_no_credentials(json.dumps(result) + output)

    result, output = run_aws_adhoc("dns_txt_record", absent)
    assert result.get("changed") is False and not result.get("failed"), output
    run_aws_adhoc("dns_txt_record", dict(absent, records=[{"name": fqdn, "values": [second]}]))
    assert txt_set(route53_zones["client"], route53_zones["public"], fqdn) is None


def test_module_batch_is_one_change(moto_server, route53_zones):
    records = [{"name": name("b%d-" % index), "values": [token()]} for index in range(5)]
    records.append({"name": records[0]["name"], "values": [token()]})  # same name twice: merged
    args = {"providers": [provider_entry(moto_server)], "records": records}
    mark = moto_server.mark()
    result, output = run_aws_adhoc("dns_txt_record", args)
    assert result.get("changed") is True and not result.get("failed"), output
    assert moto_server.change_calls_since(mark) == 1
    assert len(public_values(route53_zones, records[0]["name"])) == 2

    mark = moto_server.mark()
    result, output = run_aws_adhoc("dns_txt_record", dict(args, state="absent"))
    assert result.get("changed") is True and not result.get("failed"), output
    assert moto_server.change_calls_since(mark) == 1
    assert all(txt_set(route53_zones["client"], route53_zones["public"], r["name"]) is None for r in records)


def test_module_failure_names_provider_and_record_without_credentials(moto_server, route53_zones):
    bad = "_acme-challenge.www.nowhere.test"
    args = {
        "provider": provider_entry(moto_server, zones=["nowhere.test"]),
        "records": [{"name": bad, "values": [token()]}],
    }
    result, output = run_aws_adhoc("dns_txt_record", args, "-vvv")
    assert result.get("failed"), output
    assert "aws-moto" in result["msg"] and bad in result["msg"] and "nowhere.test" in result["msg"]
    assert_no_credentials(json.dumps(result) + output)


def test_module_config_error_does_not_show_the_secret(moto_server, route53_zones):
    args = {
        "provider": provider_entry(moto_server, wait_timeout="soon"),
        "records": [{"name": name(), "values": [token()]}],
    }
    result, output = run_aws_adhoc("dns_txt_record", args, "-vvv")
    assert result.get("failed") and "wait_timeout" in result["msg"], output
    assert_no_credentials(json.dumps(result) + output)


def test_unreachable_endpoint_is_a_provider_error(moto_server):
    # A closed port on loopback: the error names the provider and the record and shows no credential.
    entry = provider_entry(moto_server, endpoint_url="http://127.0.0.1:9", wait_timeout=5)
    fqdn = name()
    result = sync_records([{"name": fqdn, "values": [token()]}], [entry])
    assert result.errors and "aws-moto" in result.errors[0] and fqdn in result.errors[0]
    assert_no_credentials(" ".join(result.errors))
