# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only account check of check mode: same decisions and messages as a real run, nothing written."""

from __future__ import annotations

import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme import account as acme_account
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    account_failure,
    create_account_key,
    open_session,
    probe_account,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import RateLimited
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import messages

DIRECTORY_URL = "https://ca.test/dir"


def settings(tmp_path, terms=True, **extra):
    return AcmeSettings(directory_url=DIRECTORY_URL, state_dir=str(tmp_path), terms_agreed=terms, **extra)


def directory(meta: dict | None = None) -> messages.Directory:
    return messages.Directory.from_json(
        {
            "newNonce": "https://ca.test/nonce",
            "newAccount": "https://ca.test/acct",
            "newOrder": "https://ca.test/order",
            "meta": meta or {},
        }
    )


@pytest.fixture
def ca(monkeypatch):
    """A CA answering the directory and the account lookup; ``looked_up`` lists the keys asked for."""
    state = {"meta": {}, "url": None, "looked_up": []}

    def lookup(settings, found, key):
        state["looked_up"].append(key.thumbprint())
        return state["url"]

    def no_registration(*args, **kwargs):
        raise AssertionError("the probe must never register")

    monkeypatch.setattr(acme_account, "fetch_directory", lambda settings: directory(state["meta"]))
    monkeypatch.setattr(acme_account, "_lookup", lookup)
    monkeypatch.setattr(acme_account, "_register", no_registration)
    return state


def test_without_a_key_nothing_is_looked_up_or_written(tmp_path, ca):
    assert probe_account(settings(tmp_path)) == {
        "directory": DIRECTORY_URL,
        "account": "would_register",
        "account_url": None,
    }
    assert ca["looked_up"] == []
    assert os.listdir(tmp_path) == []


def test_an_existing_key_is_looked_up_read_only(tmp_path, ca):
    key = create_account_key(str(tmp_path))
    before = sorted(os.listdir(tmp_path / ".acme"))
    ca["url"] = "https://ca.test/acct/42"
    result = probe_account(settings(tmp_path))
    assert (result["account"], result["account_url"]) == ("exists", "https://ca.test/acct/42")
    assert ca["looked_up"] == [key.thumbprint()]
    assert sorted(os.listdir(tmp_path / ".acme")) == before, "the account URL is not cached in check mode"
    ca["url"] = None
    assert probe_account(settings(tmp_path))["account"] == "would_register"


def test_the_probe_refuses_what_the_run_refuses_with_the_same_message(tmp_path, ca, monkeypatch):
    create_account_key(str(tmp_path))
    unknown = settings(tmp_path, terms=False)
    with pytest.raises(AccountError) as probed:
        probe_account(unknown)
    monkeypatch.setattr(acme_account, "remember_account_url", lambda *args: None)
    with pytest.raises(AccountError) as real:
        open_session(unknown)
    assert str(probed.value) == str(real.value) and "terms_agreed: true" in str(probed.value)

    ca["meta"] = {"externalAccountRequired": True}
    with pytest.raises(AccountError, match="requires an External Account Binding") as probed:
        probe_account(settings(tmp_path))
    with pytest.raises(AccountError) as real:
        open_session(settings(tmp_path))
    assert str(probed.value) == str(real.value)


def test_no_key_and_no_terms_fails_before_the_ca_is_asked(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("nothing may be sent")

    monkeypatch.setattr(acme_account, "fetch_directory", no_network)
    with pytest.raises(AccountError, match="terms_agreed: true"):
        probe_account(settings(tmp_path, terms=False))


def test_failures_are_worded_once_for_check_mode_and_the_real_run(tmp_path):
    ours = settings(tmp_path)
    assert account_failure(ours, AccountError("no way")) == "no way"
    refused = ConnectionError("HTTPSConnectionPool(host='ca.test', port=443): Connection refused")
    assert account_failure(ours, refused) == (
        "cannot use the ACME account at https://ca.test/dir: ConnectionError: "
        "HTTPSConnectionPool(host='ca.test', port=443): Connection refused"
    )
    limited = RateLimited("https://ca.test/acct", "too many accounts", 3600)
    text = account_failure(ours, limited)
    assert text.startswith("cannot use the ACME account at https://ca.test/dir: rateLimited: ")
    assert "too many accounts" in text and "(in 3600 s)" in text
