# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's private copy of a remote state, and the sync between it and the store.

With an S3 or Vault backend, the stages still read and write files in the
layout of ``_state.layout``: the modules stay the same whatever holds the
state. The copy is a 0700 temporary directory that lives only as long as the
run (the guardian process in ``_state.guardian`` removes it when
``ansible-playbook`` ends, also when it is killed), and holds only what the
run needs: the certificates' public files and pending orders, the account and
the journal; certificate private keys are brought in only for the deploy
stage (:func:`pull` with those keys).

:func:`push` writes back what changed since it was pulled, each key with the
version it was read at, so a run whose lease was taken over cannot overwrite
the state of the run that took it. A certificate's files are several objects
in a store that has no multi-object transaction: while they are written, a
marker ``<name>/.commit.json`` says so, and a pull that finds the marker (the
writer was killed half-way) treats that certificate as missing, so it is
issued again instead of deploying a key that may not match its certificate.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write, make_dirs, read_json
from ansible_collections.certfleet.acme.plugins.module_utils._state import index, layout
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StateStore,
    is_secret_key,
)

MANIFEST = ".workspace.json"
#: Where the guardian (``_state.guardian``) says which socket it listens on. The socket is in Linux's abstract
#: namespace, since a path under a deep TMPDIR can exceed the 108 bytes of a socket address; the guardian checks
#: that each caller is its own user (SO_PEERCRED), which a file's mode would otherwise have ensured.
GUARDIAN_FILE = ".guardian.json"
#: The marker key of a certificate whose files are being written to a remote store.
COMMIT_MARKER = ".commit.json"
#: What a run reads of each certificate before it knows what is due, and what the deploy stage adds.
CERT_PUBLIC_FILES = (layout.CERT, layout.CERT_INFO, layout.ORDER)
CERT_DEPLOY_FILES = (layout.PRIVKEY, layout.CHAIN, layout.FULLCHAIN)


def create(run_id: str, parent: str | None = None) -> str:
    """A new private directory for one run's copy of the state."""
    directory = tempfile.mkdtemp(prefix="certfleet-acme-%s-" % run_id[:12], dir=parent)
    os.chmod(directory, 0o700)
    return directory


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(work_dir: str) -> dict:
    """What was pulled: ``objects`` (key -> version and digest) and ``incomplete`` (key -> marker version)."""
    manifest = read_json(os.path.join(work_dir, MANIFEST)) or {}
    manifest.setdefault("objects", {})
    manifest.setdefault("markers", {})
    return manifest


def _save_manifest(work_dir: str, manifest: dict) -> None:
    atomic_write(os.path.join(work_dir, MANIFEST), json.dumps(manifest, sort_keys=True), mode=0o600)


def base_keys(names: list[str]) -> list[str]:
    """The keys a run reads before it knows what is due: account, journal, each certificate's public files."""
    keys = list(layout.TOP_STATE_KEYS)
    for name in names:
        keys.extend(layout.cert_key(name, filename) for filename in CERT_PUBLIC_FILES + (COMMIT_MARKER,))
    return keys


def deploy_keys(names: list[str]) -> list[str]:
    """The keys the deploy stage reads besides the public ones: private keys and chains."""
    return [layout.cert_key(name, filename) for name in names for filename in CERT_DEPLOY_FILES]


def _write_local(work_dir: str, key: str, data: bytes) -> None:
    path = os.path.join(work_dir, key)
    make_dirs(os.path.dirname(path), mode=0o700)
    atomic_write(path, data, mode=0o600 if is_secret_key(key) else 0o644)


def pull(store: StateStore, work_dir: str, keys: list[str]) -> dict:
    """Copy ``keys`` (those that exist) from the store into the workspace; returns counts and half-written certs.

    A certificate whose commit marker is there is not copied at all (see the module docstring).
    """
    manifest = load_manifest(work_dir)
    found = _fetch(store, list(dict.fromkeys(keys)), manifest)
    incomplete = sorted(
        key.partition("/")[0] for key in found if key.endswith("/" + COMMIT_MARKER) or key == COMMIT_MARKER
    )
    for name in incomplete:
        manifest["markers"][name] = found.pop(layout.cert_key(name, COMMIT_MARKER)).version
    pulled = 0
    for key, item in found.items():
        if key.partition("/")[0] in incomplete:
            continue
        _write_local(work_dir, key, item.data)
        manifest["objects"][key] = {"version": item.version, "sha256": _digest(item.data)}
        pulled += 1
    _save_manifest(work_dir, manifest)
    return {"pulled": pulled, "incomplete": incomplete}


def _fetch(store: StateStore, keys: list[str], manifest: dict) -> dict:
    """The objects among ``keys``: from the index where it still matches the store, the rest from the store."""
    if not store.lists_cheaply:
        return store.get_many(keys)
    listing = store.list("")
    cached: dict = {}
    if any(index.is_indexed(key) for key in keys):
        cached, version = index.read(store, listing)
        cached = {key: item for key, item in cached.items() if key in keys}
        manifest["index"] = {"version": version, "read": {key: item.version for key, item in cached.items()}}
    found = dict(cached)
    found.update(store.get_many([key for key in keys if key in listing and key not in cached]))
    return found


def save_index(store: StateStore, work_dir: str) -> bool:
    """Write the index of the certificates' public files as this run leaves them; whether it was written.

    Nothing is written when it would list the same versions it was read with (a nothing-due run).
    """
    manifest = load_manifest(work_dir)
    if not store.lists_cheaply or "index" not in manifest:
        return False
    entries = {}
    for key, known in manifest["objects"].items():
        path = os.path.join(work_dir, key)
        if index.is_indexed(key) and os.path.isfile(path):
            with open(path, "rb") as handle:
                data = handle.read()
            if _digest(data) == known["sha256"]:
                try:
                    entries[key] = {"version": known["version"], "content": data.decode("utf-8")}
                except UnicodeDecodeError:
                    continue
    if {key: entry["version"] for key, entry in entries.items()} == manifest["index"]["read"]:
        return False
    return index.save(store, entries, manifest["index"]["version"])


def local_state(work_dir: str) -> dict[str, bytes]:
    """Every piece of state in the workspace by key (scratch files and the manifest left out)."""
    found = {}
    for root, dirs, files in os.walk(work_dir):
        dirs[:] = [entry for entry in dirs if not entry.startswith(".") or entry == layout.ACCOUNT_DIR]
        for filename in files:
            path = os.path.join(root, filename)
            key = os.path.relpath(path, work_dir).replace(os.sep, "/")
            if layout.state_key_of(key) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    found[key] = handle.read()
    return found


def _expected(store: StateStore, manifest: dict, key: str):
    """The version a write of ``key`` must find: the one pulled, or for a key never pulled the one there now."""
    known = manifest["objects"].get(key)
    if known is not None:
        return known["version"]
    return store.version(key) or ABSENT


def push(store: StateStore, work_dir: str) -> list[str]:
    """Write to the store what changed in the workspace since the pull; returns the keys written or removed.

    Each write names the version read (:class:`StoreConflict` when the store has another one). A certificate's
    changed files are written between the creation and the removal of its commit marker; ``cert.pem`` last.
    """
    manifest = load_manifest(work_dir)
    current = local_state(work_dir)
    changed = {
        key: data for key, data in current.items() if manifest["objects"].get(key, {}).get("sha256") != _digest(data)
    }
    removed = [key for key in manifest["objects"] if key not in current]
    by_cert: dict[str, list[str]] = {}
    for key in list(changed) + removed:
        name, filename = key.split("/", 1) if "/" in key else (key, "")
        if filename in layout.COMMIT_ORDER:
            by_cert.setdefault(name, []).append(key)
    done = []
    try:
        for name in sorted(by_cert):
            marker = layout.cert_key(name, COMMIT_MARKER)
            body = json.dumps({"writing": sorted(by_cert[name])}).encode()
            manifest["markers"][name] = store.put(marker, body, expect=manifest["markers"].get(name, ANY))
        order = {filename: index for index, filename in enumerate(layout.COMMIT_ORDER)}
        for key in sorted(changed, key=lambda key: (key.partition("/")[0], order.get(key.partition("/")[2], -1))):
            version = store.put(key, changed[key], expect=_expected(store, manifest, key))
            manifest["objects"][key] = {"version": version, "sha256": _digest(changed[key])}
            done.append(key)
        for key in removed:
            store.delete(key, expect=manifest["objects"][key]["version"])
            del manifest["objects"][key]
            done.append(key)
        for name in sorted(by_cert):
            store.delete(layout.cert_key(name, COMMIT_MARKER), expect=manifest["markers"].pop(name))
    finally:
        _save_manifest(work_dir, manifest)
    return done


class WorkspaceError(Exception):
    """The guardian of the run's workspace did not do what it was asked; the message says why."""


def is_guarded(state_dir: str) -> bool:
    """Whether ``state_dir`` is a run's workspace of a remote state, with its guardian listening."""
    return os.path.exists(os.path.join(state_dir, GUARDIAN_FILE))


def request(work_dir: str, operation: str, timeout: float = 600, **fields) -> dict:
    """Ask the guardian of ``work_dir`` to ``push``, ``pull`` or ``close``; its answer, or WorkspaceError."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        address = "\0" + (read_json(os.path.join(work_dir, GUARDIAN_FILE)) or {})["socket"]
        connection.connect(address)
        connection.sendall(json.dumps(dict(fields, op=operation)).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, KeyError, ValueError) as exc:
        raise WorkspaceError(
            "the state guardian of %s did not answer (%s): the run's lease and workspace are gone" % (work_dir, exc)
        ) from None
    finally:
        connection.close()
    try:
        reply = json.loads(data)
    except ValueError:
        raise WorkspaceError("the state guardian of %s gave no answer to %s" % (work_dir, operation)) from None
    if not reply.get("ok"):
        raise WorkspaceError(reply.get("error") or "the state guardian refused %s" % operation)
    return reply


def sync(state_dir: str) -> list[str]:
    """Save what a module wrote in a remote state's workspace to the store at once; nothing for a local state.

    Every module that writes state calls it before it returns (the journal after each write), so what a run
    wrote is in the store before the next step starts: a runner killed after publishing TXT values leaves its
    journal and order where the next runner, on another machine, finds them.
    """
    if not is_guarded(state_dir):
        return []
    return request(state_dir, "push")["written"]


def sync_or_fail(module, state_dir: str | None, **result) -> None:
    """:func:`sync` for a module: a state that could not be saved fails the task, naming the store's answer."""
    if not state_dir or module.check_mode:
        return
    try:
        sync(state_dir)
    except WorkspaceError as exc:
        module.fail_json(msg="what this task wrote could not be saved to the state store: %s" % exc, **result)
