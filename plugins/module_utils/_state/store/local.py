# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory on the controller seen through the store interface.

The local backend keeps today's directory exactly as it is on disk (the
modules still write it directly); this class lets the code that only speaks
the interface, a migration to or from a remote store and the tests of the
lease and the workspace, read and write that directory by key. A version is
the sha256 of the content, so a conditional write works without any metadata
beside the files.

Conditions are checked and the file replaced under ``flock`` on
``<dir>/.store.lock``, so two writers in this process or another one never
both pass the same check. That file, not the directory: the TXT journal
already locks the directory itself, and flock is not re-entrant.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import stat
from collections.abc import Iterator

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write, fsync_dir, make_dirs
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import COMMIT_DIR, STAGING_DIR
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StateStore,
    StoreConflict,
    StoredObject,
    StoreError,
    check_key,
    is_secret_key,
)

#: The file whose flock serializes the conditional writes; never a key.
STORE_LOCK = ".store.lock"
#: Directories that are part of a certificate switch in progress (``_state.commit``), never keys.
_WORK_DIRS = (STAGING_DIR, COMMIT_DIR)
#: A temporary file of ``_common.files.atomic_write``: ``.<name>.`` plus mkstemp's 8 random characters.
_TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}$")
#: The retired set of a certificate while a switch replaces it: ``.<name>.old``.
_RETIRED_DIR = re.compile(r"^\..+\.old$")


def content_version(data: bytes) -> str:
    """The version of a local object: the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def _skipped(entry: str, is_dir: bool) -> bool:
    """Whether a directory entry is work in progress rather than state."""
    if is_dir:
        return entry in _WORK_DIRS or bool(_RETIRED_DIR.match(entry))
    return entry == STORE_LOCK or bool(_TEMP_FILE.match(entry))


class LocalStore(StateStore):
    """Files under ``state_dir``, one per key, with the layout's names and modes."""

    kind = "local"
    lists_cheaply = True

    def __init__(self, state_dir: str):
        self.state_dir = os.path.abspath(state_dir)

    def describe(self) -> str:
        return self.state_dir

    def _path(self, key: str) -> str:
        return os.path.join(self.state_dir, check_key(key))

    def _fail(self, action: str, key: str, exc: OSError) -> StoreError:
        return StoreError("cannot %s %s in %s: %s" % (action, key, self.state_dir, exc.strerror or exc))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        make_dirs(self.state_dir)
        fd = os.open(os.path.join(self.state_dir, STORE_LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the flock

    def _read(self, key: str) -> bytes | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:  # a file where the key's directory should be
                return None
            raise self._fail("read", key, exc) from None
        try:
            with os.fdopen(fd, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise self._fail("read", key, exc) from None

    def _check(self, key: str, expect) -> bytes | None:
        """The current content of ``key`` if ``expect`` holds for it; StoreConflict otherwise."""
        current = self._read(key)
        if expect is ANY:
            return current
        found = None if current is None else content_version(current)
        wanted = None if expect is ABSENT else expect
        if found != wanted:
            raise StoreConflict(
                "%s in %s changed meanwhile: expected %s, found %s"
                % (
                    key,
                    self.state_dir,
                    "no file" if wanted is None else "version " + wanted,
                    "none" if found is None else "version " + found,
                )
            )
        return current

    def get(self, key: str) -> StoredObject | None:
        data = self._read(key)
        return None if data is None else StoredObject(key, data, content_version(data))

    def put(self, key: str, data: bytes, *, expect) -> str:
        path = self._path(key)
        with self._locked():
            self._check(key, expect)
            try:
                atomic_write(path, data, 0o600 if is_secret_key(key) else 0o644)
            except OSError as exc:
                raise self._fail("write", key, exc) from None
        return content_version(data)

    def delete(self, key: str, *, expect) -> None:
        path = self._path(key)
        with self._locked():
            current = self._read(key)
            if current is None:
                return
            if expect is not ANY:
                self._check(key, expect)
            try:
                os.unlink(path)
                fsync_dir(os.path.dirname(path))
            except FileNotFoundError:
                return
            except OSError as exc:
                raise self._fail("remove", key, exc) from None

    def version(self, key: str) -> str | None:
        data = self._read(key)
        return None if data is None else content_version(data)

    def list(self, prefix: str = "") -> dict[str, str]:
        found: dict[str, str] = {}
        for key in self._keys(self.state_dir, ""):
            if key.startswith(prefix):
                version = self.version(key)
                if version is not None:
                    found[key] = version
        return found

    def _keys(self, directory: str, relative: str) -> Iterator[str]:
        """Every regular file below ``directory`` as a key; symlinks and work in progress are skipped."""
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError("cannot list %s: %s" % (directory, exc.strerror or exc)) from None
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) and not _skipped(entry.name, True):
                yield from self._keys(entry.path, relative + entry.name + "/")
            elif stat.S_ISREG(mode) and not _skipped(entry.name, False):
                yield relative + entry.name
