# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash-safe file writes for the on-disk state.

A renewal that dies half-way (disk full, SIGKILL, power loss) must leave the
previous key and certificate readable: files are written to a temporary file
in the same directory, flushed, and renamed over the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator


def atomic_write(path: str, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename; the mode is set before the data lands."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(path: str) -> None:
    """Make the renames and removals inside ``path`` durable: a rename is only on disk once its directory is."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def directory_lock(path: str, create: bool = False) -> Iterator[None]:
    """``flock`` on a directory for the time of a read-check-replace of files inside it.

    The state lock and the TXT journal replace their files by rename, so a lock on
    the file itself would be lost with the old inode; the directory stays put.
    """
    if create:
        os.makedirs(path, exist_ok=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def atomic_write_json(path: str, document, mode: int = 0o644) -> None:
    """Write ``document`` as stable, readable JSON through :func:`atomic_write`."""
    atomic_write(path, json.dumps(document, indent=2, sort_keys=True) + "\n", mode)


def read_json(path: str):
    """Load a JSON file, or return None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
