# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import os
import time

import pytest
from certgen import cached_key, make_cert

from ansible_collections.certfleet.acme.plugins.module_utils.cert_expiry import due_names, expiry_facts
from ansible_collections.certfleet.acme.plugins.module_utils.cert_info import (
    certificate_info,
    load_certificate,
    split_pem_chain,
)

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
NAMES = ["example.org", "*.example.org"]


def write(state_dir, name, pem):
    os.makedirs(os.path.join(state_dir, name), exist_ok=True)
    with open(os.path.join(state_dir, name, "cert.pem"), "wb") as handle:
        handle.write(pem)


@pytest.fixture
def fleet(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "fresh", make_cert(NAMES, days_left=60, now=NOW))
    write(state_dir, "expiring", make_cert(NAMES, days_left=10, now=NOW))
    write(state_dir, "expired", make_cert(NAMES, days_left=-3, now=NOW))
    write(state_dir, "renamed", make_cert(["example.org"], days_left=60, now=NOW))
    write(state_dir, "rekeyed", make_cert(NAMES, key_type="rsa2048", days_left=60, now=NOW))
    write(state_dir, "garbage", b"not a certificate\n")
    return state_dir


def facts_for(state_dir, **overrides):
    wanted = {"names": ["*.EXAMPLE.org.", "example.org"], "key_type": "ec256"}
    wanted.update(overrides)
    items = [
        dict(wanted, name=name) for name in ("fresh", "expiring", "expired", "renamed", "rekeyed", "missing", "garbage")
    ]
    return expiry_facts(items, state_dir, 30, now=NOW)


def test_reasons(fleet):
    facts, warnings = facts_for(fleet)
    assert {name: fact["reason"] for name, fact in facts.items()} == {
        "fresh": None,
        "expiring": "expiring",
        "expired": "expiring",
        "renamed": "names_changed",
        "rekeyed": "key_type_changed",
        "missing": "missing",
        "garbage": "missing",
    }
    assert due_names(facts) == ["expiring", "expired", "renamed", "rekeyed", "missing", "garbage"]
    assert len(warnings) == 1 and "garbage" in warnings[0]


def test_fact_fields(fleet):
    facts, _warnings = facts_for(fleet)
    fresh = facts["fresh"]
    assert fresh["exists"] is True
    assert fresh["needs_renewal"] is False
    assert fresh["days_left"] == 60
    assert fresh["lifetime_days"] == 90
    assert fresh["not_after"] == "2025-04-30T12:00:00Z"
    assert fresh["names"] == ["example.org", "*.example.org"]
    assert fresh["issuer"] == "CN=Test CA"
    assert fresh["key_type"] == "ec256"
    assert int(fresh["serial"], 16) > 0
    assert facts["expired"]["days_left"] == -3
    assert facts["rekeyed"]["key_type"] == "rsa2048"
    assert facts["missing"] == {
        "exists": False,
        "not_after": None,
        "days_left": None,
        "lifetime_days": None,
        "names": [],
        "issuer": None,
        "serial": None,
        "key_type": None,
        "needs_renewal": True,
        "reason": "missing",
    }


def test_names_and_key_type_only_compared_when_given(fleet):
    facts, _warnings = facts_for(fleet, names=None, key_type=None)
    assert facts["renamed"]["reason"] is None
    assert facts["rekeyed"]["reason"] is None


def test_renew_window_boundary(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "edge", make_cert(NAMES, days_left=30, now=NOW))
    facts, _warnings = expiry_facts([{"name": "edge"}], state_dir, 30, now=NOW)
    assert facts["edge"]["needs_renewal"] is False
    facts, _warnings = expiry_facts([{"name": "edge"}], state_dir, 31, now=NOW)
    assert facts["edge"]["reason"] == "expiring"


def test_explicit_path_and_full_chain(tmp_path):
    path = tmp_path / "chain.pem"
    path.write_bytes(make_cert(["a.test"], now=NOW) + make_cert(["ca.test"], now=NOW))
    facts, _warnings = expiry_facts([{"name": "x", "path": str(path), "names": ["a.test"]}], None, 30, now=NOW)
    assert facts["x"]["names"] == ["a.test"]
    assert facts["x"]["reason"] is None


def test_split_chain_and_info():
    leaf = make_cert(["a.test"], now=NOW)
    ca = make_cert(["ca.test"], key_type="ec384", now=NOW)
    blocks = split_pem_chain(leaf + b"\n" + ca)
    assert blocks == [leaf.decode(), ca.decode()]
    info = certificate_info(load_certificate(blocks[1]))
    assert info["names"] == ["ca.test"] and info["key_type"] == "ec384"


def test_thousand_certificates_are_fast(tmp_path):
    state_dir = str(tmp_path)
    pems = [make_cert(["n%d.example.org" % i], days_left=i % 90, now=NOW, key=cached_key("ec256")) for i in range(20)]
    items = []
    for i in range(1000):
        write(state_dir, "c%d" % i, pems[i % 20])
        items.append({"name": "c%d" % i, "names": ["n%d.example.org" % (i % 20)], "key_type": "ec256"})
    start = time.monotonic()
    facts, _warnings = expiry_facts(items, state_dir, 30, now=NOW)
    elapsed = time.monotonic() - start
    assert len(facts) == 1000
    assert elapsed < 1.0, elapsed
