# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one process of a run that talks to a remote state backend, and outlives no one.

A run with an S3 or Vault backend needs four things no module process can give,
since each module process ends with its task: a lease renewed for as long as
``ansible-playbook`` lives, a workspace (``_state.workspace``) removed when it
ends, also when it is killed, credentials held in one process only, and writes
to the store serialized in the order the tasks made them. The action plugin
of ``state_workspace`` starts this process detached from the task (its own
session, so a Ctrl-C of the play does not skip its clean-up) and hands it its
settings on stdin, credentials included, never on the command line. It:

1. takes the lease (``_state.lease``), makes the workspace and pulls what the
   run reads, then answers one JSON line on stdout (the handshake);
2. serves requests on a socket named in ``<workspace>/.guardian.json``,
   from processes of its own user only: ``push`` after a module wrote state, ``pull`` for the deploy
   stage's keys, ``close`` at the end of the run;
3. renews the lease every third of its duration, and when the
   ``ansible-playbook`` process is gone (ended without ``close``, or killed),
   removes the workspace with every key in it and releases the lease.

Run as ``python -c 'from ...guardian import main; main()'`` with the
collection's parent folder on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import time
import uuid

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write_json
from ansible_collections.certfleet.acme.plugins.module_utils._state import layout, lease, lock, workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import open_store

LEASE_KEY = layout.LOCK_FILE
#: How often the owner process is looked at, in seconds.
WATCH_INTERVAL = 1.0


class _Stop(Exception):
    """SIGTERM: clean up and leave."""


def _stop(signum, frame):
    raise _Stop()


def _peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end (Linux SO_PEERCRED: pid, uid, gid)."""
    _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return uid


def _answer(connection: socket.socket, reply: dict) -> None:
    try:
        connection.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass  # the asking module is gone; nothing to tell


def _read_request(connection: socket.socket) -> dict:
    data = b""
    connection.settimeout(30)
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    request = json.loads(data or b"{}")
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object, not %s" % type(request).__name__)
    return request


class Guardian:
    """The lease, the workspace and the store of one run."""

    def __init__(self, config: dict):
        self.config = config
        self.store = open_store(config["backend"])
        self.check_mode = bool(config.get("check_mode"))
        self.duration = int(config["backend"].get("lease_duration") or 900)
        self.owner = lock.owner(int(config["owner_pid"]), config["run_id"])
        self.lease_version: str | None = None
        self.lost: str | None = None
        self.work_dir = ""

    def start(self) -> dict:
        """Take the lease, make the workspace, pull what the run reads: the handshake's content."""
        taken = {"lease": None, "previous": None, "warnings": []}
        if self.check_mode:
            taken["warnings"].extend(self._held_by_other())
        else:
            taken = lease.acquire(
                self.store, self.owner["run_id"], self.owner["host"], self.owner["pid"], self.duration
            )
            self.lease_version = taken["version"]
        self.work_dir = workspace.create(self.owner["run_id"], self.config.get("work_parent"))
        pulled = workspace.pull(self.store, self.work_dir, workspace.base_keys(self.config.get("names") or []))
        return {
            "ok": True,
            "work_dir": self.work_dir,
            "lease": taken["lease"],
            "previous": taken["previous"],
            "warnings": taken["warnings"],
            "pulled": pulled["pulled"],
            "incomplete": pulled["incomplete"],
            "store": self.store.describe(),
            "guardian_pid": os.getpid(),
        }

    def _held_by_other(self) -> list[str]:
        """Check mode takes no lease: a run that holds one is named in a warning, as the local lock does."""
        found = self.store.get(LEASE_KEY)
        if found is None:
            return []
        try:
            holder = json.loads(found.data)
        except ValueError:
            return ["%s holds a lease that cannot be read" % self.store.describe()]
        return [
            "%s is leased by run %s on host %s until %s; a real run now would fail"
            % (self.store.describe(), holder.get("run_id"), holder.get("host"), holder.get("expires_at"))
        ]

    def _still_ours(self) -> None:
        """Before a write: a lease taken over since the last renewal (this runner was paused past its expiry)
        is lost now, not at the next renewal, so nothing is written over the new holder's run."""
        if self.lease_version is None or self.lost:
            return
        current = self.store.get(LEASE_KEY)
        if current is None or current.version != self.lease_version:
            self.lost = "the lease on %s was lost, another run may have taken it over: it is now %s" % (
                self.store.describe(),
                "gone" if current is None else "at version %s" % current.version,
            )

    def handle(self, request: dict) -> dict:
        operation = request.get("op")
        if operation in ("push", "close") and not self.check_mode:
            self._still_ours()
        if self.lost and operation in ("push", "pull"):
            return {"ok": False, "error": self.lost}
        if operation == "push":
            if self.check_mode:
                return {"ok": True, "written": []}
            return {"ok": True, "written": workspace.push(self.store, self.work_dir)}
        if operation == "pull":
            return {"ok": True, **workspace.pull(self.store, self.work_dir, list(request.get("keys") or []))}
        if operation == "close":
            written = [] if self.check_mode or self.lost else workspace.push(self.store, self.work_dir)
            if not self.check_mode and not self.lost:
                workspace.save_index(self.store, self.work_dir)
            return {"ok": True, "written": written, "released": self.finish()}
        return {"ok": False, "error": "unknown request %r" % operation}

    def renew(self) -> None:
        if self.lease_version is None or self.lost:
            return
        try:
            self.lease_version = lease.renew(self.store, self.owner["run_id"], self.lease_version, self.duration)
        except StoreError as exc:
            self.lost = "the lease on %s was lost, another run may have taken it over: %s" % (
                self.store.describe(),
                exc,
            )

    def finish(self) -> bool:
        """Remove the workspace, release the lease; whether the lease was released."""
        shutil.rmtree(self.work_dir, ignore_errors=True)
        if self.lease_version is None or self.lost:
            return False
        try:
            return bool(lease.release(self.store, self.owner["run_id"]))
        except StoreError:
            return False  # it expires by itself

    def serve(self, listener: socket.socket) -> None:
        renew_every = max(1.0, self.duration / 3.0)
        next_renewal = time.monotonic() + renew_every
        while True:
            if lock.owner_alive(self.owner) is False:
                self.finish()
                return
            if time.monotonic() >= next_renewal:
                self.renew()
                next_renewal = time.monotonic() + renew_every
            ready = select.select([listener], [], [], WATCH_INTERVAL)[0]
            if not ready:
                continue
            connection = listener.accept()[0]
            with connection:
                if _peer_uid(connection) != os.geteuid():
                    continue  # another user of this host: an abstract socket has no file mode to keep it out
                request: dict = {}
                try:
                    request = _read_request(connection)
                    reply = self.handle(request)
                except (StoreError, OSError, ValueError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                _answer(connection, reply)
                if request.get("op") == "close" and reply.get("ok"):
                    return


def _say(message: dict) -> None:
    """The handshake: one JSON line on stdout, which the action plugin reads."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    config = json.loads(sys.stdin.read())
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    guardian = None
    listener = None
    try:
        try:
            guardian = Guardian(config)
            handshake = guardian.start()
            name = "certfleet.acme-guardian-%s" % uuid.uuid4().hex
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind("\0" + name)
            listener.listen(8)
            atomic_write_json(
                os.path.join(guardian.work_dir, workspace.GUARDIAN_FILE),
                {"socket": name, "pid": os.getpid()},
                mode=0o600,
            )
        except (lease.LeaseHeld, StoreError, OSError, ValueError, KeyError) as exc:
            if guardian is not None and guardian.work_dir:
                guardian.finish()
            _say({"ok": False, "error": str(exc), "holder": getattr(exc, "holder", None)})
            return
        _say(handshake)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 1)
        guardian.serve(listener)
    except BaseException as exc:
        # SIGTERM at any point, or a fault of this process: the keys must not outlive it on disk.
        if guardian is not None and guardian.work_dir:
            guardian.finish()
        if not isinstance(exc, _Stop):
            raise
    finally:
        if listener is not None:
            listener.close()
        if guardian is not None:
            guardian.store.close()
