# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Vault state store against a real OpenBao server (``bao server -dev`` on loopback, same KV v2 API as Vault).

What a fake could not show is shown here: check-and-set as the server
enforces it (two writers, exactly one wins), the layout's names (leading
dots) as KV paths, AppRole logins and their renewal, what the server answers
for a wrong token, a missing namespace, a missing or KV v1 mount, a sealed
server and an untrusted TLS certificate, the lease on Vault, and how long
2,000 reads take.
"""

from __future__ import annotations

import base64
import datetime
import threading
import time

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._state import lease
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StoreConflict,
    StoreError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.vault import VaultStore

PEM = b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ3\n-----END CERTIFICATE-----\n"
BINARY = bytes(range(256)) * 4
LAYOUT_KEYS = (
    ".acme/account.key",
    ".acme/account.json",
    ".txt-journal.json",
    ".lock",
    ".report.json",
    "www.example.test/privkey.pem",
    "www.example.test/fullchain.pem",
    "www.example.test/cert.json",
    "www.example.test/order.json",
    "www.example.test/.commit.json",
)


def store(server, name: str, **options) -> VaultStore:
    """A store under ``secret/certfleet.acme/<name>``: each test its own folder, the root token unless told."""
    options.setdefault("token", server.token)
    return VaultStore(server.url, path="certfleet.acme/" + name, **options)


def raw_secret(server, openbao_module, path: str, namespace: str | None = None) -> dict:
    status, answer = openbao_module.api(server, "GET", "secret/data/" + path, namespace=namespace)
    assert status == 200, answer
    return answer["data"]["data"]


def test_vault_round_trip_binary_and_text(openbao_server, openbao_module):
    vault = store(openbao_server, "roundtrip")
    assert vault.describe() == "vault %s secret/certfleet.acme/roundtrip" % openbao_server.url
    assert vault.put("www/cert.pem", PEM, expect=ABSENT) == "1"
    assert vault.put("www/blob", BINARY, expect=ABSENT) == "1"
    assert vault.put("www/empty", b"", expect=ABSENT) == "1"
    assert vault.get("www/cert.pem").data == PEM
    assert vault.get("www/blob").data == BINARY
    assert vault.get("www/empty").data == b""
    assert vault.get("www/missing") is None
    # What an operator sees with `bao kv get`: the PEM as text, other bytes as base64.
    assert raw_secret(openbao_server, openbao_module, "certfleet.acme/roundtrip/www/cert.pem") == {
        "content": PEM.decode(),
        "encoding": "text",
    }
    blob = raw_secret(openbao_server, openbao_module, "certfleet.acme/roundtrip/www/blob")
    assert blob["encoding"] == "base64" and base64.b64decode(blob["content"]) == BINARY


def test_vault_layout_keys_with_leading_dots(openbao_server):
    vault = store(openbao_server, "layout")
    for key in LAYOUT_KEYS:
        vault.put(key, key.encode(), expect=ABSENT)
    assert {key: item.data for key, item in vault.get_many(LAYOUT_KEYS + ("nothing/here",)).items()} == {
        key: key.encode() for key in LAYOUT_KEYS
    }
    assert vault.list() == dict.fromkeys(LAYOUT_KEYS, "1")
    assert vault.list(".acme/") == {".acme/account.key": "1", ".acme/account.json": "1"}
    assert vault.list("www.example.test/") == {key: "1" for key in LAYOUT_KEYS if key.startswith("www.")}
    assert vault.list(".txt") == {".txt-journal.json": "1"}
    assert store(openbao_server, "layout-other").list() == {}


def test_vault_conditions(openbao_server, openbao_module):
    vault = store(openbao_server, "conditions")
    first = vault.put("a/cert.json", b"1", expect=ABSENT)
    with pytest.raises(StoreConflict) as absent:
        vault.put("a/cert.json", b"2", expect=ABSENT)
    assert "vault %s secret/certfleet.acme/conditions/a/cert.json" % openbao_server.url in str(absent.value)
    second = vault.put("a/cert.json", b"2", expect=first)
    assert (first, second) == ("1", "2")
    with pytest.raises(StoreConflict):
        vault.put("a/cert.json", b"stale", expect=first)
    assert vault.put("a/cert.json", b"any", expect=ANY) == "3"
    assert vault.put("a/new.json", b"any", expect=ANY) == "1"
    assert vault.version("a/cert.json") == "3" and vault.get("a/cert.json").data == b"any"
    assert vault.version("a/none.json") is None
    with pytest.raises(StoreError, match="expect must be ABSENT, ANY or a KV version number, not 'v3'"):
        vault.put("a/cert.json", b"x", expect="v3")
    # Someone ran `bao kv delete` (a soft delete): the key is absent, and ABSENT may create it again.
    status, _answer = openbao_module.api(openbao_server, "DELETE", "secret/data/certfleet.acme/conditions/a/cert.json")
    assert status == 204
    assert vault.get("a/cert.json") is None and vault.version("a/cert.json") is None
    assert "a/cert.json" not in vault.list()
    assert vault.put("a/cert.json", b"again", expect=ABSENT) == "4"


def test_vault_cas_two_writers_exactly_one_wins(openbao_server):
    writers = [store(openbao_server, "race"), store(openbao_server, "race")]
    version = writers[0].put(".lock", b"start", expect=ABSENT)
    for rounds, expect in enumerate([version, ABSENT]):
        key = ".lock" if expect is not ABSENT else "fresh/.lock"
        barrier = threading.Barrier(len(writers))
        outcome = {}

        def write(index, key=key, expect=expect, barrier=barrier, outcome=outcome):  # pylint: disable=dangerous-default-value
            barrier.wait()
            try:
                outcome[index] = writers[index].put(key, b"writer %d" % index, expect=expect)
            except StoreConflict as exc:
                outcome[index] = exc

        threads = [threading.Thread(target=write, args=(index,)) for index in range(len(writers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        won = [index for index, result in outcome.items() if isinstance(result, str)]
        lost = [result for result in outcome.values() if isinstance(result, StoreConflict)]
        assert len(won) == 1 and len(lost) == 1, (rounds, outcome)
        assert "secret/certfleet.acme/race/%s" % key in str(lost[0])
        assert writers[0].get(key).data == b"writer %d" % won[0]


def test_vault_delete_checks_the_version(openbao_server, openbao_module):
    vault = store(openbao_server, "delete")
    vault.put("www/order.json", b"v1", expect=ABSENT)
    current = vault.put("www/order.json", b"v2", expect="1")
    with pytest.raises(StoreConflict, match="secret/certfleet.acme/delete/www/order.json.*found version 2"):
        vault.delete("www/order.json", expect="1")
    assert vault.get("www/order.json").data == b"v2"
    vault.delete("www/order.json", expect=current)
    assert vault.get("www/order.json") is None and vault.list() == {}
    # All versions and the metadata are gone: a new write starts again at version 1.
    status, _answer = openbao_module.api(openbao_server, "GET", "secret/metadata/certfleet.acme/delete/www/order.json")
    assert status == 404
    vault.delete("www/order.json", expect=ANY)  # a missing key is no error
    assert vault.put("www/order.json", b"new", expect=ABSENT) == "1"
    vault.delete("www/order.json", expect=ANY)
    assert vault.version("www/order.json") is None


def test_vault_approle_login(openbao_server):
    vault = store(
        openbao_server,
        "approle",
        token=None,
        auth="approle",
        role_id=openbao_server.role_id,
        secret_id=openbao_server.secret_id,
    )
    assert vault.put(".acme/account.key", BINARY, expect=ABSENT) == "1"
    assert vault.get(".acme/account.key").data == BINARY
    assert vault.list() == {".acme/account.key": "1"}
    vault.delete(".acme/account.key", expect="1")
    wrong = store(
        openbao_server,
        "approle",
        token=None,
        auth="approle",
        role_id=openbao_server.role_id,
        secret_id="wrong-secret-id-0123456789",
    )
    with pytest.raises(StoreError) as refused:
        wrong.get(".lock")
    message = str(refused.value)
    assert "AppRole login was refused" in message and openbao_server.url in message
    assert "wrong-secret-id-0123456789" not in message and openbao_server.role_id not in message


def test_vault_approle_token_expiry_logs_in_again(openbao_server, openbao_module):
    openbao_module.api(
        openbao_server,
        "POST",
        "auth/approle/role/short",
        {"token_policies": ["certfleet"], "token_ttl": "2s", "token_max_ttl": "2s"},
    )
    role_id = openbao_module.api(openbao_server, "GET", "auth/approle/role/short/role-id")[1]["data"]["role_id"]
    secret_id = openbao_module.api(openbao_server, "POST", "auth/approle/role/short/secret-id", {})[1]["data"][
        "secret_id"
    ]
    vault = store(openbao_server, "short", token=None, auth="approle", role_id=role_id, secret_id=secret_id)
    vault.put("a/cert.pem", PEM, expect=ABSENT)
    time.sleep(3)  # the first login's token has expired
    assert vault.get("a/cert.pem").data == PEM


def test_vault_wrong_token_clear_error(openbao_server):
    token = "s.wrong-token-never-shown-0123"
    with pytest.raises(StoreError) as failed:
        store(openbao_server, "wrong", token=token).get(".lock")
    message = str(failed.value)
    assert message.startswith("vault %s: " % openbao_server.url)
    assert "permission denied, and the token cannot look itself up: it is wrong, expired or revoked" in message
    assert token not in message


def test_vault_permission_denied_names_the_path(openbao_server, openbao_module):
    token = openbao_module.make_token(openbao_server, openbao_module.READ_ONLY_POLICY, "reader")
    store(openbao_server, "denied").put("www/cert.pem", PEM, expect=ABSENT)
    reader = store(openbao_server, "denied", token=token)
    assert reader.get("www/cert.pem").data == PEM
    with pytest.raises(StoreError) as denied:
        reader.put("www/cert.pem", b"x", expect="1")
    message = str(denied.value)
    assert "cannot write secret/certfleet.acme/denied/www/cert.pem: permission denied" in message
    assert token not in message
    nothing = openbao_module.make_token(openbao_server, 'path "other/*" { capabilities = ["read"] }', "nothing")
    with pytest.raises(StoreError, match="mount 'secret' does not exist, or the token's policies grant nothing"):
        store(openbao_server, "denied", token=nothing).get("www/cert.pem")


def test_vault_namespace_is_honoured(openbao_server, openbao_module):
    # OpenBao has namespaces: a missing one is refused (never silently the root namespace) ...
    with pytest.raises(StoreError, match="namespace 'nope' does not exist on this server"):
        store(openbao_server, "ns", namespace="nope").get(".lock")
    # ... and an existing one holds its own KV mount, which the root namespace does not see.
    assert openbao_module.api(openbao_server, "POST", "sys/namespaces/team1", {})[0] == 200
    status, answer = openbao_module.api(
        openbao_server, "POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, namespace="team1"
    )
    assert status == 204, answer
    team = store(openbao_server, "ns", namespace="team1")
    team.put("www/cert.pem", PEM, expect=ABSENT)
    assert (
        raw_secret(openbao_server, openbao_module, "certfleet.acme/ns/www/cert.pem", namespace="team1")["content"]
        == PEM.decode()
    )
    assert store(openbao_server, "ns").get("www/cert.pem") is None
    assert team.list() == {"www/cert.pem": "1"}


def test_vault_wrong_or_kv1_mount(openbao_server, openbao_module):
    with pytest.raises(StoreError, match="mount 'nomount' does not exist"):
        store(openbao_server, "m", mount="nomount").get(".lock")
    openbao_module.api(openbao_server, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    with pytest.raises(StoreError, match="mount 'kv1' is KV version 1, not KV version 2"):
        store(openbao_server, "m", mount="kv1").put(".lock", b"x", expect=ABSENT)
    assert openbao_module.api(openbao_server, "LIST", "kv1/")[0] == 404  # nothing was written there


def test_vault_unreachable(openbao_module):
    with pytest.raises(StoreError, match=r"vault http://127\.0\.0\.1:9: cannot .* the server is unreachable"):
        VaultStore("http://127.0.0.1:9", token="t0ken-not-shown", timeout=5).get(".lock")


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_vault_tls_ca_bundle(openbao_module, tmp_path):
    server = openbao_module.start(tmp_path / "tls", approle=False, tls=True)
    try:
        trusted = VaultStore(server.url, token=server.token, ca_bundle=str(server.ca_file))
        assert trusted.put(".lock", b"tls", expect=ABSENT) == "1"
        with pytest.raises(StoreError, match="TLS verification against the system CA store failed"):
            VaultStore(server.url, token=server.token).get(".lock")
        assert VaultStore(server.url, token=server.token, validate_certs=False).get(".lock").data == b"tls"
    finally:
        openbao_module.stop(server)


def test_vault_sealed_server(openbao_module, tmp_path):
    server = openbao_module.start(tmp_path / "sealed", approle=False)
    try:
        vault = VaultStore(server.url, token=server.token)
        vault.put(".lock", b"x", expect=ABSENT)
        assert openbao_module.api(server, "PUT", "sys/seal")[0] == 204
        with pytest.raises(StoreError, match="cannot read secret/certfleet.acme/.lock: the server is sealed"):
            vault.get(".lock")
    finally:
        openbao_module.stop(server)


def test_vault_get_many_2000(openbao_server, capsys):
    vault = store(openbao_server, "bulk")
    keys = ["cert%04d.example.test/cert.json" % index for index in range(2000)]
    started = time.monotonic()
    map_concurrently(lambda key: vault.put(key, key.encode(), expect=ABSENT), keys)
    written = time.monotonic() - started
    started = time.monotonic()
    found = vault.get_many(keys)
    read = time.monotonic() - started
    started = time.monotonic()
    listed = vault.list()
    walked = time.monotonic() - started
    vault.close()
    assert {key: item.data for key, item in found.items()} == {key: key.encode() for key in keys}
    assert listed == dict.fromkeys(keys, "1")
    with capsys.disabled():
        print("\nvault bulk: 2000 puts %.2f s, get_many(2000) %.2f s, list() of 2000 %.2f s" % (written, read, walked))
    assert read < 120


def test_vault_lease(openbao_server):
    vault = store(openbao_server, "lease")
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    first = lease.acquire(vault, "run-1", "runner-a", 101, 1, now=now)
    assert first["acquired"] and first["version"] == "1" and first["previous"] is None
    with pytest.raises(lease.LeaseHeld) as held:
        lease.acquire(vault, "run-2", "runner-b", 202, 1, now=now)
    assert "held by run run-1 on runner-a" in str(held.value) and vault.describe() in str(held.value)
    later = now + datetime.timedelta(seconds=5)
    second = lease.acquire(vault, "run-2", "runner-b", 202, 60, now=later)
    assert second["acquired"] and second["previous"]["run_id"] == "run-1"
    assert any("run run-1 on runner-a" in warning for warning in second["warnings"])
    with pytest.raises(StoreConflict):
        lease.renew(vault, "run-1", first["version"], 60, now=later)
    assert lease.renew(vault, "run-2", second["version"], 60, now=later) == "3"
    assert not lease.release(vault, "run-1")
    assert lease.release(vault, "run-2")
    assert vault.get(lease.LEASE_KEY) is None
