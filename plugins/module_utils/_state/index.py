# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One object that holds every certificate's public files, so a nothing-due run reads one object, not thousands.

A run over 1,000 certificates reads each ``cert.pem`` and ``cert.json`` before
it knows that nothing is due: 2,000 GETs against S3, most of the run's time.
The index ``.index.json`` keeps a copy of those files with the version each
had when it was copied. It is never trusted on its own: a pull lists the
store (one request per 1,000 objects), and takes a file from the index only
when the store still has that very version of it; anything else is read from
the store. So a stale index (a run killed before it wrote the index, an
operator who changed a file by hand) costs GETs, never a wrong answer.

Only for stores whose listing gives versions cheaply (S3, a directory); a
Vault listing costs a request per key, more than it would save. The index
holds no private key, and is not state: a migration leaves it behind and the
next run makes it again.
"""

from __future__ import annotations

import json

from ansible_collections.certfleet.acme.plugins.module_utils._state import layout
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    StateStore,
    StoredObject,
    StoreError,
)

INDEX_KEY = ".index.json"
#: The files the index copies: what a run reads of every certificate before it knows what is due.
INDEXED_FILES = (layout.CERT, layout.CERT_INFO)


def is_indexed(key: str) -> bool:
    return key.rpartition("/")[2] in INDEXED_FILES and "/" in key


def read(store: StateStore, listing: dict[str, str]) -> tuple[dict[str, StoredObject], str | None]:
    """The index's copies that still match the store (by version), and the index's own version (None: none)."""
    version = listing.get(INDEX_KEY)
    if version is None:
        return {}, None
    found = store.get(INDEX_KEY)
    if found is None:
        return {}, None
    try:
        entries = json.loads(found.data)["objects"]
        return {
            key: StoredObject(key, entry["content"].encode("utf-8"), entry["version"])
            for key, entry in entries.items()
            if is_indexed(key) and listing.get(key) == entry["version"]
        }, found.version
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}, found.version  # unreadable: every file is read from the store, and the index written anew


def save(store: StateStore, entries: dict[str, dict], version: str | None) -> bool:
    """Write the index (``key -> {version, content}``) over the one read at ``version``; whether it was written.

    Another run that wrote the index meanwhile wins: the index is a cache, and the next pull checks every entry.
    """
    body = json.dumps({"objects": entries}, sort_keys=True).encode("utf-8")
    try:
        store.put(INDEX_KEY, body, expect=ABSENT if version is None else version)
    except StoreError:
        return False
    return True
