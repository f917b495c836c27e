# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-signed test certificates with chosen names, key type and validity."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key

_KEYS: dict = {}


def cached_key(key_type: str):
    """One key per type for the whole test session: RSA generation is slow."""
    if key_type not in _KEYS:
        _KEYS[key_type] = generate_private_key(key_type)
    return _KEYS[key_type]


def make_cert(
    names, key_type="ec256", days_left=60, lifetime=90, now=None, key=None, aki: bytes | None = None, serial=None
) -> bytes:
    """A PEM certificate for ``names`` that expires ``days_left`` days from ``now``.

    ``aki`` adds an Authority Key Identifier with that keyIdentifier (what
    gives a certificate an ARI identifier); ``serial`` fixes the serial number.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    key = key or cached_key(key_type)
    not_after = now + datetime.timedelta(days=days_left)
    not_before = not_after - datetime.timedelta(days=lifetime)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")]))
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
    )
    if aki is not None:
        identifier = x509.AuthorityKeyIdentifier(
            key_identifier=aki, authority_cert_issuer=None, authority_cert_serial_number=None
        )
        builder = builder.add_extension(identifier, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
