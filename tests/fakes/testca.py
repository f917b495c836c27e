# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway CAs and leaves for the HTTPS fakes and the tests, built in one place.

The fakes need a listener certificate that the client trusts, the fake CA
issues certificates, and tests write "earlier" certificates; all of them are
the same x509 builder calls with different names, lifetimes and extensions.
A CA carries what RFC 5280 asks of one unless told otherwise (basicConstraints
critical CA:TRUE, keyUsage keyCertSign and cRLSign, subjectKeyIdentifier):
Python 3.13 verifies strictly by default and refuses a CA certificate without
them ("CA cert does not include key usage extension"). The listener leaves
carry an authorityKeyIdentifier and a subjectAltName for the same reason.
Other leaf extensions are added only when asked for. Loaded as a sibling
module, like serving.py.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def x509_name(common_name: str, organization: str | None = None) -> x509.Name:
    """A subject with a common name (and an organization first, when given)."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    return x509.Name(attributes + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(
    subject: x509.Name,
    not_before,
    not_after,
    key=None,
    ski: bool = True,
    path_length: int | None = 0,
    extensions: tuple = (),
    usage: bool = True,
):
    """A self-signed CA: ``(key, certificate)``; ``extensions`` are ``(extension, critical)`` pairs.

    ``usage`` adds the critical keyUsage of a CA (unless ``extensions`` has one) and ``ski`` a
    SubjectKeyIdentifier after them; a test turns them off to get a CA that strict verification refuses.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    if usage and not any(isinstance(extension, x509.KeyUsage) for extension, _critical in extensions):
        extensions = (key_usage(cert_sign=True),) + tuple(extensions)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def make_leaf(
    ca_key,
    issuer: x509.Name,
    public_key,
    sans: list,
    not_before,
    not_after,
    subject: x509.Name | None = None,
    serial: int | None = None,
    extensions: tuple = (),
    san_critical: bool = True,
):
    """A certificate for ``sans`` (GeneralNames, or DNS names as strings) signed by ``ca_key``.

    ``extensions`` are ``(extension, critical)`` pairs added after the SAN.
    """
    names = [x509.DNSName(item) if isinstance(item, str) else item for item in sans]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject if subject is not None else x509.Name([]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=san_critical)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, hashes.SHA256())


def key_usage(cert_sign: bool) -> tuple:
    """The critical ``(KeyUsage, True)`` pair: digital signatures, and certificate and CRL signing for a CA."""
    unused = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    flags = dict.fromkeys(unused + ("encipher_only", "decipher_only"), False)
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=cert_sign, crl_sign=cert_sign, **flags)
    return usage, True


def server_auth() -> tuple:
    """The ``(extension, critical)`` pair of a TLS server certificate's extended key usage."""
    return x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False


def pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def write_private(path: str, text: str) -> None:
    """Write a private key, readable by its owner only."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as handle:
        handle.write(text)


def write_listener_tls(directory: str, host: str, ca_subject: x509.Name) -> tuple[str, str, str]:
    """A CA and a listener certificate for localhost and ``host`` in ``directory``: (ca.pem, listener.pem, .key)."""
    os.makedirs(directory, exist_ok=True)
    start = now()
    ca_key, ca_cert = make_ca(ca_subject, start - DAY, start + 30 * DAY)
    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
    listener = make_leaf(
        ca_key,
        ca_subject,
        key.public_key(),
        sans,
        start - DAY,
        start + 30 * DAY,
        extensions=((aki, False), server_auth()),
    )
    paths = tuple(os.path.join(directory, item) for item in ("ca.pem", "listener.pem", "listener.key"))
    for path, text in zip(paths[:2], (pem(ca_cert), pem(listener))):
        with open(path, "w", encoding="ascii") as handle:
            handle.write(text)
    write_private(paths[2], key_pem(key))
    return paths


def server_context(cert_path: str, key_path: str):
    """The TLS context of a listener with this certificate and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
