# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time renew.yml on the local rig for batches of single-name certificates.

Run by `make bench` (not part of `make test`): brings up its own rig, issues
N fresh certificates in one renew.yml run for each N, then times a run with
nothing due, prints a table and writes it to bench/results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "rig"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import rig  # noqa: E402
from playbook_runner import role_vars, run_renew  # noqa: E402


def version_of(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def timed_run(info: dict, workdir: Path, label: str, count: int) -> tuple[float, float, int]:
    """Issue ``count`` single-name certificates in one run; then time the idle re-run."""
    state = workdir / ("state-%s" % label)
    certificates = [
        {"name": "b%s-%d" % (label, i), "names": ["b%s-%d.example.test" % (label, i)]} for i in range(count)
    ]
    variables = role_vars(info, state, certificates)
    started = time.monotonic()
    first = run_renew(variables, workdir)
    issue_seconds = time.monotonic() - started
    if first.rc != 0:
        raise SystemExit("renew.yml failed for N=%d:\n%s" % (count, first.text()[-3000:]))
    started = time.monotonic()
    idle = run_renew(variables, workdir)
    idle_seconds = time.monotonic() - started
    return issue_seconds, idle_seconds, idle.stats.get("changed", -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,50", help="comma-separated batch sizes")
    parser.add_argument("--notify-delay", type=int, default=3, help="seconds the primary waits before NOTIFY")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    rig_dir = REPO / ".build" / "rig-bench"
    info = rig.up(str(rig_dir), notify_delay=args.notify_delay)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="certfleet-bench-") as tmp:
            for index, count in enumerate(sizes):
                issue_seconds, idle_seconds, changed = timed_run(info, Path(tmp), "%d" % index, count)
                rows.append((count, issue_seconds, idle_seconds, changed))
                print("N=%-4d issue %6.1f s   nothing-due re-run %5.1f s (changed=%d)" % rows[-1], flush=True)
    finally:
        rig.down(str(rig_dir))

    lines = [
        "# renew.yml on the local rig",
        "",
        "Machine: %s, %d cores, Python %s; %s; %s; notify delay %d s."
        % (
            platform.machine(),
            os.cpu_count() or 0,
            platform.python_version(),
            version_of(["ansible", "--version"]),
            "Pebble " + version_of(["dpkg-query", "-W", "-f=${Version}", "pebble"]),
            args.notify_delay,
        ),
        "",
        "| certificates (1 name each) | issue run (s) | nothing-due run (s) | changed on re-run |",
        "|---:|---:|---:|---:|",
    ]
    for count, issue_seconds, idle_seconds, changed in rows:
        lines.append("| %d | %.1f | %.1f | %d |" % (count, issue_seconds, idle_seconds, changed))
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    (REPO / "bench" / "results.md").write_text(report)


if __name__ == "__main__":
    main()
