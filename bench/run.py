# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet benchmark: renew.yml against certbot, lego and community.crypto on the local rig.

Run by ``make bench`` (not part of ``make test``), which first installs the
other tools (scripts/install-bench-deps.sh). It brings up a rig of its own
(Pebble, hidden BIND9 primary, two secondaries fed by NOTIFY 3 seconds late)
and times the same work done by each tool, every tool into fresh directories:

* ``single``: N single-name certificates, for each N of ``--sizes``;
* ``san100``: one certificate with 100 names;
* ``idle1000``: the daily run over 1,000 existing certificates with nothing
  due (renew.yml against ``certbot renew``);
* ``idle1000_s3``: the same run of ours with the state in S3 (moto server)
  against the same state on disk, in one run (bench/state_backends.py).

Every certificate a tool issues is checked (issued by Pebble, exactly the
names asked for) before its time counts. Times are kept in
bench/results.json, so ``--tools``/``--workloads``/``--sizes`` can re-run a
part; bench/results.md is written from all of them, with the targets.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "rig"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))

import competitors  # noqa: E402
import fleet  # noqa: E402
import rig  # noqa: E402
import state_backends  # noqa: E402

TOOLS = ["ours", "certbot", "lego", "crypto"]
TOOL_TITLES = {
    "ours": "certfleet renew.yml",
    "certbot": "certbot + dns-rfc2136",
    "lego": "lego rfc2136",
    "crypto": "community.crypto",
}
WORKLOADS = ["single", "san100", "idle1000", "idle1000_s3"]
IDLE_COUNT = 1000
RESULTS_JSON = REPO / "bench" / "results.json"
RESULTS_MD = REPO / "bench" / "results.md"
# Seconds per task of our runs (bench/callback_plugins/task_seconds.py), one file per workload.
PROFILES = REPO / "bench" / "profiles"
# Slots of tests/integration/conftest.py, counted from the top so the tests' low slots stay free.
SLOT_LOCKS = Path(tempfile.gettempdir())
SLOTS = range(39, 19, -1)


def start_rig(notify_delay: int):
    """A rig on a free slot (the tests' machine-wide locks), returned with its lock and state directory."""
    for number in SLOTS:
        lock = open(SLOT_LOCKS / ("certfleet-rig-slot-%d.lock" % number), "w", encoding="ascii")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        state = REPO / ".build" / ("rig-bench-%d" % number)
        try:
            rig.down(state)
            info = rig.up(
                state,
                notify_delay=notify_delay,
                # Pebble rejects 5% of good nonces by default; certbot retries a POST once, so one of its
                # 100-name orders (some 300 POSTs) failed about every other run: no production CA does that.
                nonce_reject=0,
                net="127.%d.0" % number,
            )
        except rig.RigAddressInUse:
            lock.close()
            continue
        return info, lock, state
    raise SystemExit("no free rig slot")


def single_certificates(tool: str, count: int) -> list[dict]:
    prefix = "%s-n%d-" % (tool, count)
    return [
        {"name": "%s%d" % (prefix, index), "names": ["%s%d.example.test" % (prefix, index)]} for index in range(count)
    ]


def san_certificate(tool: str, count: int = 100) -> list[dict]:
    return [{"name": "%s-san" % tool, "names": ["%s-san-%d.example.test" % (tool, index) for index in range(count)]}]


def issue(tool: str, info: dict, work: Path, certificates: list[dict]) -> float:
    seconds, files = competitors.RUNNERS[tool](info, work, certificates)
    competitors.verify(files, certificates)
    return seconds


def idle_ours(info: dict, work: Path, count: int) -> float:
    state = work / "state"
    certificates = fleet.fleet(count, "idle")
    fleet.write_ours(state, certificates, fleet.Issuer())
    seconds, _result = state_backends.nothing_due_run(competitors.ours_vars(info, state, certificates), work, count)
    return seconds


def certbot_account(info: dict, base: Path) -> str:
    """Register one ACME account, as the certonly run that made the lineages would have."""
    command = [str(competitors.BENCH_VENV / "bin" / "certbot"), "register", "--non-interactive", "--agree-tos"]
    command += ["-m", competitors.EMAIL, "--server", info["acme_directory"], *competitors.certbot_dirs(base)]
    competitors._run(command, competitors.certbot_env(info), base)  # pylint: disable=protected-access
    accounts = list((base / "config" / "accounts").glob("*/*/*"))
    if len(accounts) != 1:
        raise competitors.BenchError("certbot register left %d accounts" % len(accounts))
    return accounts[0].name


def idle_certbot(info: dict, work: Path, count: int) -> float:
    base = work / "certbot"
    base.mkdir(parents=True, exist_ok=True)
    account = certbot_account(info, base)
    version = tool_versions()["certbot"].split()[-1]
    fleet.write_certbot(
        base / "config",
        fleet.fleet(count, "idle"),
        fleet.Issuer(),
        version=version,
        account=account,
        credentials=competitors.certbot_credentials(info, base),
        propagation=competitors.CERTBOT_PROPAGATION_SECONDS,
        server=info["acme_directory"],
    )
    command = [str(competitors.BENCH_VENV / "bin" / "certbot"), "renew", "--non-interactive"]
    command += competitors.certbot_dirs(base)
    started = time.monotonic()
    proc = competitors._run(command, competitors.certbot_env(info), base)  # pylint: disable=protected-access
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    skipped = len(re.findall(r"fullchain\.pem expires on .* \(skipped\)", output))
    if skipped != count or "No renewals were attempted" not in output:
        raise competitors.BenchError("certbot renew skipped %d of %d:\n%s" % (skipped, count, output[-3000:]))
    return seconds


def _first_line(command: list[str], env: dict | None = None) -> str:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60, env=env)
    except OSError:
        return "not installed"
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else "?"


def _package(name: str) -> str:
    return _first_line(["dpkg-query", "-W", "-f=${Version}", name])


def tool_versions() -> dict:
    crypto_env = competitors.crypto_env()
    galaxy = subprocess.run(
        [str(competitors.BENCH_VENV / "bin" / "ansible-galaxy"), "collection", "list"],
        capture_output=True,
        text=True,
        env=dict(crypto_env, ANSIBLE_COLLECTIONS_PATH=""),
        check=False,
    ).stdout
    bundled = dict(re.findall(r"^(community\.(?:crypto|general|dns))\s+(\S+)", galaxy, re.M))
    return {
        "ansible-core (ours)": _first_line([str(Path(sys.executable).parent / "ansible"), "--version"]),
        "certbot": _first_line([str(competitors.BENCH_VENV / "bin" / "certbot"), "--version"]),
        "lego": "lego " + _package("lego"),
        "ansible-core (community.crypto run)": _first_line(
            [str(competitors.BENCH_VENV / "bin" / "ansible"), "--version"]
        ),
        "bundled collections": ", ".join("%s %s" % item for item in sorted(bundled.items())),
        "Pebble": _package("pebble"),
        "BIND": _package("bind9"),
    }


def load_results(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def save_results(path: Path, results: dict, measured: dict, loads: dict | None = None) -> dict:
    """Merge this run's times (and machine loads) into what the file holds now (another run may have added its own)."""
    current = load_results(path)
    current["environment"] = results.get("environment", current.get("environment", {}))
    if "note" in results:
        current["note"] = results["note"]
    for section, new in (("times", measured), ("load", loads or {})):
        for key, row in new.items():
            current.setdefault(section, {}).setdefault(key, {}).update(row)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return current


def _workload_order(key: str) -> tuple:
    if key.startswith("single-"):
        return (0, int(key.split("-")[1]))
    return ({"san100": 1, "idle1000": 2}.get(key, 3), 0)


def _label(key: str) -> str:
    if key.startswith("single-"):
        count = int(key.split("-")[1])
        return "1 certificate, 1 name" if count == 1 else "%d certificates, 1 name each" % count
    if key == "san100":
        return "1 certificate, 100 names"
    if key == "idle1000_s3":
        return f"{IDLE_COUNT:,} certificates, nothing due, state in S3 (moto)"
    return f"{IDLE_COUNT:,} certificates, nothing due"


def _seconds(value) -> str:
    return "%.1f" % value if isinstance(value, (int, float)) else "-"


def _ratio(ours, other) -> str:
    if isinstance(ours, (int, float)) and isinstance(other, (int, float)) and ours > 0:
        return "%.1fx" % (other / ours)
    return "-"


def _target(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "NOT met")


def targets(times: dict) -> list[str]:
    def get(key, tool):
        return times.get(key, {}).get(tool)

    lines = []
    ours100, lego100, ours1 = get("single-100", "ours"), get("single-100", "lego"), get("single-1", "ours")
    met = None if None in (ours100, lego100) else ours100 <= lego100 / 10
    lines.append(
        "- 100 certificates at most a tenth of lego's time: %s (%s s vs lego %s s, limit %s s)"
        % (_target(met), _seconds(ours100), _seconds(lego100), _seconds(lego100 / 10 if lego100 else None))
    )
    met = None if None in (ours100, ours1) else ours100 <= 2 * ours1
    lines.append(
        "- 100 certificates at most twice our 1-certificate time: %s (%s s vs 2 x %s s)"
        % (_target(met), _seconds(ours100), _seconds(ours1))
    )
    ours_san, certbot_san = get("san100", "ours"), get("san100", "certbot")
    met = None if None in (ours_san, certbot_san) else ours_san < certbot_san
    lines.append(
        "- 1 certificate with 100 names faster than certbot: %s (%s s vs %s s)"
        % (_target(met), _seconds(ours_san), _seconds(certbot_san))
    )
    ours_idle, certbot_idle = get("idle1000", "ours"), get("idle1000", "certbot")
    met = None if None in (ours_idle, certbot_idle) else ours_idle <= certbot_idle
    lines.append(
        "- 1,000 certificates, nothing due, no slower than `certbot renew`: %s (%s s vs %s s)"
        % (_target(met), _seconds(ours_idle), _seconds(certbot_idle))
    )
    s3_idle, local_idle = get("idle1000_s3", "ours"), get("idle1000_s3", "ours_local")
    met = None if None in (s3_idle, local_idle) else s3_idle <= state_backends.RATIO_TARGET * local_idle
    lines.append(
        "- 1,000 certificates, nothing due, state in S3 at most %.0f times the same state on disk (same run): %s"
        " (%s s vs %.0f x %s s; what the time goes to: bench/profiles/idle1000_s3*.txt)"
        % (
            state_backends.RATIO_TARGET,
            _target(met),
            _seconds(s3_idle),
            state_backends.RATIO_TARGET,
            _seconds(local_idle),
        )
    )
    return lines


def report(results: dict) -> str:
    times = results.get("times", {})
    others = [tool for tool in TOOLS if tool != "ours"]
    header = ["workload"] + ["%s (s)" % TOOL_TITLES[tool] for tool in TOOLS]
    header += ["%s / ours" % TOOL_TITLES[tool] for tool in others]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for key in sorted(times, key=_workload_order):
        row = times[key]
        cells = [_label(key)] + [_seconds(row.get(tool)) for tool in TOOLS]
        cells += [_ratio(row.get("ours"), row.get(tool)) for tool in others]
        lines.append("| " + " | ".join(cells) + " |")
    env = results.get("environment", {})
    text = [
        "# Fleet benchmark",
        "",
        "Written by `make bench` (bench/run.py); how to run it and what each tool does: bench/README.md.",
        "Seconds are the wall time of the whole work (every command, start-up included);",
        "a ratio is the other tool's time over ours (above 1x: we are faster).",
        "",
        *lines,
        "",
        "## Targets",
        "",
        *targets(times),
        "",
        "## Set-up",
        "",
    ]
    if results.get("note"):
        text += ["Note: %s" % results["note"], ""]
    text += ["- %s: %s" % (key, value) for key, value in env.items()]
    loads = [value for row in results.get("load", {}).values() for value in row.values()]
    if loads:
        text.append(
            "- machine load: 1-minute load average %.1f to %.1f when the measurements ended (%s cores;"
            " above the core count, other work was competing for the CPU)" % (min(loads), max(loads), env.get("cores"))
        )
    return "\n".join(text) + "\n"


def environment(notify_delay: int) -> dict:
    env = {
        "machine": " ".join(platform.uname()[:3] + (platform.uname().machine,)),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "notify delay": "%d s (primary's notify-delay, then the relay holds each NOTIFY as long)" % notify_delay,
        "certfleet": "role defaults (propagation interval 1 s), resolvers = the rig's resolver",
        "certbot propagation": "--dns-rfc2136-propagation-seconds %d (4 s passed on an idle rig, failed once under load)"
        % competitors.CERTBOT_PROPAGATION_SECONDS,
        "lego settings": "RFC2136_SEQUENCE_INTERVAL=%d, polling interval default (2 s), real propagation check,"
        " --dns.resolvers = a secondary" % competitors.LEGO_SEQUENCE_INTERVAL,
        "community.crypto": "per-task loops over all certificates, one wait_for_txt for the batch",
        "rig": "Pebble rejects no nonce (PEBBLE_WFE_NONCEREJECT=0)",
    }
    env.update(tool_versions())
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated: %s" % ",".join(TOOLS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: %s" % ",".join(WORKLOADS))
    parser.add_argument("--sizes", default="1,10,50,100", help="batch sizes of the single workload")
    parser.add_argument("--notify-delay", type=int, default=3, help="seconds the primary (and relay) hold NOTIFY")
    parser.add_argument("--fresh", action="store_true", help="forget the times kept in the results file")
    parser.add_argument(
        "--results", type=Path, default=RESULTS_JSON, help="where times are kept (default: %(default)s)"
    )
    parser.add_argument(
        "--merge", type=Path, action="append", default=[], help="add the times of another results file, then report"
    )
    parser.add_argument("--report-only", action="store_true", help="write bench/results.md from the kept times")
    parser.add_argument("--note", help="a remark on the conditions of the measurement, kept and shown in results.md")
    args = parser.parse_args()
    tools = [tool for tool in args.tools.split(",") if tool]
    workloads = [workload for workload in args.workloads.split(",") if workload]
    unknown = sorted(set(tools) - set(TOOLS)) + sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        raise SystemExit("unknown tool or workload: %s" % ", ".join(unknown))
    sizes = [int(size) for size in args.sizes.split(",") if size]

    jobs = []
    for workload in workloads:
        if workload == "single":
            jobs += [("single-%d" % size, tool) for size in sizes for tool in tools]
        elif workload == "san100":
            jobs += [("san100", tool) for tool in tools]
        elif workload == "idle1000_s3":
            jobs += [("idle1000_s3", tool) for tool in tools if tool == "ours"]
        else:
            jobs += [("idle1000", tool) for tool in tools if tool in ("ours", "certbot")]

    if args.fresh:
        args.results.unlink(missing_ok=True)
    results = load_results(args.results)
    for other in args.merge:
        kept = load_results(other)
        results = save_results(args.results, results, kept.get("times", {}), kept.get("load", {}))
    if args.note:
        results["note"] = args.note
        results = save_results(args.results, results, {})
    if args.report_only:
        RESULTS_MD.write_text(report(results))
        print(report(results))
        return
    measured: dict = {}
    loads: dict = {}
    info, lock, state = start_rig(args.notify_delay)
    print("rig up in %s (notify delay %d s)" % (state, args.notify_delay), flush=True)
    failures = []
    try:
        results["environment"] = environment(args.notify_delay)
        for number, (key, tool) in enumerate(jobs, 1):
            print("[%d/%d] %-12s %-8s ..." % (number, len(jobs), key, tool), end=" ", flush=True)
            with tempfile.TemporaryDirectory(prefix="certfleet-bench-") as tmp:
                work = Path(tmp)
                try:
                    if key == "idle1000":
                        seconds = (idle_ours if tool == "ours" else idle_certbot)(info, work, IDLE_COUNT)
                    elif key == "idle1000_s3":
                        backends = state_backends.compare(info, work, IDLE_COUNT)
                        seconds = backends["s3"]
                        measured.setdefault(key, {})["ours_local"] = round(backends["local"], 2)
                        PROFILES.mkdir(exist_ok=True)
                        for backend, path in backends["profiles"].items():
                            shutil.copyfile(path, PROFILES / ("%s-%s.txt" % (key, backend)))
                    elif key == "san100":
                        seconds = issue(tool, info, work, san_certificate(tool))
                    else:
                        seconds = issue(tool, info, work, single_certificates(tool, int(key.split("-")[1])))
                except competitors.BenchError as exc:
                    print("FAILED", flush=True)
                    failures.append("%s %s: %s" % (key, tool, exc))
                    continue
                if (work / "task-seconds.txt").exists():
                    PROFILES.mkdir(exist_ok=True)
                    shutil.copyfile(work / "task-seconds.txt", PROFILES / ("%s.txt" % key))
            measured.setdefault(key, {})[tool] = round(seconds, 2)
            loads.setdefault(key, {})[tool] = round(os.getloadavg()[0], 1)
            print("%.1f s (load average %.1f)" % (seconds, loads[key][tool]), flush=True)
            results = save_results(args.results, results, measured, loads)
    finally:
        rig.down(state)
        lock.close()
    results = save_results(args.results, results, measured, loads)
    text = report(results)
    RESULTS_MD.write_text(text)
    print()
    print(text)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        raise SystemExit("%d run(s) failed" % len(failures))


if __name__ == "__main__":
    main()
