# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow CNAME-delegated ``_acme-challenge`` names to where the TXT value must be written.

Teams often point ``_acme-challenge.<name>`` at a zone made for validation
(one API key that can only touch that zone, or a name in someone else's
domain). The CA follows the CNAME chain, so the value has to be written at
its end, by the provider of that zone. All names are resolved before the
first order is created, so a loop or a chain ending outside every configured
zone is refused before anything changes.

A CNAME target must lie below a configured zone. A target outside every
zone is not followed further: whoever owns that name would decide where our
value lands, and looking it up through a resolver that only knows the
configured zones ends in a timeout, not an answer. A target that is a zone's
apex is refused too: the TXT value would sit beside the zone's SPF and
verification records, and the clean-up would work there.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import dns
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import (
    challenge_name,
    longest_zone,
    normalize,
)

MAX_HOPS = 8


class DelegationError(ValueError):
    """A challenge name cannot be written: CNAME loop, too long a chain, a lookup failure, or no zone."""


def make_resolver(resolvers, timeout: float = 10.0):
    """A resolver on the given addresses (the system's when empty), without a cache.

    A cache would hide a CNAME that was just created or removed.
    """
    resolver = dns.resolver.Resolver(configure=not resolvers)
    if resolvers:
        resolver.nameservers = list(resolvers)
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 3.0)
    return resolver


def cname_chain(name: str, resolver, zones=()) -> list[str]:
    """``name`` followed by every CNAME target in turn; the last entry holds the TXT record.

    With ``zones``, a target outside all of them ends the chain unresolved (see :func:`target_problem`).
    """
    chain = [normalize(name)]
    while len(chain) == 1 or not zones or longest_zone(chain[-1], zones) is not None:
        try:
            answer = resolver.resolve(chain[-1], dns.rdatatype.CNAME, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return chain
        except dns.exception.DNSException as exc:
            raise DelegationError("cannot look up the CNAME of %s: %s" % (chain[-1], exc)) from exc
        if answer.rrset is None:
            return chain
        target = normalize(answer.rrset[0].target.to_text())
        if target in chain:
            raise DelegationError("CNAME loop: %s" % " -> ".join(chain + [target]))
        chain.append(target)
        if len(chain) > MAX_HOPS + 1:
            raise DelegationError("CNAME chain longer than %d hops: %s" % (MAX_HOPS, " -> ".join(chain)))
    return chain


def target_problem(chain: list[str], zones) -> str | None:
    """Why the TXT value of ``chain[0]`` cannot be written at the end of ``chain``, or None.

    The end must lie in one of ``zones``; a CNAME target must lie below one, not at a zone's apex. Every
    message names the challenge name, the chain and the configured zones.
    """
    if not zones:
        return None
    name, target = chain[0], chain[-1]
    listed = ", ".join(sorted({normalize(zone) for zone in zones}))
    zone = longest_zone(target, zones)
    if len(chain) == 1:
        return None if zone else "%s lies in no zone of the providers (%s)" % (name, listed)
    path = " -> ".join(chain[1:])
    if zone is None:
        return (
            "%s is delegated by CNAME to %s, which lies in no zone of the providers (%s): a CNAME target must lie "
            "below a configured zone" % (name, path, listed)
        )
    if target == zone:
        return (
            "%s is delegated by CNAME to %s, the apex of the zone %s: a CNAME target must lie below a configured "
            "zone, not at its apex" % (name, path, zone)
        )
    return None


def delegation_problems(
    specs, resolvers=(), zones=(), follow_cnames: bool = True, resolve=None
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Every challenge name of ``specs`` mapped to the name its TXT value is written at, and what cannot be served.

    The problems are ``(certificate, name, cause)``, one per certificate and name that cannot be served: a CNAME
    loop or lookup failure, or a final name outside ``zones`` (when zones are given). The role's input check
    (challenge_zones) refuses those certificates alone; acme_dns01_order refuses the batch (plan_delegation).
    """
    wanted: dict[str, list[tuple[str, str]]] = {}
    for spec in specs:
        for name in spec.names:
            wanted.setdefault(challenge_name(name), []).append((spec.name, name))
    chains: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    if follow_cnames and wanted:
        if resolve is None:
            resolver = make_resolver(resolvers)

            def resolve(name):
                return cname_chain(name, resolver, zones)

        def attempt(name):
            try:
                return name, resolve(name), None
            except DelegationError as exc:
                return name, None, str(exc)

        for name, chain, problem in map_concurrently(attempt, sorted(wanted), 16):
            if problem:
                problems[name] = problem
            else:
                chains[name] = chain
    else:
        chains = {name: [name] for name in wanted}
    for name, chain in chains.items():
        problem = target_problem(chain, zones)
        if problem:
            problems[name] = problem
    targets = {name: chain[-1] for name, chain in chains.items() if name not in problems}
    return targets, [(cert, value, problems[name]) for name in sorted(problems) for cert, value in wanted[name]]


def plan_delegation(specs, resolvers=(), zones=(), follow_cnames: bool = True, resolve=None) -> dict[str, str]:
    """Map every challenge name of ``specs`` to the name its TXT value is written at.

    Raises one DelegationError listing every certificate and name that cannot
    be served (see :func:`delegation_problems`).
    """
    targets, problems = delegation_problems(specs, resolvers, zones, follow_cnames, resolve)
    if problems:
        raise DelegationError("; ".join("certificate %r: field 'names' value %r: %s" % problem for problem in problems))
    return targets


def delegate_records(records, targets: dict[str, str]) -> list[dict]:
    """Records renamed to their delegation targets, merged where two names share a target."""
    grouped: dict[str, set] = {}
    for record in records or ():
        target = targets.get(normalize(record["name"]), normalize(record["name"]))
        grouped.setdefault(target, set()).update(record["txt_values"])
    return [{"name": name, "txt_values": sorted(grouped[name])} for name in sorted(grouped)]
