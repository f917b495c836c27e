# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider entries from AWX credentials, in the shape of ``letsencrypt_dns_providers``.

An AWX credential can inject only strings: every input is rendered as a Jinja2 template into a string, an input
left empty becomes ``""``, and a form has no list or mapping fields. The credential types under
extensions/awx/credential_types/ therefore inject one provider entry each as
``letsencrypt_dns_credential_provider_<type>``, and the role turns those into ordinary entries here: empty options
are dropped (so the provider's own default applies), ``zones`` is split at commas and white space, and a hook's
``environment`` is read from ``NAME=value`` lines. Numbers and booleans stay strings; the providers accept them
as strings already (YAML from templates).
"""

from __future__ import annotations

import re

_ZONE_SEPARATORS = re.compile(r"[\s,]+")


def _environment(value):
    """A hook's environment from ``NAME=value`` lines (a mapping is kept); blank lines and ``#`` lines are skipped."""
    if not isinstance(value, str):
        return value
    environment = {}
    for line in value.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, setting = line.partition("=")
        # A line without '=' is kept under its text as the name, so the provider refuses it naming the line
        # (a name never holds the secret value).
        environment[name.strip()] = setting if sep else None
    return environment


def credential_provider(entry):
    """One injected entry as a provider entry; anything that is not a mapping is returned as it is (refused later)."""
    if not isinstance(entry, dict):
        return entry
    result = {}
    for key, value in entry.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key == "zones" and isinstance(value, str):
            value = [zone for zone in _ZONE_SEPARATORS.split(value) if zone]
        elif key == "environment":
            value = _environment(value)
        elif isinstance(value, str) and key not in ("name", "type"):
            value = value.strip()
        result[key] = value
    return result


def credential_providers(entries) -> list:
    """Every injected entry (a list of them, or one) as provider entries; unset variables (None) are skipped."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        entries = [entries]
    return [credential_provider(entry) for entry in entries if entry is not None]
