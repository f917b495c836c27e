# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's adoption list (letsencrypt_dns_adopt) checked against its certificates, and shaped for the module.

An adoption names a certificate entry by its ``name``; the names and key type
the certificate must have come from that entry, so they are written once. A
name that is no entry would adopt a certificate that nothing renews: it is
refused with the run's other input problems, before anything changes. The
types, the fields and ``from`` are checked by the role's argument spec.
"""

from __future__ import annotations

ADOPT_VARIABLE = "letsencrypt_dns_adopt"
#: How many known certificate names an error lists.
_SHOWN = 5


def _names_of(certificates) -> list[str]:
    if not isinstance(certificates, list):
        return []
    return [entry["name"] for entry in certificates if isinstance(entry, dict) and isinstance(entry.get("name"), str)]


def adopt_errors(adopt, certificates) -> list[str]:
    """One message per adoption that names no certificate entry, or a certificate adopted twice."""
    if not isinstance(adopt, list):
        return []  # the argument spec names the wrong type
    known = _names_of(certificates)
    errors, seen = [], set()
    for index, item in enumerate(adopt):
        if not isinstance(item, dict):
            continue
        cert = item.get("cert")
        where = "%s[%d]" % (ADOPT_VARIABLE, index)
        if cert not in known:
            shown = ", ".join(known[:_SHOWN]) + (" and %d more" % (len(known) - _SHOWN) if len(known) > _SHOWN else "")
            errors.append(
                "%s: cert %r is the name of no entry of letsencrypt_dns_certificates (%s)"
                % (where, cert, shown or "it is empty")
            )
        elif cert in seen:
            errors.append("%s: cert %r is adopted twice" % (where, cert))
        seen.add(cert)
    return errors


def adopt_certificates(adopt, certificates) -> list[dict]:
    """The certificate_adopt entries of the adoptions whose certificate is in ``certificates`` (this run's)."""
    entries = {entry["name"]: entry for entry in certificates or [] if isinstance(entry, dict) and "name" in entry}
    selected = []
    for item in adopt or []:
        entry = entries.get(item.get("cert"))
        if entry is None:
            continue
        selected.append(
            {
                "name": entry["name"],
                "names": list(entry.get("names") or []),
                "key_type": entry.get("key_type"),
                "from": item["from"],
                "path": item["path"],
                "source_name": item.get("source_name") or entry["name"],
            }
        )
    return selected
