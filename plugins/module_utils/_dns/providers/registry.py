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
    secret_strings,
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

# Option names that look like secrets, used when an entry's type is unknown
# (it will be rejected, but its secrets must still be masked in that error).
_SECRET_HINTS = (
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "environment",
)


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
        ptype = config.get("type")
        if ptype is None:
            raise ProviderConfigError(name, "type", "is required (one of: %s)" % ", ".join(sorted(PROVIDER_TYPES)))
        if ptype not in PROVIDER_TYPES:
            raise ProviderConfigError(
                name, "type", "is not a known provider type (known: %s)" % ", ".join(sorted(PROVIDER_TYPES)), ptype
            )
        check_zones(name, config.get("zones"))


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
    """Every secret string in the entries, for ``module.no_log_values``.

    Tolerates malformed entries: masking must happen before validation, so
    that validation errors cannot show a secret either.
    """
    secrets: set[str] = set()
    if isinstance(configs, dict):
        configs = [configs]
    if not isinstance(configs, (list, tuple)):
        return secrets
    for config in configs:
        if not isinstance(config, dict):
            continue
        cls = PROVIDER_TYPES.get(config.get("type")) if isinstance(config.get("type"), str) else None
        if cls is not None:
            keys = list(cls.SECRET_OPTIONS)
        else:
            keys = [
                key for key in config if isinstance(key, str) and any(hint in key.lower() for hint in _SECRET_HINTS)
            ]
        for key in keys:
            for value in secret_strings(config.get(key)):
                secrets.add(value)
                # Also mask the secret as it appears once whitespace inside it is dropped.
                compact = "".join(value.split())
                if compact and compact != value:
                    secrets.add(compact)
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
