# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS name rules shared by the ACME and DNS modules.

Every module must agree on what a valid certificate name is, which TXT name
validates it and which configured zone owns a name; keeping those rules in
one place is what lets the role reject bad input before anything changes.
Every pattern is applied with ``fullmatch``: ``$`` also matches before a
trailing newline, which once let ``"www\\n"`` through.
"""

from __future__ import annotations

import ipaddress
import re

CHALLENGE_LABEL = "_acme-challenge"

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Labels of owner names: host names plus underscore labels (``_acme-challenge``),
# which certificate names may not contain but TXT owners and zones may.
_OWNER_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A certificate name becomes a directory name under the state directory (see _state.layout) and a file name
# on the servers: one path component, no leading dot ("." / ".." / ".acme") or dash (an option to a tool), no
# separator, no control character, at most 128 characters.
_CERT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CERT_NAME_RULE = (
    "must start with a letter or digit and contain only letters, digits, '.', '_' and '-', without '..' "
    "(at most 128 characters)"
)


def normalize(name: str) -> str:
    """Lower-case, strip one trailing dot and convert to the IDNA (ASCII) form."""
    text = str(name).strip().rstrip(".").lower()
    if any(ord(char) > 127 for char in text):
        labels = []
        for label in text.split("."):
            labels.append(label if label == "*" else label.encode("idna").decode("ascii"))
        text = ".".join(labels)
    return text


def _labels(name) -> tuple[str | None, list[str]]:
    """The labels of ``name`` once normalized, or why it is no DNS name at all (the checks every name shares)."""
    try:
        text = normalize(name)
    except (UnicodeError, ValueError):
        return "is not a valid DNS name", []
    if not text:
        return "is empty", []
    if len(text) > 253:
        return "is longer than 253 characters", []
    return None, text.split(".")


def certificate_name_error(name) -> str | None:
    """Why ``name`` cannot name a certificate (its state directory and deployed files), or None when it can.

    The one check every module and the role apply, so no module writes
    ``<state_dir>/../outside`` or a file name with a newline in it.
    """
    if not isinstance(name, str) or not _CERT_NAME.fullmatch(name) or ".." in name:
        return CERT_NAME_RULE
    return None


def _ip_literal(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address: DNS-01 validates DNS names only."""
    try:
        ipaddress.ip_address(text[1:-1] if text.startswith("[") and text.endswith("]") else text)
    except ValueError:
        return False
    return True


def _bad_punycode(label: str) -> bool:
    """Whether an ``xn--`` label is no valid IDNA encoding (the CA would refuse it only after the order)."""
    if not label.startswith("xn--"):
        return False
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return True
    return False


def name_error(name: str) -> str | None:
    """Return why ``name`` cannot be in a certificate, or None when it can."""
    if isinstance(name, str) and _ip_literal(name.strip().rstrip(".")):
        return "is an IP address: DNS-01 validates DNS names only"
    problem, labels = _labels(name)
    if problem:
        return problem
    if "*" in ".".join(labels):
        if labels[0] != "*" or any("*" in label for label in labels[1:]):
            return "has a wildcard that is not the whole leftmost label"
        labels = labels[1:]
    if len(labels) < 2:
        return "is not a fully qualified name"
    for label in labels:
        if not _LABEL.fullmatch(label):
            return "has an invalid label %r" % label
        if _bad_punycode(label):
            return "has a label %r that is no valid IDNA (punycode) encoding" % label
    return None


def owner_name_error(name) -> str | None:
    """Why ``name`` is not a usable DNS owner name (TXT name or zone), or None.

    Unlike :func:`name_error` this allows underscore labels and single-label
    zones, because TXT owners (``_acme-challenge``) and delegated challenge
    zones use them.
    """
    if not isinstance(name, str):
        return "must be a string"
    problem, labels = _labels(name)
    if problem:
        return problem
    for label in labels:
        if not _OWNER_LABEL.fullmatch(label):
            return "has an invalid label %r" % label
    return None


def base_name(name: str) -> str:
    """The name without a leading wildcard label: what DNS-01 proves control of."""
    text = normalize(name)
    return text[2:] if text.startswith("*.") else text


def challenge_name(name: str) -> str:
    """The TXT owner name that validates ``name`` (wildcard and apex share it)."""
    return "%s.%s" % (CHALLENGE_LABEL, base_name(name))


def in_zone(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` itself or lies below it."""
    name = normalize(name)
    zone = normalize(zone)
    return name == zone or name.endswith("." + zone)


def longest_zone(name: str, zones) -> str | None:
    """The most specific of ``zones`` that contains ``name``, or None."""
    best = None
    for zone in zones:
        zone = normalize(zone)
        if in_zone(name, zone) and (best is None or len(zone) > len(best)):
            best = zone
    return best


def relative_name(name: str, zone: str) -> str:
    """``name`` relative to ``zone`` ('@' for the apex), as zone files write it."""
    name = normalize(name)
    zone = normalize(zone)
    if name == zone:
        return "@"
    return name[: -(len(zone) + 1)]
