# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local fake of the Cloudflare API v4 (zones and DNS records), for tests.

It follows the documented API as far as the provider uses it, under
``/client/v4``:

* Every request needs ``Authorization: Bearer <token>``: a missing or
  malformed header gets ``400`` (6003 "Invalid request headers" with 6111 in
  ``error_chain``), an unknown token ``403`` (9109 "Invalid access token").
  A token may be limited to some zones (others are invisible to it: not
  listed, ``403`` 10000 "Authentication error") and to reading.
* ``GET /zones?name=`` lists the zones the token can see, paged
  (``per_page`` 5 to 50).
* ``GET /zones/{id}/dns_records?type=&name=&content=`` with ``page`` and
  ``per_page``; ``max_per_page`` makes the fake return smaller pages than
  asked for (the client must follow ``result_info.total_pages``).
* ``POST /zones/{id}/dns_records`` validates the body (type, name, content,
  ttl 1 or 60..86400, no proxied TXT) and refuses an identical record
  (81058); with ``quote_txt`` TXT content is answered in quotes, as
  Cloudflare shows it.
* ``DELETE /zones/{id}/dns_records/{record id}``; unknown ids get ``404``
  (81044 "Record does not exist.").
* Errors use the v4 envelope ``{"success": false, "errors": [{"code",
  "message"}], "messages": [], "result": null}``.
* ``set_limit(count, window, retry_after)``: the request over the limit, and
  every one until ``retry_after`` seconds have passed, get ``429`` (971)
  with ``Retry-After`` in seconds.

Start it in-process (``CloudflareFake(...).start()``, ``stop()``, or ``with``) or as a
command: ``python tests/fakes/cloudflare_fake.py --zone example.com`` prints
the API URL and token as JSON and serves until interrupted.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import re
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, also when loaded by path
from serving import JsonApiFake, add_address_arguments, address, serve_until_interrupted, url_at  # noqa: E402

PREFIX = "/client/v4"
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT")
MAX_TXT_CONTENT = 2048
ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
BEARER = re.compile(r"^Bearer ([!-~]+)$")


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def _unquote(content: str) -> str:
    """The fake's own notion of a TXT value: one quoted string is the same as its content."""
    if len(content) >= 2 and content.startswith('"') and content.endswith('"') and '"' not in content[1:-1]:
        return content[1:-1]
    return content


def _errors(*items, chain=None) -> dict:
    errors = [{"code": code, "message": message} for code, message in items]
    if chain:
        errors[0]["error_chain"] = [{"code": code, "message": message} for code, message in chain]
    return {"success": False, "errors": errors, "messages": [], "result": None}


def _ok(result, info: dict | None = None) -> dict:
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = info
    return body


class CloudflareFake(JsonApiFake):
    """Zones and DNS records of one Cloudflare account in a loopback HTTP server."""

    def __init__(
        self,
        zones=("example.com",),
        token: str | None = None,
        quote_txt: bool = True,
        max_per_page: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__(host, port)
        self.quote_txt = quote_txt
        self.max_per_page = max_per_page
        self.zones: dict[str, dict] = {}  # id -> {"id", "name", "records": {id: record}}
        #: token -> {"zones": None (all) or set of zone names, "write": bool}
        self.tokens: dict[str, dict] = {}
        self.token = token or secrets.token_urlsafe(30)
        self.add_token(self.token)
        self.limit: tuple[int, float, float] | None = None
        self._hits: collections.deque = collections.deque()
        self._blocked = 0.0
        #: Every 429: {"time", "method", "path", "query", "retry_after"}.
        self.over_limit: list[dict] = []
        for name in zones:
            self.add_zone(name)

    thread_name = "cloudflare-fake"

    # -------------------------------------------------------------- control
    api_url = url_at(PREFIX)

    def info(self) -> dict:
        return {
            "api_url": self.api_url,
            "api_token": self.token,
            "zones": {z["name"]: zone_id for zone_id, z in self.zones.items()},
        }

    def add_zone(self, name: str) -> str:
        with self.lock:
            zone_id = secrets.token_hex(16)
            self.zones[zone_id] = {"id": zone_id, "name": _normalize(name), "records": {}}
            return zone_id

    def add_token(self, token: str, zones=None, write: bool = True) -> str:
        """A token that sees ``zones`` (names; None: all) and may edit DNS when ``write``."""
        with self.lock:
            self.tokens[token] = {"zones": None if zones is None else {_normalize(z) for z in zones}, "write": write}
            return token

    def set_limit(self, count: int, window: float, retry_after: float = 1.0) -> None:
        with self.lock:
            self.limit = (count, window, retry_after)
            self._hits.clear()
            self._blocked = 0.0

    def clear_limit(self) -> None:
        with self.lock:
            self.limit = None
            self._hits.clear()
            self._blocked = 0.0

    def txt_values(self, fqdn: str) -> set:
        fqdn = _normalize(fqdn)
        with self.lock:
            records = [record for zone in self.zones.values() for record in zone["records"].values()]
        return {record["_value"] for record in records if record["type"] == "TXT" and record["name"] == fqdn}

    def add_txt(self, fqdn: str, value: str, ttl: int = 1) -> str:
        """Put a record in place directly (as another client would have)."""
        fqdn = _normalize(fqdn)
        with self.lock:
            zone = max((z for z in self.zones.values() if _in_zone(fqdn, z["name"])), key=lambda z: len(z["name"]))
            record = self._make_record(zone, "TXT", fqdn, value, ttl)
            zone["records"][record["id"]] = record
            return record["id"]

    # ------------------------------------------------------------- internals
    def _make_record(self, zone: dict, rtype: str, name: str, content: str, ttl: int) -> dict:
        stamp = _stamp()
        value = _unquote(content) if rtype == "TXT" else content
        return {
            "id": secrets.token_hex(16),
            "zone_id": zone["id"],
            "zone_name": zone["name"],
            "name": name,
            "type": rtype,
            "content": content,
            "_value": value,
            "proxiable": False,
            "proxied": False,
            "ttl": ttl,
            "locked": False,
            "meta": {"auto_added": False, "managed_by_apps": False, "managed_by_argo_tunnel": False},
            "comment": None,
            "tags": [],
            "created_on": stamp,
            "modified_on": stamp,
        }

    def _view(self, record: dict) -> dict:
        view = {key: value for key, value in record.items() if not key.startswith("_")}
        if record["type"] == "TXT":
            view["content"] = '"%s"' % record["_value"] if self.quote_txt else record["_value"]
        return view

    def _over_limit(self, now: float) -> float | None:
        if self.limit is None:
            return None
        count, window, retry_after = self.limit
        if now < self._blocked:
            return self._blocked - now
        while self._hits and self._hits[0] <= now - window:
            self._hits.popleft()
        if len(self._hits) >= count:
            self._hits.clear()
            self._blocked = now + retry_after
            return retry_after
        self._hits.append(now)
        return None

    def internal_error(self, exc: Exception) -> dict:
        return _errors((10001, "fake: %s: %s" % (type(exc).__name__, exc)))

    def _dispatch(self, method, path, query, raw, handler, extra_headers):
        no_route = (7003, "Could not route to %s, perhaps your object identifier is invalid?" % path)
        if not path.startswith(PREFIX + "/"):
            return 400, _errors(no_route, (7000, "No route for that URI"))
        match = BEARER.match(handler.headers.get("Authorization") or "")
        if not match:
            return 400, _errors(
                (6003, "Invalid request headers"), chain=[(6111, "Invalid format for Authorization header")]
            )
        grant = self.tokens.get(match.group(1))
        if grant is None:
            return 403, _errors((9109, "Invalid access token"))
        now = time.monotonic()
        wait = self._over_limit(now)
        if wait is not None:
            seconds = max(1, int(math.ceil(wait)))
            extra_headers["Retry-After"] = str(seconds)
            self.over_limit.append(dict(self._current, time=now, retry_after=seconds))
            return 429, _errors((971, "Please wait and consider throttling your request speed"))
        segments = [s for s in path[len(PREFIX) :].split("/") if s]
        if segments == ["zones"] and method == "GET":
            return self._list_zones(grant, query)
        if len(segments) >= 3 and segments[0] == "zones" and segments[2] == "dns_records":
            if not ZONE_ID.match(segments[1]):
                return 400, _errors(no_route, (7000, "No route for that URI"))
            zone = self.zones.get(segments[1])
            if zone is None or (grant["zones"] is not None and zone["name"] not in grant["zones"]):
                return 403, _errors((10000, "Authentication error"))
            if len(segments) == 3 and method == "GET":
                return self._list_records(zone, query)
            if len(segments) == 3 and method == "POST":
                if not grant["write"]:
                    return 403, _errors((10000, "Authentication error"))
                return self._create_record(zone, raw)
            if len(segments) == 4 and method == "DELETE":
                if not grant["write"]:
                    return 403, _errors((10000, "Authentication error"))
                return self._delete_record(zone, segments[3])
            return 405, _errors((10405, "Method not allowed for this endpoint"))
        return 400, _errors(no_route, (7000, "No route for that URI"))

    @staticmethod
    def _paging(query, maximum: int) -> tuple[int, int, str | None]:
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["20" if maximum == 50 else "100"])[0])
        except ValueError:
            return 0, 0, "page and per_page must be integers"
        if page < 1:
            return 0, 0, "page must be at least 1"
        if not 5 <= per_page <= maximum:
            return 0, 0, "per_page must be between 5 and %d" % maximum
        return page, per_page, None

    @staticmethod
    def _paged(items: list, page: int, per_page: int) -> dict:
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page)),
        }
        return _ok(chunk, info)

    def _list_zones(self, grant: dict, query):
        page, per_page, problem = self._paging(query, 50)
        if problem:
            return 400, _errors((1001, problem))
        name = query.get("name", [None])[0]
        found = [
            {
                "id": z["id"],
                "name": z["name"],
                "status": "active",
                "paused": False,
                "type": "full",
                "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            }
            for z in sorted(self.zones.values(), key=lambda z: z["name"])
            if (grant["zones"] is None or z["name"] in grant["zones"])
            and (name is None or z["name"] == _normalize(name))
        ]
        return 200, self._paged(found, page, per_page)

    def _list_records(self, zone: dict, query):
        page, per_page, problem = self._paging(query, 5000000)
        if problem:
            return 400, _errors((1004, "DNS Validation Error"), chain=[(9999, problem)])
        if self.max_per_page:
            per_page = min(per_page, self.max_per_page)
        rtype = query.get("type", [None])[0]
        name = query.get("name", [None])[0]
        content = query.get("content", [None])[0]
        found = [
            self._view(r)
            for r in sorted(zone["records"].values(), key=lambda r: r["created_on"] + r["id"])
            if (rtype is None or r["type"] == rtype)
            and (name is None or r["name"] == _normalize(name))
            and (content is None or r["content"] == content or r["_value"] == _unquote(content))
        ]
        return 200, self._paged(found, page, per_page)

    def _create_record(self, zone: dict, raw: bytes):
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, _errors((9207, "Request body is invalid."))
        if not isinstance(body, dict):
            return 400, _errors((9207, "Request body is invalid."))
        rtype, name, content, ttl = body.get("type"), body.get("name"), body.get("content"), body.get("ttl", 1)
        if rtype not in RECORD_TYPES:
            return 400, _errors((1004, "DNS Validation Error"), chain=[(9000, "DNS record type is invalid.")])
        if not isinstance(name, str) or not name.strip():
            return 400, _errors((1004, "DNS Validation Error"), chain=[(9007, "DNS record name is required.")])
        if not isinstance(content, str) or not content:
            return 400, _errors(
                (1004, "DNS Validation Error"), chain=[(9005, "Content for %s record is invalid." % rtype)]
            )
        if rtype == "TXT" and len(content) > MAX_TXT_CONTENT:
            return 400, _errors((1004, "DNS Validation Error"), chain=[(9100, "TXT content is too long.")])
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not (ttl == 1 or 60 <= ttl <= 86400):
            return 400, _errors((9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic."))
        if body.get("proxied") and rtype == "TXT":
            return 400, _errors((9004, "This record type cannot be proxied."))
        fqdn = zone["name"] if name.strip() == "@" else _normalize(name)
        if not _in_zone(fqdn, zone["name"]):
            fqdn = "%s.%s" % (fqdn, zone["name"])  # Cloudflare reads a name outside the zone as relative
        value = _unquote(content) if rtype == "TXT" else content
        for record in zone["records"].values():
            if record["type"] == rtype and record["name"] == fqdn and record["_value"] == value:
                return 400, _errors((81058, "An identical record already exists."))
        record = self._make_record(zone, rtype, fqdn, content, ttl)
        zone["records"][record["id"]] = record
        return 200, _ok(self._view(record))

    def _delete_record(self, zone: dict, record_id: str):
        if zone["records"].pop(record_id, None) is None:
            return 404, _errors((81044, "Record does not exist."))
        return 200, _ok({"id": record_id})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Cloudflare API v4 (zones, DNS records) on loopback.")
    add_address_arguments(parser)
    parser.add_argument("--token", default=None, help="the API token to accept (default: a random one)")
    parser.add_argument("--zone", action="append", default=[], help="a zone; repeat for more")
    parser.add_argument("--unquoted-txt", action="store_true", help="answer TXT content without quotes")
    args = parser.parse_args(argv)
    fake = CloudflareFake(
        zones=args.zone or ["example.com"],
        token=args.token,
        quote_txt=not args.unquoted_txt,
        **address(args),
    )
    return serve_until_interrupted(fake, lambda: json.dumps(fake.info()))


if __name__ == "__main__":
    sys.exit(main())
