# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one interface every piece of state is read and written through, whatever holds it.

A run's state (the account, each certificate's files and metadata, pending
orders, the TXT journal, the lock and the last report) must outlive the
controller that ran the job: AWX throws its container away, and teams run from
two controllers. So state lives behind this interface, with a backend per
store (a local directory, an S3 bucket, a Vault KV v2 mount).

Keys are the relative paths of the local layout (``_state.layout``):
``.acme/account.key``, ``<name>/cert.pem``, ``.txt-journal.json``... so a
state moved between backends keeps its names, and an operator finds the same
names in the bucket as on disk.

Every write is conditional. A caller says which version it read
(``expect=<version>``) or that the key must not exist yet (``expect=ABSENT``);
a store whose object changed since then refuses with :class:`StoreConflict`
instead of overwriting what another runner wrote. ``expect=ANY`` is for the
few writes that replace whatever is there on purpose (a migration's target
that the operator emptied, a lease taken over after it expired is *not* one:
it names the version it saw).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable


class StoreError(Exception):
    """The store could not be read or written; the message names the store, the key and the cause."""


class StoreConflict(StoreError):
    """A conditional write or delete found another version than the caller read: someone else wrote first."""


class _Condition:
    """A marker for ``expect``; compared by identity."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: ``expect=ABSENT``: the key must not exist (create only).
ABSENT = _Condition("ABSENT")
#: ``expect=ANY``: write whatever is there (no condition).
ANY = _Condition("ANY")


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """What :meth:`StateStore.get` returns: the bytes and the version a conditional write names."""

    key: str
    data: bytes
    version: str


#: Keys whose content is a private key or a credential: a backend encrypts them at rest (S3: SSE-KMS on every
#: object anyway; Vault: all of KV is encrypted) and a local copy of them is 0600.
SECRET_SUFFIXES = ("privkey.pem", "account.key", "account.key.next")


def is_secret_key(key: str) -> bool:
    """Whether ``key`` holds a private key."""
    return key.endswith(SECRET_SUFFIXES)


def check_key(key: str) -> str:
    """``key`` if it is a relative layout path; a key that could climb out of the store's prefix is refused."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise StoreError("state key %r is not a relative path below the state's root" % key)
    return key


class StateStore(abc.ABC):
    """A place that holds a run's state: one small class per backend, all behind these methods."""

    #: The backend's type as the user names it in ``letsencrypt_dns_state.type``.
    kind = ""
    #: Whether :meth:`list` gives every version in a few requests (S3: 1,000 a page), so a run may list first and
    #: read only what is there and changed (``_state.index``); a Vault listing costs a request per key.
    lists_cheaply = False

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the state is, for messages: ``/var/lib/certfleet.acme``, ``s3://bucket/prefix``,
        ``vault https://vault:8200 secret/certfleet``. Never a credential."""

    @abc.abstractmethod
    def get(self, key: str) -> StoredObject | None:
        """The object at ``key``, or None when there is none."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, expect) -> str:
        """Write ``data`` at ``key`` if the condition holds; return the new version.

        ``expect`` is :data:`ABSENT`, :data:`ANY` or the version the caller read; any other version there
        raises :class:`StoreConflict`.
        """

    @abc.abstractmethod
    def delete(self, key: str, *, expect) -> None:
        """Remove ``key`` if it still has the version ``expect`` (or :data:`ANY`); a missing key is no error."""

    @abc.abstractmethod
    def version(self, key: str) -> str | None:
        """The version at ``key`` without its data (to write a key this run never read), or None."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> dict[str, str]:
        """Every key under ``prefix`` (a layout path prefix such as ``www/`` or ``""`` for all), with its version."""

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredObject]:
        """The objects that exist among ``keys``. Remote backends override it to fetch concurrently."""
        found = {}
        for key in keys:
            item = self.get(key)
            if item is not None:
                found[key] = item
        return found

    def close(self) -> None:  # noqa: B027 - a backend without connections has nothing to close
        """Release connections; the default has none."""
