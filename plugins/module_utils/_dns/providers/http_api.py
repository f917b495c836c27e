# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the HTTP API providers (Cloudflare, Rackspace, PowerDNS) share on top of the common JSON client.

The client in ``_common/http.py`` knows HTTP; this knows providers: its
errors become :class:`ProviderError` (secrets scrubbed, the record named),
and a zone's id is looked up once per run however many threads ask for it.
"""

from __future__ import annotations

import threading
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.http import (
    HttpError,
    HttpStatusError,
    JsonApi,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderError


class ProviderHttpError(ProviderError):
    """The API answered with an error status; ``status`` and ``data`` (the parsed body) say what."""

    def __init__(self, provider: str, record: str | None, message: str, status: int, data=None):
        super().__init__(provider, record, message)
        self.status = status
        self.data = data


def provider_error(provider: DnsProvider, exc: HttpError) -> ProviderError:
    """The ProviderError for a failed request; ``exc.context`` is the record it was about."""
    if isinstance(exc, HttpStatusError):
        return ProviderHttpError(provider.name, exc.context, exc.message, exc.status, exc.data)
    return ProviderError(provider.name, exc.context, exc.message)


def provider_api(provider: DnsProvider, timeout: float, error_text, **options) -> JsonApi:
    """A JSON client whose messages are scrubbed of ``provider``'s secrets and whose errors are ProviderErrors."""
    return JsonApi(
        timeout,
        error_text,
        scrub=provider.scrub,
        convert=lambda exc: provider_error(provider, exc),
        **options,
    )


class Refused(Exception):
    """A lookup failed for good this run: ``message`` is said again to every later caller."""

    def __init__(self, message: str, error: Exception | None = None):
        super().__init__(message)
        self.message = message
        self.error = error


class LookupOnce:
    """Values (zone ids) looked up once per run, however many threads ask at the same time.

    A lookup that raises :class:`Refused` is remembered: a refused token or a
    zone the account does not have stays so, and is not asked again per record.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Lock] = {}
        self._found: dict[str, str] = {}
        self._refused: dict[str, str] = {}

    def get(self, key: str, lookup: Callable[[], str], error: Callable[[str], Exception]) -> str:
        """``lookup()`` once for ``key``; a refusal raises ``error(message)`` (or the error it carries)."""
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._refused:
                    raise error(self._refused[key])
                if key in self._found:
                    return self._found[key]
            try:
                value = lookup()
            except Refused as refusal:
                with self._lock:
                    self._refused[key] = refusal.message
                raise (refusal.error or error(refusal.message)) from None
            with self._lock:
                self._found[key] = value
            return value
