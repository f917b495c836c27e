# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small JSON-over-HTTPS client for every stage that calls an HTTP API (DNS providers, deploy targets, ARI).

What each caller needs and should not write again: a ``requests`` session
per thread with timeouts, JSON bodies, error answers turned into an
:class:`HttpError` that carries the server's own message, and throttled
answers (429, 503, or an API's own code such as Rackspace's 413) retried
after the wait the server asked for (``Retry-After``).

Nothing here logs: request headers carry credentials, so they are never put
into a message, and every message goes through the caller's scrubber. A
caller turns :class:`HttpError` into its own error type with ``convert``.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import HAS_REQUESTS, load_requests
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import parse_retry_after, retry_call
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import tls_error_hint

USER_AGENT = "certfleet.acme-dns (+https://github.com/certfleet/acme)"

#: Statuses that mean "not processed, try later" for every API.
RETRY_STATUSES = (429, 503)

#: How much of a non-JSON error body goes into a message (HTML error pages are long).
MAX_TEXT_IN_MESSAGE = 200

#: How a caller without a CA-bundle option of its own gets a private CA trusted: requests reads this variable.
REQUESTS_CA_BUNDLE_OPTION = "the REQUESTS_CA_BUNDLE environment variable (a PEM file) where the module runs"

MISSING_REQUESTS = "needs the Python library 'requests' on the controller (pip install requests)"


class HttpError(Exception):
    """A request got no usable answer; ``message`` (scrubbed) says why, ``context`` is the caller's label."""

    def __init__(self, message: str, context: Any = None, status: int | None = None, data: Any = None):
        super().__init__(message)
        self.message = message
        self.context = context
        self.status = status
        self.data = data


class HttpStatusError(HttpError):
    """The API answered with an error status; ``data`` is the parsed body, ``text`` and ``reason`` the raw answer."""

    def __init__(self, message, context, status, data=None, text="", reason="", retry_after: float | None = None):
        super().__init__(message, context, status, data)
        self.text = text
        self.reason = reason
        self.retry_after = retry_after


class RetryableHttpError(HttpStatusError):
    """A throttled or temporarily unavailable answer; ``retry_after`` is the server's hint in seconds, or None."""


class TransportError(HttpError):
    """No HTTP answer at all; ``cause`` is the requests exception, ``timeout``/``tls`` say which kind."""

    def __init__(self, message, context, cause: BaseException, timeout: bool, tls: bool):
        super().__init__(message, context)
        self.cause = cause
        self.timeout = timeout
        self.tls = tls


class BadAnswerError(HttpError):
    """A success status whose body is not JSON; ``detail`` is the parser's complaint."""

    def __init__(self, message, context, status, detail: str):
        super().__init__(message, context, status)
        self.detail = detail


class ApiResponse:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    def __init__(self, status: int, headers, data: Any):
        self.status = status
        self.headers = headers
        self.data = data


def describe_target(method: str, url: str, params=None) -> str:
    """``GET /path?query`` for messages: the host is in the caller's settings, credentials are never in URLs."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params or {}, doseq=True)) if q)
    return "%s %s%s" % (method, parts.path or "/", "?" + query if query else "")


def _get_only(method: str, exc: TransportError) -> bool:
    """A POST whose answer was lost may have been applied: only a GET is sent again."""
    return method == "GET"


class JsonApi:
    """JSON requests with one API's error format and retry rules.

    ``error_text(status, data, text)`` turns an error answer into the API's
    message (``data`` is the parsed JSON body or None). Statuses in
    ``limit_statuses`` (e.g. Rackspace's 413 "Over Limit") are retried like
    429 when the answer carries a retry hint; without one they are real
    errors. ``retry_transport(method, error)`` says which transport failures
    are sent again. ``convert(error)`` turns the final :class:`HttpError`
    into the caller's exception. ``tls_option`` completes "give the CA
    certificate with ..." in the message of a failed certificate verification.
    """

    def __init__(
        self,
        timeout: float,
        error_text: Callable[[int, Any, str], str] = lambda status, data, text: "",
        scrub: Callable[[str], str] = str,
        convert: Callable[[HttpError], Exception] | None = None,
        limit_statuses=(),
        retry_statuses=RETRY_STATUSES,
        retry_transport: Callable[[str, TransportError], bool] = _get_only,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        session=None,
        headers: dict | None = None,
        verify: bool = True,
        allow_redirects: bool = False,
        tls_option: str = REQUESTS_CA_BUNDLE_OPTION,
    ):
        self.timeout = timeout
        self.error_text = error_text
        self.scrub = scrub
        self.convert = convert
        self.limit_statuses = tuple(limit_statuses)
        self.retry_statuses = tuple(retry_statuses)
        self.retry_transport = retry_transport
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.headers = dict(headers or {})
        self.verify = verify
        # No redirects by default: a redirect to another host would carry the credentials there.
        self.allow_redirects = allow_redirects
        self.tls_option = tls_option
        self._session = session
        self._local = threading.local()

    @property
    def session(self):
        """This thread's requests session, made on first use (sessions are not guaranteed thread-safe)."""
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            if not HAS_REQUESTS:
                raise HttpError(MISSING_REQUESTS)
            session = load_requests().Session()
            session.headers["User-Agent"] = USER_AGENT
            session.headers["Accept"] = "application/json"
            session.headers.update(self.headers)
            session.verify = self.verify
            self._local.session = session
        return session

    def request(
        self, method: str, url: str, context: Any = None, params=None, body: Any = None, headers=None, expect=(200,)
    ) -> ApiResponse:
        """Send one request (retrying throttled answers) and return the answer with a status in ``expect``."""

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RetryableHttpError):
                return True
            return isinstance(exc, TransportError) and self.retry_transport(method, exc)

        try:
            return retry_call(
                lambda: self._once(method, url, context, params, body, headers, expect),
                attempts=self.attempts,
                base_delay=self.base_delay,
                is_retryable=retryable,
                max_delay=self.max_delay,
                sleep=self.sleep,
            )
        except HttpError as exc:
            if self.convert is None:
                raise
            raise self.convert(exc) from None

    def _once(self, method, url, context, params, body, headers, expect) -> ApiResponse:
        target = describe_target(method, url, params)
        kwargs: dict[str, Any] = {"params": params, "headers": headers, "timeout": self.timeout}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = dict(headers or {}, **{"Content-Type": "application/json"})
        session = self.session
        requests = load_requests()
        try:
            response = session.request(method, url, allow_redirects=self.allow_redirects, **kwargs)
        except requests.RequestException as exc:
            timeout = isinstance(exc, requests.Timeout)
            reason = "no answer within %ss" % self.timeout if timeout else type(exc).__name__
            hint = tls_error_hint(url, exc, self.tls_option)
            message = self.scrub(hint or "%s: %s (%s)" % (target, reason, _short(exc)))
            raise TransportError(
                message, context, exc, timeout, isinstance(exc, requests.exceptions.SSLError)
            ) from None
        status = response.status_code
        text = response.text or ""
        data, problem = _parse_json(text)
        if status in expect:
            if problem is not None:
                message = self.scrub("%s: HTTP %d with a body that is not JSON: %s" % (target, status, _trim(text)))
                raise BadAnswerError(message, context, status, problem)
            return ApiResponse(status, response.headers, data)
        reason = str(getattr(response, "reason", "") or "")
        detail = self.error_text(status, data, text) or _trim(text) or reason or "no details"
        message = self.scrub("%s: HTTP %d: %s" % (target, status, detail))
        hint = parse_retry_after(response.headers.get("Retry-After"))
        if hint is None:
            hint = parse_retry_after(response.headers.get("Reply-After"))
        if hint is None:
            hint = parse_retry_after(_body_retry_after(data))
        if status in self.retry_statuses or (status in self.limit_statuses and hint is not None):
            raise RetryableHttpError(message, context, status, data, text, reason, hint)
        raise HttpStatusError(message, context, status, data, text, reason, hint)


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


def _short(exc: BaseException) -> str:
    """An exception's text without the long urllib3 wrapping, at most a line."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _parse_json(text: str) -> tuple[Any, str | None]:
    """(parsed body, None), (None, None) for an empty body, or (None, why it is not JSON)."""
    if not text.strip():
        return None, None
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, str(exc)


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_IN_MESSAGE else text[:MAX_TEXT_IN_MESSAGE] + "..."
