# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide which certificates are due for renewal, and why.

This runs at the start of every renewal for the whole fleet, so it reads the
files in-process with cryptography (no ``openssl`` subprocess per
certificate) and only ever reads: deciding is separate from acting.
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.certfleet.acme.plugins.module_utils.cert_info import (
    certificate_info,
    iso_utc,
    load_certificate,
    not_after,
    not_before,
    utc_now,
)
from ansible_collections.certfleet.acme.plugins.module_utils.names import normalize

REASONS = ("missing", "expiring", "names_changed", "key_type_changed")

_DAY = 86400.0


def default_cert_path(state_dir: str, name: str) -> str:
    """Where ``acme_finalize`` writes the leaf certificate of ``name``."""
    return os.path.join(state_dir, name, "cert.pem")


def missing_fact() -> dict:
    """The fact for a certificate that is not there (or not readable as one)."""
    return {
        "exists": False,
        "not_after": None,
        "days_left": None,
        "lifetime_days": None,
        "names": [],
        "issuer": None,
        "serial": None,
        "key_type": None,
        "needs_renewal": True,
        "reason": "missing",
    }


def renewal_reason(info: dict, remaining: datetime.timedelta, wanted_names, wanted_key_type, renew_days: int):
    """The first reason, in the order of :data:`REASONS`, that makes this certificate due, or None.

    Names compare as sets of normalized names, so order, case and a trailing
    dot in the inventory do not cause a renewal.
    """
    if remaining < datetime.timedelta(days=renew_days):
        return "expiring"
    if wanted_names is not None and {normalize(name) for name in wanted_names} != set(info["names"]):
        return "names_changed"
    if wanted_key_type and wanted_key_type != info["key_type"]:
        return "key_type_changed"
    return None


def expiry_fact(cert, wanted_names=None, wanted_key_type=None, renew_days: int = 30, now=None) -> dict:
    """The expiry fact of one parsed certificate, compared with what the inventory wants."""
    now = now or utc_now()
    info = certificate_info(cert)
    expires = not_after(cert)
    remaining = expires - now
    reason = renewal_reason(info, remaining, wanted_names, wanted_key_type, renew_days)
    return {
        "exists": True,
        "not_after": iso_utc(expires),
        "days_left": int(remaining.total_seconds() // _DAY),
        "lifetime_days": int(round((expires - not_before(cert)).total_seconds() / _DAY)),
        "names": info["names"],
        "issuer": info["issuer"],
        "serial": info["serial"],
        "key_type": info["key_type"],
        "needs_renewal": reason is not None,
        "reason": reason,
    }


def read_fact(path: str, wanted_names=None, wanted_key_type=None, renew_days: int = 30, now=None):
    """The fact for the certificate file at ``path`` and a warning, or None, when it could not be used.

    A file that exists but does not parse counts as missing: renewing it is
    the only way to get a usable certificate there again.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return missing_fact(), None
    except OSError as exc:
        return missing_fact(), "cannot read %s: %s" % (path, exc)
    try:
        cert = load_certificate(data)
    except ValueError as exc:
        return missing_fact(), "%s is not a PEM certificate (%s); treating it as missing" % (path, exc)
    return expiry_fact(cert, wanted_names, wanted_key_type, renew_days, now), None


def expiry_facts(certificates: list[dict], state_dir: str | None, renew_days: int, now=None):
    """Facts for every certificate, keyed by name, plus the warnings met on the way.

    Each entry of ``certificates`` has ``name`` and optionally ``path``,
    ``names`` and ``key_type``; without ``path`` the file is looked up under
    ``state_dir``.
    """
    now = now or utc_now()
    facts = {}
    warnings = []
    for item in certificates:
        path = item.get("path") or default_cert_path(state_dir, item["name"])
        fact, warning = read_fact(path, item.get("names"), item.get("key_type"), renew_days, now)
        facts[item["name"]] = fact
        if warning:
            warnings.append("certificate %r: %s" % (item["name"], warning))
    return facts, warnings


def due_names(facts: dict) -> list[str]:
    """The names of the certificates that need renewal, in input order."""
    return [name for name, fact in facts.items() if fact["needs_renewal"]]
