# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a program through the module's ``run_command``, bounded in time, and kill all it started when time is up.

Modules start programs with ``AnsibleModule.run_command`` (ansible-test's
``ansible-bad-function`` refuses ``subprocess``). On every ansible-core we
support (2.19 to 2.21) it has no timeout and cannot start the program in a
session of its own, yet a dehydrated hook or a reload script may hang and
often starts children. So the program is started through a few lines of
Python, run by the module's own interpreter, that open a new session, point
stdin at /dev/null (a hook asking a person "press enter" reads end of file)
and exec the program: its pid is then its process group, and a timer kills
that whole group, children included, when the time is up. ``run_command``
stops reading once the program has exited and its pipes are quiet, so a
daemon the program leaves behind does not hold the caller up; a program that
ends in time keeps its children.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable

#: ``AnsibleModule.run_command`` (or a callable with its signature).
RunCommand = Callable[..., Any]

# argv[1:] of this code is the program and its arguments. 126/127 are what a shell exits with for a
# program it cannot run or cannot find; stderr then says why.
_START = """import errno, os, sys
os.setsid()
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as exc:
    sys.stderr.write("cannot run %s: %s\\n" % (sys.argv[1], exc.strerror))
    sys.exit(127 if exc.errno == errno.ENOENT else 126)
"""


@dataclass(frozen=True)
class Completed:
    """How a program ended: ``rc`` None when it was killed at the timeout; output decoded, undecodable bytes marked."""

    rc: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


class _GroupKiller:
    """Kills the process group of the started program once ``timeout`` seconds have passed."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.fired = threading.Event()
        self._timer: threading.Timer | None = None

    def start(self, process) -> None:
        """``run_command``'s before_communicate_callback: the program is running, start the clock."""
        self._timer = threading.Timer(self.timeout, self._kill, (process,))
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _kill(self, process) -> None:
        self.fired.set()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            # Not in a group of its own yet (it had no time to start): kill the one process there is.
            try:
                process.kill()
            except OSError:
                pass


def run_bounded(
    run_command: RunCommand, argv: list[str], timeout: float, environ_update: dict[str, str] | None = None
) -> Completed:
    """Run ``argv`` (no shell, no expansion) with ``environ_update`` on top of the module's environment.

    Raises OSError when not even the interpreter could be started.
    """
    killer = _GroupKiller(timeout)
    try:
        rc, stdout, stderr = run_command(
            [sys.executable, "-I", "-S", "-c", _START] + list(argv),
            environ_update=environ_update or {},
            expand_user_and_vars=False,
            encoding=None,
            handle_exceptions=False,
            before_communicate_callback=killer.start,
        )
    finally:
        killer.stop()
    timed_out = killer.fired.is_set()
    return Completed(
        None if timed_out else rc,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        timed_out,
    )
