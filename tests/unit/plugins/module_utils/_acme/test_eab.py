# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import josepy as jose
import pytest
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.certfleet.acme.plugins.module_utils._acme import account as acme_account
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    check_can_start,
    open_session,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._acme.eab import (
    EabError,
    check_eab_options,
    decode_hmac_key,
    eab_binding,
)

NEW_ACCOUNT = "https://ca.test/acme/new-account"
# 32 bytes, base64url without padding, with both '-' and '_' in it.
MAC = bytes(range(200, 232))
MAC_TEXT = base64.urlsafe_b64encode(MAC).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def account_jwk():
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def test_mac_key_is_base64url_with_or_without_padding():
    assert "-" in MAC_TEXT or "_" in MAC_TEXT
    assert decode_hmac_key(MAC_TEXT) == MAC
    padded = base64.urlsafe_b64encode(b"\x01\x02\x03\x04").decode("ascii")
    assert padded.endswith("=")
    assert decode_hmac_key(padded) == b"\x01\x02\x03\x04"
    assert decode_hmac_key("  %s\n" % MAC_TEXT) == MAC


@pytest.mark.parametrize("text", ["not+base64/url", "", "   ", "abcde", "a.b", "====", 42])
def test_bad_mac_key_is_refused_without_showing_it(text):
    with pytest.raises(EabError) as caught:
        decode_hmac_key(text)
    assert "eab_hmac_key" in str(caught.value)
    if isinstance(text, str) and text.strip():
        assert text.strip() not in str(caught.value)


def test_kid_and_key_come_together():
    check_eab_options(None, None)
    check_eab_options("kid-1", MAC_TEXT)
    with pytest.raises(EabError, match="eab_kid is set but eab_hmac_key is not"):
        check_eab_options("kid-1", None)
    with pytest.raises(EabError, match="eab_hmac_key is set but eab_kid is not"):
        check_eab_options(None, MAC_TEXT)


def test_binding_is_a_hs256_jws_over_the_account_key():
    key = account_jwk()
    public = key.public_key().to_partial_json()
    binding = eab_binding(public, "kid-1", MAC_TEXT, NEW_ACCOUNT)
    assert set(binding) == {"protected", "payload", "signature"}
    protected = json.loads(unb64(binding["protected"]))
    # RFC 8555 7.3.4: alg is a MAC algorithm, kid the CA's key id, url the newAccount URL, and no nonce.
    assert protected == {"alg": "HS256", "kid": "kid-1", "url": NEW_ACCOUNT}
    assert json.loads(unb64(binding["payload"])) == public
    assert "d" not in json.loads(unb64(binding["payload"]))
    expected = hmac.new(MAC, (binding["protected"] + "." + binding["payload"]).encode("ascii"), hashlib.sha256)
    assert unb64(binding["signature"]) == expected.digest()
    # An independent JWS implementation accepts it, with this MAC key only.
    parsed = jose.JWS.from_json(binding)
    assert parsed.verify(jose.JWKOct(key=MAC))
    assert not parsed.verify(jose.JWKOct(key=b"another key of the same size....."))
    assert jose.JWK.from_json(json.loads(parsed.payload)).thumbprint() == key.public_key().thumbprint()


def test_register_sends_the_binding_and_check_can_start_checks_the_options(tmp_path, monkeypatch):
    sent = []

    class Client:
        def __init__(self, directory, net):
            pass

        def new_account(self, registration):
            sent.append(json.loads(registration.json_dumps()))
            return messages.RegistrationResource(uri="https://ca.test/acct/1", body=messages.Registration())

    monkeypatch.setattr(acme_account.acme_lib, "ClientV2", Client)
    settings = AcmeSettings(
        directory_url="https://ca.test/dir",
        state_dir=str(tmp_path),
        terms_agreed=True,
        account_email="ops@example.test",
        eab_kid="kid-1",
        eab_hmac_key=MAC_TEXT,
    )
    assert MAC_TEXT not in repr(settings)
    key = account_jwk()
    url = acme_account._register(settings, {"newAccount": NEW_ACCOUNT}, key)
    assert url == "https://ca.test/acct/1"
    body = sent[0]
    assert body["termsOfServiceAgreed"] is True and body["contact"] == ["mailto:ops@example.test"]
    binding = body["externalAccountBinding"]
    assert json.loads(unb64(binding["protected"]))["kid"] == "kid-1"
    assert json.loads(unb64(binding["payload"])) == key.public_key().to_partial_json()
    assert jose.JWS.from_json(binding).verify(jose.JWKOct(key=MAC))
    # Without EAB options nothing about a binding is sent.
    sent.clear()
    plain = AcmeSettings(directory_url="https://ca.test/dir", state_dir=str(tmp_path), terms_agreed=True)
    acme_account._register(plain, {"newAccount": NEW_ACCOUNT}, key)
    assert "externalAccountBinding" not in sent[0]
    with pytest.raises(AccountError, match="eab_kid is set but eab_hmac_key is not"):
        check_can_start(AcmeSettings(directory_url="x", state_dir=str(tmp_path), eab_kid="kid-1"))


def directory(meta: dict) -> messages.Directory:
    return messages.Directory.from_json(
        {"newNonce": "https://ca.test/nonce", "newAccount": NEW_ACCOUNT, "newOrder": "https://ca.test/o", "meta": meta}
    )


def test_external_account_required_without_binding_fails_before_registering(tmp_path, monkeypatch):
    monkeypatch.setattr(acme_account, "fetch_directory", lambda settings: directory({"externalAccountRequired": True}))
    monkeypatch.setattr(acme_account, "_lookup", lambda settings, directory, key: None)

    def no_registration(*args, **kwargs):
        raise AssertionError("nothing may be registered")

    monkeypatch.setattr(acme_account, "_register", no_registration)
    settings = AcmeSettings(directory_url="https://ca.test/dir", state_dir=str(tmp_path), terms_agreed=True)
    with pytest.raises(AccountError, match="requires an External Account Binding") as caught:
        open_session(settings)
    assert "letsencrypt_dns_eab_kid" in str(caught.value)
    # Nothing was registered, so no account key was kept.
    assert acme_account.load_account_key(str(tmp_path)) is None
    # An account that already exists is used: the binding is for registering only.
    acme_account.create_account_key(str(tmp_path))
    monkeypatch.setattr(acme_account, "_lookup", lambda settings, directory, key: "https://ca.test/acct/7")
    assert open_session(settings).account_url == "https://ca.test/acct/7"


def test_a_ca_demanding_eab_unannounced_gets_the_same_clear_error(tmp_path, monkeypatch):
    class Client:
        def __init__(self, directory, net):
            pass

        def new_account(self, registration):
            raise messages.Error.with_code("externalAccountRequired", detail="policy requires EAB")

    monkeypatch.setattr(acme_account.acme_lib, "ClientV2", Client)
    settings = AcmeSettings(directory_url="https://ca.test/dir", state_dir=str(tmp_path), terms_agreed=True)
    with pytest.raises(AccountError, match="requires an External Account Binding"):
        acme_account._register(settings, {"newAccount": NEW_ACCOUNT}, account_jwk())
    with_eab = AcmeSettings(
        directory_url="https://ca.test/dir",
        state_dir=str(tmp_path),
        terms_agreed=True,
        eab_kid="kid-9",
        eab_hmac_key=MAC_TEXT,
    )
    with pytest.raises(AccountError, match="refused the External Account Binding with eab_kid 'kid-9'") as caught:
        acme_account._register(with_eab, {"newAccount": NEW_ACCOUNT}, account_jwk())
    assert MAC_TEXT not in str(caught.value)
