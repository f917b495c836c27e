# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read-only call to each DNS provider, so check mode fails where the real run would.

A wrong TSIG secret or API key shows only when the provider is asked, and the
real run asks it first with a read of the ``_acme-challenge`` name it is
about to write (``records.sync_groups``). The probe makes that same read, at
``_acme-challenge.<zone>`` of one zone per provider, through the same code,
so its error is worded exactly as the real run's and nothing is ever written.
"""

from __future__ import annotations

from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import challenge_name
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, check_zones
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    PROVIDER_TYPES,
    Router,
    build_provider,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import SyncResult, check_skip, sync_groups


def probe_groups(configs: list, skip=()) -> dict[tuple[str, str], dict[str, list[str]]]:
    """``{(provider, zone): {_acme-challenge.<zone>: []}}``: the first zone of each provider that is not skipped
    and can read.

    Entries are checked as the real run checks them (names, types, zones, skip list) before anything is asked.
    """
    Router(configs, skip)
    check_skip(configs, skip)
    unreadable = set(unreadable_providers(configs, skip))
    skipped = set(skip or ())
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for config in configs:
        if config["name"] in skipped or config["name"] in unreadable:
            continue
        zone = check_zones(config["name"], config["zones"])[0]
        groups[(config["name"], zone)] = {challenge_name(zone): []}
    return groups


def probe_providers(
    configs: list,
    skip=(),
    factory: Callable[[dict], DnsProvider] = build_provider,
    max_workers: int = 16,
) -> SyncResult:
    """Read the probe names of :func:`probe_groups` at every provider, concurrently; never writes.

    ``errors`` holds one line per provider that failed, as the real run words
    it (``provider 'p' zone 'z' record 'r': read failed: ...``). Providers that
    cannot read (``hook``, ``manual``) are not asked.
    """
    groups = probe_groups(configs, skip)
    return sync_groups(groups, configs, "absent", 60, skip, True, factory, max_workers)


def unreadable_providers(configs: list, skip=()) -> list[str]:
    """The providers that are not skipped and cannot be asked anything (``hook``, ``manual``)."""
    skipped = set(skip or ())
    return [
        config["name"]
        for config in configs
        if config["name"] not in skipped and not PROVIDER_TYPES[config["type"]].CAN_READ
    ]
