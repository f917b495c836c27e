# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files a certificate deployment writes on a host: their paths, content, modes and owner.

A web server's configuration names fixed paths:
``<dest>/<cert>/{privkey,cert,chain,fullchain}.pem`` for nginx, apache and
plain files, one ``<dest>/<cert>.pem`` holding the key and the full chain for
haproxy. This works out those files and their wanted content and modes and
compares them with what is on disk (reading, writing and putting back, without
following links, is ``disk.py``). No key material is ever put into a message.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import serialization, x509
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import certificate_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.identity import Identity, pem_identity
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import SERVER_TYPES
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import split_pem_chain

KINDS = ("privkey", "cert", "chain", "fullchain")
BUNDLE = "bundle"


#: (uid, gid) that leaves owner and group as they are.
NO_OWNER: tuple[int | None, int | None] = (None, None)


class DeployError(Exception):
    """Bad input or a file that cannot be read or written; the message names the field or path."""


@dataclass
class Material:
    """The PEM texts to deploy, each normalized to end in one newline."""

    privkey: str
    cert: str
    chain: str
    fullchain: str

    @property
    def serial(self) -> str:
        return format_serial(x509.load_pem_x509_certificate(self.cert.encode("ascii")).serial_number)

    @property
    def identity(self) -> Identity:
        """The leaf's serial and SHA-256 fingerprint, what the verify step compares with the served certificate."""
        return pem_identity(self.cert)


@dataclass
class Target:
    """One file to write: where, what, with which mode and owner (uid/gid None: leave as they are)."""

    kind: str
    path: str
    content: bytes = field(repr=False)
    mode: int
    uid: int | None = None
    gid: int | None = None
    #: The directory the deployment starts from (``dest``): no link is followed from here down.
    root: str | None = None

    @property
    def secret(self) -> bool:
        return self.kind in ("privkey", BUNDLE)


@dataclass
class Current:
    """What is at a target's path now."""

    path: str
    exists: bool
    content: bytes | None = field(default=None, repr=False)
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    root: str | None = None


def _blocks(field_name: str, text: str | None) -> list[str]:
    if not text:
        return []
    blocks = split_pem_chain(text)
    if not blocks:
        raise DeployError("%s holds no PEM certificate" % field_name)
    return blocks


def pem_material(privkey: str, cert_pem: str | None, chain_pem: str | None, fullchain_pem: str | None) -> Material:
    """Check and complete the PEM texts: the missing ones of cert/chain/fullchain are derived from the others.

    ``cert_pem`` or ``fullchain_pem`` is needed; the chain defaults to the
    fullchain without its leaf, the fullchain to the leaf and the chain. The
    private key must be unencrypted and belong to the leaf certificate.
    """
    if not privkey or "PRIVATE KEY-----" not in privkey:
        raise DeployError("privkey is not a PEM private key")
    given_cert = _blocks("cert_pem", cert_pem)
    given_chain = _blocks("chain_pem", chain_pem)
    given_full = _blocks("fullchain_pem", fullchain_pem)
    if not given_cert and not given_full:
        raise DeployError("one of cert_pem and fullchain_pem is required")
    leaf = given_cert[0] if given_cert else given_full[0]
    if chain_pem:
        chain = given_chain
    elif given_full:
        chain = given_full[1:]
    else:
        chain = given_cert[1:]
    full = given_full or [leaf] + chain
    if _squash(full[0]) != _squash(leaf):
        raise DeployError("fullchain_pem does not start with the certificate of cert_pem")
    material = Material(privkey.strip() + "\n", leaf, "".join(chain), "".join(full))
    _check_key_matches(material)
    return material


def _squash(pem: str) -> str:
    return "".join(pem.split())


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_key_matches(material: Material) -> None:
    try:
        certificate = x509.load_pem_x509_certificate(material.cert.encode("ascii"))
    except ValueError as exc:
        raise DeployError("the certificate does not parse: %s" % exc) from None
    try:
        key = serialization.load_pem_private_key(material.privkey.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError):
        # The parser's message may quote the input: say nothing about the key but that it is unusable.
        raise DeployError("privkey does not parse as an unencrypted PEM private key") from None
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise DeployError("privkey is not the key of the certificate (serial %s)" % material.serial)


def parse_mode(field_name: str, value) -> int:
    """A file mode from an octal string (``"0640"``) or a number as YAML reads an unquoted ``0640``."""
    if isinstance(value, bool):
        raise DeployError("%s value %r is not a file mode" % (field_name, value))
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text[2:] if text.lower().startswith("0o") else text, 8)
        except ValueError:
            raise DeployError("%s value %r is not an octal file mode such as '0644'" % (field_name, value)) from None
    if not 0 <= mode <= 0o7777:
        raise DeployError("%s value %r is not a file mode" % (field_name, value))
    return mode


def resolve_owner(owner: str | None, group: str | None) -> tuple[int | None, int | None]:
    """uid and gid for user and group names (or numbers); None where not given."""
    uid = gid = None
    if owner:
        try:
            uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise DeployError("owner value %r is not a user on this host" % owner) from None
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise DeployError("group value %r is not a group on this host" % group) from None
    return uid, gid


def check_cert_name(cert: str) -> None:
    """The certificate name becomes a file or directory name: one plain path component."""
    problem = certificate_name_error(cert)
    if problem:
        raise DeployError("cert value %r %s" % (cert, problem))


def plan_targets(
    cert: str, deploy_type: str, dest: str, material: Material, modes: tuple[int, int], owner: tuple = NO_OWNER
) -> list[Target]:
    """The files ``deploy_type`` needs for certificate ``cert`` under ``dest``.

    ``modes`` is (mode of the certificate files, mode of the key or bundle);
    ``owner`` is (uid, gid) as :func:`resolve_owner` returns them.
    """
    mode, key_mode = modes
    uid, gid = owner
    check_cert_name(cert)
    if not os.path.isabs(dest):
        raise DeployError("dest value %r is not an absolute path" % dest)
    if deploy_type not in SERVER_TYPES:
        raise DeployError("type value %r is not one of %s" % (deploy_type, ", ".join(SERVER_TYPES)))
    dest = os.path.normpath(dest)
    if deploy_type == "haproxy":
        bundle = (material.privkey + material.fullchain).encode("ascii")
        return [Target(BUNDLE, os.path.join(dest, cert + ".pem"), bundle, key_mode, uid, gid, dest)]
    texts = {
        "privkey": material.privkey,
        "cert": material.cert,
        "chain": material.chain,
        "fullchain": material.fullchain,
    }
    return [
        Target(
            kind,
            os.path.join(dest, cert, kind + ".pem"),
            texts[kind].encode("ascii"),
            key_mode if kind == "privkey" else mode,
            uid,
            gid,
            dest,
        )
        for kind in KINDS
    ]


def differences(target: Target, current: Current) -> list[str]:
    """What has to change for ``target``: ``absent``, or some of ``content``, ``mode``, ``owner``, ``group``."""
    if not current.exists:
        return ["absent"]
    found = []
    if current.content != target.content:
        found.append("content")
    if current.mode != target.mode:
        found.append("mode")
    if target.uid is not None and current.uid != target.uid:
        found.append("owner")
    if target.gid is not None and current.gid != target.gid:
        found.append("group")
    return found


def first_serial(content: bytes | None) -> str | None:
    """Serial (hex) of the first certificate in a PEM file's content; None when there is none readable."""
    if not content:
        return None
    try:
        blocks = split_pem_chain(content.decode("ascii", "replace"))
        if not blocks:
            return None
        return format_serial(x509.load_pem_x509_certificate(blocks[0].encode("ascii")).serial_number)
    except ValueError:
        return None


def describe(kind: str, mode: int | None, uid: int | None, gid: int | None, content: bytes | None) -> str:
    """One line about a file for diffs: mode, owner and, for certificate files, the leaf's serial. Never content."""
    parts = []
    if mode is not None:
        parts.append("mode %04o" % mode)
    if uid is not None or gid is not None:
        parts.append("owner %s:%s" % (_account_name(uid, pwd.getpwuid), _account_name(gid, grp.getgrgid)))
    if kind == "privkey":
        parts.append("private key")
    else:
        serial = first_serial(content)
        if serial:
            parts.append("certificate serial %s" % serial)
        elif kind == "chain" and content is not None and not content.strip():
            parts.append("empty chain")
        if kind == BUNDLE:
            parts.append("with private key")
    return ", ".join(parts)


def _account_name(number: int | None, lookup: Callable[[int], tuple]) -> str:
    """The user or group name of a uid or gid (``lookup`` is pwd.getpwuid or grp.getgrgid); the number if unknown."""
    if number is None:
        return "-"
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)
