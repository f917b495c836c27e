# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_wait_propagated in rounds: each round says how far the wait got, and all rounds keep one timeout."""

from __future__ import annotations

from test_propagation import REC, Clock, FakeDiscovery, Zone

from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import Round
from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import wait_propagated

NAME = "_acme-challenge.example.com"
LAGGING = {"192.0.2.1": {NAME: {"wild", "apex"}}, "192.0.2.2": {NAME: {"wild"}}}


def rounds_until_done(zone, clock, seconds, **kwargs):
    """Call wait_propagated round after round as the action plugin does; the results of every call."""
    results, waited = [], 0.0
    while True:
        result = wait_propagated(
            REC,
            query=zone.query,
            discovery=FakeDiscovery(),
            clock=clock,
            sleep=clock.sleep,
            waited=waited,
            round_=Round(seconds, clock=clock),
            **kwargs,
        )
        results.append(result)
        if result.done:
            return results
        waited = result.elapsed


def test_a_round_that_ends_early_reports_counts_and_the_first_server_waited_on():
    clock = Clock()
    first = rounds_until_done(Zone(LAGGING), clock, 4, timeout=10, interval=2)[0]
    assert not first.done and not first.ok and first.message == ""
    assert first.progress == (
        "1/2 values seen on every nameserver; still waiting on ns2.example.com (192.0.2.2) for %s; 4 s of 10 s" % NAME
    )
    assert first.elapsed == 4


def test_rounds_keep_the_timeout_and_the_message_of_one_call():
    clock = Clock()
    results = rounds_until_done(Zone(LAGGING), clock, 4, timeout=10, interval=2)
    assert [result.done for result in results] == [False, False, True]
    last = results[-1]
    assert last.elapsed == 10 and clock.now == 1010  # never past the timeout, all rounds together
    alone = Clock()
    single = wait_propagated(
        REC,
        query=Zone(LAGGING).query,
        discovery=FakeDiscovery(),
        clock=alone,
        sleep=alone.sleep,
        timeout=10,
        interval=2,
    )
    assert last.message.splitlines()[0] == single.message.splitlines()[0]
    assert last.message.startswith("timed out after 10s: 1 of 1 record(s) not published")


def test_a_wait_that_ends_within_its_round_is_done_at_once():
    clock = Clock()
    data = {address: {NAME: {"wild", "apex"}} for address in ("192.0.2.1", "192.0.2.2")}
    [result] = rounds_until_done(Zone(data), clock, 4, timeout=10)
    assert result.done and result.ok and result.elapsed == 0 and result.progress == ""


def test_absent_counts_values_gone_and_names_records_without_nameservers():
    clock = Clock()
    zone = Zone({"192.0.2.1": {NAME: {"wild"}}, "192.0.2.2": {}})
    result = wait_propagated(
        REC + [{"name": "_acme-challenge.lost.example.org", "values": ["x"]}],
        state="absent",
        query=zone.query,
        discovery=FakeDiscovery(fail={"_acme-challenge.lost.example.org"}),
        clock=clock,
        sleep=clock.sleep,
        timeout=30,
        round_=Round(1, clock=clock),
    )
    assert result.progress == (
        "1/3 values gone from every nameserver; still waiting on ns1.example.com (192.0.2.1) for %s (and 1 more); "
        "2 s of 30 s" % NAME
    )
