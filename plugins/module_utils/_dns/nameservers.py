# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a name's zone and authoritative servers, and ask one server address directly for TXT values.

The propagation wait needs the truth of each authoritative server, not of a
cache: this asks without recursion, and uses resolvers only to find the zone,
its NS set and their addresses (cached per zone for one wait).
"""

from __future__ import annotations

import errno
import ipaddress
import threading
from dataclasses import dataclass

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import dns
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.txt import rdata_value

QUERY_TIMEOUT = 3.0
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
            values.update(rdata_value(rdata) for rdata in rrset)
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
