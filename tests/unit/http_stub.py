# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for a requests session: scripted answers, every request recorded (no network)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

from requests.structures import CaseInsensitiveDict


class StubResponse:
    def __init__(self, status: int, body=None, headers=None, text: str | None = None):
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers or {})
        if text is None:
            text = "" if body is None else json.dumps(body)
        self.text = text
        self.reason = "Stub"


class StubSession:
    """``request()`` asks ``route(call)`` for the answer; ``calls`` holds every request made.

    A call is a dict: method, url, path, query (dict of lists), headers, body
    (parsed JSON or None), allow_redirects, timeout.
    """

    def __init__(self, route):
        self.route = route
        self.calls: list[dict] = []
        self.headers: dict = {}

    def request(self, method, url, allow_redirects=True, params=None, headers=None, timeout=None, data=None):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if params:
            query.update(parse_qs(urlencode(params, doseq=True)))
        call = {
            "method": method,
            "url": url,
            "path": parts.path,
            "query": query,
            "headers": dict(headers or {}),
            "body": json.loads(data) if data else None,
            "allow_redirects": allow_redirects,
            "timeout": timeout,
        }
        self.calls.append(call)
        answer = self.route(call)
        if isinstance(answer, BaseException):
            raise answer
        return answer
