# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rounds: a long wait cut into calls of the module, so the task can say how it is doing in between.

A module prints nothing until it returns, and AWX on Kubernetes has been seen
to stop a task that printed nothing for about five minutes. The modules that
wait long (``dns_wait_propagated``, ``acme_finalize``) therefore take a
``round`` option from their action plugin: a call ends at its first poll after
``round.seconds`` when the wait is not over, returns how far it got, and the
action plugin prints that and calls again. The wait's own deadline carries
over from round to round (``waited``), so its timeout and its messages are
those of one long call.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Deadline, DeadlineExceeded


def carried(seconds: float) -> float:
    """``seconds`` rounded up to hundredths: what a round hands on never lets all rounds exceed the timeout."""
    return math.ceil(seconds * 100) / 100


class RoundOver(Exception):
    """The round ended before the wait did; the message says what is still awaited."""


class Round:
    """The end of this call's round; ``seconds`` None means no rounds (one call waits until done)."""

    def __init__(self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError("round.seconds: must be positive, got %r" % (seconds,))
        self.seconds = seconds
        self._clock = clock
        self.end = None if seconds is None else clock() + seconds

    def over(self) -> bool:
        """True once this round's time is up (never without rounds)."""
        return self.end is not None and self._clock() >= self.end


NO_ROUND = Round()


def round_argument(waited: dict, **more: dict) -> dict:
    """The argument spec of a module's ``round`` option: ``seconds``, ``waited`` as the module counts it, ``more``."""
    return {"type": "dict", "options": dict(seconds={"type": "float", "required": True}, waited=waited, **more)}


class RoundDeadline(Deadline):
    """An order's deadline that counts the rounds before this call, and ends the wait at the round's end.

    The deadline's message names the whole ``seconds``, as one long call would.
    Between two polls it sleeps first and only then checks the round, so the
    next round polls no sooner than the CA asked (Retry-After).
    """

    def __init__(self, seconds: float, waited: float = 0.0, round_: Round = NO_ROUND) -> None:
        super().__init__(seconds)
        self.end -= waited
        self.waited = waited
        self.started = time.monotonic()
        self.round = round_

    def spent(self) -> float:
        """Seconds of ``seconds`` used so far, by earlier rounds and this one (see :func:`carried`)."""
        return carried(self.waited + time.monotonic() - self.started)

    def without_round(self) -> RoundDeadline:
        """The same deadline that no round cuts short (for work that must end in this call)."""
        whole = RoundDeadline(self.seconds)
        whole.end, whole.waited, whole.started = self.end, self.waited, self.started
        return whole

    def sleep(self, seconds: float, waiting_for: str) -> None:
        """Sleep like :class:`Deadline`; raise :class:`RoundOver` after it when the round is over but the wait is not."""
        if self.expired():
            raise DeadlineExceeded("timed out after %ds waiting for %s" % (self.seconds, waiting_for))
        time.sleep(max(0.0, min(seconds, self.remaining())))
        if self.round.over() and not self.expired():
            raise RoundOver(waiting_for)
