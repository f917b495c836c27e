# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state in HashiCorp Vault (or OpenBao) KV version 2, for runners that keep nothing between jobs.

Teams that already hold their secrets in Vault want the account key and the
certificate keys there too (dnscontrol get-certs writes a path per
certificate). KV v2 gives what the state interface needs: every secret has a
version, and a write can name the version it replaces (check-and-set).

Each state key is one secret at ``<mount>/<path>/<key>`` (``secret/certfleet.acme/www/cert.pem``).
KV paths take the layout's names as they are, leading dots included
(``.acme/account.key``, ``.txt-journal.json``), so nothing is renamed. A
secret's data is ``{"content": ..., "encoding": "text"|"base64"}``: UTF-8
content (PEM, JSON) is stored as text, so an operator reads it with
``bao kv get -field=content``; anything else as base64. Both are lossless.
The version is the KV version number, as a string. Every write carries
``cas``: 0 for a key that must not exist, the version read for an update, the
current version for ``ANY`` (so a mount with ``cas_required`` works too).

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import queue
import threading

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.hvac import HAS_HVAC, hvac, requests
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StateStore,
    StoreConflict,
    StoredObject,
    StoreError,
    check_key,
)

AUTH_METHODS = ("token", "approle")
APPROLE_MOUNT = "approle"
TEXT = "text"
BASE64 = "base64"
#: How often an ``ANY`` write re-reads the version when another writer slipped in between.
ANY_ATTEMPTS = 3
_CAS_MISMATCH = "check-and-set parameter"


def encode(data: bytes) -> dict:
    """The secret data that holds ``data``: text when it is UTF-8 (readable in the Vault UI), base64 otherwise."""
    try:
        return {"content": data.decode("utf-8"), "encoding": TEXT}
    except UnicodeDecodeError:
        return {"content": base64.b64encode(data).decode("ascii"), "encoding": BASE64}


def decode(secret: dict, where: str) -> bytes:
    """The bytes :func:`encode` stored; a secret someone else wrote in another shape is an error, not empty data."""
    content, encoding = secret.get("content"), secret.get("encoding")
    if isinstance(content, str) and encoding == TEXT:
        return content.encode("utf-8")
    if isinstance(content, str) and encoding == BASE64:
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise StoreError(
        "%s does not hold certfleet.acme state: its data must be {content, encoding: text|base64}, found fields %s"
        % (where, sorted(secret))
    )


def secret_path(path: str, key: str) -> str:
    """The KV path of a state key: ``<path>/<key>``, the key unchanged (KV paths accept every layout name)."""
    return "%s/%s" % (path, check_key(key))


def _live(metadata: dict, version: int) -> bool:
    """Whether ``version`` is readable: not destroyed, not soft-deleted (a deletion_time still to come is live)."""
    entry = (metadata.get("versions") or {}).get(str(version)) or {}
    if entry.get("destroyed"):
        return False
    deleted = entry.get("deletion_time") or ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return not deleted or deleted[:19] > now


class VaultStore(StateStore):
    """State in a KV v2 mount of Vault or OpenBao, one secret per key, every write check-and-set."""

    kind = "vault"

    def __init__(
        self,
        url: str,
        mount: str = "secret",
        path: str = "certfleet.acme",
        auth: str = "token",
        token: str | None = None,
        role_id: str | None = None,
        secret_id: str | None = None,
        namespace: str | None = None,
        ca_bundle: str | None = None,
        validate_certs: bool = True,
        timeout: float = 30,
    ):
        if not HAS_HVAC:
            raise StoreError("the vault state backend needs the Python library hvac on the controller")
        if auth not in AUTH_METHODS:
            raise StoreError("vault auth must be one of %s, not %r" % (", ".join(AUTH_METHODS), auth))
        if auth == "token" and not token:
            raise StoreError("vault auth token needs a token (the token option, or VAULT_TOKEN in the environment)")
        if auth == "approle" and not (role_id and secret_id):
            raise StoreError("vault auth approle needs both role_id and secret_id")
        self.url, self.mount, self.path = url.rstrip("/"), mount.strip("/"), path.strip("/")
        if not self.mount or not self.path:
            raise StoreError("vault mount and path must not be empty (mount %r, path %r)" % (mount, path))
        check_key(self.path)
        self.auth, self.namespace, self.timeout = auth, namespace or None, timeout
        self._verify = ca_bundle if ca_bundle else validate_certs
        self._token = token if auth == "token" else None
        self._role_id, self._secret_id = role_id, secret_id
        self._secrets = [value for value in (token, secret_id, role_id) if value]
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._clients: list = []
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()
        self._ready = False

    def describe(self) -> str:
        return "vault %s %s/%s" % (self.url, self.mount, self.path)

    # -- connection -----------------------------------------------------------------------------------------------

    def _new_client(self):
        # hvac reads VAULT_TOKEN itself when given None: "" keeps AppRole logins free of a stray token.
        client = hvac.Client(
            url=self.url, token=self._token or "", verify=self._verify, timeout=self.timeout, namespace=self.namespace
        )
        with self._lock:
            self._clients.append(client)
        return client

    @contextlib.contextmanager
    def _client(self):
        """One hvac client for this thread's request: a client (a requests session) is never shared by two threads."""
        try:
            client = self._idle.get_nowait()
        except queue.Empty:
            client = self._new_client()
        client.token = self._token or ""
        try:
            yield client
        finally:
            self._idle.put(client)

    def _prepare(self) -> None:
        """Log in (AppRole) and check once that the mount is KV v2: a KV v1 mount would store under ``data/``."""
        if self._ready:
            return
        if self.auth == "approle":
            self._login()
        mount = self._call(
            "check mount", self.mount, lambda c: c.adapter.get("/v1/sys/internal/ui/mounts/" + self.mount)
        )
        data = (mount or {}).get("data") or {}
        if data.get("type") != "kv" or str((data.get("options") or {}).get("version")) != "2":
            kind = "KV version 1" if data.get("type") == "kv" else "of type %r" % data.get("type")
            raise StoreError("vault %s: mount %r is %s, not KV version 2" % (self.url, self.mount, kind))
        self._ready = True

    def _login(self) -> None:
        def login(client):
            return client.auth.approle.login(
                role_id=self._role_id, secret_id=self._secret_id, use_token=False, mount_point=APPROLE_MOUNT
            )

        answer = self._call("log in with AppRole at", "auth/%s" % APPROLE_MOUNT, login, relogin=False)
        self._token = answer["auth"]["client_token"]
        self._secrets.append(self._token)

    def _call(self, action: str, where: str, fn, *, relogin: bool = True):
        """``fn(client)`` with Vault's refusals turned into StoreError; an expired AppRole token logs in again once."""
        token = self._token
        try:
            with self._client() as client:
                return fn(client)
        except hvac.exceptions.Forbidden as exc:
            if relogin and self.auth == "approle" and not self._token_valid():
                with self._login_lock:  # concurrent readers log in once, not once each
                    if self._token == token:
                        self._login()
                return self._call(action, where, fn, relogin=False)
            raise self._error(exc, action, where) from None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise self._error(exc, action, where) from None

    def _token_valid(self) -> bool:
        try:
            with self._client() as client:
                client.auth.token.lookup_self()
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            return False
        return True

    def _error(self, exc: Exception, action: str, where: str) -> StoreError:
        """One clear message: which server, what it refused and why; never a token or secret_id."""
        head = "vault %s: cannot %s %s" % (self.url, action, where)
        errors = "; ".join(getattr(exc, "errors", None) or []) or ""
        if isinstance(exc, requests.exceptions.SSLError):
            trust = "ca_bundle %s" % self._verify if isinstance(self._verify, str) else "the system CA store"
            cause = "TLS verification against %s failed: %s" % (trust, exc)
        elif isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            cause = "the server is unreachable (%s)" % type(exc).__name__
        elif isinstance(exc, hvac.exceptions.VaultDown):
            cause = "the server is sealed or not active (%s)" % (errors or "HTTP 503")
        elif action.startswith("log in") and isinstance(exc, hvac.exceptions.VaultError) and exc.errors:
            cause = "the AppRole login was refused: %s (wrong role_id or secret_id, or an expired secret_id)" % errors
        elif isinstance(exc, (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized)):
            if "preflight capability check" in errors:  # a valid token: a bad one is refused before this check
                cause = "mount %r does not exist, or the token's policies grant nothing under it" % self.mount
            elif not self._token_valid():
                cause = (
                    "permission denied, and the %s cannot look itself up: it is wrong, expired or revoked"
                    % (("token", "AppRole token")[self.auth != "token"])
                )
            else:
                cause = "permission denied (the token's policies must allow it on %s)" % where
        elif "namespace not found" in errors:
            cause = "namespace %r does not exist on this server" % self.namespace
        elif "no handler for route" in errors:
            cause = "mount %r does not exist" % self.mount
        else:
            cause = "%s (%s)" % (errors or exc, type(exc).__name__)
        message = "%s: %s" % (head, cause)
        for value in self._secrets:
            message = message.replace(value, "********")
        return StoreError(message)

    def _where(self, key: str) -> str:
        return "%s/%s" % (self.mount, secret_path(self.path, key))

    def _kv(self, action: str, where: str, method: str, **kwargs):
        """``client.secrets.kv.v2.<method>`` on the mount; a missing secret (a bare 404) is None, not an error."""

        def call(client):
            try:
                return getattr(client.secrets.kv.v2, method)(mount_point=self.mount, **kwargs)
            except hvac.exceptions.InvalidPath as exc:
                if exc.errors:  # a route or namespace error, not a missing secret
                    raise
                return None

        return self._call(action, where, call)

    # -- reads ----------------------------------------------------------------------------------------------------

    def get(self, key: str) -> StoredObject | None:
        where = self._where(key)
        self._prepare()
        path = secret_path(self.path, key)
        answer = self._kv("read", where, "read_secret_version", path=path, raise_on_deleted_version=True)
        if answer is None:
            return None
        data = answer["data"]
        content = decode(data["data"] or {}, "vault %s %s" % (self.url, where))
        return StoredObject(key=key, data=content, version=str(data["metadata"]["version"]))

    def get_many(self, keys) -> dict[str, StoredObject]:
        """The keys that exist, read concurrently: a thousand certificates are thousands of round trips."""
        self._prepare()  # once, before the threads: an AppRole login is not made sixteen times
        found = map_concurrently(self.get, list(keys))
        return {item.key: item for item in found if item is not None}

    def _metadata(self, key: str) -> tuple[int, bool]:
        """(current version, whether it is live); (0, False) when the key was never written."""
        path = secret_path(self.path, key)
        answer = self._kv("read the metadata of", self._where(key), "read_secret_metadata", path=path)
        if answer is None:
            return 0, False
        metadata = answer["data"]
        current = int(metadata.get("current_version") or 0)
        return current, bool(current) and _live(metadata, current)

    def version(self, key: str) -> str | None:
        self._prepare()
        current, live = self._metadata(key)
        return str(current) if live else None

    def list(self, prefix: str = "") -> dict[str, str]:
        """Every live key under ``prefix``, walking the KV folders level by level, each level's LISTs concurrently.

        LIST names keys without versions, so the versions are one metadata read per key (concurrent too).
        """
        self._prepare()
        if prefix:
            check_key(prefix.rstrip("/"))
        level, keys = [prefix.rpartition("/")[0]], []
        while level:
            entries = map_concurrently(self._list_folder, level)
            level = []
            for parent, names in entries:
                for name in names:
                    child = "%s/%s" % (parent, name) if parent else name
                    if name.endswith("/"):
                        level.append(child.rstrip("/"))
                    elif child.startswith(prefix):
                        keys.append(child)
        versions = map_concurrently(self.version, keys)
        return {key: version for key, version in zip(keys, versions) if version is not None}

    def _list_folder(self, folder: str) -> tuple[str, list[str]]:
        path = "%s/%s" % (self.path, folder) if folder else self.path
        answer = self._kv("list", "%s/%s/" % (self.mount, path), "list_secrets", path=path)
        return folder, list(((answer or {}).get("data") or {}).get("keys") or [])

    # -- writes ---------------------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, expect) -> str:
        where = self._where(key)
        if not (expect is ANY or expect is ABSENT or (isinstance(expect, str) and expect.isdigit())):
            raise StoreError(
                "vault %s %s: expect must be ABSENT, ANY or a KV version number, not %r" % (self.url, where, expect)
            )
        self._prepare()
        if expect is ANY:
            for _attempt in range(ANY_ATTEMPTS):
                current = self._metadata(key)[0]
                try:
                    return self._write(key, data, current, expect)
                except StoreConflict:
                    continue
            raise StoreConflict(
                "vault %s %s: other writers kept changing it (%d attempts)" % (self.url, where, ANY_ATTEMPTS)
            )
        if expect is ABSENT:
            try:
                return self._write(key, data, 0, expect)
            except StoreConflict:
                current, live = self._metadata(key)
                if live or not current:
                    raise
                # Its last version was deleted (bao kv delete): absent for the caller, but cas must name it.
                return self._write(key, data, current, expect)
        return self._write(key, data, int(expect), expect)

    def _write(self, key: str, data: bytes, cas: int, expect) -> str:
        where = self._where(key)

        def write(client):
            try:
                return client.secrets.kv.v2.create_or_update_secret(
                    path=secret_path(self.path, key), secret=encode(data), cas=cas, mount_point=self.mount
                )
            except hvac.exceptions.InvalidRequest as exc:
                if any(_CAS_MISMATCH in error for error in exc.errors or []):
                    return None
                raise

        answer = self._call("write", where, write)
        if answer is None:
            raise StoreConflict(
                "vault %s %s: another writer changed it first (expected %s)" % (self.url, where, expect)
            )
        return str(answer["data"]["version"])

    def delete(self, key: str, *, expect) -> None:
        """Remove the key with all its versions, if it still has the version ``expect``.

        KV v2 has no conditional delete (``cas`` applies to writes only), so
        this reads the current version, compares, then deletes: another writer
        could slip in between. The run's lease (``_state.lease``) makes that
        window safe: only the lease holder writes or deletes state keys, and
        the lease itself is deleted only by its holder, after reading its own
        version; a takeover needs the lease to have expired, which a holder
        that is still releasing it has no reason to let happen.
        """
        self._prepare()
        current, live = self._metadata(key)
        if not live:
            return
        if expect is not ANY and str(current) != (expect if isinstance(expect, str) else ""):
            raise StoreConflict(
                "vault %s %s: another writer changed it first (expected %s, found version %d)"
                % (self.url, self._where(key), expect, current)
            )
        self._kv("delete", self._where(key), "delete_metadata_and_all_versions", path=secret_path(self.path, key))

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        with contextlib.suppress(queue.Empty):
            while True:
                self._idle.get_nowait()
        for client in clients:
            client.adapter.close()
