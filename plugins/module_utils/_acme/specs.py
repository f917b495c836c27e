# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the certificate and order lists the ACME modules receive.

Bad input must fail the whole call with one message that names the
certificate, the field and the value, before any ACME request is made; a
half-processed batch with one bad entry is much harder to reason about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import DEFAULT_KEY_TYPE, KEY_TYPES
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import (
    certificate_name_error,
    name_error,
    normalize,
)

# An ARI certificate identifier (RFC 9773 section 4.1): base64url of the
# Authority Key Identifier, ".", base64url of the serial number, no padding.
ARI_CERT_ID = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class SpecError(ValueError):
    """The input is wrong; the message names the certificate, field and value."""


@dataclass(frozen=True)
class CertSpec:
    """One certificate as the ACME modules work on it: names normalized, key type checked."""

    name: str
    names: tuple
    key_type: str = DEFAULT_KEY_TYPE
    profile: str | None = None
    order_url: str | None = None
    replaces: str | None = None


def _label(index: int, item) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and name:
        return "certificate %r" % name
    return "certificate #%d" % index


def _check_name(index: int, item: dict) -> str:
    name = item.get("name")
    problem = certificate_name_error(name)
    if problem:
        raise SpecError("%s: field 'name' value %r %s" % (_label(index, item), name, problem))
    return name


def _check_names(index: int, item: dict) -> tuple:
    label = _label(index, item)
    names = item.get("names")
    if not isinstance(names, (list, tuple)) or not names:
        raise SpecError("%s: field 'names' value %r must be a non-empty list of DNS names" % (label, names))
    result = []
    for value in names:
        if not isinstance(value, str):
            raise SpecError("%s: field 'names' value %r is not a string" % (label, value))
        problem = name_error(value)
        if problem:
            raise SpecError("%s: field 'names' value %r %s" % (label, value, problem))
        normalized = normalize(value)
        if normalized in result:
            raise SpecError("%s: field 'names' value %r is listed twice" % (label, value))
        result.append(normalized)
    return tuple(result)


def _check_key_type(index: int, item: dict) -> str:
    key_type = item.get("key_type") or DEFAULT_KEY_TYPE
    if key_type not in KEY_TYPES:
        raise SpecError(
            "%s: field 'key_type' value %r is not one of %s" % (_label(index, item), key_type, ", ".join(KEY_TYPES))
        )
    return key_type


def _check_profile(index: int, item: dict) -> str | None:
    profile = item.get("profile")
    if profile is None or profile == "":
        return None
    if not isinstance(profile, str):
        raise SpecError("%s: field 'profile' value %r is not a string" % (_label(index, item), profile))
    return profile


def _check_replaces(index: int, item: dict) -> str | None:
    replaces = item.get("replaces")
    if replaces is None or replaces == "":
        return None
    if not isinstance(replaces, str) or not ARI_CERT_ID.fullmatch(replaces.strip()):
        raise SpecError(
            "%s: field 'replaces' value %r is not an ARI certificate id (base64url key identifier, '.', "
            "base64url serial number, as cert_expiry_facts reports it)" % (_label(index, item), replaces)
        )
    return replaces.strip()


def certificate_problems(index: int, item: dict) -> list[str]:
    """Every field of one certificate entry that is wrong, one message per field.

    The role reports all of them at once before anything runs; the modules
    stop at the first (:func:`parse_certificates`).
    """
    problems = []
    for check in (_check_name, _check_names, _check_key_type, _check_profile, _check_replaces):
        try:
            check(index, item)
        except SpecError as exc:
            problems.append(str(exc))
    return problems


def _parse_entries(items, option: str, build) -> list[CertSpec]:
    """``build(index, item, name)`` for every entry of a list option; names must be unique.

    Raises SpecError on the first problem: the option is no list, an entry no
    mapping, a name bad or used twice, or whatever ``build`` finds.
    """
    if not isinstance(items, list):
        raise SpecError("%s must be a list, got %r" % (option, items))
    specs = []
    seen = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise SpecError("%s[%d] must be a mapping, got %r" % (option, index, item))
        name = _check_name(index, item)
        if name in seen:
            raise SpecError("certificate %r: field 'name' value %r is used by two %s" % (name, name, option))
        seen.add(name)
        specs.append(build(index, item, name))
    return specs


def parse_certificates(items) -> list[CertSpec]:
    """The ``certificates`` option of ``acme_dns01_order`` as specs; raises SpecError on the first problem."""

    def build(index: int, item: dict, name: str) -> CertSpec:
        return CertSpec(
            name=name,
            names=_check_names(index, item),
            key_type=_check_key_type(index, item),
            profile=_check_profile(index, item),
            replaces=_check_replaces(index, item),
        )

    return _parse_entries(items, "certificates", build)


def parse_orders(items) -> list[CertSpec]:
    """The ``orders`` option of ``acme_finalize`` (as ``acme_dns01_order`` returned them) as specs.

    ``order_url`` may be empty for an order that failed to be created; that
    certificate then fails alone instead of failing the whole call.
    """

    def build(index: int, item: dict, name: str) -> CertSpec:
        order_url = item.get("order_url")
        if order_url is not None and not isinstance(order_url, str):
            raise SpecError("%s: field 'order_url' value %r is not a string" % (_label(index, item), order_url))
        return CertSpec(
            name=name,
            names=_check_names(index, item),
            key_type=_check_key_type(index, item),
            profile=_check_profile(index, item),
            order_url=order_url or None,
        )

    return _parse_entries(items, "orders", build)
