# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic updates (BIND, Knot, PowerDNS with TSIG) through dnspython.

Updates add and delete single resource records, never whole record sets, so
values that other certificates or other runs hold at the same name survive.
Updates go over TCP: a batch for a whole zone does not fit a UDP datagram, and
a lost UDP answer would leave us guessing whether an update was applied.
"""

from __future__ import annotations

import base64
import binascii
import socket

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import (
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
    dns,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.txt import rdata_value, split_strings

KEY_ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")

# One UPDATE message per this many changed RRs: far below the 64 KiB TCP
# message limit even for long names, and small enough for any server's limits.
MAX_CHANGES_PER_UPDATE = 500


def _tsig_algorithm(name: str):
    """dnspython's name of a TSIG algorithm; hmac-md5's wire name is not just 'hmac-md5'."""
    return dns.tsig.HMAC_MD5 if name == "hmac-md5" else dns.name.from_text(name)


def txt_rdata(value: str):
    """A TXT rdata holding ``value`` (one character-string: values are at most 255 bytes)."""
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, split_strings(value))


class Rfc2136Provider(DnsProvider):
    """A primary server that takes TSIG-signed dynamic updates."""

    TYPE = "rfc2136"
    SECRET_OPTIONS = ("key_secret",)
    REQUIRED_OPTIONS = ("server",)
    OPTIONAL_OPTIONS = ("port", "key_name", "key_secret", "key_algorithm", "timeout")
    # The TSIG key's name and algorithm are no secret: the server shows them in its logs and zone config.
    PUBLIC_OPTIONS = ("server", "port", "key_name", "key_algorithm", "timeout")
    LIBRARY = "dnspython"

    @classmethod
    def missing_library(cls) -> str | None:
        return None if HAS_DNSPYTHON else DNSPYTHON_IMPORT_ERROR or "dnspython is not installed"

    def configure(self, config: dict) -> None:
        self.server: str = self.option_str(config, "server")
        self.port = int(self.option_number(config, "port", 53, 1, 65535, integer=True))
        self.timeout = self.option_number(config, "timeout", 10, 0.1, 3600)
        self.key_name = self.option_str(config, "key_name")
        key_secret = self.option_str(config, "key_secret")
        algorithm = (self.option_str(config, "key_algorithm", "hmac-sha256") or "").lower()
        if algorithm not in KEY_ALGORITHMS:
            raise self.config_error("key_algorithm", "must be one of %s" % ", ".join(KEY_ALGORITHMS), algorithm)
        if bool(self.key_name) != bool(key_secret):
            missing = "key_secret" if self.key_name else "key_name"
            raise self.config_error(
                missing, "is required when %s is set" % ("key_name" if self.key_name else "key_secret")
            )
        self.key_algorithm = algorithm
        self._key = None
        if self.key_name:
            try:
                secret = base64.b64decode("".join(key_secret.split()), validate=True)
            except (binascii.Error, ValueError):
                # The exception text may quote the secret: say what is wrong, never what it was.
                raise self.config_error("key_secret", "is not a base64-encoded TSIG secret") from None
            if not secret:
                raise self.config_error("key_secret", "is empty after base64 decoding")
            if HAS_DNSPYTHON:
                try:
                    key_name = dns.name.from_text(self.key_name)
                except dns.exception.DNSException as exc:
                    raise self.config_error("key_name", "is not a valid DNS name: %s" % exc, self.key_name) from None
                self._key = dns.tsig.Key(key_name, secret, _tsig_algorithm(algorithm))
        self._address: str | None = None

    # ----------------------------------------------------------------- network
    def _where(self) -> str:
        """The server's address; a host name is resolved once, on first use."""
        if self._address is None:
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in self.server else socket.AF_INET, self.server)
                self._address = self.server
            except OSError:
                try:
                    infos = socket.getaddrinfo(self.server, self.port, proto=socket.IPPROTO_TCP)
                except OSError as exc:
                    raise self.error(None, "cannot resolve server %r: %s" % (self.server, exc)) from None
                self._address = infos[0][4][0]
        return self._address

    def _send(self, message, record: str | None):
        """Send over TCP; turn transport and TSIG failures into ProviderError."""
        where = self._where()
        try:
            return dns.query.tcp(message, where, timeout=self.timeout, port=self.port)
        except dns.exception.Timeout:
            raise self.error(
                record, "no answer from %s port %d within %ss" % (where, self.port, self.timeout)
            ) from None
        except dns.tsig.PeerError as exc:
            # BADKEY / BADSIG / BADTIME: the server does not accept our key.
            raise self.error(record, "TSIG rejected by the server: %s" % (exc or type(exc).__name__)) from None
        except (dns.exception.DNSException, OSError, EOFError) as exc:
            raise self.error(record, "%s port %d: %s" % (where, self.port, exc or type(exc).__name__)) from None

    def read_values(self, zone: str, fqdn: str) -> set[str]:
        name = dns.name.from_text(normalize(fqdn))
        query = dns.message.make_query(name, dns.rdatatype.TXT)
        query.flags &= ~dns.flags.RD
        if self._key is not None:
            query.use_tsig(self._key)
        response = self._send(query, fqdn)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN and response.flags & dns.flags.AA:
            return set()
        if rcode != dns.rcode.NOERROR:
            raise self.error(fqdn, "query refused by %s: %s" % (self.server, dns.rcode.to_text(rcode)))
        if not response.flags & dns.flags.AA:
            raise self.error(fqdn, "%s is not authoritative for %s (zone %s)" % (self.server, fqdn, zone))
        values: set[str] = set()
        for rrset in response.answer:
            if rrset.name == name and rrset.rdtype == dns.rdatatype.TXT:
                values.update(rdata_value(rdata) for rdata in rrset)
        return values

    def _update(self, zone: str, changes: list[tuple[str, str]], ttl: int | None) -> None:
        """Send the changes in as few UPDATE messages as fit; ttl None means delete."""
        for start in range(0, len(changes), MAX_CHANGES_PER_UPDATE):
            chunk = changes[start : start + MAX_CHANGES_PER_UPDATE]
            update = dns.update.UpdateMessage(normalize(zone) + ".")
            if self._key is not None:
                update.use_tsig(self._key)
            for fqdn, value in chunk:
                name = dns.name.from_text(normalize(fqdn))
                if ttl is None:
                    update.delete(name, txt_rdata(value))
                else:
                    update.add(name, ttl, txt_rdata(value))
            names = sorted({change[0] for change in chunk})
            label = names[0] if len(names) == 1 else None
            response = self._send(update, label)
            rcode = response.rcode()
            if rcode != dns.rcode.NOERROR:
                raise self.error(
                    label,
                    "update of zone %s refused by %s: %s" % (normalize(zone), self.server, dns.rcode.to_text(rcode)),
                )

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        self._update(zone, [(fqdn, value) for fqdn, values in records.items() for value in values], int(ttl))

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        self._update(zone, [(fqdn, value) for fqdn, values in records.items() for value in values], None)
