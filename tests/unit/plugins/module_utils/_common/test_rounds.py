# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rounds: a deadline that spans calls, and a round that ends a wait only after its pause."""

from __future__ import annotations

import pytest
from fake_clock import install_clock

from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import DeadlineExceeded
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import (
    NO_ROUND,
    Round,
    RoundDeadline,
    RoundOver,
)


@pytest.fixture
def clock(monkeypatch):
    return install_clock(monkeypatch)


def test_a_round_is_over_after_its_seconds_and_no_round_never_is(clock):
    current = Round(10, clock=clock)
    assert not current.over()
    clock.now += 10
    assert current.over()
    assert not NO_ROUND.over()
    with pytest.raises(ValueError, match=r"round.seconds: must be positive, got 0"):
        Round(0)


def test_the_deadline_counts_earlier_rounds_and_names_the_whole_timeout(clock):
    deadline = RoundDeadline(120, waited=100)
    assert deadline.remaining() == 20
    deadline.sleep(30, "validation of 1 authorization(s)")  # never past the deadline
    assert clock.now == 120 and deadline.spent() == 120
    with pytest.raises(DeadlineExceeded, match=r"^timed out after 120s waiting for validation"):
        deadline.sleep(1, "validation of 1 authorization(s)")


def test_the_round_ends_after_the_pause_so_the_next_round_polls_no_sooner(clock):
    deadline = RoundDeadline(120, waited=10, round_=Round(5, clock=clock))
    deadline.sleep(2, "x")  # round not over yet
    with pytest.raises(RoundOver, match="^the order to become ready$"):
        deadline.sleep(4, "the order to become ready")
    assert clock.now == 106 and deadline.spent() == 16


def test_no_round_ends_a_wait_whose_deadline_has_passed(clock):
    deadline = RoundDeadline(20, waited=15, round_=Round(1, clock=clock))
    deadline.sleep(10, "x")  # slept to the deadline: the caller polls once more, then times out
    with pytest.raises(DeadlineExceeded):
        deadline.sleep(1, "x")


def test_without_round_keeps_the_deadline_and_drops_the_round(clock):
    deadline = RoundDeadline(60, waited=30, round_=Round(1, clock=clock))
    whole = deadline.without_round()
    whole.sleep(5, "the certificate to be issued")
    assert whole.remaining() == deadline.remaining() == 25 and whole.spent() == 35
