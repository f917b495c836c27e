# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The switch of a certificate's file set, finishing one that a killed run left, and reading a set whole.

``_acme.cert_files`` (which describes the whole write protocol) stages a
complete new ``<name>`` directory in ``<name>/.staging`` and renames it to
``<name>/.commit``; the functions here switch that directory in for the live
one, two renames of whole directories, so a file of the old set and a file of
the new set are never side by side under ``<name>/``. They live apart, with
nothing but the standard library, because ``state_lock`` finishes leftover
commits every time it takes the lock: importing the certificate-writing code
(and the cryptography it loads) there made taking and releasing the lock cost
a second on a large fleet.

The switch (no symlink: nothing under the state directory may be one):

1. ``<name>`` is renamed to ``.<name>.old`` (it still holds ``.commit``);
2. ``.<name>.old/.commit`` is renamed to ``<name>``: the new set is live;
3. ``.<name>.old`` (the old set) is removed.

A kill leaves one of three states, each finished the same way by
:func:`finish_interrupted_commit`: ``<name>/.commit`` (switch it in),
``.<name>.old`` without ``<name>`` (step 2 is done now), ``.<name>.old``
beside ``<name>`` (removed). Between steps 1 and 2, and after a kill there
until the next lock, ``<name>`` is absent: a reader finds no certificate,
never a mixed one.

A ``<name>`` that is itself a mount point cannot be renamed (EBUSY): then,
and only then, the entries of ``.commit`` are moved into ``<name>`` one by
one, ``cert.pem`` last, and a kill in that window leaves the new key beside
the old certificate until the next lock finishes the move (readers that
check the pair, ``cert_deploy`` and the AWS deployment, refuse it meanwhile).

A reader that opens ``<name>/privkey.pem`` and then ``<name>/cert.pem`` by
path could still straddle a switch; :func:`read_file_set` opens the directory
once and every file through it, so all files come from one set.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import fsync_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    COMMIT_DIR,
    COMMIT_ORDER,
    cert_dir,
    cert_file,
    is_cert_dir_name,
)

#: ``.<name>`` + this: the previous set of ``<name>`` while a switch replaces it.
RETIRED_SUFFIX = ".old"
# rename(2) of a mount point: EBUSY on Linux, EXDEV or EPERM elsewhere.
_NOT_RENAMEABLE = (errno.EBUSY, errno.EXDEV, errno.EPERM)
# How often read_file_set starts again when a switch replaced the directory under it.
_READ_ATTEMPTS = 5
_READ_PAUSE = 0.05


def retired_dir(state_dir: str, name: str) -> str:
    """``<state_dir>/.<name>.old``: hidden, so it is never taken for a certificate of its own."""
    return os.path.join(state_dir, ".%s%s" % (name, RETIRED_SUFFIX))


def _retired_name(entry: str) -> str | None:
    """The certificate name of a ``.<name>.old`` entry of the state directory, else None."""
    if entry.startswith(".") and entry.endswith(RETIRED_SUFFIX) and len(entry) > len(RETIRED_SUFFIX) + 1:
        return entry[1 : -len(RETIRED_SUFFIX)]
    return None


def _is_dir(path: str) -> bool:
    """A real directory at ``path``; a symlink is not followed."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _move_files_into_place(live: str, committed: str) -> None:
    """The fallback for a ``<name>`` that cannot be renamed: the entries one by one, ``cert.pem`` last."""
    entries = sorted(
        os.listdir(committed), key=lambda entry: COMMIT_ORDER.index(entry) if entry in COMMIT_ORDER else -1
    )
    for entry in entries:
        target = os.path.join(live, entry)
        if _is_dir(target):
            shutil.rmtree(target)
        os.replace(os.path.join(committed, entry), target)
    fsync_dir(live)
    os.rmdir(committed)
    fsync_dir(live)


def switch_in(state_dir: str, name: str) -> None:
    """Replace the live ``<name>`` by its committed ``<name>/.commit`` (the three steps above)."""
    live = cert_dir(state_dir, name)
    retired = retired_dir(state_dir, name)
    try:
        os.rename(live, retired)
    except OSError as exc:
        if exc.errno not in _NOT_RENAMEABLE:
            raise
        _move_files_into_place(live, os.path.join(live, COMMIT_DIR))
        return
    os.rename(os.path.join(retired, COMMIT_DIR), live)
    fsync_dir(state_dir)
    shutil.rmtree(retired)
    fsync_dir(state_dir)


def finish_interrupted_commit(state_dir: str, name: str) -> bool:
    """Finish a switch a killed run left for ``name``; True when there was one. The newest set always wins."""
    live = cert_dir(state_dir, name)
    retired = retired_dir(state_dir, name)
    found = False
    if _is_dir(retired):
        found = True
        if not os.path.lexists(live):
            committed = os.path.join(retired, COMMIT_DIR)
            # Killed between steps 1 and 2; without a .commit (never left by a switch) the old set comes back.
            os.rename(committed if _is_dir(committed) else retired, live)
            fsync_dir(state_dir)
        if _is_dir(retired):
            shutil.rmtree(retired)
            fsync_dir(state_dir)
    if _is_dir(cert_file(state_dir, name, COMMIT_DIR)):
        switch_in(state_dir, name)
        found = True
    return found


def finish_interrupted_commits(state_dir: str) -> list[str]:
    """:func:`finish_interrupted_commit` for every certificate directory; the names that had one."""
    try:
        entries = os.listdir(state_dir)
    except FileNotFoundError:
        return []
    names = {entry for entry in entries if is_cert_dir_name(entry)}
    names.update(name for name in map(_retired_name, entries) if name)
    return [name for name in sorted(names) if finish_interrupted_commit(state_dir, name)]


def _read_at(directory_fd: int, filename: str) -> bytes:
    fd = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _still_there(directory_fd: int, directory: str) -> bool:
    """Whether ``directory`` still names the directory open as ``directory_fd`` (no switch replaced it)."""
    try:
        now = os.stat(directory)
    except FileNotFoundError:
        return False
    opened = os.fstat(directory_fd)
    return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)


def read_file_set(directory: str, filenames) -> dict[str, bytes]:
    """The bytes of each of ``filenames`` in ``directory``, all from one committed set.

    Every file is opened through one descriptor of the directory, and a set
    never changes once it is live, so a key and a certificate read here
    always belong together. When a switch removes the old set while it is
    read, or ``directory`` is absent for the instant between the switch's two
    renames, the read starts again. A file that is really missing raises
    FileNotFoundError naming its path.
    """
    for attempt in range(_READ_ATTEMPTS):
        last = attempt == _READ_ATTEMPTS - 1
        try:
            directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            if last:
                raise
            time.sleep(_READ_PAUSE)
            continue
        try:
            contents = {}
            for filename in filenames:
                try:
                    contents[filename] = _read_at(directory_fd, filename)
                except FileNotFoundError:
                    if last or _still_there(directory_fd, directory):
                        path = os.path.join(directory, filename)
                        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
                    contents = None
                    break
            if contents is not None:
                return contents
        finally:
            os.close(directory_fd)
        time.sleep(_READ_PAUSE)
    raise AssertionError("unreachable")  # pragma: no cover
