# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accounts brought from other clients, and key rollover, against a real Pebble.

Each account is registered first by "another client": the plain ``acme``
library, signing with the key in the form dehydrated, certbot or openssl keep
it. ``acme_account`` must then find that same account (same URL, no new
registration), refuse to write a different key over the state, and roll the
key over at the CA so that the old key no longer works.
"""

from __future__ import annotations

import json
import stat
import subprocess
import uuid

import josepy as jose
import pytest
from acme import client as acme_client
from acme import messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playbook_runner import role_vars, run_adhoc, run_module, run_renew

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import (
    parse_account_key,
    signing_algorithm,
    thumbprint,
)

pytestmark = pytest.mark.rig


def another_client(rig, jwk, only_existing: bool = False) -> str | None:
    """What another ACME client does with ``jwk``: register it (or with ``only_existing`` look it up); the URL."""
    network = acme_client.ClientNetwork(
        jwk, alg=signing_algorithm(jwk), verify_ssl=rig["ca_bundle"], user_agent="another-client"
    )
    directory = messages.Directory.from_json(network.get(rig["acme_directory"]).json())
    client = acme_client.ClientV2(directory, network)
    for _attempt in range(10):  # Pebble rejects some good nonces on purpose; the library retries only once
        try:
            if only_existing:
                query = messages.NewRegistration(only_return_existing=True)
                return network.post(directory["newAccount"], query, new_nonce_url=directory["newNonce"]).headers[
                    "Location"
                ]
            registration = messages.NewRegistration.from_data(email="other@example.test", terms_of_service_agreed=True)
            return client.new_account(registration).uri
        except messages.Error as error:
            if error.code == "accountDoesNotExist":
                return None
            if error.code != "badNonce":
                raise
    raise AssertionError("Pebble kept refusing nonces")


def openssl_rsa_2048(path) -> bytes:
    """An RSA 2048 key as dehydrated makes it: ``openssl genrsa -traditional`` (PKCS#1 RSA PRIVATE KEY)."""
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(path), "2048"], check=True, capture_output=True)
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    return data


def module_args(rig, state_dir, **extra) -> dict:
    args = {
        "acme_directory": rig["acme_directory"],
        "acme_ca_bundle": rig["ca_bundle"],
        "state_dir": str(state_dir),
        "account_email": "ops@example.test",
    }
    args.update(extra)
    return args


def account_cache(state_dir) -> dict:
    return json.loads((state_dir / ".acme" / "account.json").read_text())["accounts"]


def test_rsa_2048_key_of_another_client_is_reused_not_registered(rig, tmp_path):
    """Must show: an RSA 2048 account key made by another client is reused (same account URL at Pebble)."""
    key_file = tmp_path / "account_key.pem"
    jwk = parse_account_key(openssl_rsa_2048(key_file), "test")
    url = another_client(rig, jwk)
    state = tmp_path / "state"

    checked = run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)), check=True)
    assert not checked["failed"], checked
    assert checked["changed"] and checked["imported"] and checked["account_url"] == url
    assert "would import the rsa2048 account key" in checked["msg"]
    assert not state.exists(), "check mode wrote into the state"

    result = run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)))
    assert not result["failed"], result
    assert result["changed"] and result["imported"] and not result["registered"] and not result["rolled_over"]
    assert (result["account_url"], result["key_type"], result["thumbprint"]) == (url, "rsa2048", thumbprint(jwk))
    stored = state / ".acme" / "account.key"
    assert stored.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # normalised to PKCS#8
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / ".acme").stat().st_mode) == 0o700
    assert account_cache(state)[rig["acme_directory"]]["url"] == url
    assert key_file.read_bytes().split(b"\n")[1].decode() not in json.dumps(result)

    again = run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)))
    assert not again["failed"] and not again["changed"] and not again["imported"], again
    assert again["account_url"] == url


def test_certbot_jwk_from_a_variable_is_reused(rig, tmp_path):
    """certbot's private_key.json (an RSA JWK), given as text as from Ansible Vault; the content is never shown."""
    jwk = parse_account_key(openssl_rsa_2048(tmp_path / "k.pem"), "test")
    url = another_client(rig, jwk)
    content = jwk.json_dumps()
    state = tmp_path / "state"
    result, output = run_adhoc("acme_account", module_args(rig, state, account_key_content=content))
    assert not result["failed"], result
    assert result["imported"] and result["account_url"] == url and result["key_type"] == "rsa2048"
    assert json.loads(content)["d"] not in output
    assert (state / ".acme" / "account.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_ec_p384_sec1_key_is_reused_and_signs_es384(rig, tmp_path):
    private = ec.generate_private_key(ec.SECP384R1())
    sec1 = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert sec1.startswith(b"-----BEGIN EC PRIVATE KEY-----")
    key_file = tmp_path / "p384.pem"
    key_file.write_bytes(sec1)
    url = another_client(rig, jose.JWKEC(key=private))
    state = tmp_path / "state"
    result = run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)))
    assert not result["failed"], result
    assert (result["account_url"], result["key_type"], result["registered"]) == (url, "ec384", False)
    # A rollover signs the outer request with the account URL as kid, in ES384 here.
    rolled = run_module("acme_account", module_args(rig, state, rollover=True))
    assert not rolled["failed"], rolled
    assert rolled["account_url"] == url and rolled["key_type"] == "ec256"


def test_a_different_key_over_an_existing_one_is_refused(rig, tmp_path):
    state = tmp_path / "state"
    first = parse_account_key(openssl_rsa_2048(tmp_path / "first.pem"), "test")
    another_client(rig, first)
    assert not run_module("acme_account", module_args(rig, state, account_key_src=str(tmp_path / "first.pem")))[
        "failed"
    ]
    before = (state / ".acme" / "account.key").read_bytes()
    second_file = tmp_path / "second.pem"
    second = parse_account_key(openssl_rsa_2048(second_file), "test")
    refused = run_module("acme_account", module_args(rig, state, account_key_src=str(second_file)))
    assert refused["failed"]
    assert thumbprint(first) in refused["msg"] and thumbprint(second) in refused["msg"]
    assert (
        "is never overwritten" in refused["msg"]
        and "move %s away" % (state / ".acme" / "account.key") in refused["msg"]
    )
    assert (state / ".acme" / "account.key").read_bytes() == before


def test_unknown_key_without_terms_fails_and_writes_nothing(rig, tmp_path):
    key_file = tmp_path / "new.pem"
    jwk = parse_account_key(openssl_rsa_2048(key_file), "test")
    state = tmp_path / "state"
    result = run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)))
    assert result["failed"]
    assert (
        "has no account for the account key from account_key_src %s (thumbprint %s)"
        % (
            key_file,
            thumbprint(jwk),
        )
        in result["msg"]
    )
    assert "terms_agreed" in result["msg"]
    assert not (state / ".acme" / "account.key").exists()
    assert another_client(rig, jwk, only_existing=True) is None


def test_bad_key_type_is_refused_with_one_message(rig, tmp_path):
    key_file = tmp_path / "p521.pem"
    key_file.write_bytes(
        ec.generate_private_key(ec.SECP521R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    result = run_module("acme_account", module_args(rig, tmp_path / "state", account_key_src=str(key_file)))
    assert result["failed"]
    assert result["msg"].startswith("account_key_src %s: an EC key on curve secp521r1 is not a usable" % key_file)


def test_rollover_keeps_the_url_and_the_old_key_stops_working(rig, tmp_path):
    key_file = tmp_path / "old.pem"
    old = parse_account_key(openssl_rsa_2048(key_file), "test")
    url = another_client(rig, old)
    state = tmp_path / "state"
    assert not run_module("acme_account", module_args(rig, state, account_key_src=str(key_file)))["failed"]

    checked = run_module("acme_account", module_args(rig, state, rollover=True), check=True)
    assert checked["changed"] and checked["rolled_over"] and checked["thumbprint"] == thumbprint(old)
    assert another_client(rig, old, only_existing=True) == url  # check mode changed nothing at the CA

    rolled = run_module("acme_account", module_args(rig, state, rollover=True))
    assert not rolled["failed"], rolled
    assert rolled["changed"] and rolled["rolled_over"] and rolled["account_url"] == url
    assert rolled["previous_thumbprint"] == thumbprint(old) and rolled["thumbprint"] != thumbprint(old)
    new = parse_account_key((state / ".acme" / "account.key").read_bytes(), "state")
    assert thumbprint(new) == rolled["thumbprint"] and rolled["key_type"] == "ec256"
    assert not (state / ".acme" / "account.key.next").exists()
    assert another_client(rig, old, only_existing=True) is None  # the old key no longer works at the CA
    assert another_client(rig, new, only_existing=True) == url


def test_role_issues_with_an_imported_rsa_account_key(rig, tmp_path):
    """The role with letsencrypt_dns_account_key_content: the other client's account issues the certificate."""
    pem = openssl_rsa_2048(tmp_path / "dehydrated.pem")
    jwk = parse_account_key(pem, "test")
    url = another_client(rig, jwk)
    state = tmp_path / "state"
    name = "imp" + uuid.uuid4().hex[:8]
    certificates = [{"name": name, "names": ["%s.example.test" % name]}]
    variables = role_vars(rig, state, certificates, letsencrypt_dns_account_key_content=pem.decode())
    run = run_renew(variables, tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    imported = run.task_results("Bring the ACME account key from another client, or roll it over")
    assert imported and imported[0]["changed"]
    # The same account URL: the order task found the imported key's account and registered none.
    assert (state / name / "cert.pem").exists()
    assert account_cache(state)[rig["acme_directory"]]["url"] == url
    assert thumbprint(parse_account_key((state / ".acme" / "account.key").read_bytes(), "state")) == thumbprint(jwk)
    assert pem.decode().split("\n")[1] not in run.text()
