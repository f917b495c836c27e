# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Vault state store without a server: how keys become KV paths, how bytes are kept, what each refusal says.

The server's own behaviour (check-and-set, AppRole, namespaces, sealing) is
shown against OpenBao in tests/integration/test_state_store_vault.py; here a
stand-in for ``hvac.Client`` raises the exceptions hvac raises for each
answer, so every message is checked, and no token ever appears in one.
"""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import hvac.exceptions
import pytest
import requests.exceptions

from ansible_collections.certfleet.acme.plugins.module_utils._state.store import vault
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import ABSENT, StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.vault import (
    VaultStore,
    decode,
    encode,
    secret_path,
)

URL = "https://vault.example.test:8200"
TOKEN = "hvs.unit-test-token-never-shown"
SECRET_ID = "unit-test-secret-id-never-shown"
KV2 = {"data": {"type": "kv", "options": {"version": "2"}}}
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _answer(value, kwargs):
    if isinstance(value, Exception):
        raise value
    return value(**kwargs) if callable(value) else value


def _method(value):
    return lambda **kwargs: _answer(value, kwargs)


def fake_hvac(monkeypatch, mount=KV2, lookup=None, login=None, **kv):  # pylint: disable=dangerous-default-value
    """``hvac.Client`` replaced: the mount check answers ``mount``, token lookup ``lookup``, kv v2 methods ``kv``."""
    clients = []

    class Client:
        def __init__(self, **kwargs):
            self.options, self.token = kwargs, kwargs["token"]
            self.adapter = SimpleNamespace(get=lambda url: _answer(mount, {}), close=lambda: None)
            self.auth = SimpleNamespace(
                token=SimpleNamespace(lookup_self=lambda: _answer(lookup or {}, {})),
                approle=SimpleNamespace(login=lambda **kw: _answer(login, kw)),
            )
            methods = {name: _method(value) for name, value in kv.items()}
            self.secrets = SimpleNamespace(kv=SimpleNamespace(v2=SimpleNamespace(**methods)))
            clients.append(self)

    monkeypatch.setattr(vault.hvac, "Client", Client)
    return clients


def make(**options) -> VaultStore:
    options.setdefault("token", TOKEN)
    return VaultStore(URL, **options)


@pytest.mark.parametrize(
    "data, encoding",
    [
        (b"", "text"),
        (PEM, "text"),
        ('{"name": "wéb"}'.encode(), "text"),
        (bytes(range(256)), "base64"),
        (b"\xff", "base64"),
    ],
)
def test_encode_decode_lossless(data, encoding):
    secret = encode(data)
    assert secret["encoding"] == encoding
    assert decode(secret, "here") == data


@pytest.mark.parametrize(
    "secret",
    [
        {"value": "x"},
        {"content": "!!", "encoding": "base64"},
        {"content": "x", "encoding": "rot13"},
        {"content": 1, "encoding": "text"},
    ],
)
def test_decode_refuses_foreign_secrets(secret):
    with pytest.raises(StoreError, match="vault u secret/p/k does not hold certfleet.acme state.*found fields"):
        decode(secret, "vault u secret/p/k")


@pytest.mark.parametrize(
    "key",
    [".acme/account.key", ".acme/account.json", ".txt-journal.json", ".lock", ".report.json", "www/.commit.json"],
)
def test_secret_path_keeps_layout_names(key):
    assert secret_path("certfleet.acme", key) == "certfleet.acme/" + key


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a//b", "a/./b", "www/.."])
def test_secret_path_refuses_keys_leaving_the_path(key):
    with pytest.raises(StoreError, match="is not a relative path"):
        secret_path("certfleet.acme", key)


@pytest.mark.parametrize(
    "entry, live",
    [
        ({"deletion_time": "", "destroyed": False}, True),
        ({"deletion_time": "2001-01-01T00:00:00.123456789Z", "destroyed": False}, False),
        ({"deletion_time": "2999-01-01T00:00:00Z", "destroyed": False}, True),  # delete_version_after, still to come
        ({"deletion_time": "", "destroyed": True}, False),
    ],
)
def test_live_versions(entry, live):
    assert vault._live({"versions": {"3": entry}}, 3) is live


@pytest.mark.parametrize(
    "options, message",
    [
        ({"auth": "ldap"}, "vault auth must be one of token, approle, not 'ldap'"),
        ({"token": None}, "vault auth token needs a token"),
        ({"auth": "approle", "token": None, "role_id": "r"}, "vault auth approle needs both role_id and secret_id"),
        ({"mount": "/"}, "vault mount and path must not be empty"),
        ({"path": "a/../b"}, "is not a relative path"),
    ],
)
def test_constructor_refuses_bad_options(options, message):
    with pytest.raises(StoreError, match=message) as failed:
        make(**options)
    assert TOKEN not in str(failed.value)


def test_describe_and_defaults():
    store = make(mount="/kv/", path="/teams/web/")
    assert store.describe() == "vault %s kv/teams/web" % URL
    assert store.kind == "vault"
    assert make().describe() == "vault %s secret/certfleet.acme" % URL


def test_missing_hvac_is_named(monkeypatch):
    monkeypatch.setattr(vault, "HAS_HVAC", False)
    with pytest.raises(StoreError, match="needs the Python library hvac"):
        make()


def test_put_refuses_an_unknown_condition_before_any_request(monkeypatch):
    clients = fake_hvac(monkeypatch)
    with pytest.raises(StoreError, match=r"secret/certfleet.acme/www/cert.pem: expect must be ABSENT, ANY or a KV"):
        make().put("www/cert.pem", b"x", expect="etag-1")
    assert clients == []


def test_client_options(monkeypatch):
    clients = fake_hvac(monkeypatch, read_secret_metadata=hvac.exceptions.InvalidPath())
    assert make(namespace="team1", ca_bundle="/etc/ca.pem", timeout=7).version("www/cert.pem") is None
    assert clients[0].options == {
        "url": URL,
        "token": TOKEN,
        "verify": "/etc/ca.pem",
        "timeout": 7,
        "namespace": "team1",
    }
    assert make(validate_certs=False).version("x") is None and clients[-1].options["verify"] is False


def test_kv1_or_other_mount_refused(monkeypatch):
    fake_hvac(monkeypatch, mount={"data": {"type": "kv", "options": {"version": "1"}}})
    with pytest.raises(StoreError, match="mount 'secret' is KV version 1, not KV version 2"):
        make().get(".lock")
    fake_hvac(monkeypatch, mount={"data": {"type": "transit", "options": None}})
    with pytest.raises(StoreError, match="mount 'secret' is of type 'transit', not KV version 2"):
        make().get(".lock")


@pytest.mark.parametrize(
    "error, lookup, message",
    [
        (hvac.exceptions.VaultDown(errors=["Vault is sealed"]), None, "cannot read .*: the server is sealed"),
        (hvac.exceptions.InvalidPath(errors=["namespace not found"]), None, "namespace 'team1' does not exist"),
        (
            hvac.exceptions.InvalidPath(errors=['no handler for route "x/data/y"']),
            None,
            "mount 'secret' does not exist",
        ),
        (
            hvac.exceptions.Forbidden(errors=['preflight capability check returned 403, "secret/"']),
            None,
            "mount 'secret' does not exist, or the token's policies grant nothing under it",
        ),
        (
            hvac.exceptions.Forbidden(errors=["permission denied"]),
            None,
            r"cannot read secret/certfleet.acme/www/privkey.pem: permission denied \(the token's policies must allow",
        ),
        (
            hvac.exceptions.Forbidden(errors=["permission denied"]),
            hvac.exceptions.Forbidden(errors=["permission denied"]),
            "permission denied, and the token cannot look itself up: it is wrong, expired or revoked",
        ),
        (requests.exceptions.ConnectionError("refused"), None, "the server is unreachable \\(ConnectionError\\)"),
        (requests.exceptions.ReadTimeout("slow"), None, "the server is unreachable \\(ReadTimeout\\)"),
        (
            requests.exceptions.SSLError("certificate verify failed"),
            None,
            "TLS verification against ca_bundle /etc/ca.pem failed: certificate verify failed",
        ),
        (hvac.exceptions.InternalServerError(errors=["boom"]), None, r"boom \(InternalServerError\)"),
        (hvac.exceptions.InternalServerError(errors=["bad token " + TOKEN]), None, r"bad token \*\*\*\*\*\*\*\*"),
    ],
)
def test_error_mapping(monkeypatch, error, lookup, message):
    fake_hvac(monkeypatch, lookup=lookup, read_secret_version=error)
    with pytest.raises(StoreError) as failed:
        make(namespace="team1", ca_bundle="/etc/ca.pem").get("www/privkey.pem")
    text = str(failed.value)
    assert text.startswith("vault %s: cannot read secret/certfleet.acme/www/privkey.pem: " % URL)
    assert re.search(message, text), text
    assert TOKEN not in text


def test_mount_check_errors_say_so(monkeypatch):
    fake_hvac(monkeypatch, mount=hvac.exceptions.InvalidPath(errors=["namespace not found"]))
    with pytest.raises(StoreError, match="cannot check mount secret: namespace 'nope' does not exist on this server"):
        make(namespace="nope").list()


def test_approle_login_refused_without_secrets(monkeypatch):
    fake_hvac(monkeypatch, login=hvac.exceptions.InvalidRequest(errors=["invalid role or secret ID"]))
    with pytest.raises(StoreError) as failed:
        make(token=None, auth="approle", role_id="role-1", secret_id=SECRET_ID).get(".lock")
    text = str(failed.value)
    assert (
        "cannot log in with AppRole at auth/approle: the AppRole login was refused: invalid role or secret ID" in text
    )
    assert SECRET_ID not in text


def test_approle_token_is_used_and_never_shown(monkeypatch):
    answer = {"auth": {"client_token": "hvs.approle-token-never-shown"}}
    clients = fake_hvac(
        monkeypatch, login=answer, read_secret_version=hvac.exceptions.InternalServerError(errors=["x"])
    )
    store = make(token=None, auth="approle", role_id="role-1", secret_id=SECRET_ID)
    with pytest.raises(StoreError) as failed:
        store.get(".lock")
    assert clients[0].options["token"] == ""  # no VAULT_TOKEN from the environment sent with the login
    assert clients[0].token == "hvs.approle-token-never-shown"
    assert "approle-token" not in str(failed.value)


def test_get_many_never_shares_a_client_between_threads(monkeypatch):
    lock = threading.Lock()

    def read(path, mount_point, raise_on_deleted_version):
        time.sleep(0.002)  # long enough for the other threads to want a client meanwhile
        return {"data": {"data": encode(path.encode()), "metadata": {"version": 1}}}

    clients = fake_hvac(monkeypatch, read_secret_version=read)
    in_use = {}
    real = VaultStore._client

    def tracked(self):
        context = real(self)

        class Guard:
            def __enter__(self):
                client = context.__enter__()
                with lock:
                    assert id(client) not in in_use, "a client was used by two threads at once"
                    in_use[id(client)] = True
                self.client = client
                return client

            def __exit__(self, *exc):
                with lock:
                    del in_use[id(self.client)]
                return context.__exit__(*exc)

        return Guard()

    monkeypatch.setattr(VaultStore, "_client", tracked)
    keys = ["c%03d/cert.json" % index for index in range(200)]
    found = make().get_many(keys)
    assert sorted(found) == keys and found["c007/cert.json"].data == b"certfleet.acme/c007/cert.json"
    assert 1 < len(clients) <= 17  # one per worker thread (plus the mount check's), reused, not one per request


def test_put_absent_maps_cas_mismatch_to_conflict(monkeypatch):
    mismatch = hvac.exceptions.InvalidRequest(errors=["check-and-set parameter did not match the current version"])
    metadata = {"data": {"current_version": 4, "versions": {"4": {"deletion_time": "", "destroyed": False}}}}
    fake_hvac(monkeypatch, create_or_update_secret=mismatch, read_secret_metadata=metadata)
    with pytest.raises(vault.StoreConflict, match="vault %s secret/certfleet.acme/.lock: another writer" % URL):
        make().put(".lock", b"x", expect=ABSENT)
