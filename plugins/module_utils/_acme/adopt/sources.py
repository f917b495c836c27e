# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a certificate where another ACME client left it, in that client's own layout.

Moving to this collection should not cost a re-issue of every certificate
(and the CA's rate limits): the files certbot, dehydrated and dnscontrol
get-certs wrote are read as they are. certbot and dehydrated keep
``privkey.pem`` etc. as symlinks to numbered or dated files (certbot's
``archive/``, dehydrated's ``cert-<timestamp>.pem``): the links are followed,
they are the source (the state directory itself never holds a link).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import split_pem_chain

CERTBOT = "certbot"
DEHYDRATED = "dehydrated"
DNSCONTROL = "dnscontrol"
#: The layouts a certificate can be adopted from (the ``from`` of an adoption).
LAYOUTS = (CERTBOT, DEHYDRATED, DNSCONTROL)

# certbot: <config_dir>/live/<name>/; dehydrated: <BASEDIR>/certs/<name>/ (same four file names).
_LINKED_DIRS = {CERTBOT: "live", DEHYDRATED: "certs"}
# The largest file read: a PEM key or chain is a few kB, a JSON resource less.
_MAX_BYTES = 1024 * 1024


class SourceError(Exception):
    """A source that cannot be adopted: the message names the path and the problem."""


@dataclass
class Source:
    """What a client's layout holds for one certificate (the key stays in memory, never in a result)."""

    layout: str
    path: str
    key_pem: bytes = field(repr=False)
    leaf_pem: str
    chain_pems: list
    files: dict


def where(path: str) -> str:
    """``path``, and where its link leads when it is one (an error names the file really read)."""
    if os.path.islink(path):
        return "%s (-> %s)" % (path, os.path.realpath(path))
    return path


def read_file(path: str) -> bytes:
    """The bytes of a source file, through its links; SourceError when it is missing, unreadable or too large."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        if os.path.islink(path):
            raise SourceError("%s: a dangling link (no file at the end)" % where(path)) from None
        raise SourceError("%s: no such file" % path) from None
    except OSError as exc:
        raise SourceError("%s: cannot be read: %s" % (where(path), exc.strerror or exc)) from None
    if len(data) > _MAX_BYTES:
        raise SourceError("%s: larger than %d bytes, not a PEM file" % (where(path), _MAX_BYTES))
    return data


def read_pem_blocks(path: str) -> list[str]:
    """The certificate PEM blocks of a file, leaf first; SourceError when it holds none."""
    data = read_file(path)
    try:
        blocks = split_pem_chain(data)
    except UnicodeDecodeError:
        blocks = []
    if not blocks:
        raise SourceError("%s: holds no PEM certificate" % where(path))
    return blocks


def _linked_layout(layout: str, base: str, name: str) -> Source:
    """certbot's ``live/<name>/`` or dehydrated's ``certs/<name>/``: cert.pem and chain.pem, checked by fullchain.pem."""
    directory = os.path.join(base, _LINKED_DIRS[layout], name)
    if not os.path.isdir(directory):
        raise SourceError(
            "%s: no such directory (%s keeps %s/<name>/ under %s)" % (directory, layout, _LINKED_DIRS[layout], base)
        )
    files = {part: os.path.join(directory, part + ".pem") for part in ("privkey", "cert", "chain", "fullchain")}
    key_pem = read_file(files["privkey"])
    leaf_pem = read_pem_blocks(files["cert"])[0]
    fullchain = read_pem_blocks(files["fullchain"]) if os.path.lexists(files["fullchain"]) else None
    if os.path.lexists(files["chain"]) or fullchain is None:
        chain_pems = read_pem_blocks(files["chain"])
    else:
        chain_pems = fullchain[1:]
    if fullchain is not None and (fullchain[0].strip() != leaf_pem.strip() or len(fullchain) < 2):
        raise SourceError("%s: does not hold cert.pem's certificate followed by its chain" % where(files["fullchain"]))
    return Source(layout, directory, key_pem, leaf_pem, chain_pems, _resolved(files))


def _dnscontrol_layout(base: str, name: str) -> Source:
    """dnscontrol get-certs: ``<dir>/certificates/<name>/<name>.{crt,key,json}`` (or those files directly in ``base``).

    The ``.crt`` is what lego hands back: the certificate followed by its chain.
    The ``.json`` is the ACME resource (domain, certUrl); dnscontrol treats a
    certificate without it as absent, so it must be there and readable.
    """
    nested = os.path.join(base, "certificates", name)
    directory = nested if os.path.isdir(nested) else base
    files = {part: os.path.join(directory, "%s.%s" % (name, part)) for part in ("key", "crt", "json")}
    if not os.path.lexists(files["crt"]):
        raise SourceError(
            "%s: no such file (dnscontrol get-certs keeps certificates/<name>/<name>.crt under %s)"
            % (os.path.join(nested, name + ".crt"), base)
        )
    blocks = read_pem_blocks(files["crt"])
    if len(blocks) < 2:
        raise SourceError("%s: holds the certificate without its chain" % where(files["crt"]))
    key_pem = read_file(files["key"])
    try:
        resource = json.loads(read_file(files["json"]))
    except ValueError as exc:
        raise SourceError(
            "%s: not the JSON of an ACME certificate resource: %s" % (where(files["json"]), exc)
        ) from None
    if not isinstance(resource, dict):
        raise SourceError("%s: not the JSON of an ACME certificate resource (no object)" % where(files["json"]))
    return Source(DNSCONTROL, directory, key_pem, blocks[0], blocks[1:], _resolved(files))


def _resolved(files: dict) -> dict:
    """Where each file really is (links followed), for the result and the errors."""
    return {part: os.path.realpath(path) for part, path in files.items() if os.path.lexists(path)}


def read_source(layout: str, path: str, name: str) -> Source:
    """The files of certificate ``name`` in ``layout`` under ``path``; SourceError naming the path and the problem."""
    if layout not in LAYOUTS:
        raise SourceError("%s: unknown layout %r, expected one of %s" % (path, layout, ", ".join(LAYOUTS)))
    if not name or "/" in name or name in (".", ".."):
        raise SourceError("%s: %r is not a certificate name of %s" % (path, name, layout))
    if not os.path.isdir(path):
        raise SourceError("%s: no such directory" % path)
    if layout == DNSCONTROL:
        return _dnscontrol_layout(path, name)
    return _linked_layout(layout, path, name)
