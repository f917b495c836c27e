# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start the test rig on the first free loopback slot of a range that pytest never uses.

A slot N is the loopback /24 ``127.N.0``. The integration tests take slots
0-39 (tests/integration/conftest.py), so a rig started here for molecule (or
by hand) runs next to ``make integration`` without touching its addresses.
While a rig starts, its slot is held with the same machine-wide lock files
the tests use (``certfleet-rig-slot-N.lock`` in the temp directory), so two
starts never race for one slot; once it runs, its addresses are in use and
the next start moves on to the next slot.

The state directory is cleared of an earlier rig first, so every start has
fresh zones and a fresh Pebble. The info dict of the rig, plus ``slot`` and
``net``, is written to ``--out`` (mode 0600: it holds the TSIG secret and the
PowerDNS API key); only the slot and directory are printed.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

RIG_PATH = Path(__file__).resolve().parents[1] / "tests" / "rig" / "rig.py"
# First slot after the integration tests' range (conftest.SLOTS).
FIRST_SLOT = 40
SLOT_COUNT = 10


def load_rig():
    """tests/rig/rig.py, loaded by path so that this script runs from any directory."""
    spec = importlib.util.spec_from_file_location("certfleet_rig", RIG_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start(rig, state_dir: Path, first: int, count: int) -> dict:
    """Stop what an earlier run left in ``state_dir``, then start the rig on the first free slot."""
    rig.down(state_dir)
    for slot in range(first, first + count):
        net = f"127.{slot}.0"
        lock_path = Path(tempfile.gettempdir()) / f"certfleet-rig-slot-{slot}.lock"
        with open(lock_path, "w", encoding="ascii") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # another start holds this slot right now
            try:
                info = rig.up(state_dir, net=net)
            except rig.RigAddressInUse:
                continue  # a rig (or something else) runs on this slot
        return dict(info, slot=slot, net=net)
    raise rig.RigError(f"no free rig slot among 127.{first}.0 to 127.{first + count - 1}.0")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rig_free_slot.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="state directory of the rig")
    parser.add_argument("--out", required=True, type=Path, help="file that receives the info JSON (mode 0600)")
    parser.add_argument("--first", type=int, default=FIRST_SLOT, help=f"first slot to try (default: {FIRST_SLOT})")
    parser.add_argument("--count", type=int, default=SLOT_COUNT, help=f"slots to try (default: {SLOT_COUNT})")
    args = parser.parse_args(argv)
    if args.first < 0 or args.count < 1 or args.first + args.count > 256:
        parser.error(f"--first {args.first} --count {args.count}: slots must lie within 0-255")
    rig = load_rig()
    try:
        info = start(rig, args.dir.resolve(), args.first, args.count)
    except rig.RigError as exc:
        print(f"rig_free_slot.py: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")
    os.chmod(args.out, 0o600)  # also when the file existed with another mode
    print(f"rig running on {info['net']}.x (slot {info['slot']}) in {info['dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
