# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account keys in the forms other clients write them: accepted, refused with one clear message, never overwritten."""

from __future__ import annotations

import json
import os
import stat

import josepy as jose
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    load_account_key,
    store_account_key,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_import import (
    AccountKeyInput,
    _choose_key,
    read_key_input,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import (
    AccountKeyError,
    account_key_type,
    parse_account_key,
    signing_algorithm,
    thumbprint,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings, make_network
from ansible_collections.certfleet.acme.plugins.module_utils._acme.key_change import (
    interrupted_key_change,
    key_change_request,
    next_key_path,
)

TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
PKCS8 = serialization.PrivateFormat.PKCS8
_KEYS: dict = {}


def key(kind: str):
    """One key per kind for the whole module: RSA 4096 takes a while to make."""
    if kind not in _KEYS:
        if kind.startswith("rsa"):
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
        elif kind == "ed25519":
            _KEYS[kind] = ed25519.Ed25519PrivateKey.generate()
        else:
            curve = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(), "ec521": ec.SECP521R1()}[kind]
            _KEYS[kind] = ec.generate_private_key(curve)
    return _KEYS[kind]


def pem(private, fmt=PKCS8, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return private.private_bytes(serialization.Encoding.PEM, fmt, encryption)


@pytest.mark.parametrize(
    ("kind", "fmt", "marker", "alg"),
    [
        ("rsa2048", TRADITIONAL, b"BEGIN RSA PRIVATE KEY", "RS256"),  # dehydrated, openssl genrsa -traditional
        ("rsa3072", PKCS8, b"BEGIN PRIVATE KEY", "RS256"),
        ("rsa4096", TRADITIONAL, b"BEGIN RSA PRIVATE KEY", "RS256"),
        ("ec256", TRADITIONAL, b"BEGIN EC PRIVATE KEY", "ES256"),  # SEC1, acme.sh and openssl ecparam
        ("ec256", PKCS8, b"BEGIN PRIVATE KEY", "ES256"),
        ("ec384", TRADITIONAL, b"BEGIN EC PRIVATE KEY", "ES384"),
        ("ec384", PKCS8, b"BEGIN PRIVATE KEY", "ES384"),
    ],
)
def test_pem_forms_of_other_clients_are_accepted(kind, fmt, marker, alg):
    data = pem(key(kind), fmt)
    assert marker in data
    jwk = parse_account_key(data, "account_key_src /x")
    assert account_key_type(jwk) == kind
    assert signing_algorithm(jwk).name == alg
    assert thumbprint(jwk) == thumbprint(jose.JWK.load(data))


def test_certbot_private_key_json_is_accepted_as_text_and_bytes():
    """certbot keeps the account key as an RSA JWK with every private member (accounts/.../private_key.json)."""
    document = jose.JWKRSA(key=key("rsa2048")).json_dumps()
    assert '"d"' in document and '"kty": "RSA"' in document.replace('":"', '": "')
    for data in (document, document.encode("utf-8"), "\n  " + document + "\n"):
        jwk = parse_account_key(data, "account_key_content")
        assert account_key_type(jwk) == "rsa2048"
        assert signing_algorithm(jwk).name == "RS256"


def test_ec_jwk_is_accepted():
    jwk = parse_account_key(jose.JWKEC(key=key("ec384")).json_dumps(), "x")
    assert account_key_type(jwk) == "ec384"


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (lambda: pem(key("rsa1024"), TRADITIONAL), "an RSA 1024-bit key"),
        (lambda: pem(key("ec521")), "an EC key on curve secp521r1"),
        (lambda: pem(key("ed25519")), "a key of type Ed25519"),
        (lambda: pem(key("rsa2048"), PKCS8, b"secret"), "an encrypted PEM private key"),
        (lambda: pem(key("ec256"), TRADITIONAL, b"secret"), "an encrypted PEM private key"),
        (lambda: jose.JWKRSA(key=key("rsa1024")).json_dumps(), "an RSA 1024-bit key"),
        (lambda: jose.JWKRSA(key=key("rsa2048").public_key()).json_dumps(), "a public JWK (no private member 'd')"),
        (lambda: json.dumps({"kty": "OKP", "crv": "Ed25519", "d": "x", "x": "y"}), "a JWK with kty 'OKP'"),
        (lambda: json.dumps({"kty": "EC", "crv": "P-521", "d": "x"}), "an EC JWK on curve 'P-521'"),
        (lambda: "[1, 2]", "JSON that is no JWK object"),
        (lambda: "ssh-rsa AAAA", "text that is neither PEM nor JSON"),
        (lambda: "  \n", "an empty value"),
        (lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "a PEM block 'PRIVATE KEY' that"),
    ],
)
def test_other_keys_are_refused_naming_source_and_what_was_found(data, found):
    text = data()
    with pytest.raises(AccountKeyError) as refused:
        parse_account_key(text, "account_key_src /keys/old.pem")
    message = str(refused.value)
    assert message.startswith("account_key_src /keys/old.pem: " + found), message
    assert "expected RSA 2048, 3072 or 4096 bits or EC P-256 or P-384" in message
    body = text if isinstance(text, str) else text.decode()
    for line in body.splitlines()[1:-1]:  # no line of the key itself is ever in the message
        assert len(line) < 8 or line not in message


def test_a_network_signs_with_the_algorithm_of_its_key():
    settings = AcmeSettings(directory_url="https://ca/dir", state_dir="/nonexistent")
    assert make_network(settings).alg.name == "ES256"
    for kind, alg in (("rsa2048", "RS256"), ("ec256", "ES256"), ("ec384", "ES384")):
        jwk = parse_account_key(pem(key(kind)), "x")
        assert make_network(settings, jwk).alg.name == alg


def test_an_imported_key_is_stored_as_pkcs8_and_loaded_back(tmp_path):
    jwk = parse_account_key(pem(key("rsa2048"), TRADITIONAL), "x")
    store_account_key(str(tmp_path), jwk)
    path = tmp_path / ".acme" / "account.key"
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".acme").stat().st_mode) == 0o700
    assert thumbprint(load_account_key(str(tmp_path))) == thumbprint(jwk)


def settings_for(tmp_path) -> AcmeSettings:
    return AcmeSettings(directory_url="https://ca/dir", state_dir=str(tmp_path))


def test_the_key_in_the_state_is_kept_when_the_same_key_is_given(tmp_path):
    store_account_key(str(tmp_path), parse_account_key(pem(key("ec384")), "x"))
    given = AccountKeyInput(pem(key("ec384"), TRADITIONAL), "account_key_content")  # same key, other form
    chosen, source, imported = _choose_key(settings_for(tmp_path), given, rollover=False)
    assert (account_key_type(chosen), source, imported) == ("ec384", "account_key_content", False)


def test_a_different_key_is_never_written_over_the_state(tmp_path):
    stored = parse_account_key(pem(key("ec256")), "x")
    store_account_key(str(tmp_path), stored)
    before = (tmp_path / ".acme" / "account.key").read_bytes()
    given = AccountKeyInput(pem(key("rsa2048"), TRADITIONAL), "account_key_src /etc/dehydrated/account_key.pem")
    with pytest.raises(AccountError) as refused:
        _choose_key(settings_for(tmp_path), given, rollover=False)
    message = str(refused.value)
    new_print = thumbprint(parse_account_key(given.data, "x"))
    assert "from account_key_src /etc/dehydrated/account_key.pem (thumbprint %s)" % new_print in message
    assert "(thumbprint %s)" % thumbprint(stored) in message
    assert "move %s away" % (tmp_path / ".acme" / "account.key") in message
    assert (tmp_path / ".acme" / "account.key").read_bytes() == before


def test_no_key_anywhere_is_one_clear_error(tmp_path):
    with pytest.raises(AccountError, match="no account key to roll over: .*account.key does not exist"):
        _choose_key(settings_for(tmp_path), None, rollover=True)


def test_key_input_from_a_file_or_text_never_both(tmp_path):
    path = tmp_path / "private_key.json"
    path.write_text(jose.JWKRSA(key=key("rsa2048")).json_dumps())
    assert read_key_input(str(path), None).source == "account_key_src %s" % path
    assert read_key_input(None, "text").source == "account_key_content"
    assert read_key_input(None, None) is None
    with pytest.raises(AccountError, match="account_key_src and account_key_content are both set"):
        read_key_input(str(path), "text")
    with pytest.raises(AccountError, match="account_key_src: cannot read .*missing.pem: No such file"):
        read_key_input(str(tmp_path / "missing.pem"), None)


def test_key_change_request_is_signed_by_the_new_key_and_names_the_old_one():
    """RFC 8555 section 7.3.5: inner JWS with jwk and url, no nonce, payload {account, oldKey}."""
    old = parse_account_key(pem(key("rsa2048")), "x")
    new = parse_account_key(pem(key("ec256")), "y")
    inner = key_change_request("https://ca/key-change", "https://ca/acct/1", old, new)
    document = json.loads(inner.json_dumps())
    assert set(document) == {"protected", "payload", "signature"}  # flattened JSON serialization
    header = json.loads(jose.b64decode(document["protected"]))
    assert header["alg"] == "ES256" and header["url"] == "https://ca/key-change"
    assert "nonce" not in header and "kid" not in header
    assert header["jwk"] == new.public_key().to_partial_json()
    payload = json.loads(jose.b64decode(document["payload"]))
    assert payload == {"account": "https://ca/acct/1", "oldKey": old.public_key().to_partial_json()}
    assert inner.verify(new.public_key())


def test_an_interrupted_key_change_is_named_with_both_paths(tmp_path):
    assert interrupted_key_change(str(tmp_path)) is None
    os.makedirs(tmp_path / ".acme")
    with open(next_key_path(str(tmp_path)), "wb") as handle:
        handle.write(pem(key("ec256")))
    message = interrupted_key_change(str(tmp_path))
    assert "a key change was interrupted: %s" % next_key_path(str(tmp_path)) in message
    assert "move %s over it" % next_key_path(str(tmp_path)) in message
