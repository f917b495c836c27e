# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading, writing and putting back a deployment's files without following a symbolic link.

``dest`` or a certificate directory below it may be writable by someone other
than the user the module runs as. A symbolic link planted there would send a
private key elsewhere, and an owner or mode set by path after the rename could
be set on whatever that path names by then. So the directories from ``dest``
down are opened with ``O_NOFOLLOW`` and a link among them is refused; each file
is written to a new temporary file in its directory, which gets its owner and
mode while it is still open and private, is synced, and only then renamed over
the old one (relative to the open directory, never by path). A backup keeps
the previous content, mode and owner in memory so that a rollback is written
the same way.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import Current, DeployError, Target

DIRECTORY_MODE = 0o755
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _layout(path: str, root: str | None) -> tuple[str, list[str], str]:
    """(root, the directories from root to the file, the file name); root defaults to the file's directory."""
    directory = os.path.dirname(path)
    root = os.path.normpath(root or directory)
    relative = os.path.relpath(directory, root)
    if relative == os.curdir:
        return root, [], os.path.basename(path)
    if relative.startswith(os.pardir):
        raise DeployError("%s is not below %s" % (path, root))
    return root, relative.split(os.sep), os.path.basename(path)


def _kind_of(path: str) -> str:
    try:
        info = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISLNK(info.st_mode):
        return "link"
    return "directory" if stat.S_ISDIR(info.st_mode) else "other"


def _refusal(path: str) -> DeployError:
    if _kind_of(path) == "link":
        return DeployError("%s is a symbolic link; a certificate directory must be a real directory" % path)
    return DeployError("%s exists and is not a directory" % path)


def check_directories(path: str, root: str | None) -> None:
    """Refuse a link, or anything but a directory, from ``root`` down to the directory of ``path``."""
    root, names, _name = _layout(path, root)
    directory = root
    for name in [None] + names:
        directory = directory if name is None else os.path.join(directory, name)
        kind = _kind_of(directory)
        if kind == "missing":
            return  # created at write time
        if kind != "directory":
            raise _refusal(directory)


def read_current(path: str, root: str | None = None) -> Current:
    """The file at ``path`` as it is now; a link on the way from ``root``, or anything but a regular file, is an error."""
    check_directories(path, root)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Current(path, False, root=root)
    except OSError as exc:
        raise DeployError("cannot inspect %s: %s" % (path, exc.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        raise DeployError("%s exists and is not a regular file (a link or a directory); not replacing it" % path)
    try:
        # O_NONBLOCK: a pipe swapped in after the lstat must not hold the task up; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise DeployError("cannot read %s: %s" % (path, exc.strerror)) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DeployError("%s exists and is not a regular file; not replacing it" % path)
        content = handle.read()
    return Current(path, True, content, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, root=root)


def _missing_directories(path: str) -> list[str]:
    """The directories above and at ``path`` that do not exist yet, outermost first."""
    missing = []
    directory = path
    while directory and not os.path.lexists(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return list(reversed(missing))


def _open_directory(name: str, path: str, dir_fd: int | None = None) -> int:
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refusal(path) from None
        raise DeployError("cannot open directory %s: %s" % (path, exc.strerror)) from None


def open_directory(path: str, root: str | None, created: list[str] | None) -> int | None:
    """A descriptor of the directory of ``path``, reached from ``root`` without following a link.

    Missing directories are made (and appended to ``created``) unless ``created``
    is None; then a missing directory gives None.
    """
    root, names, _name = _layout(path, root)
    for directory in _missing_directories(root):
        if created is None:
            return None
        try:
            os.mkdir(directory, DIRECTORY_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise DeployError("cannot create directory %s: %s" % (directory, exc.strerror)) from None
        created.append(directory)
    fd = _open_directory(root, root)
    directory = root
    try:
        for name in names:
            directory = os.path.join(directory, name)
            if created is not None:
                try:
                    os.mkdir(name, DIRECTORY_MODE, dir_fd=fd)
                    created.append(directory)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise DeployError("cannot create directory %s: %s" % (directory, exc.strerror)) from None
            elif not _exists(name, fd):
                os.close(fd)
                return None
            child = _open_directory(name, directory, fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def replace_file(dir_fd: int, name: str, content: bytes, mode: int, owner: tuple[int | None, int | None]) -> None:
    """Put ``content`` at ``name`` in the open directory: a private temporary file gets owner and mode, then the rename.

    ``owner`` is (uid, gid), None leaving that one as the module's. Nobody can
    open the temporary file before it has its final owner and mode, and the
    name is only ever the old file or the complete new one.
    """
    uid, gid = owner
    for _attempt in range(100):
        temporary = ".%s.%s" % (name, secrets.token_hex(6))
        try:
            fd = os.open(temporary, _TEMPORARY_FLAGS, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary file name for %s" % name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(handle.fileno(), mode)  # after the chown, which may clear set-id bits
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    os.fsync(dir_fd)


class Backup:
    """What was at every target before a deploy, kept in memory (never in a second key file on disk)."""

    def __init__(self, currents: list[Current]):
        self.currents = list(currents)
        self.created_dirs: list[str] = []

    def write(self, targets: list[Target]) -> None:
        """Put ``targets`` in place, each atomically, creating missing directories (remembered for restore)."""
        for target in targets:
            fd = open_directory(target.path, target.root, self.created_dirs)
            try:
                replace_file(fd, os.path.basename(target.path), target.content, target.mode, (target.uid, target.gid))
            except OSError as exc:
                raise DeployError("cannot write %s: %s" % (target.path, exc.strerror)) from None
            finally:
                os.close(fd)

    def restore(self) -> list[str]:
        """Put every file back as it was; returns the problems met (empty when all went back)."""
        problems = []
        for current in self.currents:
            try:
                self._restore(current)
            except DeployError as exc:
                problems.append("cannot restore %s: %s" % (current.path, exc))
            except OSError as exc:
                problems.append("cannot restore %s: %s" % (current.path, exc.strerror))
        for directory in reversed(self.created_dirs):
            try:
                os.rmdir(directory)
            except OSError:
                continue  # not empty: something else lives there now; leave it
        return problems

    @staticmethod
    def _restore(current: Current) -> None:
        try:
            fd = open_directory(current.path, current.root, None)
        except DeployError:
            if current.exists:
                raise
            return  # a link in the way: nothing was written through it, so there is nothing to remove
        if fd is None:
            if current.exists:
                raise DeployError("its directory is gone")
            return
        name = os.path.basename(current.path)
        try:
            if current.exists:
                replace_file(fd, name, current.content, current.mode, (current.uid, current.gid))
            elif _exists(name, fd):
                os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)
