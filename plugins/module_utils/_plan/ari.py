# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME Renewal Information (ARI, RFC 9773): when the CA wants a certificate renewed.

A CA that offers ARI names a ``renewalInfo`` URL in its directory. Appending
a certificate's identifier (section 4.1) gives a resource that anyone may GET,
without an account or a signature, and that answers with a *suggested
window*. The client draws one uniformly random time inside the window, keeps
it, and renews once that time has passed; it asks again only after the
``Retry-After`` the CA gave, and draws again only when the window changed.
The random draw spreads a fleet's renewals, and the CA can pull a window
forward (say before a mass revocation) to get certificates replaced early.

The same identifier goes into a new order's ``replaces`` field (section 5),
so the CA knows which certificate the new one succeeds.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from dataclasses import dataclass

from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import directory_document
from ansible_collections.certfleet.acme.plugins.module_utils._common.encoding import b64url
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import x509
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import load_requests
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import parse_retry_after as parse_hint
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import tls_error_hint

USER_AGENT = "certfleet.acme (ARI)"

#: The option (and role variable) that gives the CA certificate of a private ACME server; ARI uses it too.
CA_BUNDLE_OPTION = "acme_ca_bundle (role: letsencrypt_dns_acme_ca_bundle)"

#: Poll interval when the CA sends no Retry-After (RFC 9773 section 4.3 and
#: Let's Encrypt's guidance: about every six hours).
DEFAULT_RETRY_AFTER = 6 * 3600.0
#: Bounds applied to whatever the CA sends: not more often than once a
#: minute, and at least once a day, so a window moved forward is seen in time.
MIN_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 86400.0

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$",
)


class AriError(Exception):
    """The renewal information could not be fetched or did not make sense."""


@dataclass(frozen=True)
class RenewalInfo:
    """One answer of the CA: the suggested window and when to ask again."""

    start: datetime.datetime
    end: datetime.datetime
    explanation_url: str | None
    retry_after_seconds: float


# ---------------------------------------------------------------- identifier


def serial_der_bytes(serial: int) -> bytes:
    """The content octets of the DER INTEGER holding ``serial``: minimal two's complement.

    A positive number whose top bit would be set gets a leading zero octet,
    so ``0x87654321`` is ``00 87 65 43 21``; zero is one zero octet.
    """
    if serial >= 0:
        length = (serial.bit_length() + 8) // 8
    else:
        length = ((~serial).bit_length() + 8) // 8
    return serial.to_bytes(length, "big", signed=True)


def authority_key_identifier(cert) -> bytes | None:
    """The keyIdentifier of the certificate's Authority Key Identifier, or None when it has none."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return extension.value.key_identifier or None


def cert_id(cert) -> str:
    """The ARI certificate identifier (RFC 9773 section 4.1) of a parsed certificate.

    ``base64url(AKI keyIdentifier) "." base64url(serial DER INTEGER octets)``,
    both without padding. It is also the value of a new order's ``replaces``.
    Raises ValueError for a certificate without an Authority Key Identifier
    (self-signed or not from an ACME CA): it has no identifier.
    """
    key_id = authority_key_identifier(cert)
    if key_id is None:
        raise ValueError("the certificate has no Authority Key Identifier keyIdentifier, so it has no ARI identifier")
    return "%s.%s" % (b64url(key_id), b64url(serial_der_bytes(cert.serial_number)))


def renewal_info_resource(renewal_info_url: str, identifier: str) -> str:
    """The URL of one certificate's renewal information: the directory's URL, "/", the identifier."""
    return renewal_info_url.rstrip("/") + "/" + identifier


# ---------------------------------------------------------------- parsing


def parse_timestamp(value) -> datetime.datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (fractions beyond microseconds are cut)."""
    if not isinstance(value, str):
        raise AriError("timestamp %r is not a string" % (value,))
    match = _RFC3339.match(value.strip())
    if not match:
        raise AriError("timestamp %r is not RFC 3339" % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        offset = datetime.timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        offset = sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),  # a leap second counts as the second before it
            micro,
            tzinfo=datetime.timezone(offset),
        )
    except ValueError as exc:
        raise AriError("timestamp %r is not a valid time: %s" % (value, exc)) from exc
    return moment.astimezone(datetime.timezone.utc)


def clamp_retry_after(seconds: float) -> float:
    """Keep the CA's polling hint between :data:`MIN_RETRY_AFTER` and :data:`MAX_RETRY_AFTER`."""
    return min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, float(seconds)))


def parse_retry_after(value, now: datetime.datetime | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), clamped.

    A missing or unreadable header gives :data:`DEFAULT_RETRY_AFTER`.
    """
    seconds = parse_hint(value, now.timestamp if now is not None else time.time, http_only=True)
    return DEFAULT_RETRY_AFTER if seconds is None else clamp_retry_after(seconds)


def parse_renewal_info(document, retry_after_header=None, now: datetime.datetime | None = None) -> RenewalInfo:
    """Check and convert a renewalInfo response body (section 4.2)."""
    if not isinstance(document, dict):
        raise AriError("the response is not a JSON object")
    window = document.get("suggestedWindow")
    if not isinstance(window, dict):
        raise AriError("the response has no suggestedWindow object")
    start = parse_timestamp(window.get("start"))
    end = parse_timestamp(window.get("end"))
    if end <= start:
        raise AriError("suggestedWindow ends (%s) before it starts (%s)" % (window.get("end"), window.get("start")))
    explanation = document.get("explanationURL")
    if not isinstance(explanation, str) or not explanation:
        explanation = None
    return RenewalInfo(start, end, explanation, parse_retry_after(retry_after_header, now))


# ---------------------------------------------------------------- HTTP

_LOCAL = threading.local()


def _session():
    """This thread's requests session: connections are kept alive between certificates."""
    session = getattr(_LOCAL, "session", None)
    if session is None:
        session = load_requests().Session()
        session.headers["User-Agent"] = USER_AGENT
        _LOCAL.session = session
    return session


def _get(url: str, verify, timeout: float, session=None):
    """GET ``url``; AriError when no answer came (connection, TLS, timeout)."""
    session = session or _session()
    try:
        return session.get(url, timeout=timeout, verify=verify, headers={"Accept": "application/json"})
    except load_requests().RequestException as exc:
        hint = tls_error_hint(url, exc, CA_BUNDLE_OPTION)
        raise AriError(hint or "GET %s failed: %s" % (url, exc)) from exc


def _get_json(url: str, verify, timeout: float, session=None):
    """GET ``url`` and return (response, parsed JSON); AriError for transport, status or body problems."""
    response = _get(url, verify, timeout, session)
    if response.status_code != 200:
        detail = (response.text or "").strip().replace("\n", " ")[:200]
        raise AriError("GET %s answered HTTP %s %s" % (url, response.status_code, detail))
    try:
        return response, response.json()
    except ValueError as exc:
        raise AriError("GET %s did not answer JSON: %s" % (url, exc)) from exc


def fetch_renewal_info_url(directory_url: str, verify=True, timeout: float = 10, session=None) -> str | None:
    """The ``renewalInfo`` URL of the CA's directory, or None when the CA does not offer ARI.

    AriError when the CA cannot be reached; NoDirectoryError when the URL answers with something else than a
    directory (a typo: HTTP 404), worded as the ACME client words it, so the caller can leave it to the order step.
    """
    response = _get(directory_url, verify, timeout, session)
    directory = directory_document(directory_url, response.status_code, response.json)
    url = directory.get("renewalInfo")
    return url if isinstance(url, str) and url else None


def fetch_renewal_info(
    renewal_info_url: str,
    cert_id: str,  # pylint: disable=redefined-outer-name
    verify=True,
    timeout: float = 10,
    session=None,
    now: datetime.datetime | None = None,
) -> RenewalInfo:
    """GET one certificate's renewal information (unauthenticated, section 4.1).

    ``verify`` is what requests takes: True for the system store, or the
    path of a CA bundle. Raises AriError for anything but a usable answer.
    """
    url = renewal_info_resource(renewal_info_url, cert_id)
    response, document = _get_json(url, verify, timeout, session)
    return parse_renewal_info(document, response.headers.get("Retry-After"), now)


# ---------------------------------------------------------------- choosing


def choose_renewal_time(start: datetime.datetime, end: datetime.datetime, rng) -> datetime.datetime:
    """A uniformly random moment in ``[start, end)``, in whole seconds after ``start``.

    ``rng`` is a ``random.Random`` (the module uses ``random.SystemRandom``).
    """
    span = (end - start).total_seconds()
    if span <= 0:
        return start
    return start + datetime.timedelta(seconds=int(rng.random() * span))
