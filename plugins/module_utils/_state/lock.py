# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lock file that keeps two renewal runs out of one state directory.

The lock is the file ``<state_dir>/.lock``, created with ``O_CREAT|O_EXCL``
(so exactly one run can create it) and holding JSON that names its owner:
the host, the pid of the ``ansible-playbook`` process, that process's start
time (so a reused pid is not taken for the owner), the boot id (so a lock
from before a reboot is known dead), when it was taken and a run id.

A lock whose owner is on this host and no longer runs (killed, crashed,
rebooted) is taken over, with a warning; a lock of a live run, or of a run on
another host (whose process cannot be checked from here), makes the caller
fail with a message naming the run. Taking over and releasing remove the file
only while holding ``flock`` on the directory and after reading the same
content again, so two runs that find one stale lock cannot both take it.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import time
import uuid

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import directory_lock, fsync_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import lock_path
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import check_state_dir, make_state_dir

# A lock file without readable content is being written (it is filled right after O_EXCL created it) unless it
# is older than this; then its writer died before writing, and it is stale.
UNREADABLE_GRACE = 10.0


class LockHeld(Exception):
    """Another live run holds the lock."""

    def __init__(self, message: str, holder: dict | None):
        super().__init__(message)
        self.holder = holder


def _read(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, encoding="utf-8") as handle:
        return handle.read()


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_start(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); None where unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def owner(pid: int, run_id: str | None = None, now: datetime.datetime | None = None) -> dict:
    """The lock content for a run whose owner process is ``pid`` on this host."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return {
        "run_id": run_id or uuid.uuid4().hex,
        "host": socket.gethostname(),
        "pid": pid,
        "pid_start": process_start(pid),
        "boot_id": boot_id(),
        "started": now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def same_owner(one: dict, other: dict) -> bool:
    """Whether two lock contents name the same process (host, pid, and start time and boot where both know them)."""
    if one.get("host") != other.get("host") or one.get("pid") != other.get("pid"):
        return False
    for key in ("pid_start", "boot_id"):
        if one.get(key) and other.get(key) and one[key] != other[key]:
            return False
    return True


def owner_alive(holder: dict, host: str | None = None) -> bool | None:
    """True when the holder's process still runs, False when it surely does not, None when it cannot be told.

    Only a process on this host can be checked: a lock of another host is
    never called dead. A zombie counts as dead (it will never release).
    """
    host = host or socket.gethostname()
    if holder.get("host") != host:
        return None
    current_boot = boot_id()
    if holder.get("boot_id") and current_boot and holder["boot_id"] != current_boot:
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _proc_stat(pid)
    if fields:
        if fields[0] in ("Z", "X", "x"):
            return False
        started = fields[19] if len(fields) > 19 else None
        if holder.get("pid_start") and started and holder["pid_start"] != started:
            return False  # the pid was reused by another process
    return True


def describe(state_dir: str, holder: dict) -> str:
    return "state directory %s is locked by run %s on host %s since %s (pid %s)" % (
        state_dir,
        holder.get("run_id", "?"),
        holder.get("host", "?"),
        holder.get("started", "?"),
        holder.get("pid", "?"),
    )


def _parse(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _remove_if_unchanged(state_dir: str, seen: str) -> bool:
    """Remove the lock file if it still has the content ``seen``; False when someone changed it meanwhile."""
    path = lock_path(state_dir)
    with directory_lock(state_dir):
        if _read(path) != seen:
            return False
        os.unlink(path)
        fsync_dir(state_dir)
    return True


def _age(started) -> float | None:
    """Seconds since the lock's ``started`` time, None when it has none that parses."""
    if not isinstance(started, str):
        return None
    try:
        moment = datetime.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()


def _stale_reason(state_dir: str, text: str, holder: dict | None, expire_after: int | None = None) -> str | None:
    """Why this lock file may be taken over, or None while its owner may still run."""
    path = lock_path(state_dir)
    if holder is None:
        try:
            age = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            return None
        if age > UNREADABLE_GRACE:
            return "its content is unreadable (%r) and it is %.0f s old" % (text[:80], age)
        return None
    alive = owner_alive(holder)
    if alive is False:
        return "its process %s no longer runs on %s" % (holder.get("pid"), holder.get("host"))
    age = _age(holder.get("started"))
    if alive is None and expire_after and age is not None and age > expire_after:
        return "its owner cannot be checked from here and it is older than %d s" % expire_after
    return None


def _taken(acquired: bool, changed: bool, lock: dict, previous, warnings: list, run_id) -> dict:
    """The result of :func:`acquire`."""
    return {
        "acquired": acquired,
        "changed": changed,
        "lock": lock,
        "previous": previous,
        "warnings": warnings,
        "run_id": run_id,
    }


def acquire(
    state_dir: str,
    pid: int,
    run_id: str | None = None,
    check_mode: bool = False,
    timeout: float = 5.0,
    expire_after: int | None = None,
    group_read: bool | None = None,
):
    """Take the lock for the run whose owner process is ``pid``.

    Returns ``{"acquired", "changed", "lock", "previous", "warnings", "run_id"}``:
    ``acquired`` is False when this same process already holds it (nothing
    to release then) and in check mode. Raises :class:`LockHeld` when
    another live run (or a run on another host) holds it. ``expire_after``
    (seconds) lets a lock whose owner cannot be checked (another host, such as
    the container of an earlier AWX job) be taken over once it is that old;
    a live owner on this host is never overruled.

    The state directory is checked first (``_state.trust``: raises
    StateTrustError when another user could change it) and made 0700, or 0750
    with ``group_read``, whatever the umask.
    """
    path = lock_path(state_dir)
    mine = owner(pid, run_id)
    warnings = []
    previous = None
    deadline = time.monotonic() + timeout
    check_state_dir(state_dir)
    created_dir = not os.path.isdir(state_dir)
    if not check_mode:
        make_state_dir(state_dir, group_read)
    attempts = 0
    while True:
        attempts += 1
        if attempts > 200:
            raise LockHeld("state directory %s: %s keeps changing, giving up" % (state_dir, path), None)
        text = _read(path)
        if text is None and not check_mode:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                continue  # another run created it just now: read what it wrote
            except FileNotFoundError:
                make_state_dir(state_dir, group_read)  # the directory was removed by a run that released it
                continue
            content = dict(mine, created_dir=created_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(content, indent=2, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            fsync_dir(state_dir)
            return _taken(True, True, content, previous, warnings, content["run_id"])
        if text is None:
            return _taken(False, True, mine, previous, warnings, mine["run_id"])

        holder = _parse(text)
        if holder is not None and same_owner(holder, mine):
            return _taken(False, False, holder, None, warnings, holder.get("run_id"))
        reason = _stale_reason(state_dir, text, holder, expire_after)
        if reason:
            stale = holder or {"content": text[:200]}
            message = "took over the stale lock %s: %s" % (path, reason)
            if holder:
                message = "took over the stale lock of run %s (host %s, pid %s, since %s): %s" % (
                    holder.get("run_id"),
                    holder.get("host"),
                    holder.get("pid"),
                    holder.get("started"),
                    reason,
                )
            if check_mode:
                warnings.append("would have " + message)
                return _taken(False, True, mine, stale, warnings, mine["run_id"])
            if _remove_if_unchanged(state_dir, text):
                previous = stale
                warnings.append(message)
            continue
        if holder is None:
            if time.monotonic() < deadline:
                time.sleep(0.1)  # its writer is between O_EXCL and write
                continue
            raise LockHeld("state directory %s is locked (%s holds no owner yet)" % (state_dir, path), None)
        message = describe(state_dir, holder)
        if owner_alive(holder) is None:
            message += "; its process cannot be checked from here, remove %s if that run is gone" % path
            if expire_after:
                message += " (or wait until it is older than %d s)" % expire_after
        else:
            message += "; wait for it to finish"
        if check_mode:
            warnings.append(message + " (a run that is not in check mode would fail here)")
            return _taken(False, False, holder, None, warnings, mine["run_id"])
        raise LockHeld(message, holder)


def release(state_dir: str, pid: int, run_id: str | None = None, check_mode: bool = False) -> dict:
    """Remove the lock if it is this run's: the same ``run_id`` when given, else the same owner process.

    Returns ``{"released", "changed", "lock", "warnings"}``; someone else's
    lock is left in place with a warning. The state directory is removed
    too when the lock created it and it is still empty.
    """
    path = lock_path(state_dir)
    text = _read(path)
    holder = _parse(text)
    if text is None:
        return {"released": False, "changed": False, "lock": None, "warnings": []}
    if holder is None:
        ours = False
    elif run_id:
        ours = holder.get("run_id") == run_id
    else:
        ours = same_owner(holder, owner(pid))
    if not ours:
        what = describe(state_dir, holder) if holder else "%s holds no owner" % path
        return {"released": False, "changed": False, "lock": holder, "warnings": ["not released: " + what]}
    if check_mode:
        return {"released": False, "changed": True, "lock": holder, "warnings": []}
    if not _remove_if_unchanged(state_dir, text):
        return {
            "released": False,
            "changed": False,
            "lock": _parse(_read(path)),
            "warnings": ["not released: %s changed while it was being released" % path],
        }
    if holder.get("created_dir"):
        try:
            os.rmdir(state_dir)  # only when empty: the run failed before it wrote anything
        except OSError:
            pass
    return {"released": True, "changed": True, "lock": holder, "warnings": []}
