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

import difflib
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.commands import RunCommand
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize, owner_name_error

REDACTED = "********"
#: The option that lets a provider's API URLs use plain http (a test server on loopback).
PLAIN_HTTP = "allow_plain_http"

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
    #: Options holding secrets; their values are masked in all output, numbers too.
    SECRET_OPTIONS: tuple[str, ...] = ()
    #: Options whose values are no secret and may be shown. The strings under every other option are masked,
    #: whatever its name: a secret under an option this list does not know is never printed.
    PUBLIC_OPTIONS: tuple[str, ...] = ()
    #: Options holding a URL of the provider's API: public without credentials, https only unless
    #: ``allow_plain_http`` (which these types then take), since the key or token goes with every request.
    URL_OPTIONS: tuple[str, ...] = ()
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
        plain = (PLAIN_HTTP,) if cls.URL_OPTIONS else ()
        return tuple(
            dict.fromkeys(cls.REQUIRED_OPTIONS + cls.OPTIONAL_OPTIONS + cls.SECRET_OPTIONS + cls.URL_OPTIONS + plain)
        )

    @classmethod
    def public_options(cls) -> tuple[str, ...]:
        """The options whose values may be shown (URL options only when they hold no credentials)."""
        plain = (PLAIN_HTTP,) if cls.URL_OPTIONS else ()
        return tuple(dict.fromkeys(cls.COMMON_OPTIONS + cls.PUBLIC_OPTIONS + cls.URL_OPTIONS + plain))

    @classmethod
    def option_problems(cls, config: dict) -> list[tuple[str, str]]:
        """``(option, reason)`` for each option this type does not know and each API URL it may not use.

        Shared by the modules (at construction) and the role's input check; a reason never holds a value.
        """
        known = cls.COMMON_OPTIONS + cls.type_options()
        problems = []
        for key in sorted(config, key=str):
            if key not in known:
                problems.append(
                    (
                        str(key),
                        "is not an option of type %r%s (known: %s)"
                        % (cls.TYPE, did_you_mean(str(key), known), ", ".join(sorted(known))),
                    )
                )
        allow = plain_http_allowed(config)
        if cls.URL_OPTIONS and allow is None:
            problems.append((PLAIN_HTTP, "must be a boolean"))
        for key in cls.URL_OPTIONS:
            value = config.get(key)
            problem = url_problem(value, bool(allow)) if isinstance(value, str) and value.strip() else None
            if problem:
                problems.append((key, problem))
        return problems

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
        self._secrets: tuple[str, ...] = tuple(entry_secrets(config, type(self)))
        self._public = self.public_options()
        for key, reason in self.option_problems(config):
            raise ProviderConfigError(name, key, reason)
        for key in self.REQUIRED_OPTIONS:
            if config.get(key) in (None, ""):
                raise ProviderConfigError(name, key, "is required for type %r" % self.TYPE)
        self.allow_plain_http = bool(plain_http_allowed(config))
        self.configure(config)

    def configure(self, config: dict) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Validate and store the type-specific options; raise ProviderConfigError."""

    # ----------------------------------------------------------------- helpers
    def config_error(self, field: str, reason: str, value: Any = None) -> ProviderConfigError:
        """A ProviderConfigError for this provider that shows the value only of a public option."""
        shown = field in self._public and not (isinstance(value, str) and url_has_credentials(value))
        return ProviderConfigError(self.name, field, reason, value, secret=not shown)

    def url_option(self, config: dict, key: str, default: str | None = None) -> str | None:
        """An API URL option (one of URL_OPTIONS, checked at construction), without a trailing slash."""
        value = self.option_str(config, key, default)
        problem = url_problem(value, self.allow_plain_http) if value is not None else None
        if problem:
            raise self.config_error(key, problem, value)
        return None if value is None else value.rstrip("/")

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
        parsed = as_bool(value)
        if parsed is None:
            raise self.config_error(key, "must be a boolean", value)
        return parsed

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


def as_bool(value: Any) -> bool | None:
    """A boolean option's value (yes/no, true/false, on/off, 1/0 strings count: YAML from templates); None if none."""
    if isinstance(value, str):
        return _BOOLEANS.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def plain_http_allowed(config: dict) -> bool | None:
    """The entry's ``allow_plain_http`` (absent or null: False); None when it is no boolean."""
    value = config.get(PLAIN_HTTP)
    return False if value is None else as_bool(value)


def did_you_mean(word: str, choices) -> str:
    """``", did you mean 'x'?"`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(word.lower(), [str(choice) for choice in choices], n=1, cutoff=0.6)
    return ", did you mean %r?" % close[0] if close else ""


def url_has_credentials(value: str) -> bool:
    """True when a URL carries a user name or password (``https://user:pass@host``)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "@" in value
    return bool(parts.username or parts.password) or "@" in parts.netloc


def url_problem(value: str, allow_plain_http: bool) -> str | None:
    """Why ``value`` cannot be a provider's API URL, or None; the reason never quotes the URL."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return "must be an https:// URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL"
    if url_has_credentials(value):
        return "must not hold credentials (user:password@); the secret goes in its own option, which is masked"
    if parts.scheme == "http" and not allow_plain_http:
        return (
            "is a plain http:// URL: the API key or token would travel in clear text; use https://, "
            "or set %s: true for a test server on a trusted network" % PLAIN_HTTP
        )
    return None


def entry_secrets(config: Any, cls: type[DnsProvider] | None) -> list[str]:
    """Every string of a provider entry that must be masked: all of them but those under public options.

    ``cls`` is the class of the entry's type, None for an unknown type (then only name, type and zones are
    public). Strings are collected through nested lists and dictionaries (a hook's ``environment``); numbers
    too under the type's secret options. A URL option is public unless it holds credentials. Each secret is
    also masked as it appears with its whitespace dropped.
    """
    if not isinstance(config, dict):
        return []
    public = cls.public_options() if cls is not None else DnsProvider.COMMON_OPTIONS
    numbers = cls.SECRET_OPTIONS if cls is not None else ()
    found: list[str] = []
    for key, value in config.items():
        if key in public and not (isinstance(value, str) and url_has_credentials(value)):
            continue
        for text in secret_strings(value, key in numbers):
            found.append(text)
            compact = "".join(text.split())
            if compact and compact != text:
                found.append(compact)
    return list(dict.fromkeys(found))


def secret_strings(value: Any, numbers: bool = True) -> list[str]:
    """The non-empty strings (and, with ``numbers``, numbers) in a value, through nested lists and dictionaries."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in secret_strings(item, numbers)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in secret_strings(item, numbers)]
    if isinstance(value, str) or (numbers and isinstance(value, (int, float)) and not isinstance(value, bool)):
        return [str(value)] if str(value).strip() else []
    return []


def redact(text: str, secrets) -> str:
    """Replace every secret in ``text`` by a fixed mask, longest first."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
