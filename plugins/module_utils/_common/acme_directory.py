# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a wrong ACME directory URL says, for every stage that reads the directory.

Two stages GET the directory: the ARI lookup that decides renewals and the
ACME client that orders. A URL with a typo (a CA answering 404, an HTML page)
must read the same from both, as one plain sentence naming the URL and what
answered, never as a library's ``ClientError: <Response [404]>``; and the ARI
lookup can tell this cause apart, so it is not reported a second time. Both
also refuse a plain ``http://`` URL the same way (RFC 8555 section 6.1 requires
HTTPS), unless the user allows it for a local test server.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit


def directory_url_error(url, allow_plain_http: bool = False, option: str = "acme_directory") -> str | None:
    """Why ``url`` cannot be the ACME directory (naming ``option`` and the value), or None when it can."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        return "%s value %r is not an https:// URL" % (option, url)
    if parts.scheme == "http" and not allow_plain_http:
        return (
            "%s value %r is a plain http:// URL: RFC 8555 requires HTTPS (allow plain HTTP only for a local test "
            "server, with acme_allow_plain_http)" % (option, url)
        )
    return None


class NoDirectoryError(Exception):
    """The directory URL answered, but not with an ACME directory: the message names the URL and the answer."""


def no_directory(url: str, why: str) -> NoDirectoryError:
    """'no ACME directory at URL (why)'."""
    return NoDirectoryError("no ACME directory at %s (%s)" % (url, why))


def directory_document(url: str, status: int, load_json: Callable[[], Any]) -> dict:
    """The directory from an answer with ``status`` whose body ``load_json()`` parses; NoDirectoryError if none."""
    if status != 200:
        raise no_directory(url, "HTTP %s" % status)
    try:
        document = load_json()
    except ValueError:
        raise no_directory(url, "HTTP 200, but the answer is not JSON") from None
    if not isinstance(document, dict):
        raise no_directory(url, "HTTP 200, but the answer is not a JSON object")
    return document
