# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's input checks: the certificate and provider lists, refused before the first ACME order or DNS write.

A bad entry found halfway through a fleet run leaves orders pending and TXT
records behind. The role therefore checks its whole input first, with the
ACME modules' own field checks plus what only the whole list shows (names
used twice, names in no provider's zone), and reaches these through filters.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import certificate_problems
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import (
    certificate_name_error,
    challenge_name,
    longest_zone,
    name_error,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import entry_problems

# The stage of a certificate refused by the input checks, in the report and the run's closing message.
VALIDATION = "validation"


def provider_errors(providers) -> list[str]:
    """Problems with the provider list: routing fields, unknown types and options, API URLs refused.

    The type and option checks are the modules' own (``entry_problems``), so a
    misspelt option is refused here, before any order, not by the first DNS
    task. Secrets are never echoed: messages name the provider and the field only.
    """
    if not isinstance(providers, list):
        return ["letsencrypt_dns_providers must be a list, got %s" % type(providers).__name__]
    errors = []
    seen = set()
    for index, provider in enumerate(providers):
        where = "letsencrypt_dns_providers[%d]" % index
        if not isinstance(provider, dict):
            errors.append("%s must be a mapping" % where)
            continue
        name = provider.get("name")
        if not name or not isinstance(name, str):
            errors.append("%s: field 'name' is missing" % where)
        elif name in seen:
            errors.append("%s: provider name %r is used twice" % (where, name))
        else:
            seen.add(name)
            where = "provider %r" % name
        if not provider.get("type"):
            errors.append("%s: field 'type' is missing" % where)
        else:
            errors.extend("%s: field %r %s" % (where, field, reason) for field, reason in entry_problems(provider))
        zones = provider.get("zones")
        if not isinstance(zones, list) or not zones:
            errors.append("%s: field 'zones' must be a non-empty list, got %r" % (where, zones))
            continue
        for zone in zones:
            problem = name_error(zone) if isinstance(zone, str) else "is not a string"
            if problem:
                errors.append("%s: zone %r %s" % (where, zone, problem))
    return errors


def input_problems(certificates, providers, default_key_type: str = "ec256", check_zones: bool = True) -> dict:
    """The problems of the input, split by what they cost: the run, or one certificate.

    ``errors`` are run-level messages (the provider list, the certificate list
    as a whole, an entry that is no mapping or has no usable name): the run
    cannot start. ``refused`` holds one run_failures entry (stage
    ``validation``) per named certificate with problems, its messages joined:
    the role can leave just that certificate out (letsencrypt_dns_keep_going).
    Field checks are the ACME modules' own (acme_specs), so the role refuses
    exactly what the modules would; on top come what only the role can see:
    certificate names used twice and names that lie in no provider's zone.
    With CNAME following the zone is only known after DNS lookups, so
    ``check_zones=False`` leaves that check to the challenge_zones module.
    """
    errors = provider_errors(providers)
    zones = [zone for provider in providers for zone in provider["zones"]] if check_zones and not errors else []
    if not isinstance(certificates, list):
        return {
            "errors": errors + ["letsencrypt_dns_certificates must be a list, got %s" % type(certificates).__name__],
            "refused": [],
        }
    refused: dict[str, list[str]] = {}
    seen = set()
    for index, cert in enumerate(certificates):
        if not isinstance(cert, dict):
            errors.append("letsencrypt_dns_certificates[%d] must be a mapping" % index)
            continue
        cert = dict(cert, key_type=cert.get("key_type") or default_key_type)
        label = cert.get("name")
        named = certificate_name_error(label) is None
        problems = certificate_problems(index, cert)
        if label in seen:
            problems.append("certificate %r: field 'name' value %r is used by two certificates" % (label, label))
        seen.add(label)
        names = cert.get("names") if isinstance(cert.get("names"), list) else []
        for name in names:
            if (
                zones
                and isinstance(name, str)
                and not name_error(name)
                and not longest_zone(challenge_name(name), zones)
            ):
                problems.append(
                    "certificate %r: field 'names' value %r lies in no zone of letsencrypt_dns_providers"
                    % (label, name)
                )
        if problems and named:
            refused.setdefault(label, []).extend(problems)
        else:
            errors.extend(problems)
    return {
        "errors": errors,
        "refused": [
            {"name": name, "stage": VALIDATION, "error": "; ".join(problems)} for name, problems in refused.items()
        ],
    }


def certificate_errors(certificates, providers, default_key_type: str = "ec256", check_zones: bool = True) -> list[str]:
    """Every problem with the certificate list, each naming the certificate, field and value (input_problems)."""
    problems = input_problems(certificates, providers, default_key_type, check_zones)
    return problems["errors"] + [entry["error"] for entry in problems["refused"]]


def with_defaults(certificates, key_type: str = "ec256") -> list[dict]:
    """The certificate list with the role-wide key type filled in where a certificate sets none."""
    result = []
    for cert in certificates or []:
        merged = {key: value for key, value in cert.items() if value is not None}
        merged.setdefault("key_type", key_type)
        result.append(merged)
    return result
