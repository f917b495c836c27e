# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until every authoritative nameserver shows (or no longer shows) TXT values.

A CA validates against any one of a zone's nameservers, so one server that has
not loaded the update yet fails the challenge. This asks each address of each
authoritative server directly, without recursion, so no cache stands between
us and the truth. Resolvers are only used to find the zone and its servers.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import in_zone
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import NO_ROUND, Round, carried
from ansible_collections.certfleet.acme.plugins.module_utils._dns.nameservers import (
    QUERY_TIMEOUT,
    Answer,
    Discovery,
    DiscoveryError,
    Server,
    query_txt,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import STATES, values_by_name

MAX_ZONE_HOPS = 4
MAX_TABLE_ROWS = 200


@dataclass
class Check:
    """The progress of one record: where it is looked for and what was seen."""

    name: str
    values: list[str]
    zone: str | None = None
    servers: list[Server] | None = None
    error: str | None = None
    hops: int = 0
    answers: dict[Server, Answer] = field(default_factory=dict)
    done: set[Server] = field(default_factory=set)


def is_satisfied(state: str, wanted, answer: Answer) -> bool:
    """Whether one server's answer meets ``state`` for the wanted values."""
    if answer.values is None:
        return False
    if state == "present":
        return set(wanted) <= answer.values
    return not set(wanted) & answer.values


def _quoted(values) -> str:
    return ", ".join('"%s"' % value for value in sorted(values))


def describe(state: str, wanted, answer: Answer | None) -> str:
    """One line saying what a server answered, and what is wrong with it."""
    if answer is None:
        return "not asked yet"
    if answer.values is None:
        return answer.error or answer.status
    if not answer.values:
        text = "NXDOMAIN" if answer.status == "NXDOMAIN" else "no TXT values"
    else:
        text = _quoted(answer.values)
    if state == "present":
        missing = [value for value in wanted if value not in answer.values]
        if missing:
            text += " (missing %s)" % _quoted(missing)
    else:
        left = [value for value in wanted if value in answer.values]
        if left:
            text += " (still has %s)" % _quoted(left)
    return text


def format_table(rows: list[tuple[str, str, str]], limit: int = MAX_TABLE_ROWS) -> str:
    """Rows of (record, server, answered) as an aligned text table."""
    header = ("record", "server", "answered")
    shown = list(rows[:limit])
    widths = [max(len(row[i]) for row in [header] + shown) for i in range(2)]
    lines = ["%s | %s | %s" % (row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2]) for row in [header] + shown]
    lines.insert(1, "%s-+-%s-+-%s" % ("-" * widths[0], "-" * widths[1], "-" * len(header[2])))
    if len(rows) > limit:
        lines.append("... and %d more" % (len(rows) - limit))
    return "\n".join(lines)


def server_label(server: Server) -> str:
    if server.name == server.address:
        return server.address
    return "%s (%s)" % (server.name, server.address or "no address")


@dataclass
class WaitResult:
    """The outcome of :func:`wait_propagated`; ``message`` holds the table on failure.

    ``done`` is False when a round ended before the wait did; ``progress`` then says how far it got.
    """

    ok: bool
    records: list[dict]
    elapsed: float
    message: str = ""
    done: bool = True
    progress: str = ""


def _server_ok(check: Check, server: Server) -> bool:
    """An address counts when it answered right, or this host cannot reach it but can reach another of that NS."""
    if server in check.done:
        return True
    answer = check.answers.get(server)
    if answer is None or not answer.unusable:
        return False
    return any(
        other.name == server.name and other != server and not getattr(check.answers.get(other), "unusable", True)
        for other in check.servers or ()
    )


def _check_ok(check: Check) -> bool:
    return bool(check.servers) and all(_server_ok(check, server) for server in check.servers)


def _report(checks: list[Check]) -> list[dict]:
    records = []
    for check in checks:
        servers = []
        for server in check.servers or ():
            answer = check.answers.get(server)
            servers.append(
                {
                    "name": server.name,
                    "address": server.address,
                    "answered": sorted(answer.values) if answer and answer.values is not None else None,
                    "ok": _server_ok(check, server),
                    "error": answer.error if answer else None,
                }
            )
        records.append(
            {
                "name": check.name,
                "zone": check.zone,
                "ok": _check_ok(check),
                "servers": servers,
                "error": check.error,
            }
        )
    return records


def _failure_rows(state: str, checks: list[Check]) -> list[tuple[str, str, str]]:
    rows = []
    for check in checks:
        if _check_ok(check):
            continue
        if not check.servers:
            rows.append((check.name, "-", check.error or "no nameservers found"))
            continue
        for server in check.servers:
            if not _server_ok(check, server):
                rows.append(
                    (check.name, server_label(server), describe(state, check.values, check.answers.get(server)))
                )
    return rows


def progress_line(state: str, checks: list[Check]) -> str:
    """How far the wait got, in one short line: counts and the first server still waited on."""
    total = seen = 0
    waiting = []
    for check in checks:
        good = [server for server in check.servers or () if _server_ok(check, server)]
        for value in check.values:
            total += 1
            if check.servers and all(
                server in good or is_satisfied(state, [value], check.answers.get(server) or Answer(status="none"))
                for server in check.servers
            ):
                seen += 1
        if not check.servers:
            waiting.append("the nameservers of %s" % check.name)
        waiting.extend(
            "%s for %s" % (server_label(server), check.name) for server in check.servers or () if server not in good
        )
    line = "%d/%d values %s every nameserver" % (seen, total, "seen on" if state == "present" else "gone from")
    if waiting:
        line += "; still waiting on %s" % waiting[0]
        if len(waiting) > 1:
            line += " (and %d more)" % (len(waiting) - 1)
    return line


def wait_propagated(
    records,
    state: str = "present",
    timeout: float = 120,
    interval: float = 2,
    resolvers: list[str] | None = None,
    nameservers: list[str] | None = None,
    query: Callable[[str, str, float], Answer] | None = None,
    discovery: Discovery | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_workers: int = 32,
    waited: float = 0.0,
    round_: Round = NO_ROUND,
) -> WaitResult:
    """Poll every authoritative address for every record until ``state`` holds everywhere or time runs out.

    ``nameservers`` replaces discovery by a fixed list of addresses (hidden or
    split-horizon setups); then ``resolvers`` is not used. ``query`` and
    ``discovery`` are replaceable for tests. ``waited`` seconds of ``timeout``
    went to earlier rounds; when ``round_`` is over before the wait, the result
    has ``done`` False and the next round starts afresh (discovery included).
    """
    if state not in STATES:
        raise ValueError("state: must be one of %s, got %r" % (", ".join(STATES), state))
    if timeout < 0:
        raise ValueError("timeout: must not be negative, got %r" % (timeout,))
    if waited < 0:
        raise ValueError("round.waited: must not be negative, got %r" % (waited,))
    if interval <= 0:
        raise ValueError("interval: must be positive, got %r" % (interval,))
    for address in nameservers or ():
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError("nameservers: %r is not an IP address" % (address,)) from None
    merged = values_by_name(records)
    query = query or query_txt
    start = clock() - waited
    deadline = start + timeout
    checks = [Check(name=name, values=values) for name, values in merged.items()]
    if nameservers:
        fixed = [Server(address, address) for address in nameservers]
        for check in checks:
            check.servers = list(fixed)
    elif checks and discovery is None:
        discovery = Discovery(resolvers)

    def find_zone(check: Check) -> None:
        if check.zone is None:
            try:
                check.zone = discovery.zone_of(check.name)
            except DiscoveryError as exc:
                check.error = str(exc)

    def find_servers(zone: str) -> tuple[list[Server] | None, str | None]:
        try:
            return discovery.servers_of(zone), None
        except DiscoveryError as exc:
            return None, str(exc)

    def ask(pair: tuple[Check, Server]) -> Answer:
        check, server = pair
        if not server.address:
            return Answer(status="error", error="nameserver %s has no A/AAAA address" % server.name)
        remaining = deadline - clock()
        return query(check.name, server.address, max(0.5, min(QUERY_TIMEOUT, remaining)))

    while True:
        pending = [check for check in checks if check.servers is None]
        if pending:
            # Zones first (one walk-up per parent name), then servers once per zone.
            map_concurrently(find_zone, pending, max_workers)
            zones = sorted({check.zone for check in pending if check.zone})
            found = dict(zip(zones, map_concurrently(find_servers, zones, max_workers)))
            for check in pending:
                if check.zone:
                    check.servers, check.error = found[check.zone]
        pairs = [
            (check, server) for check in checks if check.servers for server in check.servers if server not in check.done
        ]
        for (check, server), answer in zip(pairs, map_concurrently(ask, pairs, max_workers)):
            if check.servers is None:
                continue  # moved to a child zone by an earlier answer of this round
            check.answers[server] = answer
            if is_satisfied(state, check.values, answer):
                check.done.add(server)
            elif (
                answer.referral
                and check.zone
                and answer.referral != check.zone
                and in_zone(answer.referral, check.zone)
                and in_zone(check.name, answer.referral)
                and check.hops < MAX_ZONE_HOPS
                and not nameservers
            ):
                # The name lies in a child zone (it may be a zone apex itself): look there instead.
                check.zone, check.servers, check.hops = answer.referral, None, check.hops + 1
                check.answers, check.done = {}, set()
        if all(_check_ok(check) for check in checks):
            return WaitResult(True, _report(checks), round(clock() - start, 2))
        now = clock()
        if now >= deadline:
            break
        if round_.over():
            progress = "%s; %d s of %s s" % (progress_line(state, checks), now - start, timeout)
            return WaitResult(False, _report(checks), carried(now - start), done=False, progress=progress)
        sleep(min(interval, deadline - now))

    rows = _failure_rows(state, checks)
    waiting = sum(1 for check in checks if not _check_ok(check))
    message = "timed out after %ss: %d of %d record(s) not %s on every authoritative nameserver:\n%s" % (
        timeout,
        waiting,
        len(checks),
        "published" if state == "present" else "removed",
        format_table(rows),
    )
    return WaitResult(False, _report(checks), round(clock() - start, 2), message)
