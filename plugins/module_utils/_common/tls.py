# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Say what to do when a server's certificate is not trusted, the same way for the CA and every API.

A verification failure reaches us wrapped two or three times (requests'
``SSLError`` around urllib3's around ``ssl.SSLCertVerificationError``, or
botocore's ``SSLError`` around urllib3's), and its text is a long line about
connection pools that hides the only part that matters: OpenSSL's reason,
such as "CA cert does not include key usage extension" (Python 3.13 verifies
strictly by default). :func:`tls_error_hint` digs that reason out of the
chain and names the URL and the option that supplies a CA bundle, so the
user knows the fix without reading a traceback.

Only the standard library is used: the wrappers are recognised by their
shape (``args``, ``reason``, ``kwargs``, ``request``), not imported.
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit, urlunsplit

#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH: a CA bundle does not help, another URL does.
HOSTNAME_MISMATCH = 62

#: Where the reason sits in the text of an exception that no longer carries the ssl error itself.
_REASON_IN_TEXT = re.compile(r"certificate verify failed(?::\s*([^()'\"]*?))?\s*(?:\(_ssl\.c:\d+\)|['\")]|$)")

#: OpenSSL's words for a certificate that only strict verification (Python 3.13's default) refuses.
_STRICT_COMPLAINTS = ("key usage", "path length", "key identifier", "basic constraints", "not marked critical", "empty")

#: Said after such a refusal: replacing the bundle does not help, reissuing the CA certificate does.
STRICT_ADVICE = (
    "Python 3.13 and later verify strictly, so the CA certificate needs the RFC 5280 extensions "
    "(see 'A private CA' in docs/docsite/rst/operations.rst)"
)

#: How many linked exceptions are looked at, at most (chains are short; this stops a cycle for sure).
_MAX_LINKS = 64


class TlsVerifyError(Exception):
    """A server's certificate was not trusted; the message names the URL, the reason and the option to use."""


def _linked(exc: BaseException):
    """``exc`` and every exception it wraps: causes, contexts, and those held in args or attributes."""
    todo: list = [exc]
    seen: set = set()
    while todo and len(seen) < _MAX_LINKS:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend(item.args)  # requests and urllib3 keep the wrapped error in args
        todo.extend(getattr(item, name, None) for name in ("reason", "error", "cause"))
        kwargs = getattr(item, "kwargs", None)  # botocore keeps it in kwargs["error"]
        if isinstance(kwargs, dict):
            todo.extend(kwargs.values())
        todo.append(item.__cause__)
        if not item.__suppress_context__:
            todo.append(item.__context__)


def verify_failure(exc: BaseException) -> tuple[str, bool] | None:
    """``(reason, hostname_mismatch)`` when ``exc`` is (or wraps) a certificate verification failure, else None."""
    found_in_text = None
    for item in _linked(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            reason = item.verify_message or item.reason or "certificate verify failed"
            return "certificate verify failed: %s" % reason, item.verify_code == HOSTNAME_MISMATCH
        if found_in_text is None:
            match = _REASON_IN_TEXT.search(str(item))
            if match:
                reason = (match.group(1) or "").strip()
                found_in_text = "certificate verify failed" + (": %s" % reason if reason else "")
    if found_in_text is None:
        return None
    return found_in_text, "hostname mismatch" in found_in_text.lower()


def failed_url(exc: BaseException) -> str | None:
    """The URL of the request that failed, when the exception chain carries it (requests, botocore)."""
    for item in _linked(exc):
        url = getattr(getattr(item, "request", None), "url", None)
        if isinstance(url, str) and url:
            return url
        kwargs = getattr(item, "kwargs", None)
        if isinstance(kwargs, dict) and isinstance(kwargs.get("endpoint_url"), str):
            return kwargs["endpoint_url"]
    return None


def safe_url(url: str) -> str:
    """``url`` without credentials, query or fragment: what a message may show."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def tls_error_hint(url: str | None, exc: BaseException, option: str) -> str | None:
    """The message for a failed certificate verification, or None when ``exc`` is no such failure.

    ``url`` is the address asked (None: the one the exception carries);
    ``option`` completes "give the CA certificate with ...", for example
    ``"acme_ca_bundle (role: letsencrypt_dns_acme_ca_bundle)"``.
    """
    failure = verify_failure(exc)
    if failure is None:
        return None
    reason, mismatch = failure
    url = url or failed_url(exc)
    where = safe_url(url) if url else "the server"
    if mismatch:
        advice = "use a URL with a host name the server's certificate carries"
    else:
        advice = "give the CA certificate with %s" % option
        if any(words in reason.lower() for words in _STRICT_COMPLAINTS):
            advice += "; %s" % STRICT_ADVICE
    return "TLS verification of %s failed: %s; %s" % (where, reason, advice)
