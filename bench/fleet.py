# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily run with nothing due: 1,000 existing certificates, for us and for certbot.

The certificates are signed locally with ``cryptography`` (one bench CA, one
EC P-256 key shared by all leaves: issuing through ACME is not what this
workload measures). Each is valid for 90 days and was issued 0 to 49 days
ago, so at least 41 days remain: none is due under a 30-day rule.

``write_ours`` lays them out as renew.yml keeps them (``<dir>/<name>/``
privkey, cert, chain, fullchain and cert.json); ``write_certbot`` as certbot
keeps lineages (``renewal/<name>.conf``, ``archive/<name>/*1.pem`` and
``live/<name>/*.pem`` links), set up to renew with dns-rfc2136.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UTC = datetime.timezone.utc


class Issuer:
    """A bench CA that signs leaf certificates for one shared key."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certfleet bench CA")])
        now = datetime.datetime.now(UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=365))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.chain_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)
        self.key_pem = self.leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key())

    def issue(self, names: list[str], age_days: int) -> x509.Certificate:
        not_before = datetime.datetime.now(UTC) - datetime.timedelta(days=age_days)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.name)
            .public_key(self.leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .add_extension(self.aki, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )


def fleet(count: int, prefix: str) -> list[dict]:
    return [
        {"name": "%s%d" % (prefix, index), "names": ["%s%d.example.test" % (prefix, index)]} for index in range(count)
    ]


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_ours(state_dir: Path, certificates: list[dict], issuer: Issuer) -> None:
    for index, cert in enumerate(certificates):
        directory = state_dir / cert["name"]
        directory.mkdir(parents=True, exist_ok=True)
        leaf = issuer.issue(cert["names"], index % 50)
        leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
        _write(directory / "privkey.pem", issuer.key_pem, 0o600)
        _write(directory / "cert.pem", leaf_pem)
        _write(directory / "chain.pem", issuer.chain_pem)
        _write(directory / "fullchain.pem", leaf_pem + issuer.chain_pem)
        document = {
            "name": cert["name"],
            "names": cert["names"],
            "key_type": "ec256",
            "serial": format(leaf.serial_number, "x"),
            "not_before": _iso(leaf.not_valid_before_utc),
            "not_after": _iso(leaf.not_valid_after_utc),
            "issuer": issuer.name.rfc4514_string(),
            "chain_issuer": issuer.name.rfc4514_string(),
            "order_url": None,
            "issued_at": _iso(leaf.not_valid_before_utc),
        }
        _write(directory / "cert.json", json.dumps(document).encode())


RENEWAL_CONF = """\
# renew_before_expiry = 30 days
version = {version}
archive_dir = {config}/archive/{name}
cert = {config}/live/{name}/cert.pem
privkey = {config}/live/{name}/privkey.pem
chain = {config}/live/{name}/chain.pem
fullchain = {config}/live/{name}/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = {account}
authenticator = dns-rfc2136
dns_rfc2136_credentials = {credentials}
dns_rfc2136_propagation_seconds = {propagation}
server = {server}
key_type = ecdsa
"""


def write_certbot(
    config: Path,
    certificates: list[dict],
    issuer: Issuer,
    *,
    version: str,
    account: str,
    credentials: Path,
    propagation: int,
    server: str,
) -> None:
    """Lineages as ``certbot certonly --authenticator dns-rfc2136`` leaves them."""
    (config / "renewal").mkdir(parents=True, exist_ok=True)
    for index, cert in enumerate(certificates):
        name = cert["name"]
        archive = config / "archive" / name
        live = config / "live" / name
        archive.mkdir(parents=True, exist_ok=True)
        live.mkdir(parents=True, exist_ok=True)
        leaf_pem = issuer.issue(cert["names"], index % 50).public_bytes(serialization.Encoding.PEM)
        files = {
            "cert": leaf_pem,
            "chain": issuer.chain_pem,
            "fullchain": leaf_pem + issuer.chain_pem,
            "privkey": issuer.key_pem,
        }
        for kind, data in files.items():
            _write(archive / ("%s1.pem" % kind), data, 0o600 if kind == "privkey" else 0o644)
            link = live / ("%s.pem" % kind)
            if link.is_symlink():
                link.unlink()
            os.symlink(os.path.join("..", "..", "archive", name, "%s1.pem" % kind), link)
        conf = RENEWAL_CONF.format(
            version=version,
            config=config,
            name=name,
            account=account,
            credentials=credentials,
            propagation=propagation,
            server=server,
        )
        (config / "renewal" / ("%s.conf" % name)).write_text(conf)
