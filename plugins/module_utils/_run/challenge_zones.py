# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's zone check: every certificate whose challenge name (after its CNAMEs) lies in no configured zone.

With CNAME following, where a TXT value must be written is only known after
DNS lookups, so the role's static input checks cannot see it. acme_dns01_order
would refuse such a name, but only at the order step and for the whole batch;
this check runs with the input checks, before any order or DNS write, and names
each certificate on its own so the role can leave just that one out. It uses
the order module's own CNAME resolution (_dns/cname.py), so both agree.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.cname import delegation_problems
from ansible_collections.certfleet.acme.plugins.module_utils._run.input_checks import VALIDATION


def _checked(certificates) -> list[dict]:
    """The entries, each with a name and a list of names; ValueError naming the first entry that has not."""
    if not isinstance(certificates, list):
        raise ValueError("certificates must be a list, got %s" % type(certificates).__name__)
    for index, cert in enumerate(certificates):
        if not isinstance(cert, dict) or not isinstance(cert.get("name"), str) or not cert["name"]:
            raise ValueError("certificates[%d]: field 'name' is missing or not a string" % index)
        names = cert.get("names")
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            raise ValueError(
                "certificate %r: field 'names' value %r must be a non-empty list of DNS names" % (cert["name"], names)
            )
    return certificates


def refused_certificates(certificates, zones, resolvers=(), follow_cnames: bool = True, resolve=None) -> dict:
    """``refused`` (run_failures entries, stage ``validation``) and ``delegations`` (challenge name -> target).

    A certificate is refused when one of its names cannot be served: its
    ``_acme-challenge`` name (or the end of its CNAME chain) lies in no zone of
    ``zones``, or the chain loops or cannot be looked up. Each refused
    certificate's entry names every such name. Names are taken as given
    (the input checks have refused malformed ones already); ``resolve`` stands
    in for the DNS lookups in tests.
    """
    certificates = _checked(certificates)
    specs = [
        CertSpec(name=cert["name"], names=tuple(normalize(name) for name in cert["names"])) for cert in certificates
    ]
    originals = {(cert["name"], normalize(name)): name for cert in certificates for name in cert["names"]}
    targets, problems = delegation_problems(specs, resolvers, zones, follow_cnames, resolve)
    refused: dict[str, list[str]] = {}
    for cert, value, cause in problems:
        refused.setdefault(cert, []).append(
            "certificate %r: field 'names' value %r: %s" % (cert, originals.get((cert, value), value), cause)
        )
    order = [spec.name for spec in specs]
    return {
        "refused": [
            {"name": name, "stage": VALIDATION, "error": "; ".join(refused[name])}
            for name in sorted(refused, key=order.index)
        ],
        "delegations": {name: target for name, target in sorted(targets.items()) if name != target},
    }
