# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which certificate a server serves: the SHA-256 of its DER, not its serial number.

A serial is chosen by whoever signs the certificate, so two certificates can
share one (a test CA, a self-signed certificate, a CA that reuses serials):
a serial match says nothing about the key or the names served. The check
after a reload therefore compares the SHA-256 of the DER bytes, which only
the same certificate has; the serial stays in results and messages because
that is what a person compares with ``openssl x509 -noout -serial``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import serialization, x509
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import split_pem_chain
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import fetch_served_der

#: Hex digits of the fingerprint shown in messages (the result keys hold all 64).
SHORT = 16


@dataclass(frozen=True)
class Identity:
    """A certificate as the verify step compares it: ``fingerprint`` decides, ``serial`` is for people."""

    fingerprint: str
    serial: str | None = None

    def same(self, other: Identity | None) -> bool:
        return other is not None and other.fingerprint == self.fingerprint

    def __str__(self) -> str:
        return "serial %s, SHA-256 %s" % (self.serial or "unreadable", self.fingerprint[:SHORT])


def der_identity(der: bytes) -> Identity:
    """The identity of a DER certificate; its serial None when it does not parse (the fingerprint still counts)."""
    try:
        serial = format_serial(x509.load_der_x509_certificate(der).serial_number)
    except ValueError:
        serial = None
    return Identity(hashlib.sha256(der).hexdigest().upper(), serial)


def pem_identity(content: bytes | str | None) -> Identity | None:
    """The identity of the first certificate in PEM ``content``; None when there is none readable."""
    if not content:
        return None
    text = content.decode("ascii", "replace") if isinstance(content, bytes) else content
    try:
        blocks = split_pem_chain(text)
        if not blocks:
            return None
        certificate = x509.load_pem_x509_certificate(blocks[0].encode("ascii"))
    except ValueError:
        return None
    return der_identity(certificate.public_bytes(serialization.Encoding.DER))


def served_identity(host: str, port: int, sni: str | None, timeout: float) -> Identity:
    """The identity of the leaf ``host:port`` serves for ``sni``; raises ServedCertError."""
    return der_identity(fetch_served_der(host, port, sni, timeout))
