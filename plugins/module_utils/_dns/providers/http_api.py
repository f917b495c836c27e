# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small JSON-over-HTTPS client shared by the HTTP API providers.

What every provider of this kind needs and should not write again: a
``requests`` session with timeouts, JSON bodies, error answers turned into a
:class:`ProviderError` that carries the provider's own message, and throttled
answers (429, 503, or a provider's own code such as Rackspace's 413) retried
after the wait the server asked for (``Retry-After``).

Nothing here logs: request headers carry credentials, so they are never put
into a message, and every message goes through the provider's scrubber.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import parse_retry_after, retry_call
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    DnsProvider,
    ProviderError,
)

try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

USER_AGENT = "certfleet.acme-dns (+https://github.com/certfleet/acme)"

#: Statuses that mean "not processed, try later" for every API.
RETRY_STATUSES = (429, 503)

#: How much of a non-JSON error body goes into a message (HTML error pages are long).
MAX_TEXT_IN_MESSAGE = 200


class HttpStatusError(ProviderError):
    """The API answered with an error status; ``status`` and ``data`` (the parsed body) say what."""

    def __init__(self, provider: str, record: str | None, message: str, status: int, data: Any = None):
        super().__init__(provider, record, message)
        self.status = status
        self.data = data


class RetryableHttpError(HttpStatusError):
    """A throttled or temporarily unavailable answer; ``retry_after`` is the server's hint in seconds, or None."""

    def __init__(self, provider, record, message, status, data=None, retry_after: float | None = None):
        super().__init__(provider, record, message, status, data)
        self.retry_after = retry_after


class TransportError(ProviderError):
    """No HTTP answer at all (connection refused, timeout, TLS failure)."""


def missing_requests_reason() -> str:
    """The configuration error text used when ``requests`` is not installed."""
    return "needs the Python library 'requests' on the controller (pip install requests)"


def check_url(provider: DnsProvider, field: str, value: str | None) -> str | None:
    """An http(s) URL option without credentials in it, without a trailing slash; None stays None."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise provider.config_error(field, "must be an http(s) URL", value)
    if parts.username or parts.password:
        raise provider.config_error(field, "must not contain credentials")
    return value.rstrip("/")


def _body_retry_after(data: Any) -> Any:
    """A ``retryAfter`` field at the top of a JSON error body or one level down (``{"overLimit": {...}}``)."""
    if not isinstance(data, dict):
        return None
    if "retryAfter" in data:
        return data["retryAfter"]
    for value in data.values():
        if isinstance(value, dict) and "retryAfter" in value:
            return value["retryAfter"]
    return None


def describe_target(method: str, url: str, params=None) -> str:
    """``GET /path?query`` for messages: the host is in the provider entry, credentials are never in URLs."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params or {}, doseq=True)) if q)
    return "%s %s%s" % (method, parts.path or "/", "?" + query if query else "")


class ApiResponse:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    def __init__(self, status: int, headers, data: Any):
        self.status = status
        self.headers = headers
        self.data = data


class JsonApi:
    """JSON requests on behalf of one provider, with its error format and retry rules.

    ``error_text(status, data, text)`` turns an error answer into the
    provider's message (``data`` is the parsed JSON body or None). Statuses in
    ``limit_statuses`` (e.g. Rackspace's 413 "Over Limit") are retried like
    429 when the answer carries a retry hint; without one they are real
    errors (413 also means "request too large" there).
    """

    def __init__(
        self,
        provider: DnsProvider,
        timeout: float,
        error_text: Callable[[int, Any, str], str],
        limit_statuses=(),
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        session=None,
    ):
        self.provider = provider
        self.timeout = timeout
        self.error_text = error_text
        self.limit_statuses = tuple(limit_statuses)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self._session = session

    @property
    def session(self):
        """The requests session, created on first use (construction never needs the library)."""
        if self._session is None:
            if not HAS_REQUESTS:
                raise self.provider.error(None, missing_requests_reason())
            self._session = requests.Session()
            self._session.headers["User-Agent"] = USER_AGENT
            self._session.headers["Accept"] = "application/json"
        return self._session

    def request(
        self,
        method: str,
        url: str,
        record: str | None = None,
        params=None,
        body: Any = None,
        headers: dict | None = None,
        expect=(200,),
    ) -> ApiResponse:
        """Send one request (retrying throttled answers) and return the answer with a status in ``expect``.

        Transport failures are retried for GET only: a POST whose answer was
        lost may have been applied, and sending it again could add twice.
        """

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RetryableHttpError):
                return True
            return isinstance(exc, TransportError) and method == "GET"

        return retry_call(
            lambda: self._once(method, url, record, params, body, headers, expect),
            attempts=self.attempts,
            base_delay=self.base_delay,
            is_retryable=retryable,
            max_delay=self.max_delay,
            sleep=self.sleep,
        )

    def _once(self, method, url, record, params, body, headers, expect) -> ApiResponse:
        target = describe_target(method, url, params)
        kwargs: dict[str, Any] = {"params": params, "headers": headers, "timeout": self.timeout}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = dict(headers or {}, **{"Content-Type": "application/json"})
        session = self.session
        try:
            # No redirects: a redirect to another host would carry our credentials there.
            response = session.request(method, url, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            reason = "no answer within %ss" % self.timeout if _is_timeout(exc) else type(exc).__name__
            raise TransportError(
                self.provider.name, record, self.provider.scrub("%s: %s (%s)" % (target, reason, _short(exc)))
            ) from None
        status = response.status_code
        text = response.text or ""
        data = _json_or_none(text)
        if status in expect:
            if text.strip() and data is None:
                raise self.provider.error(
                    record, "%s: HTTP %d with a body that is not JSON: %s" % (target, status, _trim(text))
                )
            return ApiResponse(status, response.headers, data)
        detail = self.error_text(status, data, text) or _trim(text) or response.reason or "no details"
        message = self.provider.scrub("%s: HTTP %d: %s" % (target, status, detail))
        hint = parse_retry_after(response.headers.get("Retry-After"))
        if hint is None:
            hint = parse_retry_after(response.headers.get("Reply-After"))
        if hint is None:
            hint = parse_retry_after(_body_retry_after(data))
        if status in RETRY_STATUSES or (status in self.limit_statuses and hint is not None):
            raise RetryableHttpError(self.provider.name, record, message, status, data, hint)
        raise HttpStatusError(self.provider.name, record, message, status, data)


def _is_timeout(exc: BaseException) -> bool:
    return HAS_REQUESTS and isinstance(exc, requests.Timeout)


def _short(exc: BaseException) -> str:
    """An exception's text without the long urllib3 wrapping, at most a line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _json_or_none(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_IN_MESSAGE else text[:MAX_TEXT_IN_MESSAGE] + "..."
