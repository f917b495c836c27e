# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A certificate's files as the AWS targets send them, and the facts of a certificate AWS already holds.

The files are read and checked once (present, parseable, the key belongs to
the certificate) before AWS is contacted; the private key is kept out of
every repr, result and message.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import serialization
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import (
    load_certificate,
    not_after,
    split_pem_chain,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import read_file_set
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    CERT,
    CHAIN,
    FULLCHAIN,
    PEM_FILES,
    PRIVKEY,
)

_PEM_KEY_LINE = re.compile(r"^[A-Za-z0-9+/=]{16,}$")


@dataclass
class CertificateFiles:
    """A certificate's PEM files as read from ``<letsencrypt_dns_dir>/<name>``; the key is kept out of repr."""

    name: str
    directory: str
    cert: str
    chain: str
    fullchain: str
    serial: str
    not_after: str
    key_type: str | None
    privkey: str = field(repr=False, default="")

    def secret_document(self) -> str:
        """The Secrets Manager value: one JSON object (it holds the private key: never show it)."""
        return json.dumps(
            {
                "privkey": self.privkey,
                "cert": self.cert,
                "chain": self.chain,
                "fullchain": self.fullchain,
                "serial": self.serial,
                "not_after": self.not_after,
            },
            sort_keys=True,
        )


def _read_texts(cert_name: str, directory: str) -> dict[str, str]:
    """The four PEM files, all from one committed set (a renewal switching ``directory`` cannot mix two)."""
    try:
        raw = read_file_set(directory, list(PEM_FILES.values()))
    except FileNotFoundError as exc:
        missing = "such directory" if exc.filename in (None, directory) else os.path.basename(exc.filename)
        raise DeployError("cert_dir %r has no %s (is %r issued yet?)" % (directory, missing, cert_name)) from None
    except OSError as exc:
        raise DeployError("cannot read %s: %s" % (os.path.join(directory, exc.filename or ""), exc.strerror)) from None
    texts = {}
    for filename, data in raw.items():
        try:
            texts[filename] = data.decode("ascii")
        except UnicodeDecodeError:
            # Never the exception text: it quotes the content.
            raise DeployError("cannot read %s: not ASCII PEM text" % os.path.join(directory, filename)) from None
    return texts


def load_certificate_files(cert_name: str, directory: str) -> CertificateFiles:
    """Read and check the four PEM files: present, parseable, and the key belongs to the certificate."""
    texts = _read_texts(cert_name, directory)
    leaf_blocks = split_pem_chain(texts[CERT])
    if not leaf_blocks:
        raise DeployError("%s holds no PEM certificate" % os.path.join(directory, CERT))
    try:
        cert = load_certificate(leaf_blocks[0])
        for block in split_pem_chain(texts[CHAIN]):
            load_certificate(block)
    except ValueError:
        raise DeployError("cert.pem or chain.pem in %r is not a valid PEM certificate" % directory) from None
    try:
        key = serialization.load_pem_private_key(texts[PRIVKEY].encode("ascii"), password=None)
    except (ValueError, TypeError):
        # Never the exception text: it is about the key's content.
        raise DeployError("privkey.pem in %r is not an unencrypted PEM private key" % directory) from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise DeployError("privkey.pem in %r does not belong to cert.pem (a half-written renewal?)" % directory)
    return CertificateFiles(
        name=cert_name,
        directory=directory,
        cert=leaf_blocks[0],
        chain="".join(split_pem_chain(texts[CHAIN])),
        fullchain=texts[FULLCHAIN],
        serial=format_serial(cert.serial_number),
        not_after=iso_utc(not_after(cert)),
        key_type=key_type_of(cert.public_key()),
        privkey=texts[PRIVKEY],
    )


def private_key_fragments(pem: str) -> set[str]:
    """The key as a whole and each of its base64 lines: values the module must mask in every output."""
    fragments = {pem, pem.strip()} if pem.strip() else set()
    for line in pem.splitlines():
        line = line.strip()
        if _PEM_KEY_LINE.match(line):
            fragments.add(line)
    return fragments


def pem_facts(pem: str | None) -> dict:
    """Serial, expiry and key type of the first certificate of ``pem``; empty when it cannot be read."""
    blocks = split_pem_chain(pem or "")
    if not blocks:
        return {}
    try:
        cert = load_certificate(blocks[0])
    except ValueError:
        return {}
    return {
        "serial": format_serial(cert.serial_number),
        "not_after": iso_utc(not_after(cert)),
        "key_type": key_type_of(cert.public_key()),
    }
