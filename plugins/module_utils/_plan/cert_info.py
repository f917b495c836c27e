# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read certificates into the plain facts the modules return and store.

``cert.json``, ``acme_finalize``'s result and ``cert_expiry_facts`` all
describe a certificate the same way (names, serial, validity, issuer, key
type); deriving them in one place keeps those three views identical.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import x509
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def split_pem_chain(text: str | bytes) -> list[str]:
    """The PEM blocks of a chain, leaf first, each ending in a newline.

    ACME servers return the chain as one ``application/pem-certificate-chain``
    document; it is split on the PEM markers rather than parsed so the bytes
    written to disk are exactly the ones the CA signed.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii")
    return [block + "\n" for block in _PEM_CERT.findall(text)]


def load_certificate(pem: str | bytes):
    """Parse the first certificate of a PEM document."""
    if isinstance(pem, str):
        pem = pem.encode("ascii")
    return x509.load_pem_x509_certificate(pem)


def load_der_certificate(der: bytes):
    """Parse one DER certificate (what a TLS handshake hands over)."""
    return x509.load_der_x509_certificate(der)


def dns_names(cert) -> list[str]:
    """The certificate's DNS subjectAltNames, normalized, in certificate order.

    Only the SAN counts: CAs issue for SANs, and a CN that is missing there is
    not a name the certificate is valid for.
    """
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [normalize(name) for name in extension.value.get_values_for_type(x509.DNSName)]


def not_before(cert) -> datetime.datetime:
    """notBefore as an aware UTC datetime (cryptography < 42 only has the naive attribute)."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def not_after(cert) -> datetime.datetime:
    """notAfter as an aware UTC datetime (cryptography < 42 only has the naive attribute)."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def certificate_info(cert) -> dict:
    """The facts kept about a certificate: names, serial (hex), validity, issuer and key type."""
    return {
        "names": dns_names(cert),
        "serial": format_serial(cert.serial_number),
        "not_before": iso_utc(not_before(cert)),
        "not_after": iso_utc(not_after(cert)),
        "issuer": cert.issuer.rfc4514_string(),
        "key_type": key_type_of(cert.public_key()),
    }
