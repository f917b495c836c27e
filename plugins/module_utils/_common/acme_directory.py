# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a wrong ACME directory URL says, for every stage that reads the directory.

Two stages GET the directory: the ARI lookup that decides renewals and the
ACME client that orders. A URL with a typo (a CA answering 404, an HTML page)
must read the same from both, as one plain sentence naming the URL and what
answered, never as a library's ``ClientError: <Response [404]>``; and the ARI
lookup can tell this cause apart, so it is not reported a second time.
"""

from __future__ import annotations

from typing import Any, Callable


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
