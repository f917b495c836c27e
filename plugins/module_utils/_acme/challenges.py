# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From ACME authorizations to the TXT records that must be published.

DNS providers and the propagation check work per TXT owner name, and a
wildcard and its apex (``*.example.org`` and ``example.org``) are validated
at the same name with two different values. Records are therefore grouped
by owner name with all their values, both per order and across the batch.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import (
    CertificateFailure,
    authorization_problem,
    local_problem,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import challenge_name, normalize

DNS01 = "dns-01"


def dns01_challenge(authz):
    """The dns-01 challenge of an authorization, or None when the CA offers none."""
    for challb in authz.challenges or ():
        if getattr(challb.chall, "typ", None) == DNS01:
            return challb
    return None


def authorization_records(authz, account_key) -> list[tuple]:
    """The ``(txt_name, value)`` pairs one authorization needs; none once it is valid.

    Raises CertificateFailure for an authorization that can no longer become
    valid (invalid, expired, deactivated, revoked) or offers no dns-01.
    """
    status = authz.status.name
    if status == "valid":
        return []
    if status != "pending":
        raise CertificateFailure(authorization_problem(authz))
    challb = dns01_challenge(authz)
    if challb is None:
        raise CertificateFailure(local_problem("the CA offers no dns-01 challenge for %s" % authz.identifier.value))
    # For a wildcard the identifier is the base name with wildcard=true, so
    # the owner name is the same as for the apex.
    return [(challenge_name(authz.identifier.value), challb.chall.validation(account_key))]


def group_records(pairs) -> list[dict]:
    """``(name, value)`` pairs as ``[{name, txt_values}]``: one entry per name, names and values sorted and unique.

    Sorting makes the result independent of the order in which the CA lists
    authorizations, so a resumed order reports exactly the same records.
    """
    grouped: dict[str, set] = {}
    for name, value in pairs:
        grouped.setdefault(normalize(name), set()).add(value)
    return [{"name": name, "txt_values": sorted(grouped[name])} for name in sorted(grouped)]


def merge_records(record_lists) -> list[dict]:
    """All records of all orders, merged by name (two certificates may share an owner name)."""
    pairs = []
    for records in record_lists:
        for record in records or ():
            pairs.extend((record["name"], value) for value in record["txt_values"])
    return group_records(pairs)
