# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""External Account Binding and preferred chains against second Pebble instances.

The rig's Pebble neither requires EAB nor serves alternate chains, so each
feature gets a Pebble of its own, started next to the rig with
``rig.start_pebble`` on an otherwise unused address of the rig's loopback
/24 (free ports), and validating DNS-01 through the rig's resolver: the TXT
records still go to the rig's BIND.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from playbook_runner import acme_settings
from test_acme_modules import BIN, DEAD_DIRECTORY, REPO, label, publish, unpublish

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    cached_account_url,
    open_session,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import finalize_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import order_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_certificates, parse_orders

pytestmark = pytest.mark.rig

EAB_KID = "certfleet-eab-kid"


def _net(rig) -> str:
    return rig["primary"].rsplit(".", 1)[0]


@pytest.fixture(scope="module")
def eab_key():
    """A MAC key as CAs hand them out: base64url without padding."""
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def eab_pebble(rig, rig_module, eab_key, tmp_path_factory):
    """A Pebble that registers accounts only with an External Account Binding."""
    state = tmp_path_factory.mktemp("pebble-eab")
    info = rig_module.start_pebble(
        state,
        address=_net(rig) + ".2",
        resolver=rig["resolver"],
        eab_keys={EAB_KID: eab_key},
        eab_required=True,
    )
    try:
        yield info
    finally:
        rig_module.down(state)


@pytest.fixture(scope="module")
def alternate_pebble(rig, rig_module, tmp_path_factory):
    """A Pebble whose certificates come with two alternate chains, to roots 1 and 2."""
    state = tmp_path_factory.mktemp("pebble-alt")
    info = rig_module.start_pebble(
        state, address=_net(rig) + ".3", resolver=rig["resolver"], env={"PEBBLE_ALTERNATE_ROOTS": "2"}
    )
    try:
        yield info
    finally:
        rig_module.down(state)


def _root(rig_module, pebble, index: int) -> x509.Certificate:
    return x509.load_pem_x509_certificate(rig_module.pebble_root(pebble, index).encode("ascii"))


def _cn(name: x509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _verifies(leaf, intermediates, root, name) -> bool:
    verifier = PolicyBuilder().store(Store([root])).build_server_verifier(x509.DNSName(name))
    try:
        chain = verifier.verify(leaf, intermediates)
    except VerificationError:
        return False
    return chain[-1] == root


def _chain_files(result):
    leaf = x509.load_pem_x509_certificate(open(result["paths"]["cert"], "rb").read())
    intermediates = x509.load_pem_x509_certificates(open(result["paths"]["chain"], "rb").read())
    full = x509.load_pem_x509_certificates(open(result["paths"]["fullchain"], "rb").read())
    assert full == [leaf] + intermediates
    return leaf, intermediates


def run_tasks(tmp_path, tasks, *extra):
    """Run ``tasks`` in a localhost play: each task's registered result by name, and the whole output."""
    token = uuid.uuid4().hex[:6]
    out = tmp_path / ("results-%s.json" % token)
    playbook = tmp_path / ("play-%s.yml" % token)
    registered = [dict(task, register="result_%d" % i, ignore_errors=True) for i, task in enumerate(tasks)]
    collect = "{{ {%s} | to_json }}" % ", ".join("%r: result_%d" % (task["name"], i) for i, task in enumerate(tasks))
    registered.append(
        {"name": "collect", "check_mode": False, "ansible.builtin.copy": {"content": collect, "dest": str(out)}}
    )
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": registered}]))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local"]
    command += ["-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook), *extra]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# External Account Binding


def test_eab_required_and_missing_fails_before_registering(rig, eab_pebble, eab_key, tmp_path):
    state_dir = tmp_path / "state"
    order = {
        "name": "order without eab",
        "certfleet.acme.acme_dns01_order": {
            "acme_directory": eab_pebble["acme_directory"],
            "acme_ca_bundle": eab_pebble["ca_bundle"],
            "state_dir": str(state_dir),
            "terms_agreed": True,
            "resolvers": [rig["resolver"]],
            "certificates": [{"name": "www", "names": ["www.%s.example.test" % label()]}],
        },
    }
    results, output = run_tasks(tmp_path, [order])
    result = results["order without eab"]
    assert result["failed"] is True
    assert "requires an External Account Binding" in result["msg"]
    assert "meta.externalAccountRequired" in result["msg"] and "eab_kid" in result["msg"]
    assert "orders" not in result
    assert cached_account_url(str(state_dir), eab_pebble["acme_directory"]) is None
    assert eab_key not in output


def test_eab_registers_the_account_and_the_certificate_is_issued(rig, rig_module, eab_pebble, eab_key, tmp_path):
    state_dir = tmp_path / "state"
    tag = label()
    names = ["%s.example.test" % tag, "*.%s.example.test" % tag]
    defaults = {
        "group/certfleet.acme.acme": {
            "acme_directory": eab_pebble["acme_directory"],
            "acme_ca_bundle": eab_pebble["ca_bundle"],
            "state_dir": str(state_dir),
            "terms_agreed": True,
            "eab_kid": EAB_KID,
            "eab_hmac_key": eab_key,
        }
    }
    order = {
        "name": "order",
        "module_defaults": defaults,
        "certfleet.acme.acme_dns01_order": {
            "resolvers": [rig["resolver"]],
            "certificates": [{"name": "eab", "names": names}],
        },
    }
    results, output = run_tasks(tmp_path, [order], "-vvv")
    ordered = results["order"]
    assert ordered.get("failed") is not True, ordered
    assert eab_key not in output
    account_url = cached_account_url(str(state_dir), eab_pebble["acme_directory"])
    assert account_url and account_url.startswith(eab_pebble["acme_directory"].rsplit("/", 1)[0])
    publish(rig, ordered["records"])
    try:
        finalize = {
            "name": "finalize",
            "module_defaults": defaults,
            "certfleet.acme.acme_finalize": {"orders": ordered["orders"], "timeout": 90},
        }
        results, output = run_tasks(tmp_path, [finalize], "-vvv")
    finally:
        unpublish(rig, ordered["records"])
    assert eab_key not in output
    result = results["finalize"]["certificates"][0]
    assert result["status"] == "issued", result
    leaf, intermediates = _chain_files(result)
    assert _verifies(leaf, intermediates, _root(rig_module, eab_pebble, 0), "www.%s.example.test" % tag)
    # The account exists now: later runs use it and never need the binding again.
    again = open_session(acme_settings(eab_pebble, state_dir))
    assert again.account_url == account_url


def test_eab_with_a_wrong_key_is_refused_by_the_ca(eab_pebble, tmp_path):
    wrong = secrets.token_urlsafe(32)
    with pytest.raises(AccountError, match="refused the External Account Binding with eab_kid") as caught:
        open_session(acme_settings(eab_pebble, tmp_path, eab_kid=EAB_KID, eab_hmac_key=wrong))
    assert wrong not in str(caught.value)


def test_eab_options_are_checked_before_anything_is_sent(tmp_path):
    tasks = [
        {
            "name": "kid only",
            "certfleet.acme.acme_dns01_order": {
                "acme_directory": DEAD_DIRECTORY,
                "state_dir": str(tmp_path / "state"),
                "terms_agreed": True,
                "follow_cnames": False,
                "eab_kid": EAB_KID,
                "certificates": [{"name": "www", "names": ["www.example.test"]}],
            },
        },
        {
            "name": "not base64url",
            "certfleet.acme.acme_finalize": {
                "acme_directory": DEAD_DIRECTORY,
                "state_dir": str(tmp_path / "state"),
                "eab_kid": EAB_KID,
                "eab_hmac_key": "not+base64/url==",
                "orders": [{"name": "www", "names": ["www.example.test"], "order_url": "https://x.test/o/1"}],
            },
        },
    ]
    results, output = run_tasks(tmp_path, tasks)
    assert "eab_kid is set but eab_hmac_key is not" in results["kid only"]["msg"]
    assert "eab_hmac_key is not base64url" in results["not base64url"]["msg"]
    assert "not+base64/url" not in output
    assert not (tmp_path / "state").exists()


# --------------------------------------------------------------------------
# preferred chain


def test_preferred_chain_picks_the_alternate_that_leads_to_the_named_root(rig, rig_module, alternate_pebble, tmp_path):
    roots = [_root(rig_module, alternate_pebble, index) for index in range(3)]
    assert len({_cn(root.subject) for root in roots}) == 3
    tag = label()
    wanted = [
        {"name": "alt1", "names": ["alt1.%s.example.test" % tag]},
        {"name": "alt2", "names": ["alt2.%s.example2.test" % tag]},
        {"name": "default", "names": ["default.%s.example3.test" % tag]},
    ]
    session = open_session(acme_settings(alternate_pebble, tmp_path))
    orders = order_all(session, parse_certificates(wanted), str(tmp_path))
    records = [record for order in orders for record in order["records"]]
    publish(rig, records)
    try:
        specs = parse_orders(orders)
        results = [
            finalize_all(session, [specs[0]], str(tmp_path), 90, preferred_chain=_cn(roots[1].subject))[0],
            finalize_all(session, [specs[1]], str(tmp_path), 90, preferred_chain=" %s " % _cn(roots[2].subject))[0],
            finalize_all(session, [specs[2]], str(tmp_path), 90, preferred_chain=_cn(roots[0].subject))[0],
        ]
    finally:
        unpublish(rig, records)
    for index, (result, want) in enumerate(zip(results, (1, 2, 0))):
        assert result["status"] == "issued", result
        assert result["warnings"] == []
        assert result["chain_issuer"] == _cn(roots[want].subject)
        leaf, intermediates = _chain_files(result)
        name = wanted[index]["names"][0]
        assert _verifies(leaf, intermediates, roots[want], name)
        for other in {0, 1, 2} - {want}:
            assert not _verifies(leaf, intermediates, roots[other], name)
        document = json.load(open(tmp_path / result["name"] / "cert.json"))
        assert document["chain_issuer"] == _cn(roots[want].subject)


def test_preferred_chain_without_a_match_keeps_the_default_and_warns(rig, rig_module, alternate_pebble, tmp_path):
    root0 = _root(rig_module, alternate_pebble, 0)
    state_dir = tmp_path / "state"
    defaults = {
        "group/certfleet.acme.acme": {
            "acme_directory": alternate_pebble["acme_directory"],
            "acme_ca_bundle": alternate_pebble["ca_bundle"],
            "state_dir": str(state_dir),
            "terms_agreed": True,
        }
    }
    name = "nomatch.%s.example.test" % label()
    order = {
        "name": "order",
        "module_defaults": defaults,
        "certfleet.acme.acme_dns01_order": {
            "resolvers": [rig["resolver"]],
            "certificates": [{"name": "nm", "names": [name]}],
        },
    }
    ordered = run_tasks(tmp_path, [order])[0]["order"]
    assert ordered.get("failed") is not True, ordered
    publish(rig, ordered["records"])
    try:
        finalize = {
            "name": "finalize",
            "module_defaults": defaults,
            "certfleet.acme.acme_finalize": {
                "orders": ordered["orders"],
                "timeout": 90,
                "preferred_chain": "No Such Root CA",
            },
        }
        results, output = run_tasks(tmp_path, [finalize])
    finally:
        unpublish(rig, ordered["records"])
    finalized = results["finalize"]
    assert finalized.get("failed") is not True, finalized
    result = finalized["certificates"][0]
    assert result["status"] == "issued"
    assert result["chain_issuer"] == _cn(root0.subject)
    assert len(result["warnings"]) == 1
    warning = result["warnings"][0]
    assert "'No Such Root CA' matches none of the 3 chain(s)" in warning and "kept the default chain" in warning
    assert any("No Such Root CA" in text for text in finalized.get("warnings", []))
    assert "No Such Root CA" in output
    leaf, intermediates = _chain_files(result)
    assert _verifies(leaf, intermediates, root0, name)
