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


def test_non_p256_key_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    os.makedirs(tmp_path / ".acme")
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / ".acme" / "account.key").write_bytes(pem)
    with pytest.raises(AccountError, match="P-256"):
        load_account_key(str(tmp_path))
