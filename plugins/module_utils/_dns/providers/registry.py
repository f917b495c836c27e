# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which class serves a provider ``type``, and which providers serve a name.

Routing is by the most specific configured zone, over all providers at once:
``x.sub.example.com`` belongs to a provider listing ``sub.example.com`` even
when another lists ``example.com``, because writing it into the parent zone
would put it behind the delegation where no resolver looks. A zone listed by
two providers is dual-hosted and gets written at both.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.commands import RunCommand
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import longest_zone, normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    DnsProvider,
    ProviderConfigError,
    check_zones,
    did_you_mean,
    entry_secrets,
)

if TYPE_CHECKING:  # never run; names every provider module so that Ansible packs them all into the module
    from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import (  # noqa: F401
        cloudflare,
        hook,
        manual,
        powerdns,
        rackspace,
        rfc2136,
        route53,
    )

# Provider ``type`` -> (module in this package, class). Each class is imported when an entry of its type is first
# used: route53 needs boto3 and the HTTP providers requests, and importing them all cost every DNS task about half
# a second of start-up even when only rfc2136 is configured.
_CLASSES: dict[str, tuple[str, str]] = {
    "rfc2136": ("rfc2136", "Rfc2136Provider"),
    "route53": ("route53", "Route53Provider"),
    "hook": ("hook", "HookProvider"),
    "manual": ("manual", "ManualProvider"),
    "powerdns": ("powerdns", "PowerDnsProvider"),
    "rackspace": ("rackspace", "RackspaceProvider"),
    "cloudflare": ("cloudflare", "CloudflareProvider"),
}


def _load(kind: str) -> type[DnsProvider]:
    module, name = _CLASSES[kind]
    return getattr(importlib.import_module("%s.%s" % (__package__, module)), name)


class ProviderTypes(dict):
    """Provider ``type`` to class; a known type's class is imported on first lookup and kept."""

    def __missing__(self, kind: str) -> type[DnsProvider]:
        if kind not in _CLASSES:
            raise KeyError(kind)
        cls = self[kind] = _load(kind)
        return cls

    def get(self, kind, default=None):
        try:
            return self[kind]
        except KeyError:
            return default

    def __contains__(self, kind) -> bool:
        return dict.__contains__(self, kind) or kind in _CLASSES

    def __iter__(self):
        return iter(sorted(set(dict.keys(self)) | set(_CLASSES)))


PROVIDER_TYPES: ProviderTypes = ProviderTypes()


class RoutingError(ValueError):
    """A record name lies in no configured zone."""

    def __init__(self, record: str, zones: list[str]):
        self.record = record
        super().__init__(
            "record %r is in no zone of any provider (configured zones: %s)"
            % (record, ", ".join(sorted(zones)) or "none")
        )


def _entry_name(config: Any, index: int | None = None) -> str | None:
    if isinstance(config, dict) and isinstance(config.get("name"), str) and config["name"].strip():
        return config["name"]
    return None if index is None else "#%d" % (index + 1)


def check_configs(configs: list) -> None:
    """Check the shape every entry needs for routing: a unique name, a known type, zones.

    Type-specific options are checked by :func:`build_provider`.
    """
    if not isinstance(configs, (list, tuple)):
        raise ProviderConfigError(None, "providers", "must be a list of provider entries", type(configs).__name__)
    seen: set[str] = set()
    for index, config in enumerate(configs):
        if not isinstance(config, dict):
            raise ProviderConfigError("#%d" % (index + 1), "name", "entry must be a dictionary", config)
        name = _entry_name(config)
        if name is None:
            raise ProviderConfigError(
                "#%d" % (index + 1), "name", "is required and must be a non-empty string", config.get("name")
            )
        if name in seen:
            raise ProviderConfigError(name, "name", "is used by more than one provider entry", name)
        seen.add(name)
        for field, reason in entry_problems(config):
            raise ProviderConfigError(name, field, reason)
        check_zones(name, config.get("zones"))


def type_problem(kind: Any) -> str | None:
    """Why ``kind`` is no provider type, naming the known ones (and the closest), or None."""
    known = ", ".join(sorted(PROVIDER_TYPES))
    if kind is None or kind == "":
        return "is required (one of: %s)" % known
    if not isinstance(kind, str) or kind not in PROVIDER_TYPES:
        return "value %r is not a known provider type%s (known: %s)" % (
            kind,
            did_you_mean(str(kind), sorted(PROVIDER_TYPES)),
            known,
        )
    return None


def entry_problems(config: dict) -> list[tuple[str, str]]:
    """``(field, reason)`` for an unknown type, each option the type does not know, each API URL it may not use.

    The one check of the option names, used by the modules and the role's input check alike; no reason quotes an
    option's value (the type is no secret).
    """
    problem = type_problem(config.get("type"))
    if problem:
        return [("type", problem)]
    return PROVIDER_TYPES[config["type"]].option_problems(config)


def build_provider(config: dict, run_command: RunCommand | None = None) -> DnsProvider:
    """Create the provider object for one entry; validates it fully, without network access.

    ``run_command`` is the module's: a ``hook`` entry runs its program through it.
    """
    check_configs([config])
    return PROVIDER_TYPES[config["type"]](config, run_command)


class Router:
    """Routes many names over one provider list; the zone table is built once."""

    def __init__(self, configs: list, skip=()):
        check_configs(configs)
        self.configs = list(configs)
        self.skip = set(skip or ())
        self.by_zone: dict[str, list[dict]] = {}
        for config in self.configs:
            for zone in check_zones(config["name"], config["zones"]):
                entries = self.by_zone.setdefault(zone, [])
                if config not in entries:
                    entries.append(config)

    def route(self, name: str) -> list[tuple[dict, str]]:
        """See :func:`route`."""
        zone = longest_zone(name, self.by_zone)
        if zone is None:
            raise RoutingError(normalize(name), sorted(self.by_zone))
        return [(config, zone) for config in self.by_zone[zone] if config["name"] not in self.skip]


def route(name: str, configs: list, skip=()) -> list[tuple[dict, str]]:
    """The (config, zone) pairs a TXT record named ``name`` is written to.

    The zone is the longest configured zone containing the name, across all
    providers (skipped ones included, so a name below a skipped provider's
    subzone is never written into the parent zone); every provider listing
    that zone gets the record, except the providers named in ``skip``. Raises
    RoutingError when no zone contains the name. An empty list means only
    skipped providers hold the zone.
    """
    return Router(configs, skip).route(name)


def secret_values(configs: list) -> set[str]:
    """Every string of the entries that is not under a public option, for ``module.no_log_values``.

    Tolerates malformed entries: masking must happen before validation, so
    that validation errors cannot show a secret either. An unknown option or
    type is masked whole: only what a known type declares public is shown.
    """
    if isinstance(configs, dict):
        configs = [configs]
    if not isinstance(configs, (list, tuple)):
        return set()
    secrets: set[str] = set()
    for config in configs:
        if isinstance(config, dict):
            kind = config.get("type")
            secrets.update(entry_secrets(config, PROVIDER_TYPES.get(kind) if isinstance(kind, str) else None))
    return secrets


def missing_library(configs: Any) -> tuple[str, str] | None:
    """The first library a configured provider needs and cannot import: (name, traceback), or None.

    Only the types the entries name are loaded, so a run that uses rfc2136 does not need boto3.
    """
    for config in configs if isinstance(configs, (list, tuple)) else [configs]:
        kind = config.get("type") if isinstance(config, dict) else None
        cls = PROVIDER_TYPES.get(kind) if isinstance(kind, str) else None
        error = cls.missing_library() if cls is not None else None
        if error is not None:
            return cls.LIBRARY or cls.TYPE, error
    return None
