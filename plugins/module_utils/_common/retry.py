# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting well: retries with backoff, request pacing, deadlines, and the servers' own hints.

Every remote party of a run (the CA, DNS APIs, AWS) throttles, fails for a
moment, or asks to be polled. One set of tools for that keeps the behaviour the
same everywhere: jittered exponential backoff, a Retry-After that is honoured,
and no wait that sleeps past the time a run was given.
"""

from __future__ import annotations

import datetime
import email.utils
import random
import threading
import time
from typing import Any, Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import parse_iso


def parse_retry_after(value: Any, now: Callable[[], float] = time.time, *, http_only: bool = False) -> float | None:
    """Seconds to wait from a Retry-After style value, or None when there is no usable hint.

    Accepts delta-seconds (``120``), an HTTP-date (``Wed, 21 Oct 2015 07:28:00 GMT``)
    and an ISO 8601 time (``2012-10-10T21:21:15Z``, what Rackspace documents).
    A time in the past means "now": 0. ``http_only`` takes only the two forms of
    the HTTP header (RFC 9110 section 10.2.3: digits, or an HTTP-date), as ACME
    servers send it; anything else (``-5``, ``1.5``) is no hint.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and not http_only:
        return max(0.0, float(value))
    text = str(value).strip()
    if not text:
        return None
    if not http_only or text.isdigit():
        try:
            return max(0.0, float(text))
        except ValueError:
            pass
    when = None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None:
        when = None if http_only else parse_iso(text)
        if when is None:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - now())


def retry_call(
    fn: Callable[[], Any],
    attempts: int = 5,
    base_delay: float = 1.0,
    is_retryable: Callable[[BaseException], bool] = lambda exc: False,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Call ``fn`` until it succeeds, retrying failures that ``is_retryable`` accepts.

    HTTP APIs throttle (429, Route53 ``Throttling``) and fail transiently; a
    batch run that talks to them from many threads must back off, and must
    not retry in lockstep, hence exponential backoff with full jitter. An
    exception with a ``retry_after`` attribute (seconds, from a Retry-After
    header) sets a lower bound for the wait.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if attempt + 1 >= attempts or not is_retryable(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * (2**attempt)))
            hint = getattr(exc, "retry_after", None)
            if isinstance(hint, (int, float)) and hint > 0:
                delay = max(delay, min(float(hint), max_delay))
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class Throttle:
    """Spaces calls at least ``interval`` seconds apart, across threads.

    For APIs with a documented request rate (Route53 allows five requests per
    second per account): every worker calls :meth:`wait` before a request.
    """

    def __init__(self, rate_per_second: float, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        """Block until this caller's slot comes up."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


class DeadlineExceeded(Exception):
    """Polling ran out of time; the message says what was being waited for."""


class Deadline:
    """A point in time that every poll loop of one order checks and never sleeps past."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0

    def sleep(self, seconds: float, waiting_for: str) -> None:
        """Sleep ``seconds`` (at most until the deadline); raise if the deadline has passed."""
        if self.expired():
            raise DeadlineExceeded("timed out after %ds waiting for %s" % (self.seconds, waiting_for))
        time.sleep(max(0.0, min(seconds, self.remaining())))


def poll_until(
    done: Callable[[], bool],
    timeout: float,
    first_delay: float,
    max_delay: float,
    factor: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Ask ``done()`` until it is true (True) or ``timeout`` seconds have passed (False).

    Remote changes (a Route53 change going INSYNC, a Rackspace job, an AWS
    listener update) usually finish within a second or two and sometimes take
    minutes: pauses start short and grow by ``factor`` up to ``max_delay``, and
    the last one never sleeps past the timeout. ``done`` may raise to stop early.
    """
    deadline = clock() + timeout
    delay = first_delay
    while True:
        if done():
            return True
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(delay, remaining))
        delay = min(delay * factor, max_delay)
