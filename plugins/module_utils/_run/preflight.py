# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode's questions to the CA and to every DNS provider, asked at once and read-only.

In check mode the ordering module contacts no CA and nothing is published,
so an unreachable CA or a wrong provider secret used to pass ``--check``
and fail the real run. The preflight asks what the real run asks first (the
directory and the account; a read at each provider) with the real run's
code, so a run that would fail says so in check mode, in the same words.
It spans the ACME and DNS stages, hence it lives here.
"""

from __future__ import annotations

from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import account_failure, probe_account
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._dns.probe import (
    probe_groups,
    probe_providers,
    unreadable_providers,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider


def check_ca(settings: AcmeSettings, probe: Callable[[AcmeSettings], dict] = probe_account) -> tuple[dict, str | None]:
    """``(result, problem)``: what the CA said about the account, or why it could not be asked (the real run's words)."""
    try:
        return probe(settings), None
    except Exception as exc:  # noqa: BLE001 - the account, network, TLS and CA errors, worded as a real run words them
        return {"directory": settings.directory_url, "account": None, "account_url": None}, account_failure(
            settings, exc
        )


def check_providers(
    configs: list, skip=(), factory: Callable[[dict], DnsProvider] = build_provider
) -> tuple[list[dict], str | None]:
    """``(providers, problem)``: one entry per provider that is not skipped, and the failed reads in one line."""
    outcome = probe_providers(configs, skip, factory)
    asked = [
        {"name": item["provider"], "zone": item["zone"], "record": item["name"], "read": True, "error": item["error"]}
        for item in outcome.records
    ]
    silent = [
        {"name": name, "zone": None, "record": None, "read": False, "error": None}
        for name in unreadable_providers(configs, skip)
    ]
    problem = None
    if outcome.errors:
        problem = "%d of %d DNS provider(s) failed a read: %s" % (
            len(outcome.errors),
            len(outcome.records),
            "; ".join(outcome.errors),
        )
    return asked + silent, problem


def preflight(
    settings: AcmeSettings,
    configs: list,
    skip=(),
    factory: Callable[[dict], DnsProvider] = build_provider,
    probe: Callable[[AcmeSettings], dict] = probe_account,
) -> dict:
    """Ask the CA and every provider at once; ``{"acme", "providers", "problems"}``, problems empty when all answered.

    Bad provider entries raise (ProviderConfigError, RecordInputError) before anything is asked.
    """
    probe_groups(configs, skip)
    (acme, ca_problem), (providers, dns_problem) = map_concurrently(
        lambda ask: ask(), [lambda: check_ca(settings, probe), lambda: check_providers(configs, skip, factory)]
    )
    return {
        "acme": acme,
        "providers": providers,
        "problems": [problem for problem in (ca_problem, dns_problem) if problem],
    }
