# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private keys and CSRs for certificates, and telling key types apart.

The key type is part of what a certificate is supposed to be: a changed
``key_type`` must trigger a renewal and every renewal must use a fresh key of
that type. Generation and detection live together so the names used for key
types (``ec256`` ... ``rsa4096``) cannot drift between the two directions.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import KEY_TYPES, RSA_BITS
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import (
    NameOID,
    ec,
    hashes,
    rsa,
    serialization,
    x509,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize

# The longest commonName X.520 allows; longer first names are left to the SAN.
_MAX_COMMON_NAME = 64


def generate_private_key(key_type: str):
    """A new private key of ``key_type``; raises ValueError for an unknown type."""
    if key_type == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type in RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[key_type])
    raise ValueError("unknown key type %r, expected one of %s" % (key_type, ", ".join(KEY_TYPES)))


def private_key_pem(key) -> bytes:
    """Unencrypted PKCS#8 PEM: what nginx, Apache, HAProxy and AWS all read."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_der(key) -> bytes:
    """The DER SubjectPublicKeyInfo of a key or certificate public key, to compare keys by value."""
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def make_csr(key, names: list[str]) -> bytes:
    """A PEM CSR carrying every name as a DNS SAN, signed by ``key``.

    The subject CN is the first name when it fits the 64-character limit;
    otherwise the subject is empty, which RFC 8555 CAs accept because the SAN
    extension is what they validate and issue for.
    """
    normalized = [normalize(name) for name in names]
    if not normalized:
        raise ValueError("a CSR needs at least one name")
    subject = []
    if len(normalized[0]) <= _MAX_COMMON_NAME:
        subject.append(x509.NameAttribute(NameOID.COMMON_NAME, normalized[0]))
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(subject))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in normalized]), critical=False)
    )
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)
