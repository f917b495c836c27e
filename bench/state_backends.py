# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nothing-due run over 1,000 certificates with the state in S3 (moto server) against the same state on disk.

A remote state is for runners that keep nothing (AWX containers): every run
of such a runner starts by leasing the state and pulling what it reads, so the
daily run of a large fleet pays for it each time. Target: at most twice the
local run. One state is built once (bench/fleet.py ``write_ours``), the role
runs on it as a local directory, then the same state is copied into a bucket
of a moto server with SSE-KMS (``_state.migrate.migrate``) and the role runs
on it from an empty runner folder (its own TMPDIR, no AWS settings of the
machine). Both runs must report ``changed=0`` and nothing due, and the S3 run
must have pulled every certificate, or the benchmark fails.

What the time goes to: the seconds per task of both runs
(bench/callback_plugins/task_seconds.py) side by side, and the guardian's pull
(inside the task that leases the state) timed alone in this process.

Run by bench/run.py as the workload ``idle1000_s3``; alone (with a rig of its
own): ``.venv/bin/python bench/state_backends.py [--count N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".build" / "collections"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import competitors  # noqa: E402
import fleet  # noqa: E402
import pytest  # noqa: E402
import s3_fixture  # noqa: E402
from moto_fixture import clean_aws_env  # noqa: E402

from ansible_collections.certfleet.acme.plugins.module_utils._state import workspace  # noqa: E402
from ansible_collections.certfleet.acme.plugins.module_utils._state.migrate import migrate  # noqa: E402
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore  # noqa: E402
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import open_store  # noqa: E402

#: The S3 run may take at most this many times the local run.
RATIO_TARGET = 2.0
DUE_TASK = "Decide which certificates are due"
WORKSPACE_TASK = "Lease the remote state and copy what the run reads into a private workspace"
#: How many tasks the profile comparison shows.
TOP_TASKS = 10
PREFIX = "idle"


class _TempFolders:
    """Stands in for pytest's ``tmp_path_factory``, so the tests' own ``s3_server`` fixture starts the server."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name + "-", dir=self.base))


@contextlib.contextmanager
def moto_s3(work: Path):
    """The tests' moto server (tests/integration/s3_fixture.py: S3 and KMS, two keys), stopped at the end."""
    server = contextlib.contextmanager(s3_fixture.s3_server.__wrapped__)(_TempFolders(work))
    try:
        with server as running:
            yield running
    except pytest.skip.Exception as exc:
        raise competitors.BenchError(str(exc)) from None


@contextlib.contextmanager
def environment(env: dict):
    """This process's environment replaced by ``env`` while the block runs (ansible-playbook and the guardian
    inherit it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def nothing_due_run(variables: dict, work: Path, count: int) -> tuple[float, competitors.playbook_runner.PlaybookRun]:
    """renew.yml, timed; a run that did not look at all ``count`` certificates, found one due or changed
    anything fails the benchmark."""
    seconds, result = competitors.renew_timed(variables, work)
    facts = result.task_results(DUE_TASK)[0]
    if len(facts.get("certificates", {})) != count or facts.get("due"):
        raise competitors.BenchError(
            "renew.yml looked at %d certificates, due %s" % (len(facts.get("certificates", {})), facts.get("due"))
        )
    if result.stats.get("changed") != 0:
        raise competitors.BenchError("the nothing-due run changed something: %s" % result.stats)
    return seconds, result


def read_profile(path: Path) -> dict[str, float]:
    """Seconds by task name (the role's prefix left out) of a task_seconds profile."""
    found: dict[str, float] = {}
    for line in path.read_text().splitlines():
        seconds, name = line.strip().split("  ", 1) if "  " in line.strip() else (line.strip(), "")
        name = name.strip().split(" : ", 1)[-1]
        found[name] = found.get(name, 0.0) + float(seconds)
    return found


def profile_table(local: dict[str, float], remote: dict[str, float], top: int = TOP_TASKS) -> list[str]:
    """The tasks that took longest in either run, with both times and what S3 added."""
    names = sorted(set(local) | set(remote), key=lambda name: -max(local.get(name, 0.0), remote.get(name, 0.0)))
    lines = ["%8s %8s %8s  %s" % ("local", "S3", "S3-local", "task (seconds)")]
    for name in names[: top + 1]:  # the whole run is one of the lines
        here, there = local.get(name, 0.0), remote.get(name, 0.0)
        lines.append("%8.2f %8.2f %+8.2f  %s" % (here, there, there - here, name))
    return lines


def timed_pull(store, count: int, work: Path) -> dict:
    """The guardian's pull (what a run reads before it knows what is due), alone, in this process."""
    keys = workspace.base_keys([cert["name"] for cert in fleet.fleet(count, PREFIX)])
    target = workspace.create("bench-pull", str(work))
    started = time.monotonic()
    pulled = workspace.pull(store, target, keys)
    seconds = time.monotonic() - started
    shutil.rmtree(target)
    return {"seconds": seconds, "asked": len(keys), "found": pulled["pulled"]}


def compare(info: dict, work: Path, count: int) -> dict:
    """Both runs over the same ``count`` certificates; their seconds, the pull's and the profiles' paths."""
    certificates = fleet.fleet(count, PREFIX)
    local_home = work / "local"
    state = local_home / "state"
    fleet.write_ours(state, certificates, fleet.Issuer())
    local_seconds, _result = nothing_due_run(competitors.ours_vars(info, state, certificates), local_home, count)
    print("local run %.1f s;" % local_seconds, end=" ", flush=True)

    with moto_s3(work) as server:
        options = dict(
            server.connection(), type="s3", bucket=server.new_bucket(), prefix="fleet", kms_key_id=server.default_key
        )
        store = open_store(options)
        started = time.monotonic()
        copied = migrate(LocalStore(str(state)), store)
        migrate_seconds = time.monotonic() - started
        keys = len(copied["copied"]) + len(copied["unchanged"])
        print("%d keys copied to S3 in %.1f s;" % (keys, migrate_seconds), end=" ", flush=True)
        pull = timed_pull(store, count, work)

        # Two runs, each from an empty runner (its own unused state folder and TMPDIR): the first after the migration
        # reads every certificate from the store and leaves the index (_state/index.py); the second, the daily run
        # of an AWX schedule, is the one measured against the local run.
        seconds = []
        for runner in (work / "runner-first", work / "runner"):
            (runner / "tmp").mkdir(parents=True)
            variables = competitors.ours_vars(info, runner / "state", certificates)
            variables["letsencrypt_dns_state"] = options
            with environment(dict(clean_aws_env(), TMPDIR=str(runner / "tmp"))):
                run_seconds, result = nothing_due_run(variables, runner, count)
            seconds.append(run_seconds)
            leased = result.task_results(WORKSPACE_TASK)
            if not leased or leased[0].get("pulled", 0) < 2 * count:
                raise competitors.BenchError("the S3 run did not pull the state: %s" % (leased[:1],))
            left = list(runner.rglob("privkey.pem"))
            if left:
                raise competitors.BenchError("the S3 run left private keys on the runner: %s" % left[:3])
        first_seconds, s3_seconds = seconds

    local_profile, s3_profile = local_home / "task-seconds.txt", runner / "task-seconds.txt"
    outcome = {
        "local": local_seconds,
        "s3": s3_seconds,
        "s3_first": first_seconds,
        "ratio": s3_seconds / local_seconds,
        "migrate": migrate_seconds,
        "keys": keys,
        "pull": pull,
        "profiles": {"local": local_profile, "s3": s3_profile},
    }
    print()
    for line in summary(outcome, count):
        print("    " + line)
    return outcome


def summary(outcome: dict, count: int) -> list[str]:
    """The numbers of :func:`compare`, as printed."""
    pull = outcome["pull"]
    local, remote = read_profile(outcome["profiles"]["local"]), read_profile(outcome["profiles"]["s3"])
    verdict = "met" if outcome["ratio"] <= RATIO_TARGET else "NOT met"
    return [
        "nothing due over %d certificates: local %.1f s, S3 (moto) %.1f s, ratio %.2fx (target at most %.0fx: %s)"
        % (count, outcome["local"], outcome["s3"], outcome["ratio"], RATIO_TARGET, verdict),
        "state copied by migrate(): %d keys in %.1f s (not part of either run)" % (outcome["keys"], outcome["migrate"]),
        "first S3 run after the migration (no index yet, every certificate read from the store): %.1f s"
        % outcome["s3_first"],
        "pull without the index, alone: %d keys asked, %d found, %.2f s; with it, the task that leases the state and "
        "pulls took %.2f s" % (pull["asked"], pull["found"], pull["seconds"], remote.get(WORKSPACE_TASK, 0.0)),
        "top tasks:",
        *profile_table(local, remote),
    ]


def main() -> None:
    import run  # pylint: disable=import-outside-toplevel  # its rig slots; run.py imports this module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=run.IDLE_COUNT, help="certificates (default: %(default)s)")
    args = parser.parse_args()
    info, lock, state = run.start_rig(notify_delay=3)
    try:
        with tempfile.TemporaryDirectory(prefix="certfleet-bench-") as tmp:
            compare(info, Path(tmp), args.count)
    except competitors.BenchError as exc:
        raise SystemExit("FAILED: %s" % exc) from None
    finally:
        run.rig.down(state)
        lock.close()


if __name__ == "__main__":
    main()
