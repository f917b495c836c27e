# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""skip_providers: a provider listed there is never written to, also in a dual-hosted zone."""

from __future__ import annotations

import secrets

from playbook_runner import run_module, txt_values


def test_skipped_provider_of_a_dual_hosted_zone_is_left_alone(rig):
    name = "_acme-challenge.skip-%s.dual.test" % secrets.token_hex(4)
    value = secrets.token_urlsafe(32)
    args = {
        "providers": [rig["provider"], rig["powerdns_provider"]],
        "records": [{"name": name, "values": [value]}],
        "skip_providers": [rig["powerdns_provider"]["name"]],
    }
    added = run_module("dns_txt_record", dict(args, state="present"))
    assert added["changed"] is True, added
    assert {item["provider"] for item in added["records"]} == {rig["provider"]["name"]}
    assert txt_values(rig["primary"], name) == {value}
    assert txt_values(rig["powerdns"]["address"], name) == set()

    removed = run_module("dns_txt_record", dict(args, state="absent"))
    assert removed["changed"] is True, removed
    assert txt_values(rig["primary"], name) == set()


def test_unknown_skipped_provider_is_an_error(rig):
    result = run_module(
        "dns_txt_record",
        {
            "providers": [rig["provider"]],
            "records": [{"name": "_acme-challenge.x.example.test", "values": ["v"]}],
            "skip_providers": ["no-such-provider"],
        },
    )
    assert result.get("failed") is True
    assert "no-such-provider" in result["msg"]
