# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash-safe file writes for the on-disk state.

A renewal that dies half-way (disk full, SIGKILL, power loss) must leave the
previous key and certificate readable: files are written to a temporary file
in the same directory, flushed, and renamed over the old one.

The state directory holds private keys, so nothing here depends on the
process umask (directories get an explicit mode, set again after ``mkdir``)
and no symlink is followed at the last component: a planted link is replaced
by a rename, never written through, and reading one fails with ``ELOOP``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator

#: The mode of a directory made for the state: the controller user's only.
PRIVATE_DIR_MODE = 0o700
#: The mode of a directory made below a state directory whose group may read it.
GROUP_READ_DIR_MODE = 0o750


def atomic_write(path: str, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename; the mode is set before the data lands."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    make_dirs(directory)
    # mkstemp opens with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: a planted name is never opened.
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


def make_dirs(path: str, mode: int | None = None) -> None:
    """Create ``path`` and its missing parents with an explicit mode, whatever the umask; existing ones are kept.

    Without ``mode`` a new directory is 0700, or 0750 below a directory that lets its group read and closes
    others out (a state directory made 0750 on purpose): its certificate directories follow it.
    """
    if os.path.isdir(path):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if parent != path:
        make_dirs(parent, mode)
    if mode is None:
        parent_mode = os.stat(parent).st_mode
        group_read = parent_mode & stat.S_IRGRP and not parent_mode & stat.S_IRWXO
        mode = GROUP_READ_DIR_MODE if group_read else PRIVATE_DIR_MODE
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    os.chmod(path, mode, follow_symlinks=False)


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
        make_dirs(path)
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
    """Load a JSON file, or return None when it does not exist; a symlink is not followed (OSError ELOOP)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return json.load(handle)
