# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move a whole state from one backend to another, account included, and prove the copy is whole.

A team that starts on a local directory and moves to AWX needs its account
and certificates in S3 or Vault, or the first AWX job registers a new account
and re-issues the fleet into the CA's rate limits; and a team leaving a
backend needs the way back. Every piece of state is copied by its layout key
with a create-only write (an object already at the target with other content
is a conflict, never overwritten unless asked), then read back and compared
byte for byte. The source is left as it was: it is the rollback until the
operator removes it. Neither side may be in use: a held lease or lock stops the
migration before anything is written.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, parse_iso, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._state import layout
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    StateStore,
    StoreError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.workspace import COMMIT_MARKER


class MigrationError(Exception):
    """The migration cannot start or did not copy everything; the message names the key and the store."""


def _in_use(store: StateStore) -> str | None:
    """Why ``store`` is in use by a run: a lease that has not expired (remote) or a lock file (local)."""
    found = store.get(layout.LOCK_FILE)
    if found is None:
        return None
    try:
        holder = json.loads(found.data)
    except ValueError:
        holder = {}
    expires = parse_iso(str(holder.get("expires_at") or ""))
    if expires is not None and expires <= utc_now():
        return None
    return "%s is in use by run %s on host %s%s; migrate when no run works on it" % (
        store.describe(),
        holder.get("run_id", "?"),
        holder.get("host", "?"),
        " until %s" % holder["expires_at"] if expires is not None else "",
    )


def migrate(source: StateStore, target: StateStore, overwrite: bool = False, check_mode: bool = False) -> dict:
    """Copy every state key from ``source`` to ``target`` and verify it; the counts and the keys copied."""
    for store in (source, target):
        reason = _in_use(store)
        if reason:
            raise MigrationError(reason)
    listed = source.list("")
    halfway = sorted({key.partition("/")[0] for key in listed if key.endswith("/" + COMMIT_MARKER)})
    if halfway:
        # The marker would not be copied (it is no state key): the target would offer a key that may not match
        # its certificate as a whole set.
        raise MigrationError(
            "%s holds certificates whose files were being written when their run stopped (%s); run the role on "
            "it once, which issues them again, then migrate" % (source.describe(), ", ".join(halfway))
        )
    keys = sorted(key for key in listed if layout.state_key_of(key))
    if not keys:
        raise MigrationError("%s holds no state to migrate (no account, no certificate)" % source.describe())
    found = source.get_many(keys)
    existing = target.get_many(keys)
    copied, unchanged, conflicts = [], [], []
    for key in keys:
        there = existing.get(key)
        if there is not None and there.data == found[key].data:
            unchanged.append(key)
        elif there is not None and not overwrite:
            conflicts.append(key)
        else:
            copied.append(key)
    if conflicts:
        raise MigrationError(
            "%s already holds other content at %s; nothing was copied. Empty it, or set overwrite to replace it"
            % (
                target.describe(),
                ", ".join(conflicts[:10]) + (" and %d more" % (len(conflicts) - 10) if len(conflicts) > 10 else ""),
            )
        )
    if not check_mode:
        for key in copied:
            expect = existing[key].version if key in existing else ABSENT
            try:
                target.put(key, found[key].data, expect=expect)
            except StoreError as exc:
                raise MigrationError(
                    "copying %s to %s failed after %d of %d keys: %s"
                    % (key, target.describe(), copied.index(key), len(copied), exc)
                ) from None
        _verify(target, {key: found[key].data for key in keys})
    return {
        "key_count": len(keys),
        "copied": copied,
        "unchanged": unchanged,
        "accounts": sum(1 for key in keys if key == layout.ACCOUNT_DIR + "/" + layout.ACCOUNT_KEY),
        "certificates": sorted({key.partition("/")[0] for key in keys if key.endswith("/" + layout.CERT)}),
        "verified_at": None if check_mode else iso_utc(utc_now()),
    }


def _verify(target: StateStore, wanted: dict[str, bytes]) -> None:
    """Read every key back from the target; a missing or different one fails the migration, naming it."""
    back = target.get_many(list(wanted))
    wrong = sorted(
        key
        for key, data in wanted.items()
        if key not in back or hashlib.sha256(back[key].data).digest() != hashlib.sha256(data).digest()
    )
    if wrong:
        raise MigrationError("%s does not hold what was copied at %s" % (target.describe(), ", ".join(wrong[:10])))
