# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme import account as acme_account
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    cached_account_url,
    check_can_start,
    create_account_key,
    load_account_key,
    open_session,
    remember_account_url,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings


def settings(tmp_path, terms=False):
    return AcmeSettings(directory_url="https://127.0.0.1:1/dir", state_dir=str(tmp_path), terms_agreed=terms)


def test_no_account_and_no_terms_fails_before_anything(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("nothing may be sent")

    monkeypatch.setattr(acme_account, "fetch_directory", no_network)
    with pytest.raises(AccountError, match="terms_agreed: true"):
        open_session(settings(tmp_path))
    assert os.listdir(tmp_path) == []


def test_terms_agreed_or_existing_key_may_start(tmp_path):
    check_can_start(settings(tmp_path, terms=True))
    create_account_key(str(tmp_path))
    check_can_start(settings(tmp_path))


def test_account_key_is_private(tmp_path):
    key = create_account_key(str(tmp_path))
    directory = tmp_path / ".acme"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / "account.key").st_mode) == 0o600
    assert load_account_key(str(tmp_path)).thumbprint() == key.thumbprint()
    assert load_account_key(str(tmp_path / "none")) is None


def test_account_url_is_cached_per_directory(tmp_path):
    state_dir = str(tmp_path)
    remember_account_url(state_dir, "https://a/dir", "https://a/acct/1")
    remember_account_url(state_dir, "https://b/dir", "https://b/acct/2")
    assert cached_account_url(state_dir, "https://a/dir") == "https://a/acct/1"
    assert cached_account_url(state_dir, "https://b/dir") == "https://b/acct/2"
    remember_account_url(state_dir, "https://a/dir", None)
    assert cached_account_url(state_dir, "https://a/dir") is None
    assert cached_account_url(state_dir, "https://b/dir") == "https://b/acct/2"


def test_unsupported_key_in_the_state_is_refused(tmp_path):
    """P-384 and RSA account keys are accepted now (account_keys.py); a P-521 key in the state still is not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    os.makedirs(tmp_path / ".acme")
    key = ec.generate_private_key(ec.SECP521R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / ".acme" / "account.key").write_bytes(pem)
    with pytest.raises(AccountError, match=r"account\.key: an EC key on curve secp521r1 .*move it away"):
        load_account_key(str(tmp_path))


def _directory():
    from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import messages

    return messages.Directory.from_json(
        {"newAccount": "https://ca/acct", "newNonce": "https://ca/nonce", "newOrder": "https://ca/order"}
    )


def test_an_unreachable_ca_leaves_no_account_key(tmp_path, monkeypatch):
    """The directory request fails: nothing was registered, so no key and no .acme directory is left."""

    def unreachable(settings):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(acme_account, "fetch_directory", unreachable)
    with pytest.raises(ConnectionError):
        open_session(settings(tmp_path, terms=True))
    assert os.listdir(tmp_path) == []


def test_a_new_key_is_on_disk_before_the_registration_is_sent(tmp_path, monkeypatch):
    seen = {}

    def register(settings_, directory, key):
        seen["on_disk"] = load_account_key(str(tmp_path)).thumbprint() == key.thumbprint()
        return "https://ca/acct/1"

    monkeypatch.setattr(acme_account, "fetch_directory", lambda settings_: _directory())
    monkeypatch.setattr(acme_account, "_register", register)
    session = open_session(settings(tmp_path, terms=True))
    assert seen == {"on_disk": True}
    assert session.account_url == "https://ca/acct/1"
    assert stat.S_IMODE(os.stat(tmp_path / ".acme" / "account.key").st_mode) == 0o600
    assert cached_account_url(str(tmp_path), "https://127.0.0.1:1/dir") == "https://ca/acct/1"


def test_a_registration_the_ca_refuses_removes_the_new_key(tmp_path, monkeypatch):
    from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import messages

    def refused(settings_, directory, key):
        raise messages.Error(typ="urn:ietf:params:acme:error:malformed", detail="no")

    monkeypatch.setattr(acme_account, "fetch_directory", lambda settings_: _directory())
    monkeypatch.setattr(acme_account, "_register", refused)
    with pytest.raises(messages.Error):
        open_session(settings(tmp_path, terms=True))
    assert os.listdir(tmp_path) == []


def test_a_network_failure_while_registering_keeps_the_new_key(tmp_path, monkeypatch):
    """The CA may have created the account before the connection broke: its key must survive."""

    def broken(settings_, directory, key):
        raise ConnectionError("reset")

    monkeypatch.setattr(acme_account, "fetch_directory", lambda settings_: _directory())
    monkeypatch.setattr(acme_account, "_register", broken)
    with pytest.raises(ConnectionError):
        open_session(settings(tmp_path, terms=True))
    assert load_account_key(str(tmp_path)) is not None


def test_an_existing_key_is_kept_when_the_ca_is_unreachable(tmp_path, monkeypatch):
    key = create_account_key(str(tmp_path))

    def unreachable(settings_):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(acme_account, "fetch_directory", unreachable)
    with pytest.raises(ConnectionError):
        open_session(settings(tmp_path, terms=True))
    assert load_account_key(str(tmp_path)).thumbprint() == key.thumbprint()
