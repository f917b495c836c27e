# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guardian as the action plugin starts it: a real process on a real store (LocalStore), followed to its end.

The guardian is what removes a remote state's keys from the controller and releases the lease when a run
ends or is killed, so these tests run it exactly as ``plugins/action/state_workspace.py`` does (``python -c
BOOT``, the collection on PYTHONPATH, JSON settings on stdin, one handshake line on stdout) and watch what it
leaves behind. The store is local: the guardian accepts any backend (the action refuses ``local`` only because a
local state needs no workspace), and a folder shows every object it writes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import parse_iso
from ansible_collections.certfleet.acme.plugins.module_utils._state import lease, workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import ABSENT
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore

REPO = Path(__file__).resolve().parents[5]
COLLECTIONS = REPO / ".build" / "collections"
BOOT = "from ansible_collections.certfleet.acme.plugins.module_utils._state.guardian import main; main()"


def test_the_boot_line_is_the_action_plugins():
    """These tests start the guardian with the same line as the action plugin (read from its source)."""
    source = (REPO / "plugins" / "action" / "state_workspace.py").read_text()
    assert 'BOOT = "%s"' % BOOT in source


@pytest.fixture
def owner():
    """A process standing in for ansible-playbook; killed (and reaped) at the end if a test did not."""
    process = subprocess.Popen(["sleep", "300"])  # pylint: disable=consider-using-with
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture
def store_dir(tmp_path) -> Path:
    store = LocalStore(str(tmp_path / "store"))
    store.put(".acme/account.key", b"ACCOUNT-KEY", expect=ABSENT)
    store.put("www/cert.pem", b"CERT", expect=ABSENT)
    store.put("www/privkey.pem", b"KEY", expect=ABSENT)
    return tmp_path / "store"


class Started:
    def __init__(self, process: subprocess.Popen, handshake: dict):
        self.process = process
        self.handshake = handshake


@pytest.fixture
def start(tmp_path):
    """Start guardians like the action plugin; each is killed by its pid at the end if still running."""
    started: list[subprocess.Popen] = []

    def run(store_dir: Path, owner_pid: int, run_id: str, **backend) -> Started:
        config = {
            "backend": dict({"type": "local", "path": str(store_dir)}, **backend),
            "run_id": run_id,
            "owner_pid": owner_pid,
            "names": ["www"],
            "check_mode": False,
            "work_parent": str(tmp_path),
        }
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-c", BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
        started.append(process)
        process.stdin.write(json.dumps(config).encode())
        process.stdin.close()
        line = process.stdout.readline()
        assert line, process.stderr.read().decode()
        return Started(process, json.loads(line))

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def lease_of(store_dir: Path) -> dict | None:
    found = LocalStore(str(store_dir)).get(lease.LEASE_KEY)
    return None if found is None else json.loads(found.data)


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_handshake_names_the_workspace_the_lease_and_what_was_pulled(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    reply = guardian.handshake
    assert reply["ok"] is True and reply["store"] == str(store_dir)
    assert reply["guardian_pid"] == guardian.process.pid
    assert reply["lease"]["run_id"] == "run-one" and reply["lease"]["pid"] == owner.pid
    assert reply["previous"] is None and reply["warnings"] == [] and reply["incomplete"] == []
    assert reply["pulled"] == 2, "the account key and www/cert.pem; never www/privkey.pem"
    work_dir = Path(reply["work_dir"])
    assert sorted(workspace.local_state(str(work_dir))) == [".acme/account.key", "www/cert.pem"]
    assert (work_dir.stat().st_mode & 0o777) == 0o700
    guardian_file = json.loads((work_dir / workspace.GUARDIAN_FILE).read_text())
    assert guardian_file["pid"] == guardian.process.pid and guardian_file["socket"].startswith("certfleet.acme-")
    assert lease_of(store_dir)["run_id"] == "run-one"


def test_a_second_guardian_on_the_same_store_fails_naming_the_holder(start, store_dir, owner, tmp_path):
    start(store_dir, owner.pid, "run-one")
    second = start(store_dir, owner.pid, "run-two")
    assert second.handshake["ok"] is False
    assert "held by run run-one" in second.handshake["error"]
    assert second.handshake["holder"]["run_id"] == "run-one"
    assert second.process.wait(timeout=10) == 0
    assert len([path for path in tmp_path.iterdir() if path.name.startswith("certfleet-acme-")]) == 1, (
        "the refused guardian made no workspace"
    )


def test_a_push_through_sync_reaches_the_store_and_close_releases_and_removes(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    work_dir = guardian.handshake["work_dir"]
    with open(os.path.join(work_dir, ".txt-journal.json"), "wb") as handle:
        handle.write(b'{"entries": []}')
    assert workspace.sync(work_dir) == [".txt-journal.json"]
    assert (store_dir / ".txt-journal.json").read_bytes() == b'{"entries": []}'
    pulled = workspace.request(work_dir, "pull", keys=workspace.deploy_keys(["www"]))
    assert pulled["pulled"] == 1 and Path(work_dir, "www", "privkey.pem").read_bytes() == b"KEY"
    closed = workspace.request(work_dir, "close")
    assert closed == {"ok": True, "written": [], "released": True}
    assert not os.path.exists(work_dir) and lease_of(store_dir) is None
    assert guardian.process.wait(timeout=10) == 0
    assert workspace.sync(work_dir) == [], "a removed workspace is no guarded state any more"
    with pytest.raises(workspace.WorkspaceError, match="did not answer"):
        workspace.request(work_dir, "push")


def test_a_malformed_request_is_answered_and_the_guardian_keeps_serving(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    work_dir = guardian.handshake["work_dir"]
    with pytest.raises(workspace.WorkspaceError, match="unknown request 'fly'"):
        workspace.request(work_dir, "fly")
    for garbage in (b"not json\n", b"[1, 2]\n"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect("\0" + json.loads(Path(work_dir, workspace.GUARDIAN_FILE).read_text())["socket"])
        connection.sendall(garbage)
        reply = json.loads(connection.makefile("rb").readline())
        connection.close()
        assert reply["ok"] is False and reply["error"]
    assert guardian.process.poll() is None, "still serving"
    assert workspace.request(work_dir, "push")["written"] == []


def test_when_the_owner_dies_the_workspace_is_removed_and_the_lease_released(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    work_dir = guardian.handshake["work_dir"]
    workspace.request(work_dir, "pull", keys=workspace.deploy_keys(["www"]))
    assert os.path.exists(os.path.join(work_dir, "www", "privkey.pem"))
    owner.kill()
    owner.wait()
    assert wait_for(lambda: not os.path.exists(work_dir), 5), "the workspace, keys included, is removed"
    assert wait_for(lambda: lease_of(store_dir) is None, 5), "the lease is released"
    assert guardian.process.wait(timeout=5) == 0


def test_sigterm_cleans_up_as_well(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    guardian.process.terminate()
    assert guardian.process.wait(timeout=10) == 0
    assert not os.path.exists(guardian.handshake["work_dir"]) and lease_of(store_dir) is None


def test_the_lease_is_renewed_while_the_run_lasts(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one", lease_duration=5)
    first = lease_of(store_dir)
    assert wait_for(lambda: lease_of(store_dir)["expires_at"] != first["expires_at"], 8)
    renewed = lease_of(store_dir)
    assert parse_iso(renewed["expires_at"]) > parse_iso(first["expires_at"])
    assert renewed["acquired_at"] == first["acquired_at"] and renewed["run_id"] == "run-one"
    assert guardian.process.poll() is None


def test_a_lost_lease_stops_pushes_with_the_reason(start, store_dir, owner):
    guardian = start(store_dir, owner.pid, "run-one")
    store = LocalStore(str(store_dir))
    taken = lease.acquire(store, "run-two", "elsewhere", 1, 5, now=parse_iso("2100-01-01T00:00:00Z"))
    assert taken["previous"]["run_id"] == "run-one"
    work_dir = guardian.handshake["work_dir"]
    Path(work_dir, ".txt-journal.json").write_bytes(b"{}")

    def refused() -> bool:
        try:
            workspace.sync(work_dir)
        except workspace.WorkspaceError as exc:
            return "lease on %s was lost" % store_dir in str(exc)
        return False

    assert refused(), "the first push after the take-over is refused, before the next renewal"
    assert not (store_dir / ".txt-journal.json").exists(), "nothing was written after the lease was lost"
    assert workspace.request(work_dir, "close")["released"] is False
    assert lease_of(store_dir)["run_id"] == "run-two", "the new holder's lease is left alone"


def test_a_request_from_another_user_gets_no_answer(start, store_dir, owner):
    """The socket is abstract (no file mode): the guardian itself turns away other users (SO_PEERCRED).

    The test runs as root (this project's test environment) and asks from a forked child that became nobody.
    """
    guardian = start(store_dir, owner.pid, "run-one")
    work_dir = guardian.handshake["work_dir"]
    address = "\0" + json.loads(Path(work_dir, workspace.GUARDIAN_FILE).read_text())["socket"]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(10)
            connection.connect(address)
            try:
                connection.sendall(b'{"op": "close"}\n')
                answer = connection.recv(65536).decode() or "closed without answer"
            except (BrokenPipeError, ConnectionResetError):
                answer = "closed without answer"
        except BaseException as exc:  # noqa: BLE001 - anything is reported to the parent
            answer = "error: %r" % exc
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as handle:
        answer = handle.read()
    assert answer == "closed without answer"
    assert os.path.exists(work_dir) and lease_of(store_dir)["run_id"] == "run-one", "the close was not obeyed"
    assert workspace.request(work_dir, "close")["released"] is True, "its own user is still served"
