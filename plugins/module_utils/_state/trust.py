# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refuse a state directory that someone else can steer, before anything is read from it or written to it.

Every run acts on what it finds in the state directory: it moves a ``.commit/``
folder into place, writes keys into ``<name>/`` and removes the TXT values the
journal lists. Another local user who can write there could plant any of
those, so a state directory, or anything in it, that is owned by another user
or writable by group or others is refused with an error naming the path and
what is wrong, and no symlink is followed under it (a certificate directory
that is a link would send keys elsewhere). The state directory itself may be
named through a symlink (``/srv/certs -> /data/certs``): that link is the
operator's choice; only what lies under its target is held to these rules.

New directories are made with an explicit mode (see ``_common.files.make_dirs``):
0700, or 0750 when the operator lets a group read the state
(``letsencrypt_dns_dir_group_read``): a directory made under a 0750 state
directory is 0750 too, so only ``state_lock`` needs that option. Only the standard library: ``state_lock``
runs these checks on every run.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    GROUP_READ_DIR_MODE,
    PRIVATE_DIR_MODE,
    make_dirs,
)


class StateTrustError(ValueError):
    """Part of the state directory can be changed by someone else than this user; the message names it."""


def _problem(path: str, info: os.stat_result, euid: int, *, top: bool = False) -> str | None:
    """What makes ``path`` untrustworthy, or None."""
    if stat.S_ISLNK(info.st_mode) and not top:
        return "is a symbolic link (to %s); nothing under the state directory may be a link" % os.readlink(path)
    if info.st_uid != euid:
        return "is owned by uid %d, not by this user (uid %d)" % (info.st_uid, euid)
    writable = [who for who, bit in (("its group", stat.S_IWGRP), ("others", stat.S_IWOTH)) if info.st_mode & bit]
    if writable:
        return "is writable by %s (mode %04o)" % (" and ".join(writable), stat.S_IMODE(info.st_mode))
    if not top and not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return "is neither a file nor a directory"
    return None


def _refuse(path: str, problem: str) -> StateTrustError:
    return StateTrustError(
        "refusing the state directory: %s %s. Another user could use it to plant keys, certificates or journal "
        "entries; fix it (chown/chmod, or remove it), then run again" % (path, problem)
    )


def check_path(path: str, euid: int | None = None) -> None:
    """Refuse ``path`` (not followed if it is a symlink) when another user could change it; missing is fine."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    problem = _problem(path, info, os.geteuid() if euid is None else euid)
    if problem:
        raise _refuse(path, problem)


def check_tree(path: str, euid: int | None = None) -> None:
    """:func:`check_path` for ``path`` and everything below it; links are refused, never entered."""
    euid = os.geteuid() if euid is None else euid
    check_path(path, euid)
    if not os.path.isdir(path) or os.path.islink(path):
        return
    with os.scandir(path) as entries:
        children = sorted(entries, key=lambda entry: entry.name)
    for entry in children:
        problem = _problem(entry.path, entry.stat(follow_symlinks=False), euid)
        if problem:
            raise _refuse(entry.path, problem)
        if entry.is_dir(follow_symlinks=False):
            check_tree(entry.path, euid)


def check_dir(path: str, euid: int | None = None) -> None:
    """Refuse the directory ``path`` itself (named through a symlink or not) when another user could change it."""
    euid = os.geteuid() if euid is None else euid
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "is not a directory")
    problem = _problem(path, info, euid, top=True)
    if problem:
        raise _refuse(path, problem)


def check_state_dir(state_dir: str, euid: int | None = None) -> None:
    """Refuse the state directory when it, or anything in it, is another user's or writable by others.

    A state directory that does not exist yet passes (it is made with :func:`make_state_dir`). It may be named
    through a symlink; what the link points to is checked.
    """
    euid = os.geteuid() if euid is None else euid
    check_dir(state_dir, euid)
    if not os.path.isdir(state_dir):
        return
    for name in sorted(os.listdir(state_dir)):
        check_tree(os.path.join(state_dir, name), euid)


def state_dir_mode(group_read: bool) -> int:
    """The mode of the state directory: 0700, or 0750 when a group must read the certificates."""
    return GROUP_READ_DIR_MODE if group_read else PRIVATE_DIR_MODE


def make_state_dir(state_dir: str, group_read: bool | None = None) -> bool:
    """Create the state directory (and missing parents) with an explicit mode; True when it was created.

    With ``group_read`` given, an existing state directory of this user gets that mode too (the option is the
    operator's word); None keeps an existing one as it is.
    """
    created = not os.path.isdir(state_dir)
    mode = state_dir_mode(bool(group_read))
    make_dirs(state_dir, mode)
    if group_read is not None and not created:
        real = os.path.realpath(state_dir)
        if stat.S_IMODE(os.stat(real).st_mode) != mode and os.stat(real).st_uid == os.geteuid():
            os.chmod(real, mode)
    return created


def make_dir_under(state_dir: str, path: str) -> None:
    """Create ``path`` (a directory inside ``state_dir``) and its missing parents, after checking ``state_dir``.

    New directories follow the state directory's group-read bit (see ``_common.files.make_dirs``).
    """
    check_state_dir(state_dir)
    make_dirs(path)


def check_commit_dir(commit: str, euid: int | None = None) -> None:
    """Refuse a ``<name>/.commit`` folder (and its certificate directory) that this user did not write alone.

    For ``_state.commit``: a planted ``.commit/`` would otherwise be moved into place as the certificate's
    files. Call it before anything in the folder is moved.
    """
    euid = os.geteuid() if euid is None else euid
    check_path(os.path.dirname(os.path.abspath(commit)), euid)
    check_tree(commit, euid)
