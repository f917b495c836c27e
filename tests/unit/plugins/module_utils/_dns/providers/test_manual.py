# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The manual provider: notices for a person, a JSON file for automation, and how dns_txt_record shows them."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderConfigError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.manual import ManualProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records
from ansible_collections.certfleet.acme.plugins.modules import dns_txt_record

V1 = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
V2 = "gfj9Xq-DOnW-CNyk7bJ1xD7-dHhW9V3yHO1DGJEvWjI"


def entry(**extra) -> dict:
    config = {"name": "ops", "type": "manual", "zones": ["example.org", "intranet.example"]}
    config.update(extra)
    return config


def test_options():
    made = build_provider(entry())
    assert isinstance(made, ManualProvider) and made.path is None
    assert made.CAN_READ is False and made.notices() == []


def test_path_must_name_a_file(tmp_path):
    with pytest.raises(ProviderConfigError) as err:
        build_provider(entry(path=str(tmp_path)))
    assert err.value.field == "path" and str(tmp_path) in str(err.value)
    with pytest.raises(ProviderConfigError, match="path"):
        build_provider(entry(path=""))


def test_present_notices_show_every_name_and_value_and_nothing_is_written(tmp_path):
    made = build_provider(entry())
    made.add_values("example.org", {"_acme-challenge.example.org": [V1, V2]}, 60)
    assert made.notices() == [
        "provider 'ops': create in zone example.org: _acme-challenge.example.org. 60 IN TXT \"%s\"" % V1,
        "provider 'ops': create in zone example.org: _acme-challenge.example.org. 60 IN TXT \"%s\"" % V2,
    ]
    assert list(tmp_path.iterdir()) == []


def test_absent_notices_ask_to_delete():
    made = build_provider(entry())
    made.remove_values("intranet.example", {"_acme-challenge.wiki.intranet.example": [V1]})
    assert made.notices() == [
        "provider 'ops': delete from zone intranet.example: _acme-challenge.wiki.intranet.example. IN TXT \"%s\"" % V1
    ]


def test_json_file_lists_every_record_of_the_run_across_zones(tmp_path):
    path = tmp_path / "sub" / "records.json"
    made = build_provider(entry(path=str(path)))
    made.add_values("example.org", {"_acme-challenge.www.example.org": [V1]}, 60)
    made.add_values("intranet.example", {"_acme-challenge.wiki.intranet.example": [V1, V2]}, 60)
    assert json.loads(path.read_text()) == {
        "provider": "ops",
        "state": "present",
        "ttl": 60,
        "records": [
            {"name": "_acme-challenge.www.example.org", "zone": "example.org", "values": [V1]},
            {"name": "_acme-challenge.wiki.intranet.example", "zone": "intranet.example", "values": [V1, V2]},
        ],
    }
    assert made.notices()[-1] == "provider 'ops': these records are listed in %s" % path
    # Written atomically: no temporary file is left next to it.
    assert sorted(os.listdir(path.parent)) == ["records.json"]


def test_json_file_for_absent(tmp_path):
    path = tmp_path / "records.json"
    made = build_provider(entry(path=str(path)))
    made.remove_values("example.org", {"_acme-challenge.www.example.org": [V1]})
    document = json.loads(path.read_text())
    assert document["state"] == "absent" and document["ttl"] is None
    assert document["records"] == [{"name": "_acme-challenge.www.example.org", "zone": "example.org", "values": [V1]}]


def test_unwritable_file_is_a_provider_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    target = str(blocker / "records.json")
    result = sync_records([{"name": "_acme-challenge.www.example.org", "values": [V1]}], [entry(path=target)])
    assert len(result.errors) == 1 and "cannot write %s" % target in result.errors[0]


def test_sync_collects_notices_and_check_mode_has_none(tmp_path):
    path = tmp_path / "records.json"
    records = [
        {"name": "_acme-challenge.www.example.org", "values": [V1]},
        {"name": "_acme-challenge.wiki.intranet.example", "values": [V2]},
    ]
    check = sync_records(records, [entry(path=str(path))], check_mode=True)
    assert check.changed and check.notices == [] and not path.exists()

    result = sync_records(records, [entry(path=str(path))])
    assert result.changed and not result.errors
    assert [item["added"] for item in result.records] == [[V1], [V2]]
    assert len(result.notices) == 3
    assert any('_acme-challenge.www.example.org. 60 IN TXT "%s"' % V1 in line for line in result.notices)
    assert any('_acme-challenge.wiki.intranet.example. 60 IN TXT "%s"' % V2 in line for line in result.notices)
    assert {record["name"] for record in json.loads(path.read_text())["records"]} == {
        "_acme-challenge.www.example.org",
        "_acme-challenge.wiki.intranet.example",
    }


# ------------------------------------------------------------- the module
def test_module_warns_and_returns_notices(run_module, tmp_path):
    path = tmp_path / "records.json"
    result = run_module(
        dns_txt_record.main,
        {"provider": entry(path=str(path)), "records": [{"name": "_acme-challenge.www.example.org", "values": [V1]}]},
    )
    assert result["changed"] is True and not result.get("failed")
    line = "provider 'ops': create in zone example.org: _acme-challenge.www.example.org. 60 IN TXT \"%s\"" % V1
    assert result["notices"][0] == line
    assert line in [warning["event"]["msg"] for warning in result["warnings"]]  # a WarningSummary since 2.19
    assert path.exists()


def test_module_in_check_mode_returns_no_notices(run_module):
    result = run_module(
        dns_txt_record.main,
        {
            "provider": entry(),
            "records": [{"name": "_acme-challenge.www.example.org", "values": [V1]}],
            "_ansible_check_mode": True,
        },
    )
    assert result["notices"] == [] and result["changed"] is True


def test_module_takes_the_records_acme_dns01_order_returns(run_module, tmp_path):
    """acme_dns01_order returns ``txt_values``; the role passes its records to this module as they are."""
    path = tmp_path / "records.json"
    result = run_module(
        dns_txt_record.main,
        {
            "provider": entry(path=str(path)),
            "records": [{"name": "_acme-challenge.www.example.org", "txt_values": [V1]}],
        },
    )
    assert not result.get("failed") and result["records"][0]["added"] == [V1]
    assert json.loads(path.read_text())["records"][0]["values"] == [V1]
