# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ACME modules against a real Pebble, with TXT records in a real BIND9.

The tests publish the TXT values themselves (TSIG update to the hidden
primary) and wait until both secondaries serve them, so they exercise only
the ACME side and do not depend on the DNS modules. Every test uses its own
random labels, so tests sharing the rig (and Pebble's authorization reuse)
never see each other's records.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    cached_account_url,
    create_account_key,
    open_session,
    remember_account_url,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.challenges import merge_records
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import finalize_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import public_key_der
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import order_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_certificates, parse_orders
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import longest_zone
from ansible_collections.certfleet.acme.plugins.module_utils._plan.expiry import expiry_facts

pytestmark = pytest.mark.rig

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PROPAGATION_TIMEOUT = 60
# Nothing listens here: a module that sent anything would fail with a connection error.
DEAD_DIRECTORY = "https://127.0.0.1:9/dir"


# --------------------------------------------------------------------------
# DNS: publish, wait for both secondaries, remove


def _keyring(rig):
    tsig = rig["tsig"]
    return {
        "keyring": dns.tsigkeyring.from_text({tsig["key_name"]: tsig["key_secret"]}),
        "keyname": dns.name.from_text(tsig["key_name"]),
        "keyalgorithm": dns.tsig.HMAC_SHA256,
    }


def _update(rig, records, add: bool) -> None:
    for record in records:
        zone = longest_zone(record["name"], rig["zones"])
        assert zone, record["name"]
        update = dns.update.UpdateMessage(zone, **_keyring(rig))
        for value in record["txt_values"]:
            if add:
                update.add(record["name"] + ".", 30, "TXT", '"%s"' % value)
            else:
                update.delete(record["name"] + ".", "TXT", '"%s"' % value)
        response = dns.query.tcp(update, rig["primary"], port=53, timeout=10)
        assert response.rcode() == 0, response


def _served(server: str, name: str) -> set:
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    query.flags &= ~dns.flags.RD
    response = dns.query.udp(query, server, port=53, timeout=3)
    return {b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset}


def publish(rig, records) -> None:
    """Add the TXT values on the primary and wait until both secondaries serve all of them."""
    _update(rig, records, add=True)
    deadline = time.monotonic() + PROPAGATION_TIMEOUT
    while True:
        missing = [
            (record["name"], server)
            for record in records
            for server in rig["secondaries"]
            if not set(record["txt_values"]) <= _served(server, record["name"])
        ]
        if not missing:
            return
        assert time.monotonic() < deadline, "not propagated: %s" % missing
        time.sleep(0.5)


def unpublish(rig, records) -> None:
    _update(rig, records, add=False)


# --------------------------------------------------------------------------
# helpers


def settings(rig, state_dir, terms=True, directory=None) -> AcmeSettings:
    return AcmeSettings(
        directory_url=directory or rig["acme_directory"],
        state_dir=str(state_dir),
        ca_bundle=rig["ca_bundle"],
        account_email="ops@example.test",
        terms_agreed=terms,
    )


def label() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def pebble_root(rig, rig_module):
    return x509.load_pem_x509_certificate(rig_module.pebble_root(rig).encode("ascii"))


def assert_issued(result, state_dir, pebble_root, names, key_type):
    """Everything a consumer relies on: chain, names, key type, key/cert match, modes, cert.json."""
    assert result["status"] == "issued", result
    assert "error" not in result
    paths = result["paths"]
    directory = os.path.join(str(state_dir), result["name"])
    assert paths["privkey"] == os.path.join(directory, "privkey.pem")
    chain = x509.load_pem_x509_certificates(open(paths["fullchain"], "rb").read())
    leaf = x509.load_pem_x509_certificate(open(paths["cert"], "rb").read())
    intermediates = x509.load_pem_x509_certificates(open(paths["chain"], "rb").read())
    assert chain == [leaf] + intermediates
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(names)
    for name in names:
        verifier = (
            PolicyBuilder().store(Store([pebble_root])).build_server_verifier(x509.DNSName(name.replace("*", "any", 1)))
        )
        verified = verifier.verify(leaf, intermediates)
        assert verified[-1] == pebble_root
    key = serialization.load_pem_private_key(open(paths["privkey"], "rb").read(), password=None)
    assert key_type_of(key) == key_type == key_type_of(leaf.public_key())
    assert public_key_der(key) == public_key_der(leaf)
    assert stat.S_IMODE(os.stat(paths["privkey"]).st_mode) == 0o600
    document = json.load(open(os.path.join(directory, "cert.json")))
    assert document["name"] == result["name"]
    assert sorted(document["names"]) == sorted(names)
    assert document["key_type"] == key_type
    assert int(document["serial"], 16) == leaf.serial_number == int(result["serial"], 16)
    assert document["not_after"] == result["not_after"]
    assert document["not_after"].endswith("Z") and document["not_before"].endswith("Z")
    assert document["issuer"] == leaf.issuer.rfc4514_string()
    assert document["order_url"] and document["issued_at"].endswith("Z")
    assert not os.path.exists(os.path.join(directory, "order.json"))
    assert not os.path.exists(os.path.join(directory, ".staging"))


# --------------------------------------------------------------------------
# module_utils against Pebble


def test_issue_ec256_wildcard_and_rsa2048(rig, tmp_path, pebble_root):
    tag = label()
    wanted = [
        {"name": "wild", "names": ["%s.example.test" % tag, "*.%s.example.test" % tag]},
        {
            "name": "rsa",
            "names": ["www.%s.example2.test" % tag, "%s.deep.sub.example2.test" % tag],
            "key_type": "rsa2048",
        },
    ]
    session = open_session(settings(rig, tmp_path))
    orders = order_all(session, parse_certificates(wanted), str(tmp_path))
    assert [order["status"] for order in orders] == ["pending", "pending"], orders
    assert [order["resumed"] for order in orders] == [False, False]
    for order in orders:
        saved = json.load(open(tmp_path / order["name"] / "order.json"))
        assert saved["order_url"] == order["order_url"]
        assert saved["names"] == order["names"] and saved["key_type"] == order["key_type"]
    wild_records = orders[0]["records"]
    assert len(wild_records) == 1
    assert wild_records[0]["name"] == "_acme-challenge.%s.example.test" % tag
    assert len(wild_records[0]["txt_values"]) == 2
    records = merge_records(order["records"] for order in orders)
    assert len(records) == 3
    publish(rig, records)
    try:
        results = finalize_all(session, parse_orders(orders), str(tmp_path), 90)
    finally:
        unpublish(rig, records)
    assert_issued(results[0], tmp_path, pebble_root, wanted[0]["names"], "ec256")
    assert_issued(results[1], tmp_path, pebble_root, wanted[1]["names"], "rsa2048")

    facts, warnings = expiry_facts(wanted, str(tmp_path), 30)
    assert warnings == []
    assert facts["wild"]["needs_renewal"] is False and facts["wild"]["key_type"] == "ec256"
    assert facts["rsa"]["reason"] is None and facts["rsa"]["serial"] == results[1]["serial"]
    changed, _warnings = expiry_facts([dict(wanted[1], key_type="ec384")], str(tmp_path), 30)
    assert changed["rsa"]["reason"] == "key_type_changed"


def test_order_is_resumed(rig, tmp_path):
    tag = label()
    spec = parse_certificates([{"name": "again", "names": ["%s.example3.test" % tag, "*.%s.example3.test" % tag]}])
    session = open_session(settings(rig, tmp_path))
    first = order_all(session, spec, str(tmp_path))[0]
    second = order_all(session, spec, str(tmp_path))[0]
    assert first["resumed"] is False and second["resumed"] is True
    assert second["order_url"] == first["order_url"]
    assert second["records"] == first["records"]
    # Another key type asks for another certificate: a new order.
    other = parse_certificates([{"name": "again", "names": spec[0].names, "key_type": "ec384"}])
    third = order_all(session, other, str(tmp_path))[0]
    assert third["resumed"] is False and third["order_url"] != first["order_url"]
    # A saved order the CA does not know (any more) is replaced.
    saved = json.load(open(tmp_path / "again" / "order.json"))
    saved["order_url"] = saved["order_url"] + "-gone"
    (tmp_path / "again" / "order.json").write_text(json.dumps(saved))
    fourth = order_all(session, other, str(tmp_path))[0]
    assert fourth["status"] == "pending" and fourth["resumed"] is False


def test_failed_validation_is_reported_while_others_are_issued(rig, tmp_path, pebble_root):
    tag = label()
    wanted = [
        {"name": "good", "names": ["good.%s.example.test" % tag]},
        {"name": "bad", "names": ["bad.%s.example2.test" % tag, "ok.%s.example2.test" % tag]},
    ]
    session = open_session(settings(rig, tmp_path))
    orders = order_all(session, parse_certificates(wanted), str(tmp_path))
    good_records = orders[0]["records"]
    # Only one of bad's two names gets its record: its other authorization must fail.
    ok_records = [record for record in orders[1]["records"] if record["name"].startswith("_acme-challenge.ok.")]
    publish(rig, good_records + ok_records)
    try:
        results = finalize_all(session, parse_orders(orders), str(tmp_path), 60)
    finally:
        unpublish(rig, good_records + ok_records)
    assert_issued(results[0], tmp_path, pebble_root, wanted[0]["names"], "ec256")
    bad = results[1]
    assert bad["status"] == "failed"
    problem = bad["error"]
    assert problem["type"].startswith("urn:ietf:params:acme:error:"), problem
    assert problem["identifier"] == {"type": "dns", "value": "bad.%s.example2.test" % tag}
    assert problem["detail"]
    assert not os.path.exists(tmp_path / "bad" / "privkey.pem")
    assert not os.path.exists(tmp_path / "bad" / "order.json"), "an invalid order must not be resumed"


def test_terms_not_agreed_and_no_account_sends_nothing(rig, tmp_path):
    with pytest.raises(AccountError, match="terms_agreed: true"):
        open_session(settings(rig, tmp_path, terms=False, directory=DEAD_DIRECTORY))
    assert os.listdir(tmp_path) == []


def test_account_unknown_to_the_ca_is_registered_again_only_with_terms(rig, tmp_path):
    create_account_key(str(tmp_path))
    remember_account_url(str(tmp_path), rig["acme_directory"], "https://gone.test/account/1")
    with pytest.raises(AccountError, match="unknown to the server"):
        open_session(settings(rig, tmp_path, terms=False))
    session = open_session(settings(rig, tmp_path, terms=True))
    assert session.account_url != "https://gone.test/account/1"
    assert cached_account_url(str(tmp_path), rig["acme_directory"]) == session.account_url
    # Next time the account is found without agreeing again, and nothing is registered.
    again = open_session(settings(rig, tmp_path, terms=False))
    assert again.account_url == session.account_url


# --------------------------------------------------------------------------
# the modules, run by Ansible


def run_playbook(tmp_path, tasks, *extra) -> dict:
    """Run ``tasks`` in a localhost play and return each task's registered result by task name.

    Every task registers its result and keeps going; a last task (run in
    check mode too) writes them all as JSON for the test to read.
    """
    token = uuid.uuid4().hex[:6]
    out = tmp_path / ("results-%s.json" % token)
    playbook = tmp_path / ("play-%s.yml" % token)
    registered = []
    for index, task in enumerate(tasks):
        registered.append(dict(task, register="result_%d" % index, ignore_errors=True))
    collect = "{{ {%s} | to_json }}" % ", ".join("%r: result_%d" % (task["name"], i) for i, task in enumerate(tasks))
    registered.append(
        {"name": "collect", "check_mode": False, "ansible.builtin.copy": {"content": collect, "dest": str(out)}}
    )
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": registered}]))
    command = [
        os.path.join(BIN, "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ansible_python_interpreter=%s" % sys.executable,
        str(playbook),
        *extra,
    ]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text())


def acme_defaults(rig, state_dir, terms=True) -> dict:
    return {
        "group/certfleet.acme.acme": {
            "acme_directory": rig["acme_directory"],
            "acme_ca_bundle": rig["ca_bundle"],
            "state_dir": str(state_dir),
            "account_email": "ops@example.test",
            "terms_agreed": terms,
        }
    }


def test_modules_through_ansible_playbook(rig, tmp_path, pebble_root):
    state_dir = tmp_path / "state"
    tag = label()
    certificates = [
        {"name": "site", "names": ["%s.example.test" % tag, "*.%s.example.test" % tag]},
        {"name": "api", "names": ["api.%s.example3.test" % tag], "key_type": "rsa2048"},
    ]
    expiry_task = {
        "name": "expiry",
        "certfleet.acme.cert_expiry_facts": {"state_dir": str(state_dir), "certificates": certificates},
    }
    order_task = {
        "name": "order",
        "certfleet.acme.acme_dns01_order": {"certificates": certificates, "resolvers": [rig["resolver"]]},
    }

    # Check mode: everything is due, orders are only planned, nothing is written.
    checked = run_playbook(
        tmp_path, [expiry_task, dict(order_task, module_defaults=acme_defaults(rig, state_dir))], "--check"
    )
    assert checked["expiry"]["due"] == ["site", "api"]
    assert checked["expiry"]["ansible_facts"]["cert_expiry"]["site"]["reason"] == "missing"
    assert checked["expiry"]["changed"] is False
    assert [order["status"] for order in checked["order"]["orders"]] == ["would_order", "would_order"]
    assert checked["order"]["changed"] is True
    assert not state_dir.exists()

    ordered = run_playbook(tmp_path, [dict(order_task, module_defaults=acme_defaults(rig, state_dir))])["order"]
    assert ordered.get("failed") is not True, ordered
    assert ordered["changed"] is True
    wild = [record for record in ordered["records"] if record["name"] == "_acme-challenge.%s.example.test" % tag]
    assert len(wild) == 1 and len(wild[0]["txt_values"]) == 2
    publish(rig, ordered["records"])
    try:
        finalize_task = {
            "name": "finalize",
            "module_defaults": acme_defaults(rig, state_dir),
            "certfleet.acme.acme_finalize": {"orders": ordered["orders"], "timeout": 90},
        }
        finalized = run_playbook(tmp_path, [finalize_task, expiry_task])
    finally:
        unpublish(rig, ordered["records"])
    result = finalized["finalize"]
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert_issued(result["certificates"][0], state_dir, pebble_root, certificates[0]["names"], "ec256")
    assert_issued(result["certificates"][1], state_dir, pebble_root, certificates[1]["names"], "rsa2048")
    assert "PRIVATE KEY" not in json.dumps(finalized)
    expiry = finalized["expiry"]
    assert expiry["due"] == [] and expiry["changed"] is False
    assert expiry["certificates"]["api"]["serial"] == result["certificates"][1]["serial"]


def test_module_failures_are_clear_and_early(rig, tmp_path):
    state_dir = tmp_path / "state"
    tasks = [
        {
            "name": "no terms",
            "ignore_errors": True,
            "certfleet.acme.acme_dns01_order": {
                "acme_directory": DEAD_DIRECTORY,
                "state_dir": str(state_dir),
                "resolvers": [rig["resolver"]],
                "certificates": [{"name": "www", "names": ["www.example.test"]}],
            },
        },
        {
            "name": "bad name",
            "ignore_errors": True,
            "certfleet.acme.acme_dns01_order": {
                "acme_directory": DEAD_DIRECTORY,
                "state_dir": str(state_dir),
                "resolvers": [rig["resolver"]],
                "terms_agreed": True,
                "certificates": [
                    {"name": "www", "names": ["www.example.test"]},
                    {"name": "broken", "names": ["ok.example.test", "*.*.example.test"]},
                ],
            },
        },
        {
            "name": "bad key type",
            "ignore_errors": True,
            "certfleet.acme.acme_finalize": {
                "acme_directory": DEAD_DIRECTORY,
                "state_dir": str(state_dir),
                "orders": [{"name": "www", "names": ["www.example.test"], "key_type": "dsa", "order_url": "x"}],
            },
        },
    ]
    results = run_playbook(tmp_path, tasks)
    assert results["no terms"]["failed"] is True
    assert "terms_agreed: true" in results["no terms"]["msg"]
    assert "broken" in results["bad name"]["msg"] and "'*.*.example.test'" in results["bad name"]["msg"]
    assert "field 'names'" in results["bad name"]["msg"]
    assert "field 'key_type' value 'dsa'" in results["bad key type"]["msg"]
    assert not state_dir.exists()
