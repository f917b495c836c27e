# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A clock that moves only when something sleeps, for tests of deadlines and rounds without real waiting."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common import rounds


class Clock:
    """``time.monotonic`` and ``time.sleep`` in one: ``sleep`` moves ``now`` on."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def install_clock(monkeypatch) -> Clock:
    """A clock that the deadlines and rounds of ``_common.rounds`` read and sleep on, for this test."""
    fake = Clock()
    monkeypatch.setattr(rounds.time, "monotonic", fake)
    monkeypatch.setattr(rounds.time, "sleep", fake.sleep)
    return fake
