# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every DNS provider implements, and what they share.

The DNS modules only ever talk to :class:`DnsProvider`, so adding a provider
means adding one small class, never touching routing, planning or the
modules. Providers work on single TXT values, not whole record sets: a
wildcard and its apex share one ``_acme-challenge`` name, and a concurrent run
may hold values at the same name, so replacing a record set would destroy
someone else's challenge.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.commands import RunCommand
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize, owner_name_error

REDACTED = "********"

# Booleans as they arrive from templated YAML.
_BOOLEANS = {"yes": True, "true": True, "on": True, "1": True, "no": False, "false": False, "off": False, "0": False}


class ProviderConfigError(ValueError):
    """A provider entry is unusable; says which provider, which field and why.

    The value is shown so the user can find the typo, except for secret fields,
    whose value must never reach output.
    """

    def __init__(self, provider: str | None, field: str, reason: str, value: Any = None, secret: bool = False):
        self.provider = provider
        self.field = field
        self.reason = reason
        where = "provider %r" % provider if provider else "provider entry"
        if secret:
            shown = ""
        elif value is None:
            shown = ""
        else:
            shown = " (got %r)" % (value,)
        super().__init__("%s: field %r %s%s" % (where, field, reason, shown))


class ProviderError(Exception):
    """A provider refused or failed a read or write.

    Carries the provider's own message (an rcode, an API error) so the user
    sees what the provider said; callers must build it from text that holds
    no secret (``DnsProvider.error`` scrubs the provider's secrets).
    """

    def __init__(self, provider: str, record: str | None, message: str):
        self.provider = provider
        self.record = record
        self.message = message
        if record:
            text = "provider %r, record %r: %s" % (provider, record, message)
        else:
            text = "provider %r: %s" % (provider, message)
        super().__init__(text)


class DnsProvider(ABC):
    """One configured DNS provider (one entry of ``letsencrypt_dns_providers``).

    Subclasses set the class attributes and implement :meth:`configure` plus
    the three record operations. Construction validates the whole entry and
    never touches the network, so every entry can be checked before anything
    changes.
    """

    #: The ``type`` value that selects this class.
    TYPE: str = ""
    #: Options holding secrets; their values are masked in all output.
    SECRET_OPTIONS: tuple[str, ...] = ()
    #: Type-specific options that must be present.
    REQUIRED_OPTIONS: tuple[str, ...] = ()
    #: Type-specific options that may be present (in addition to the required ones).
    OPTIONAL_OPTIONS: tuple[str, ...] = ()
    #: How many reads/writes the caller may run at once against this provider.
    CONCURRENCY: int = 8
    #: False for providers that cannot read what a name holds (``hook``, ``manual``):
    #: ``read_values`` is never called, ``present`` adds every given value and
    #: ``absent`` removes every given value.
    CAN_READ: bool = True
    #: The Python library the class needs, as the module names it to the user when it is missing.
    LIBRARY: str | None = None

    @classmethod
    def missing_library(cls) -> str | None:
        """The traceback of the failed import of :attr:`LIBRARY`, or None when the library is there."""
        return None

    COMMON_OPTIONS = ("name", "type", "zones")

    @classmethod
    def type_options(cls) -> tuple[str, ...]:
        """Every option of this type beyond the common ones: the names its doc fragment documents."""
        return tuple(dict.fromkeys(cls.REQUIRED_OPTIONS + cls.OPTIONAL_OPTIONS + cls.SECRET_OPTIONS))

    def __init__(self, config: dict, run_command: RunCommand | None = None):
        #: The module's ``run_command``: how a provider that runs programs (``hook``) starts them.
        self.run_command = run_command
        if not isinstance(config, dict):
            raise ProviderConfigError(None, "name", "entry must be a dictionary", type(config).__name__)
        name = config.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProviderConfigError(None, "name", "is required and must be a non-empty string", name)
        self.name: str = name
        if config.get("type") != self.TYPE:
            raise ProviderConfigError(
                name, "type", "must be %r for this provider class" % self.TYPE, config.get("type")
            )
        self.zones: list[str] = check_zones(name, config.get("zones"))
        known = set(self.COMMON_OPTIONS) | set(self.type_options())
        for key in sorted(config):
            if key not in known:
                raise ProviderConfigError(
                    name, key, "is not an option of type %r (known: %s)" % (self.TYPE, ", ".join(sorted(known)))
                )
        for key in self.REQUIRED_OPTIONS:
            if config.get(key) in (None, ""):
                raise ProviderConfigError(name, key, "is required for type %r" % self.TYPE)
        self._secrets: tuple[str, ...] = tuple(
            secret for key in self.SECRET_OPTIONS for secret in secret_strings(config.get(key))
        )
        self.configure(config)

    def configure(self, config: dict) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Validate and store the type-specific options; raise ProviderConfigError."""

    # ----------------------------------------------------------------- helpers
    def config_error(self, field: str, reason: str, value: Any = None) -> ProviderConfigError:
        """A ProviderConfigError for this provider that hides secret field values."""
        return ProviderConfigError(self.name, field, reason, value, secret=field in self.SECRET_OPTIONS)

    def option_str(self, config: dict, key: str, default: str | None = None) -> str | None:
        """A string option, or ``default`` when it is absent or null."""
        value = config.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.config_error(key, "must be a non-empty string", value)
        return value.strip()

    def option_bool(self, config: dict, key: str, default: bool) -> bool:
        """A boolean option; yes/no, true/false, on/off and 1/0 strings are accepted (YAML from templates)."""
        value = config.get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        if not isinstance(value, bool):
            raise self.config_error(key, "must be a boolean", value)
        return value

    def option_number(
        self, config: dict, key: str, default: float, minimum: float, maximum: float, integer: bool = False
    ) -> float:
        """A number option within [minimum, maximum]; strings of digits are accepted (YAML from templates)."""
        value = config.get(key)
        if value is None:
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise self.config_error(key, "must be %s" % ("an integer" if integer else "a number"), value) from None
        if not minimum <= number <= maximum:
            raise self.config_error(key, "must be between %s and %s" % (minimum, maximum), value)
        return number

    def scrub(self, text: str) -> str:
        """``text`` with this provider's secrets masked (library errors may quote them)."""
        return redact(text, self._secrets)

    def error(self, record: str | None, message: Any) -> ProviderError:
        """A ProviderError whose message has this provider's secrets scrubbed out."""
        return ProviderError(self.name, record, self.scrub(str(message)))

    def notices(self) -> list[str]:
        """Lines for the person running the play (shown as warnings), e.g. records to create by hand."""
        return []

    # -------------------------------------------------------------- interface
    @abstractmethod
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        """The TXT values the provider holds at ``fqdn`` (an empty set when none)."""

    @abstractmethod
    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        """Add each value at its name, keeping other values there.

        All records of one zone come in one call so a provider can batch them
        into one update or one API change.
        """

    @abstractmethod
    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        """Remove exactly these values; other values at the same names stay."""


def check_zones(provider: str, zones: Any) -> list[str]:
    """Validate a provider's ``zones`` list and return the normalized zone names."""
    if isinstance(zones, str) or not isinstance(zones, (list, tuple)) or not zones:
        raise ProviderConfigError(provider, "zones", "is required and must be a non-empty list of zone names", zones)
    result = []
    for zone in zones:
        problem = owner_name_error(zone)
        if problem is None and "*" in zone:
            problem = "must not contain a wildcard"
        if problem:
            raise ProviderConfigError(provider, "zones", "entry %s" % problem, zone)
        result.append(normalize(zone))
    return result


def secret_strings(value: Any) -> list[str]:
    """The secret strings held by one secret option's value.

    A string is one secret; a dictionary or list (e.g. a hook's
    ``environment``) holds one secret per non-empty string or number in it.
    """
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    return [
        str(item) for item in items if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item)
    ]


def redact(text: str, secrets) -> str:
    """Replace every secret in ``text`` by a fixed mask, longest first."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
