# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lease of a remote state, on the local store: held, refused, renewed, released, taken over after expiry."""

from __future__ import annotations

import datetime
import json
import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._state import lease
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import ABSENT, StoreConflict
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore

T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def later(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path):
    return LocalStore(str(tmp_path / "state"))


def document(store) -> dict:
    return json.loads(store.get(".lock").data)


def test_acquire_creates_the_lease_document_with_owner_and_end(store):
    taken = lease.acquire(store, "run-1", "ctl-a", 4242, 900, now=T0)
    assert taken["acquired"] and taken["previous"] is None and taken["warnings"] == []
    assert (
        document(store)
        == taken["lease"]
        == {
            "run_id": "run-1",
            "host": "ctl-a",
            "pid": 4242,
            "acquired_at": "2025-03-01T12:00:00Z",
            "renewed_at": "2025-03-01T12:00:00Z",
            "expires_at": "2025-03-01T12:15:00Z",
        }
    )
    assert taken["version"] == store.version(".lock")


def test_a_second_run_fails_at_once_naming_the_holder_and_when_the_lease_ends(store):
    lease.acquire(store, "run-1", "ctl-a", 4242, 900, now=T0)
    with pytest.raises(lease.LeaseHeld) as caught:
        lease.acquire(store, "run-2", "ctl-b", 7, 900, now=later(300))
    assert str(caught.value) == (
        "state %s is held by run run-1 on ctl-a (pid 4242) until 2025-03-01T12:15:00Z (in 600 s); "
        "it started 2025-03-01T12:00:00Z" % store.describe()
    )
    assert caught.value.holder["run_id"] == "run-1"
    assert document(store)["run_id"] == "run-1"


def test_the_same_run_takes_its_own_lease_again(store):
    first = lease.acquire(store, "run-1", "ctl-a", 1, 900, now=T0)
    again = lease.acquire(store, "run-1", "ctl-a", 1, 900, now=later(60))
    assert again["warnings"] == [] and again["version"] != first["version"]
    assert again["lease"]["acquired_at"] == "2025-03-01T12:00:00Z"
    assert again["lease"]["expires_at"] == "2025-03-01T12:16:00Z"


def test_an_expired_lease_is_taken_over_with_a_warning_naming_the_old_owner(store):
    old = lease.acquire(store, "run-killed", "runner-7", 99, 60, now=T0)
    taken = lease.acquire(store, "run-2", "ctl-b", 7, 900, now=later(90))
    assert taken["acquired"] and taken["previous"] == old["lease"]
    assert taken["warnings"] == [
        "took over the lease of %s from run run-killed on runner-7 (pid 99), which expired at "
        "2025-03-01T12:01:00Z (30 s ago) without being released: that run was killed or lost its connection"
        % store.describe()
    ]
    assert document(store)["run_id"] == "run-2"
    with pytest.raises(StoreConflict, match="no longer this run's .*held by run run-2 on ctl-b"):
        lease.renew(store, "run-killed", old["version"], 60, now=later(91))
    assert lease.release(store, "run-killed") is False and document(store)["run_id"] == "run-2"


def test_an_unreadable_lease_is_taken_over_with_a_warning(store):
    store.put(".lock", b"not json", expect=ABSENT)
    taken = lease.acquire(store, "run-2", "ctl-b", 7, 900, now=T0)
    assert taken["previous"] is None
    assert taken["warnings"] == ["took over the lease of %s: the lease there was not readable" % store.describe()]


def test_renew_extends_the_end_and_keeps_the_start(store):
    taken = lease.acquire(store, "run-1", "ctl-a", 1, 300, now=T0)
    version = lease.renew(store, "run-1", taken["version"], 300, now=later(200))
    renewed = document(store)
    assert version == store.version(".lock") != taken["version"]
    assert renewed["acquired_at"] == "2025-03-01T12:00:00Z" and renewed["renewed_at"] == "2025-03-01T12:03:20Z"
    assert renewed["expires_at"] == "2025-03-01T12:08:20Z"
    with pytest.raises(StoreConflict, match="no longer this run's"):
        lease.renew(store, "run-1", taken["version"], 300, now=later(210))


def test_release_removes_only_our_own_lease(store):
    assert lease.release(store, "run-1") is False
    lease.acquire(store, "run-1", "ctl-a", 1, 300, now=T0)
    assert lease.release(store, "run-2") is False and store.get(".lock") is not None
    assert lease.release(store, "run-1") is True and store.get(".lock") is None
    with pytest.raises(StoreConflict, match="held by nobody"):
        lease.renew(store, "run-1", "0" * 64, 300)


def race(store, now, count=6) -> list:
    start = threading.Barrier(count)
    outcomes = []

    def take(number: int) -> None:
        start.wait()
        try:
            taken = lease.acquire(store, "run-%d" % number, "host-%d" % number, number, 900, now=now)
            outcomes.append(("won", taken["lease"]["run_id"]))
        except lease.LeaseHeld as exc:
            outcomes.append(("held", exc.holder["run_id"]))

    threads = [threading.Thread(target=take, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_acquirers_racing_for_a_free_lease_exactly_one_wins(store):
    outcomes = race(store, T0)
    winners = [run for outcome, run in outcomes if outcome == "won"]
    assert len(winners) == 1 and len(outcomes) == 6
    assert all(run == winners[0] for outcome, run in outcomes if outcome == "held")
    assert document(store)["run_id"] == winners[0]


def test_acquirers_racing_for_an_expired_lease_exactly_one_takes_it_over(store):
    lease.acquire(store, "run-killed", "runner-7", 99, 60, now=T0)
    outcomes = race(store, later(120))
    winners = [run for outcome, run in outcomes if outcome == "won"]
    assert len(winners) == 1 and "run-killed" not in [run for _outcome, run in outcomes]
    assert document(store)["run_id"] == winners[0]
