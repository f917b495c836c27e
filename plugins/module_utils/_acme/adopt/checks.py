# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether another client's certificate can serve as the entry it is adopted into.

An adopted certificate is deployed like an issued one, so it must hold up as
one: the key is the certificate's, the chain parses and starts with the
certificate's issuer, and every name of the entry is covered. A name the
certificate has beyond the entry, or another key type, is only a warning: the
certificate is still good today, and the next run renews it for the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.sources import Source, SourceError, where
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import public_key_der
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import serialization
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import dns_names, load_certificate


@dataclass
class Checked:
    """A source that passed the checks: its key (in memory only), leaf, and what the next run would make of it."""

    source: Source
    key: object = field(repr=False)
    leaf: object
    key_type: str | None
    warnings: list


def _key_file(source: Source) -> str:
    return source.files.get("privkey") or source.files.get("key") or source.path


def _cert_file(source: Source) -> str:
    return source.files.get("cert") or source.files.get("crt") or source.path


def _chain_file(source: Source) -> str:
    return source.files.get("chain") or source.files.get("fullchain") or source.files.get("crt") or source.path


def load_key(source: Source):
    """The private key; SourceError for an encrypted file or one that holds no key."""
    try:
        return serialization.load_pem_private_key(source.key_pem, password=None)
    except TypeError:
        raise SourceError("%s: the private key is encrypted; adopt an unencrypted key" % _key_file(source)) from None
    except ValueError:
        raise SourceError("%s: holds no PEM private key" % _key_file(source)) from None


def _parse(pem: str, path: str, what: str):
    try:
        return load_certificate(pem)
    except ValueError as exc:
        raise SourceError("%s: %s cannot be parsed: %s" % (where(path), what, exc)) from None


def check_source(source: Source, names: list, key_type: str | None = None) -> Checked:
    """The checked source for an entry with ``names`` (and ``key_type``, when the entry sets one)."""
    key = load_key(source)
    leaf = _parse(source.leaf_pem, _cert_file(source), "the certificate")
    chain = [
        _parse(pem, _chain_file(source), "chain certificate %d" % (index + 1))
        for index, pem in enumerate(source.chain_pems)
    ]
    if not chain:
        raise SourceError("%s: holds no chain (intermediate) certificate" % where(_chain_file(source)))
    if public_key_der(key) != public_key_der(leaf.public_key()):
        raise SourceError(
            "%s: the private key does not match the certificate in %s" % (where(_key_file(source)), _cert_file(source))
        )
    if leaf.issuer != chain[0].subject:
        raise SourceError(
            "%s: the chain starts with %s, not with the certificate's issuer %s"
            % (where(_chain_file(source)), chain[0].subject.rfc4514_string(), leaf.issuer.rfc4514_string())
        )
    has = dns_names(leaf)
    wanted = [normalize(name) for name in names]
    missing = [name for name in wanted if name not in has]
    if missing:
        raise SourceError(
            "%s: the certificate does not cover %s (it is for %s)"
            % (where(_cert_file(source)), ", ".join(missing), ", ".join(has) or "no DNS name")
        )
    warnings = []
    extra = [name for name in has if name not in wanted]
    if extra:
        warnings.append(
            "the certificate also covers %s, which the entry does not list: the next run renews it for the entry's "
            "names (names_changed)" % ", ".join(extra)
        )
    actual = key_type_of(key)
    if key_type and actual != key_type:
        warnings.append(
            "its key is %s, the entry asks for %s: the next run renews it with a new key (key_type_changed)"
            % (actual or "of a type this collection does not issue", key_type)
        )
    return Checked(source, key, leaf, actual, warnings)
