# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._state import lock as sl


def dead_pid() -> int:
    """A pid that ran on this host and has been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def sleeper():
    """A live process other than this one."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def read_lock(state_dir):
    return json.loads((state_dir / ".lock").read_text())


def test_acquire_writes_the_owner_and_release_removes_it(tmp_path):
    state = tmp_path / "state"
    taken = sl.acquire(str(state), os.getpid())
    assert taken["acquired"] and taken["changed"] and taken["previous"] is None
    content = read_lock(state)
    assert content == taken["lock"]
    assert content["pid"] == os.getpid()
    assert content["host"] == socket.gethostname()
    assert content["pid_start"] == sl.process_start(os.getpid())
    assert content["run_id"] == taken["run_id"] and len(content["run_id"]) == 32
    assert content["created_dir"] is True
    assert content["started"].endswith("Z")

    released = sl.release(str(state), os.getpid(), taken["run_id"])
    assert released["released"] and released["changed"]
    assert not state.exists(), "the lock created the directory and nothing else was written: it goes too"


def test_release_keeps_a_directory_with_content_or_that_existed(tmp_path):
    state = tmp_path / "state"
    taken = sl.acquire(str(state), os.getpid(), run_id="r1")
    (state / "cert.pem").write_text("x")
    sl.release(str(state), os.getpid(), "r1")
    assert (state / "cert.pem").exists() and not (state / ".lock").exists()
    assert taken["run_id"] == "r1"

    existing = tmp_path / "existing"
    existing.mkdir()
    sl.acquire(str(existing), os.getpid())
    sl.release(str(existing), os.getpid())
    assert existing.is_dir()


def test_same_process_again_is_not_a_new_lock(tmp_path):
    first = sl.acquire(str(tmp_path), os.getpid(), run_id="outer")
    again = sl.acquire(str(tmp_path), os.getpid())
    assert again["acquired"] is False and again["changed"] is False and again["run_id"] == "outer"
    assert read_lock(tmp_path)["run_id"] == first["run_id"]


def test_live_owner_refuses_with_a_clear_message(tmp_path, sleeper):
    sl.acquire(str(tmp_path), sleeper.pid, run_id="theirs")
    with pytest.raises(sl.LockHeld) as caught:
        sl.acquire(str(tmp_path), os.getpid())
    message = str(caught.value)
    started = read_lock(tmp_path)["started"]
    assert message.startswith(
        "state directory %s is locked by run theirs on host %s since %s (pid %d)"
        % (tmp_path, socket.gethostname(), started, sleeper.pid)
    )
    assert caught.value.holder["run_id"] == "theirs"
    assert read_lock(tmp_path)["run_id"] == "theirs"


def test_release_leaves_someone_elses_lock(tmp_path, sleeper):
    sl.acquire(str(tmp_path), sleeper.pid, run_id="theirs")
    by_id = sl.release(str(tmp_path), os.getpid(), run_id="mine")
    by_owner = sl.release(str(tmp_path), os.getpid())
    for outcome in (by_id, by_owner):
        assert outcome["released"] is False and outcome["changed"] is False
        assert "not released: state directory" in outcome["warnings"][0]
    assert read_lock(tmp_path)["run_id"] == "theirs"
    assert sl.release(str(tmp_path / "none"), os.getpid())["released"] is False


def test_dead_owner_is_taken_over_with_a_warning(tmp_path):
    pid = dead_pid()
    sl.acquire(str(tmp_path), pid, run_id="killed")
    taken = sl.acquire(str(tmp_path), os.getpid())
    assert taken["acquired"]
    assert taken["previous"]["run_id"] == "killed"
    assert "took over the stale lock of run killed" in taken["warnings"][0]
    assert "process %d no longer runs" % pid in taken["warnings"][0]
    assert read_lock(tmp_path)["pid"] == os.getpid()


def test_reused_pid_and_other_boot_are_dead(tmp_path, sleeper):
    holder = sl.owner(sleeper.pid, "r")
    assert sl.owner_alive(holder) is True
    assert sl.owner_alive(dict(holder, pid_start="1")) is False
    if holder["boot_id"]:
        assert sl.owner_alive(dict(holder, boot_id="another-boot")) is False
    assert sl.owner_alive(dict(holder, host="elsewhere")) is None
    assert sl.owner_alive(dict(holder, pid="12")) is None


def test_zombie_is_dead(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while (sl._proc_stat(proc.pid) or ["?"])[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert sl.owner_alive({"host": socket.gethostname(), "pid": proc.pid}) is False
    finally:
        proc.wait()


def test_other_host_is_never_taken_over(tmp_path):
    (tmp_path / ".lock").write_text(json.dumps({"run_id": "far", "host": "elsewhere", "pid": 1, "started": "T"}))
    with pytest.raises(sl.LockHeld) as caught:
        sl.acquire(str(tmp_path), os.getpid())
    assert "locked by run far on host elsewhere since T (pid 1)" in str(caught.value)
    assert "cannot be checked from here, remove %s" % (tmp_path / ".lock") in str(caught.value)


def test_unreadable_lock_waits_then_is_stale_when_old(tmp_path):
    lock = tmp_path / ".lock"
    lock.write_text("")
    with pytest.raises(sl.LockHeld, match="holds no owner yet"):
        sl.acquire(str(tmp_path), os.getpid(), timeout=0.3)
    old = time.time() - sl.UNREADABLE_GRACE - 5
    os.utime(lock, (old, old))
    taken = sl.acquire(str(tmp_path), os.getpid())
    assert taken["acquired"] and "its content is unreadable" in taken["warnings"][0]


def test_check_mode_writes_nothing(tmp_path, sleeper):
    state = tmp_path / "state"
    would = sl.acquire(str(state), os.getpid(), check_mode=True)
    assert would["acquired"] is False and would["changed"] is True and not state.exists()

    sl.acquire(str(tmp_path), sleeper.pid, run_id="theirs")
    held = sl.acquire(str(tmp_path), os.getpid(), check_mode=True)
    assert held["changed"] is False and "would fail here" in held["warnings"][0]
    assert sl.release(str(tmp_path), sleeper.pid, "theirs", check_mode=True)["changed"] is True
    assert read_lock(tmp_path)["run_id"] == "theirs"


def _contend(state_dir, ready, results, done):
    ready.wait(60)  # every worker is up before any of them tries
    try:
        outcome = sl.acquire(state_dir, os.getpid())
        results.put(("acquired", outcome["warnings"]))
    except sl.LockHeld as exc:
        results.put(("refused", str(exc)))
    done.wait(30)  # the winner stays alive until every other worker has tried


@pytest.mark.parametrize("stale", [False, True], ids=["free", "stale"])
def test_exactly_one_of_many_concurrent_runs_gets_the_lock(tmp_path, stale):
    if stale:
        sl.acquire(str(tmp_path), dead_pid(), run_id="killed")
    # spawn, not fork: forking the multi-threaded pytest process is deprecated (and may deadlock).
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    done = context.Event()
    ready = context.Barrier(8)
    workers = [context.Process(target=_contend, args=(str(tmp_path), ready, results, done)) for index in range(8)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=30) for worker in workers]
    done.set()
    for worker in workers:
        worker.join(10)
    kinds = sorted(kind for kind, detail in outcomes)
    assert kinds == ["acquired"] + ["refused"] * 7, outcomes
    holder = read_lock(tmp_path)
    assert all("locked by run %s" % holder["run_id"] in detail for kind, detail in outcomes if kind == "refused")


def test_expire_after_takes_over_only_locks_that_cannot_be_checked(tmp_path, sleeper):
    far = {"run_id": "far", "host": "elsewhere", "pid": 1, "started": "2025-01-01T00:00:00Z"}
    (tmp_path / ".lock").write_text(json.dumps(far))
    with pytest.raises(sl.LockHeld, match="or wait until it is older than 999999999 s"):
        sl.acquire(str(tmp_path), os.getpid(), expire_after=999999999)
    taken = sl.acquire(str(tmp_path), os.getpid(), expire_after=3600)
    assert taken["acquired"] and taken["previous"]["run_id"] == "far"
    assert "cannot be checked from here and it is older than 3600 s" in taken["warnings"][0]

    # A live process on this host keeps its lock, however old.
    old = dict(sl.owner(sleeper.pid, "live"), started="2025-01-01T00:00:00Z")
    (tmp_path / ".lock").write_text(json.dumps(old))
    with pytest.raises(sl.LockHeld, match="locked by run live"):
        sl.acquire(str(tmp_path), os.getpid(), expire_after=1)
