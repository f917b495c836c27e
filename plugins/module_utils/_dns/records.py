# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish and remove ACME TXT values across providers: the logic of ``dns_txt_record``.

The run is split into phases so that nothing is written unless every record
can be placed: validate and merge the records, route every name to its
provider(s), read what is there, plan, and only then write. Reads and writes
run concurrently, grouped by (provider, zone) so providers can batch, and one
provider failing is reported without stopping the others; the caller needs
to know exactly which values did land, because it must remove them later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import longest_zone
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    Router,
    RoutingError,
    build_provider,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import (
    STATES,
    RecordInputError,
    values_by_name,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state import journal as txt_journal

MAX_TTL = 2147483647


@dataclass
class SyncResult:
    """What :func:`sync_records` did (or, in check mode, would do)."""

    changed: bool = False
    records: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    diff: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    #: Problems with the journal itself (not with DNS), shown as warnings.
    warnings: list[str] = field(default_factory=list)


def plan_changes(state: str, wanted: list[str], before: set[str] | None) -> tuple[list[str], list[str]]:
    """The values to add and to remove at one name so that ``state`` holds for ``wanted``.

    Only the given values are considered: others at the name belong to other
    certificates or runs and are left alone. ``before`` is None when the
    provider cannot read (``CAN_READ`` false): then every given value is
    added, or removed.
    """
    if before is None:
        return (list(wanted), []) if state == "present" else ([], list(wanted))
    if state == "present":
        return [value for value in wanted if value not in before], []
    return [], [value for value in wanted if value in before]


def check_skip(configs: list, skip=()) -> None:
    """Every name in ``skip`` must be a configured provider."""
    known = {config["name"] for config in configs}
    unknown = sorted(set(skip or ()) - known)
    if unknown:
        raise RecordInputError(
            "skip_providers: %s %s not a configured provider (configured: %s)"
            % (", ".join(repr(n) for n in unknown), "is" if len(unknown) == 1 else "are", ", ".join(sorted(known)))
        )


def route_records(merged: dict[str, list[str]], configs: list, skip=()) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Group records by (provider name, zone); fails for every name in no zone, before any write."""
    router = Router(configs, skip)
    check_skip(configs, skip)
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    problems = []
    for fqdn, values in merged.items():
        try:
            targets = router.route(fqdn)
        except RoutingError as exc:
            problems.append(str(exc))
            continue
        for config, zone in targets:
            groups.setdefault((config["name"], zone), {})[fqdn] = values
    if problems:
        raise RecordInputError("; ".join(problems))
    return groups


def _lines(provider: str, fqdn: str, values) -> list[str]:
    return ['%s: %s. TXT "%s"' % (provider, fqdn, value) for value in sorted(values or ())]


def format_diff(results: list[dict]) -> dict:
    """Before/after text with one line per provider, name and value, for ``--diff``."""
    before: list[str] = []
    after: list[str] = []
    for item in results:
        # A provider that cannot read knows only the values it changes.
        old = item["before"] if item["before"] is not None else item["removed"]
        new = item["after"] if item["after"] is not None else item["added"]
        before.extend(_lines(item["provider"], item["name"], old))
        after.extend(_lines(item["provider"], item["name"], new))
    return {
        "before": "\n".join(sorted(before)) + ("\n" if before else ""),
        "after": "\n".join(sorted(after)) + ("\n" if after else ""),
    }


def sync_records(records: Any, configs: list, state: str = "present", ttl: int = 60, skip=(), **options) -> SyncResult:
    """Make ``state`` true for every value of every record at every provider that hosts it.

    Input errors (bad records, bad provider entries, names in no zone) raise
    before any provider is contacted. Provider failures are returned in
    ``errors``, one per failed (provider, record), next to the results of the
    providers that worked.

    With ``journal`` (see ``txt_journal``), ``present`` lists every value it
    is about to add before the first write (and raises
    :class:`RecordInputError`, writing nothing, when it cannot), and
    ``absent`` strikes every value that is confirmed gone.

    ``options`` are those of :func:`sync_groups` (check_mode, factory, max_workers, journal).
    """
    groups = prepare_records(records, configs, state, ttl, skip)
    return sync_groups(groups, configs, state, ttl, skip, **options)


def prepare_records(
    records: Any, configs: list, state: str = "present", ttl: int = 60, skip=()
) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Check the input and route the records, for :func:`sync_groups`; raises before anything is contacted."""
    if state not in STATES:
        raise RecordInputError("state: must be one of %s, got %r" % (", ".join(STATES), state))
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise RecordInputError("ttl: must be an integer between 0 and %d, got %r" % (MAX_TTL, ttl))
    return route_records(values_by_name(records), configs, skip)


def clean_journal(
    journal: str,
    configs: list,
    skip=(),
    check_mode: bool = False,
    factory: Callable[[dict], DnsProvider] = build_provider,
    max_workers: int = 16,
) -> SyncResult:
    """Remove every value the journal lists, at the provider and zone it lists, and strike it.

    These values were published by a run that never removed them (it was
    killed). Entries of a skipped provider are kept for a later run, with a
    notice; entries of a provider that is no longer configured are kept and
    reported as errors, since nothing here can remove them.
    """
    router = Router(configs, skip)  # the provider entries are checked before anything is read or written
    check_skip(configs, skip)
    zones: dict[str, set] = {}
    for zone, hosts in router.by_zone.items():
        for config in hosts:
            zones.setdefault(config["name"], set()).add(zone)
    try:
        entries = txt_journal.load(journal)
        # Only entries this collection could have written are acted on; any other refuses the whole journal.
        txt_journal.refuse_foreign_entries(journal, entries, zones, lambda name: longest_zone(name, router.by_zone))
    except txt_journal.JournalError as exc:
        raise RecordInputError(str(exc)) from None
    known = {config["name"] for config in configs}
    skipped = set(skip or ())
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    orphans: list[dict] = []
    notices: list[str] = []
    for entry in entries:
        provider, zone, name = txt_journal.entry_key(entry)
        if provider in skipped:
            notices.append(
                "journal %s: %d value(s) at %s (provider %r) left for a run that does not skip that provider"
                % (journal, len(entry["values"]), name, provider)
            )
        elif provider not in known:
            orphans.append(_orphan_item(journal, entry))
        else:
            groups.setdefault((provider, zone), {})[name] = list(entry["values"])
    outcome = sync_groups(groups, configs, "absent", 60, skip, check_mode, factory, max_workers, journal)
    outcome.records.extend(orphans)
    outcome.notices.extend(notices)
    outcome.errors.extend(_error_lines(orphans))
    return outcome


def _orphan_item(journal: str, entry: dict) -> dict:
    """A result item for journal values whose provider is not configured: they cannot be removed from here."""
    return {
        "name": entry["name"],
        "provider": entry["provider"],
        "zone": entry["zone"],
        "added": [],
        "removed": [],
        "before": None,
        "after": None,
        "error": "provider %r is not configured, so the values %s listed in %s cannot be removed; remove them by "
        "hand, then delete the entry from the journal" % (entry["provider"], ", ".join(entry["values"]), journal),
    }


def _error_lines(items: list[dict]) -> list[str]:
    return [
        "provider %r zone %r record %r: %s" % (item["provider"], item["zone"], item["name"], item["error"])
        for item in items
        if item["error"]
    ]


def _confirmed_gone(item: dict, wanted: list[str], can_read: bool) -> list[str]:
    """The values of ``wanted`` that are surely no longer at the provider after an ``absent`` write."""
    if item["after"] is not None:
        return [value for value in wanted if value not in item["after"]]
    if item["error"] is None and not can_read:
        return list(wanted)  # a provider that cannot read reports success only for what it removed
    return []


def sync_groups(
    groups: dict[tuple[str, str], dict[str, list[str]]],
    configs: list,
    state: str = "present",
    ttl: int = 60,
    skip=(),
    check_mode: bool = False,
    factory: Callable[[dict], DnsProvider] = build_provider,
    max_workers: int = 16,
    journal: str | None = None,
    delegations: dict | None = None,
) -> SyncResult:
    """:func:`sync_records` for records already routed: ``{(provider name, zone): {name: values}}``.

    ``delegations`` (``_acme-challenge`` name to CNAME target) is recorded in the journal with the targets.
    """
    skipped = set(skip or ())
    # Build every provider that may be written to: a typo in any entry is
    # reported now, not after half of the records were published.
    providers: dict[str, DnsProvider] = {
        config["name"]: factory(config) for config in configs if config["name"] not in skipped
    }
    gates = {name: threading.BoundedSemaphore(max(1, provider.CONCURRENCY)) for name, provider in providers.items()}

    def guarded(provider_name: str, call: Callable[[], Any]) -> tuple[Any, str | None]:
        """Run one provider call within that provider's concurrency limit; never raises."""
        provider = providers[provider_name]
        with gates[provider_name]:
            try:
                return call(), None
            except ProviderError as exc:
                return None, provider.scrub(exc.message)
            except Exception as exc:  # a provider bug must not take the other providers down
                return None, provider.scrub("unexpected %s: %s" % (type(exc).__name__, exc))

    def read(key: tuple[str, str, str]) -> tuple[Any, str | None]:
        pname, zone, fqdn = key
        if not providers[pname].CAN_READ:
            return None, None
        return guarded(pname, lambda: set(providers[pname].read_values(zone, fqdn)))

    def write(batch_key: tuple[str, str]) -> tuple[Any, str | None]:
        pname, zone = batch_key
        changes = batches[batch_key]
        if state == "present":
            return guarded(pname, lambda: providers[pname].add_values(zone, changes, ttl))
        return guarded(pname, lambda: providers[pname].remove_values(zone, changes))

    keys = [(pname, zone, fqdn) for (pname, zone), recs in groups.items() for fqdn in recs]
    results: dict[tuple[str, str, str], dict] = {}
    batches: dict[tuple[str, str], dict[str, list[str]]] = {}
    for key, (before, error) in zip(keys, map_concurrently(read, keys, max_workers)):
        pname, zone, fqdn = key
        item = results[key] = {
            "name": fqdn,
            "provider": pname,
            "zone": zone,
            "added": [],
            "removed": [],
            "before": None,
            "after": None,
            "error": None,
        }
        if error is not None:
            item["error"] = "read failed: %s" % error
            continue
        add, remove = plan_changes(state, groups[(pname, zone)][fqdn], before)
        if before is not None:
            item["before"] = sorted(before)
            item["after"] = sorted((before | set(add)) - set(remove))
        item["added"], item["removed"] = add, remove
        if add or remove:
            batches.setdefault((pname, zone), {})[fqdn] = add or remove

    if batches and journal and state == "present" and not check_mode:
        changes = [
            (pname, zone, fqdn, values) for (pname, zone), recs in batches.items() for fqdn, values in recs.items()
        ]
        try:
            txt_journal.record(journal, changes, delegations)
        except txt_journal.JournalError as exc:
            raise RecordInputError("%s; nothing was published" % exc) from None
    failed: list[dict] = []
    if batches and not check_mode:
        batch_keys = list(batches)
        for batch_key, (_unused, error) in zip(batch_keys, map_concurrently(write, batch_keys, max_workers)):
            if error is None:
                continue
            for fqdn in batches[batch_key]:
                item = results[batch_key + (fqdn,)]
                item["error"] = "%s failed: %s" % ("add" if state == "present" else "remove", error)
                failed.append(item)
    # A failed batch may have landed in part (several messages, or a
    # timeout after the server applied it): report what is really there,
    # so that the clean-up knows which values exist.
    recheck = [(item["provider"], item["zone"], item["name"]) for item in failed]
    for item, (now, _error) in zip(failed, map_concurrently(read, recheck, max_workers)):
        if now is None:
            item["after"] = None
            item["added"], item["removed"] = [], []
        else:
            item["after"] = sorted(now)
            item["added"] = [value for value in item["added"] if value in now]
            item["removed"] = [value for value in item["removed"] if value not in now]

    ordered = [results[key] for key in keys]
    outcome = SyncResult(records=ordered, diff=format_diff(ordered))
    for provider in providers.values():
        outcome.notices.extend(provider.notices())
    outcome.changed = any(item["added"] or item["removed"] for item in ordered)
    outcome.errors = _error_lines(ordered)
    if journal and state == "absent" and not check_mode:
        gone = [
            (
                pname,
                zone,
                fqdn,
                _confirmed_gone(results[(pname, zone, fqdn)], groups[(pname, zone)][fqdn], providers[pname].CAN_READ),
            )
            for pname, zone, fqdn in keys
        ]
        try:
            txt_journal.strike(journal, gone)
        except txt_journal.JournalError as exc:
            # The values are gone; the next run would only find nothing to remove.
            outcome.warnings.append(str(exc))
    return outcome
