# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until every authoritative nameserver shows (or no longer shows) TXT values.

A CA validates against any one of a zone's nameservers, so one server that has
not loaded the update yet fails the challenge. This asks each address of each
authoritative server directly, without recursion, so no cache stands between
us and the truth. Resolvers are only used to find the zone and its servers.
"""

from __future__ import annotations

import errno
import ipaddress
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import in_zone, normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import merge_records

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

STATES = ("present", "absent")
QUERY_TIMEOUT = 3.0
MAX_ZONE_HOPS = 4
MAX_TABLE_ROWS = 200
# Address-family problems of this host, not of the server: an IPv6 address
# cannot be reached from a host without IPv6 connectivity.
_UNUSABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL}


class DiscoveryError(Exception):
    """The zone or its nameservers of a record could not be found."""


@dataclass(frozen=True)
class Server:
    """One address of one authoritative nameserver."""

    name: str
    address: str


@dataclass(frozen=True)
class Answer:
    """What one server address said about one TXT name.

    ``values`` is None when there was no usable authoritative answer; then
    ``error`` says why. ``referral`` names a child zone the server delegates
    the name to. ``unusable`` marks an address this host cannot reach at all.
    """

    values: frozenset | None = None
    status: str = ""
    error: str | None = None
    referral: str | None = None
    unusable: bool = False


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


def _txt_value(rdata) -> str:
    return b"".join(rdata.strings).decode("utf-8", "replace")


def query_txt(name: str, address: str, timeout: float = QUERY_TIMEOUT, port: int = 53) -> Answer:
    """Ask ``address`` directly, recursion off, for the TXT values at ``name`` (UDP, TCP on truncation)."""
    qname = dns.name.from_text(normalize(name))
    query = dns.message.make_query(qname, dns.rdatatype.TXT, use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    try:
        response, _used_tcp = dns.query.udp_with_fallback(query, address, timeout=timeout, port=port)
    except dns.exception.Timeout:
        return Answer(status="timeout", error="timeout after %gs" % timeout)
    except OSError as exc:
        unusable = exc.errno in _UNUSABLE_ERRNOS and ipaddress.ip_address(address).version == 6
        return Answer(status="error", error=exc.strerror or str(exc), unusable=unusable)
    except dns.exception.DNSException as exc:
        return Answer(status="error", error="bad response: %s" % (exc or type(exc).__name__))
    rcode = response.rcode()
    status = dns.rcode.to_text(rcode)
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return Answer(status=status, error=status)
    if not response.flags & dns.flags.AA:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.NS and qname.is_subdomain(rrset.name):
                child = rrset.name.to_text(omit_final_dot=True)
                return Answer(status="referral", error="referral to zone %s" % child, referral=normalize(child))
        return Answer(status=status, error="%s without the authoritative flag: not authoritative" % status)
    values = set()
    for rrset in response.answer:
        if rrset.name != qname:
            continue
        if rrset.rdtype == dns.rdatatype.TXT:
            values.update(_txt_value(rdata) for rdata in rrset)
        elif rrset.rdtype == dns.rdatatype.CNAME:
            target = rrset[0].target.to_text(omit_final_dot=True)
            return Answer(status="CNAME", error="CNAME to %s (wait for the target name instead)" % target)
    return Answer(values=frozenset(values), status=status)


class Discovery:
    """Finds a record's zone and the addresses of the zone's nameservers, cached per zone."""

    def __init__(self, resolvers: list[str] | None = None, lifetime: float = 5.0):
        try:
            self.resolver = dns.resolver.Resolver(configure=not resolvers)
        except dns.exception.DNSException as exc:
            raise DiscoveryError("no usable system resolver configuration: %s" % exc) from None
        if resolvers:
            self.resolver.nameservers = list(resolvers)
        self.resolver.lifetime = lifetime
        self.resolver.cache = dns.resolver.Cache()
        self._lock = threading.Lock()
        self._zones: dict[str, str] = {}
        self._servers: dict[str, list[Server]] = {}

    def zone_of(self, name: str) -> str:
        """The zone holding ``name``, found by an SOA walk-up starting at its parent.

        Starting at the parent keeps the resolver from caching NXDOMAIN for
        the TXT name itself while it is still propagating: a CA using the
        same resolver would then fail the challenge for the negative TTL. A
        name that is itself a zone apex is found through the referral its
        parent zone's servers give.
        """
        parent = dns.name.from_text(normalize(name)).parent()
        key = parent.to_text()
        with self._lock:
            if key in self._zones:
                return self._zones[key]
        try:
            zone_name = dns.resolver.zone_for_name(parent, resolver=self.resolver)
        except dns.exception.DNSException as exc:
            raise DiscoveryError("cannot find the zone of %s: %s" % (name, exc or type(exc).__name__)) from None
        zone = normalize(zone_name.to_text(omit_final_dot=True)) or "."
        with self._lock:
            self._zones[key] = zone
        return zone

    def _addresses(self, host: str) -> list[str]:
        addresses = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = self.resolver.resolve(host, rdtype)
            except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                continue
            addresses.extend(rdata.address for rdata in answer)
        return addresses

    def servers_of(self, zone: str) -> list[Server]:
        """Every address of every NS of ``zone``; a NS without address is returned with address ''."""
        with self._lock:
            if zone in self._servers:
                return self._servers[zone]
        try:
            answer = self.resolver.resolve(zone + ".", "NS")
            hosts = sorted({normalize(rdata.target.to_text()) for rdata in answer})
            servers = []
            for host in hosts:
                addresses = self._addresses(host)
                servers.extend(Server(host, address) for address in sorted(addresses))
                if not addresses:
                    servers.append(Server(host, ""))
        except dns.exception.DNSException as exc:
            raise DiscoveryError(
                "cannot find the nameservers of zone %s: %s" % (zone, exc or type(exc).__name__)
            ) from None
        with self._lock:
            self._servers[zone] = servers
        return servers


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
    """The outcome of :func:`wait_propagated`; ``message`` holds the table on failure."""

    ok: bool
    records: list[dict]
    elapsed: float
    message: str = ""


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
                    "values": sorted(answer.values) if answer and answer.values is not None else None,
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
) -> WaitResult:
    """Poll every authoritative address for every record until ``state`` holds everywhere or time runs out.

    ``nameservers`` replaces discovery by a fixed list of addresses (hidden or
    split-horizon setups); then ``resolvers`` is not used. ``query`` and
    ``discovery`` are replaceable for tests.
    """
    if state not in STATES:
        raise ValueError("state: must be one of %s, got %r" % (", ".join(STATES), state))
    if timeout < 0:
        raise ValueError("timeout: must not be negative, got %r" % (timeout,))
    if interval <= 0:
        raise ValueError("interval: must be positive, got %r" % (interval,))
    for address in nameservers or ():
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError("nameservers: %r is not an IP address" % (address,)) from None
    merged = merge_records(records)
    query = query or query_txt
    start = clock()
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

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        while True:
            pending = [check for check in checks if check.servers is None]
            if pending:
                # Zones first (one walk-up per parent name), then servers once per zone.
                list(pool.map(find_zone, pending))
                zones = sorted({check.zone for check in pending if check.zone})
                found = dict(zip(zones, pool.map(find_servers, zones)))
                for check in pending:
                    if check.zone:
                        check.servers, check.error = found[check.zone]
            pairs = [
                (check, server)
                for check in checks
                if check.servers
                for server in check.servers
                if server not in check.done
            ]
            for (check, server), answer in zip(pairs, pool.map(ask, pairs)):
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
