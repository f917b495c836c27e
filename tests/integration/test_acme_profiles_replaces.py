# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Profiles and ARI ``replaces`` against the local fake ACME server (tests/fakes/acme_ari_fake.py).

Pebble 2.4 offers neither, so the fake serves a directory with
``meta.profiles`` and ``renewalInfo`` and records every newOrder it gets. No
rig is needed; nothing here asks a resolver (``follow_cnames: false``).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import acme_ari_fake
import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID
from test_acme_eab_chains import run_tasks

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import open_session
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import finalize_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import order_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_certificates, parse_orders
from ansible_collections.certfleet.acme.plugins.module_utils._plan.ari import cert_id


@pytest.fixture
def fake_factory(tmp_path):
    started = []

    def make(**kwargs):
        fake = acme_ari_fake.AcmeAriFake(tls_dir=str(tmp_path / ("tls-%d" % len(started))), **kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def settings(fake, state_dir) -> AcmeSettings:
    return AcmeSettings(
        directory_url=fake.directory_url, state_dir=str(state_dir), ca_bundle=fake.ca_bundle, terms_agreed=True
    )


def order_task(fake, state_dir, certificates, name="order") -> dict:
    return {
        "name": name,
        "certfleet.acme.acme_dns01_order": {
            "acme_directory": fake.directory_url,
            "acme_ca_bundle": fake.ca_bundle,
            "state_dir": str(state_dir),
            "terms_agreed": True,
            "follow_cnames": False,
            "certificates": certificates,
        },
    }


def renewed_id(fake, names) -> str:
    """Issue a certificate at the fake and return its ARI id (also checks ari.cert_id against the fake's own)."""
    pem, fake_id = fake.issue_certificate(names)
    assert cert_id(x509.load_pem_x509_certificate(pem.encode("ascii"))) == fake_id
    return fake_id


# --------------------------------------------------------------------------
# profiles


def test_profile_is_sent_and_offered_profiles_are_returned(fake_factory, tmp_path):
    fake = fake_factory(profiles={"classic": "Classic", "shortlived": "Six days", "tlsserver": "TLS server"})
    certificates = [
        {"name": "short", "names": ["short.example.test"], "profile": "shortlived"},
        {"name": "plain", "names": ["plain.example.test"]},
    ]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result.get("failed") is not True, result
    assert result["profiles"] == {"classic": "Classic", "shortlived": "Six days", "tlsserver": "TLS server"}
    assert [order["status"] for order in result["orders"]] == ["pending", "pending"]
    assert result["orders"][0]["profile"] == "shortlived"
    sent = {record["identifiers"][0]["value"]: record for record in fake.new_orders}
    assert sent["short.example.test"]["profile"] == "shortlived"
    assert sent["plain.example.test"]["has_profile"] is False


def test_unknown_profile_fails_that_certificate_before_its_order(fake_factory, tmp_path):
    fake = fake_factory(profiles={"classic": "Classic", "shortlived": "Six days"})
    certificates = [
        {"name": "typo", "names": ["typo.example.test"], "profile": "shortlive"},
        {"name": "good", "names": ["good.example.test"], "profile": "classic"},
    ]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result["failed"] is True
    typo, good = result["orders"]
    assert typo["status"] == "failed" and typo["order_url"] is None
    detail = typo["error"]["detail"]
    assert "certificate 'typo': field 'profile' value 'shortlive' is not offered" in detail
    assert "it offers: classic, shortlived" in detail
    assert "typo" in result["msg"] and "shortlive" in result["msg"]
    assert good["status"] == "pending"
    assert [record["identifiers"][0]["value"] for record in fake.new_orders] == ["good.example.test"]
    assert not (tmp_path / "state" / "typo" / "order.json").exists()


def test_profile_at_a_ca_without_profiles_is_a_clear_error(fake_factory, tmp_path):
    fake = fake_factory(profiles=None)
    certificates = [{"name": "www", "names": ["www.example.test"], "profile": "shortlived"}]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result["failed"] is True
    assert result["profiles"] == {}
    detail = result["orders"][0]["error"]["detail"]
    assert "field 'profile' value 'shortlived' cannot be requested" in detail
    assert "offers no profiles" in detail and fake.directory_url in detail
    assert fake.new_orders == []


def test_profile_reaches_the_issued_certificate(fake_factory, tmp_path):
    fake = fake_factory(profiles={"classic": "Classic", "shortlived": "Six days"})
    session = open_session(settings(fake, tmp_path))
    specs = parse_certificates([{"name": "s", "names": ["s.example.test"], "profile": "shortlived"}])
    orders = order_all(session, specs, str(tmp_path))
    assert orders[0]["status"] == "pending", orders
    result = finalize_all(session, parse_orders(orders), str(tmp_path), 30)[0]
    assert result["status"] == "issued", result
    leaf = x509.load_pem_x509_certificate(open(result["paths"]["cert"], "rb").read())
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc < datetime.timedelta(days=7)
    issuer_cn = fake.issuer_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert result["chain_issuer"] == issuer_cn


# --------------------------------------------------------------------------
# replaces


def test_replaces_is_sent_when_the_ca_offers_ari(fake_factory, tmp_path):
    fake = fake_factory()
    old = renewed_id(fake, ["renew.example.test"])
    certificates = [
        {"name": "renew", "names": ["renew.example.test"], "replaces": old},
        {"name": "fresh", "names": ["fresh.example.test"]},
    ]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result.get("failed") is not True, result
    renew, fresh = result["orders"]
    assert renew["replaces"] == old and renew["replaces_status"] == "sent" and renew["notes"] == []
    assert fresh["replaces"] is None and fresh["replaces_status"] is None
    sent = {record["identifiers"][0]["value"]: record for record in fake.new_orders}
    assert sent["renew.example.test"]["replaces"] == old
    assert sent["fresh.example.test"]["has_replaces"] is False
    assert not result.get("warnings")


def test_already_replaced_is_retried_once_without_replaces(fake_factory, tmp_path):
    fake = fake_factory()
    old = renewed_id(fake, ["again.example.test"])
    fake.answer_already_replaced(1)
    certificates = [{"name": "again", "names": ["again.example.test"], "replaces": old}]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result.get("failed") is not True, result
    order = result["orders"][0]
    assert order["status"] == "pending" and order["order_url"]
    assert order["replaces"] is None and order["replaces_status"] == "dropped"
    assert "alreadyReplaced" in order["notes"][0] and old in order["notes"][0]
    assert any("ordered again without replaces" in warning for warning in result["warnings"])
    assert [(record["replaces"], record["answer"]) for record in fake.new_orders] == [(old, 409), (None, 201)]


def test_a_certificate_replaced_by_an_earlier_order_is_ordered_without_replaces(fake_factory, tmp_path):
    fake = fake_factory()
    old = renewed_id(fake, ["twice.example.test"])
    session = open_session(settings(fake, tmp_path / "one"))
    spec = parse_certificates([{"name": "twice", "names": ["twice.example.test"], "replaces": old}])
    first = order_all(session, spec, str(tmp_path / "one"))[0]
    assert first["replaces_status"] == "sent"
    # Resuming the saved order reports what happened when it was made, and sends nothing new.
    resumed = order_all(session, spec, str(tmp_path / "one"))[0]
    assert resumed["resumed"] is True and resumed["replaces"] == old and resumed["replaces_status"] == "sent"
    assert len(fake.new_orders) == 1
    # Another state directory (another run elsewhere) renewing the same certificate: the CA refuses replaces.
    second = order_all(open_session(settings(fake, tmp_path / "two")), spec, str(tmp_path / "two"))[0]
    assert second["status"] == "pending"
    assert second["replaces_status"] == "dropped" and second["replaces"] is None
    assert [record["answer"] for record in fake.new_orders] == [201, 409, 201]


def test_other_refusals_of_replaces_are_retried_but_unrelated_errors_are_not(fake_factory, tmp_path):
    fake = fake_factory()
    session = open_session(settings(fake, tmp_path))
    spec = parse_certificates([{"name": "odd", "names": ["odd.example.test"], "replaces": "AAAA.BBBB"}])
    fake.refuse_replaces(1, "malformed", 400, "the certificate to be replaced was not issued to this account")
    result = order_all(session, spec, str(tmp_path))[0]
    assert result["status"] == "pending"
    assert result["replaces_status"] == "dropped" and "malformed" in result["notes"][0]
    # A refusal that is not about replaces fails the certificate, without a second try.
    other = parse_certificates([{"name": "limited", "names": ["limited.example.test"], "replaces": "AAAA.CCCC"}])
    fake.refuse_replaces(1, "rateLimited", 429, "too many new orders (replacement orders included)")
    failed = order_all(session, other, str(tmp_path))[0]
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "urn:ietf:params:acme:error:rateLimited"
    assert [record["answer"] for record in fake.new_orders] == [400, 201, 429]


def test_replaces_is_not_sent_to_a_ca_without_ari(fake_factory, tmp_path):
    fake = fake_factory(renewal_info=False)
    certificates = [{"name": "old", "names": ["old.example.test"], "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"}]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result.get("failed") is not True, result
    order = result["orders"][0]
    assert order["replaces"] is None and order["replaces_status"] == "unsupported"
    assert "no renewalInfo" in order["notes"][0]
    assert fake.new_orders[0]["has_replaces"] is False


def test_bad_replaces_value_fails_before_anything_is_sent(fake_factory, tmp_path):
    fake = fake_factory()
    certificates = [{"name": "www", "names": ["www.example.test"], "replaces": "not an id"}]
    result = run_tasks(tmp_path, [order_task(fake, tmp_path / "state", certificates)])[0]["order"]
    assert result["failed"] is True
    assert "certificate 'www': field 'replaces' value 'not an id' is not an ARI certificate id" in result["msg"]
    assert fake.requests == {}


def test_renewal_info_of_an_issued_certificate(fake_factory):
    """The fake's renewalInfo, which cert_expiry_facts' ARI check relies on, answers for what it issued."""
    fake = fake_factory()
    ident = renewed_id(fake, ["ari.example.test"])
    answer = requests.get(fake.renewal_info_url + "/" + ident, verify=fake.ca_bundle, timeout=10)
    assert answer.status_code == 200 and int(answer.headers["Retry-After"]) > 0
    window = answer.json()["suggestedWindow"]
    assert window["start"] < window["end"]
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    fake.set_renewal_info(ident, start, start + datetime.timedelta(hours=5), "https://ca.test/why", retry_after=60)
    answer = requests.get(fake.renewal_info_url + "/" + ident, verify=fake.ca_bundle, timeout=10)
    assert answer.json()["explanationURL"] == "https://ca.test/why" and answer.headers["Retry-After"] == "60"
    assert requests.get(fake.renewal_info_url + "/AAAA.BBBB", verify=fake.ca_bundle, timeout=10).status_code == 404


def test_the_fake_runs_as_a_command():
    command = [sys.executable, acme_ari_fake.__file__, "--port", "0", "--default-profiles"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            info = json.loads(proc.stdout.readline())
            directory = requests.get(info["acme_directory"], verify=info["ca_bundle"], timeout=10).json()
            assert directory["renewalInfo"] == info["renewal_info"]
            assert set(directory["meta"]["profiles"]) == {"classic", "shortlived"}
            nonce = requests.head(directory["newNonce"], verify=info["ca_bundle"], timeout=10)
            assert nonce.headers["Replay-Nonce"]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
