# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run import handoffs

ORDERS = [
    {"name": "a", "status": "pending", "records": [{"name": "_acme-challenge.a.example.test", "txt_values": ["1"]}]},
    {"name": "b", "status": "pending", "records": [{"name": "_acme-challenge.b.example.test", "txt_values": ["2"]}]},
    {"name": "c", "status": "ready", "records": []},
    {"name": "d", "status": "failed", "records": [], "error": {"detail": "rateLimited"}},
]
NS1 = {"name": "ns1.example.test", "address": "192.0.2.1", "answered": ["1", "2"], "ok": True, "error": None}
WAIT = {
    "msg": "timed out after 8s: 1 of 2 record(s) not published on every authoritative nameserver: (the table)",
    "elapsed": 8.02,
    "records": [
        {"name": "_acme-challenge.a.example.test", "ok": True, "servers": [NS1, dict(NS1, name="ns2.example.test")]},
        {
            "name": "_acme-challenge.b.example.test",
            "ok": False,
            "servers": [NS1, {"name": "ns2.example.test", "address": "192.0.2.2", "answered": [], "ok": False}],
        },
    ],
}


def test_propagated_orders_keeps_only_fully_propagated_and_valid_orders():
    assert [order["name"] for order in handoffs.propagated_orders(ORDERS, WAIT)] == ["a", "c"]


def test_run_failures_name_stage_and_cause():
    finalized = {"certificates": [{"name": "a", "status": "failed", "error": {"type": "unauthorized"}}]}
    failures = handoffs.run_failures(ORDERS, WAIT, finalized)
    assert failures == [
        {
            "name": "b",
            "stage": "propagation",
            "error": "not on every authoritative nameserver after 8.02s of waiting:\n"
            "record                         | server                       | answered\n"
            "-------------------------------+------------------------------+---------\n"
            '_acme-challenge.b.example.test | ns2.example.test (192.0.2.2) | no TXT values (missing "2")',
        },
        {"name": "d", "stage": "order", "error": {"detail": "rateLimited"}},
        {"name": "a", "stage": "finalize", "error": {"type": "unauthorized"}},
    ]


def test_propagation_failure_shows_each_certificate_only_its_own_records():
    orders = [
        {
            "name": "x",
            "status": "pending",
            "records": [{"name": "_acme-challenge.x.example.test", "txt_values": ["v1"]}],
        },
        {
            "name": "y",
            "status": "pending",
            "records": [{"name": "_acme-challenge.y.example.test", "txt_values": ["v2"]}],
        },
    ]
    stale = {"name": "ns2.example.test", "address": "192.0.2.2", "answered": None, "ok": False, "error": "timeout"}
    wait = {
        "msg": "timed out after 5s: the whole table",
        "elapsed": 5.0,
        "records": [
            {"name": "_acme-challenge.x.example.test", "ok": False, "servers": [NS1, stale]},
            {"name": "_acme-challenge.y.example.test", "ok": False, "servers": [], "error": "cannot find the zone"},
        ],
    }
    x, y = handoffs.run_failures(orders, wait, {})
    assert x["stage"] == y["stage"] == "propagation"
    assert "_acme-challenge.x.example.test | ns2.example.test (192.0.2.2) | timeout" in x["error"]
    assert "y.example.test" not in x["error"] and "ns1" not in x["error"]
    assert "_acme-challenge.y.example.test | -      | cannot find the zone" in y["error"]
    assert "x.example.test" not in y["error"]
    # A record that no server was asked about, for a reason the wait did not give.
    unchecked = {"msg": "no resolver", "records": [{"name": "_acme-challenge.x.example.test", "ok": False}]}
    assert handoffs.run_failures(orders[:1], unchecked, {})[0]["error"].endswith("| -      | no nameservers found")


PUBLISHED = {
    "records": [
        {"name": "_acme-challenge.a.example.test", "provider": "bind", "error": None},
        {"name": "_acme-challenge.b.example.test", "provider": "bind", "error": None},
        {"name": "_acme-challenge.b.example.test", "provider": "cloud", "error": "cloud: REFUSED"},
    ]
}


def test_published_records_drop_what_a_provider_failed_to_write():
    records = [order["records"][0] for order in ORDERS[:2]]
    assert handoffs.published_records(records, PUBLISHED) == [records[0]]


def test_unpublished_order_is_neither_finalized_nor_silent():
    wait = {"records": [{"name": "_acme-challenge.a.example.test", "servers": [{"ok": True}]}]}
    assert [order["name"] for order in handoffs.propagated_orders(ORDERS, wait, PUBLISHED)] == ["a", "c"]
    failures = handoffs.run_failures(ORDERS, wait, {}, PUBLISHED)
    assert failures[0] == {
        "name": "b",
        "stage": "publish",
        "error": "provider 'cloud' record '_acme-challenge.b.example.test': cloud: REFUSED",
    }


def test_record_errors_name_provider_and_record():
    assert handoffs.record_errors(PUBLISHED) == [
        "provider 'cloud' record '_acme-challenge.b.example.test': cloud: REFUSED"
    ]
    assert handoffs.record_errors({}) == []


def test_due_certificates_keep_order_fields_and_add_replaces():
    certificates = [
        {"name": "a", "names": ["a.example.test"], "key_type": "ec256", "force": True, "endpoint": {"host": "x"}},
        {"name": "b", "names": ["b.example.test"], "key_type": "rsa2048", "profile": "tlsserver"},
        {"name": "c", "names": ["c.example.test"], "key_type": "ec256"},
    ]
    expiry = {"due": ["a", "b"], "certificates": {"a": {"replaces": "aki.serial"}, "b": {"replaces": None}}}
    assert handoffs.due_certificates(certificates, expiry) == [
        {"name": "a", "names": ["a.example.test"], "key_type": "ec256", "replaces": "aki.serial"},
        {"name": "b", "names": ["b.example.test"], "key_type": "rsa2048", "profile": "tlsserver"},
    ]
    assert handoffs.due_certificates(certificates, {}) == []
