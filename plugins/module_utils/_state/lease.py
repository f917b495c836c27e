# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lock of a remote state: a lease with an end, taken and renewed by conditional writes.

A pid lock works on one host only; runners on two controllers, or AWX
containers that vanish when killed, cannot check each other's processes. So
with a remote store the lock is a lease document at the key ``.lock``::

    {"run_id": ..., "host": ..., "pid": ..., "acquired_at": ..., "renewed_at": ..., "expires_at": ...}

(times in ISO 8601 UTC). A run takes it by creating the key (``expect=ABSENT``),
renews it while it works, and removes it at the end. A second run fails at
once naming the holder and when the lease ends. A run that was killed stops
renewing, its lease expires, and the next run takes it over by replacing
exactly the version it read (so of two runs that find one expired lease, one
takes it and the other finds the new holder), with a warning naming the old
owner. ``now`` is the clock: tests pass the time they want.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, parse_iso, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import LOCK_FILE
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    StateStore,
    StoreConflict,
)

#: The key of the lease document in a remote store.
LEASE_KEY = LOCK_FILE
# Rounds of create / read / take over before giving up: each lost round means another run changed the lease.
_ATTEMPTS = 5


class LeaseHeld(Exception):
    """Another run holds a lease that has not expired; the message names it and when it ends."""

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


def _document(run_id: str, host: str, pid: int, duration: int, now: datetime.datetime, acquired_at=None) -> dict:
    return {
        "run_id": run_id,
        "host": host,
        "pid": pid,
        "acquired_at": acquired_at or iso_utc(now),
        "renewed_at": iso_utc(now),
        "expires_at": iso_utc(now + datetime.timedelta(seconds=duration)),
    }


def _encode(document: dict) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _decode(data: bytes) -> dict | None:
    """The lease document, or None when the object is not one (it is then treated as expired)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(document, dict) or parse_iso(str(document.get("expires_at") or "")) is None:
        return None
    return document


def _owner(document: dict | None) -> str:
    if document is None:
        return "an unreadable lease"
    return "run %s on %s (pid %s)" % (document.get("run_id"), document.get("host"), document.get("pid"))


def describe_holder(store: StateStore, document: dict, now: datetime.datetime) -> str:
    """``state s3://b/p is held by run <id> on <host> until <time> (in N s)``."""
    ends = parse_iso(str(document.get("expires_at")))
    left = max(0, int((ends - now).total_seconds())) if ends else 0
    return "state %s is held by run %s on %s (pid %s) until %s (in %d s); it started %s" % (
        store.describe(),
        document.get("run_id"),
        document.get("host"),
        document.get("pid"),
        document.get("expires_at"),
        left,
        document.get("acquired_at"),
    )


def acquire(
    store: StateStore, run_id: str, host: str, pid: int, duration: int, now: datetime.datetime | None = None
) -> dict:
    """Take the lease of ``store`` for ``duration`` seconds.

    Returns ``{acquired, lease, version, previous, warnings}``: ``previous`` is
    the expired lease taken over (None when there was none). Raises
    :class:`LeaseHeld` while another run's lease lasts; a lease of this same
    ``run_id`` is taken again (renewed).
    """
    now = now or utc_now()
    lease = _document(run_id, host, pid, duration, now)
    for _attempt in range(_ATTEMPTS):
        try:
            version = store.put(LEASE_KEY, _encode(lease), expect=ABSENT)
            return {"acquired": True, "lease": lease, "version": version, "previous": None, "warnings": []}
        except StoreConflict:
            pass
        current = store.get(LEASE_KEY)
        if current is None:
            continue  # released meanwhile: create it again
        previous = _decode(current.data)
        warnings = []
        if previous is not None and previous.get("run_id") == run_id:
            lease["acquired_at"] = previous.get("acquired_at") or lease["acquired_at"]
        elif previous is not None and parse_iso(previous["expires_at"]) > now:
            raise LeaseHeld(describe_holder(store, previous, now), previous)
        else:
            warnings.append(_takeover_warning(store, previous, now))
        try:
            version = store.put(LEASE_KEY, _encode(lease), expect=current.version)
        except StoreConflict:
            continue  # another run took it first: look again (it now holds a live lease)
        return {"acquired": True, "lease": lease, "version": version, "previous": previous, "warnings": warnings}
    raise StoreConflict("the lease of %s changed %d times while it was being taken" % (store.describe(), _ATTEMPTS))


def _takeover_warning(store: StateStore, previous: dict | None, now: datetime.datetime) -> str:
    if previous is None:
        return "took over the lease of %s: the lease there was not readable" % store.describe()
    ended = parse_iso(previous["expires_at"])
    return (
        "took over the lease of %s from %s, which expired at %s (%d s ago) without being released: "
        "that run was killed or lost its connection"
        % (store.describe(), _owner(previous), previous["expires_at"], int((now - ended).total_seconds()))
    )


def renew(store: StateStore, run_id: str, version: str, duration: int, now: datetime.datetime | None = None) -> str:
    """Extend our lease by ``duration`` seconds from ``now``; the new version.

    Raises :class:`StoreConflict` when the lease is no longer the version we
    wrote (another run took it over after it expired, or it was removed).
    """
    now = now or utc_now()
    current = store.get(LEASE_KEY)
    previous = _decode(current.data) if current is not None else None
    if current is None or current.version != version or previous is None or previous.get("run_id") != run_id:
        raise StoreConflict(
            "the lease of %s is no longer this run's (%s): it is now held by %s"
            % (store.describe(), run_id, "nobody" if current is None else _owner(previous))
        )
    lease = _document(run_id, previous.get("host"), previous.get("pid"), duration, now, previous.get("acquired_at"))
    return store.put(LEASE_KEY, _encode(lease), expect=version)


def release(store: StateStore, run_id: str) -> bool:
    """Remove the lease if it is still ``run_id``'s; True when it was removed."""
    current = store.get(LEASE_KEY)
    if current is None:
        return False
    document = _decode(current.data)
    if document is None or document.get("run_id") != run_id:
        return False
    try:
        store.delete(LEASE_KEY, expect=current.version)
    except StoreConflict:
        return False
    return True
