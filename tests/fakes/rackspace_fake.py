# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local fake of Rackspace Identity v2.0 and Cloud DNS v1.0, for tests.

It follows the documented API request for request, as far as the provider
uses it:

* ``POST /v2.0/tokens`` with ``RAX-KSKEY:apiKeyCredentials`` answers a token,
  the tenant and a service catalog whose ``rax:dns`` entry points at this
  server (``/v1.0/<tenant>``); bad credentials get ``401 unauthorized``.
* Every Cloud DNS request needs a valid ``X-Auth-Token`` for the tenant in
  the path, else ``401``; ``expire_tokens()`` revokes all issued tokens.
* ``GET /domains?name=`` (the zone and its subdomains, as the first edition
  of the guide describes it; the client must pick the exact name),
  ``GET /domains/{id}/records?type=&name=&data=`` with ``limit`` (at most
  100) and ``offset`` (a multiple of the limit), ``totalEntries`` and links.
* ``POST /domains/{id}/records`` and ``DELETE /domains/{id}/records?id=..``
  are validated at once (``400`` with ``validationErrors``), then answered
  ``202`` with a job that stays RUNNING for ``job_seconds`` before it is
  applied: COMPLETED, or ERROR when a record is a duplicate of another
  record or a record id does not exist (nothing of that job is applied).
  ``fail_next_job(message)`` makes the next job end in ERROR.
* ``GET /status/{jobId}?showDetails=true`` shows the job, with the request,
  the response or the error.
* ``set_limit(kind, count, window, retry_after)`` limits requests of one
  kind (``GET``, ``POST``, ``DELETE`` or ``STATUS``); the request over the
  limit, and every one until ``retry_after`` seconds have passed, get
  ``413 overLimit`` with a ``Retry-After`` header (seconds) and the
  documented ``retryAfter`` time in the body.

Start it in-process (``RackspaceFake(...).start()``, ``stop()``, or ``with``) or as a
command: ``python tests/fakes/rackspace_fake.py --domain example.com``
prints the addresses and credentials as JSON and serves until interrupted.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, also when loaded by path
from serving import JsonApiFake, add_address_arguments, address, serve_until_interrupted, url_at  # noqa: E402

SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT")
RECORD_FIELDS = ("name", "type", "data", "ttl", "priority", "comment")
MIN_TTL = 300
MAX_TTL = 2147483647
MAX_LIMIT = 100
NO_TOKEN = "No valid token provided. Please use the 'X-Auth-Token' header with a valid token."


def _now_iso(offset: float = 0.0) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _fault(code: int, message: str, details: str = "") -> dict:
    return {"code": code, "message": message, "details": details}


def _validation(messages: list) -> dict:
    return {"validationErrors": {"messages": messages}, "code": 400, "message": "Validation error", "details": ""}


def _normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


class RackspaceFake(JsonApiFake):
    """Identity and Cloud DNS in one loopback HTTP server."""

    def __init__(
        self,
        username: str = "certfleet",
        api_key: str = "0123456789abcdef0123456789abcdef",
        tenant_id: str = "123456",
        domains=("example.com",),
        job_seconds: float = 0.3,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__(host, port)
        self.username = username
        self.api_key = api_key
        self.tenant_id = tenant_id
        self.job_seconds = job_seconds
        self.tokens: dict[str, str] = {}  # token -> tenant
        #: Every token ever issued (expire_tokens() revokes them, this list keeps them).
        self.issued_tokens: list[str] = []
        self.domains: dict[str, dict] = {}  # id -> {"id", "name", "records": {record id: record}}
        self.jobs: dict[str, dict] = {}
        self.failures: list[str] = []
        self.limits: dict[str, tuple[int, float, float]] = {}
        self._hits: dict[str, collections.deque] = {}
        self._blocked: dict[str, float] = {}
        #: Every 413 for a rate limit: {"time", "method", "path", "query", "kind", "retry_after"}.
        self.over_limit: list[dict] = []
        self._next_id = 1000
        for name in domains:
            self.add_domain(name)

    thread_name = "rackspace-fake"

    # -------------------------------------------------------------- control
    identity_url = url_at("/v2.0/tokens")

    @property
    def dns_url(self) -> str:
        return "%s/v1.0/%s" % (self.url, self.tenant_id)

    def info(self) -> dict:
        """What a client needs (printed by the command mode)."""
        info = {key: getattr(self, key) for key in ("identity_url", "dns_url", "username", "api_key", "tenant_id")}
        info["domains"] = {d["name"]: domain_id for domain_id, d in self.domains.items()}
        return info

    def add_domain(self, name: str) -> str:
        with self.lock:
            domain_id = str(self._new_id())
            self.domains[domain_id] = {"id": domain_id, "name": _normalize(name), "records": {}}
            return domain_id

    def set_limit(self, kind: str, count: int, window: float, retry_after: float = 1.0) -> None:
        """At most ``count`` requests of ``kind`` per ``window`` seconds; then 413 for ``retry_after`` seconds."""
        with self.lock:
            self.limits[kind] = (count, window, retry_after)
            self._hits.pop(kind, None)
            self._blocked.pop(kind, None)

    def clear_limits(self) -> None:
        with self.lock:
            self.limits.clear()
            self._hits.clear()
            self._blocked.clear()

    def fail_next_job(self, message: str) -> None:
        """The next job ends in ERROR with ``message`` and changes nothing."""
        with self.lock:
            self.failures.append(message)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def txt_values(self, fqdn: str) -> set:
        fqdn = _normalize(fqdn)
        with self.lock:
            self._settle()
            return {
                r["data"]
                for d in self.domains.values()
                for r in d["records"].values()
                if r["type"] == "TXT" and r["name"] == fqdn
            }

    def add_txt(self, fqdn: str, value: str, ttl: int = 300) -> str:
        """Put a record in place directly (as another client would have)."""
        fqdn = _normalize(fqdn)
        with self.lock:
            domain = self._domain_for(fqdn)
            record = self._make_record({"name": fqdn, "type": "TXT", "data": value, "ttl": ttl})
            domain["records"][record["id"]] = record
            return record["id"]

    # ------------------------------------------------------------- internals
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _domain_for(self, fqdn: str) -> dict:
        best = None
        for domain in self.domains.values():
            if _in_zone(fqdn, domain["name"]) and (best is None or len(domain["name"]) > len(best["name"])):
                best = domain
        if best is None:
            raise KeyError(fqdn)
        return best

    def _make_record(self, fields: dict) -> dict:
        stamp = _now_iso()
        record = {
            "name": _normalize(fields["name"]),
            "id": "%s-%d" % (fields["type"], self._new_id()),
            "type": fields["type"],
            "data": fields["data"],
            "ttl": int(fields.get("ttl") or 3600),
            "updated": stamp,
            "created": stamp,
        }
        for key in ("priority", "comment"):
            if fields.get(key) is not None:
                record[key] = fields[key]
        return record

    def _over_limit(self, kind: str, now: float) -> float | None:
        """Seconds the client must wait when this request is over its kind's limit, else None."""
        if kind not in self.limits:
            return None
        count, window, retry_after = self.limits[kind]
        blocked = self._blocked.get(kind, 0.0)
        if now < blocked:
            return blocked - now
        hits = self._hits.setdefault(kind, collections.deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= count:
            hits.clear()  # a fresh window starts once the wait is over
            self._blocked[kind] = now + retry_after
            return retry_after
        hits.append(now)
        return None

    def describe(self, method: str, path: str) -> dict:
        """Rate limits count per kind of request: GET, POST, DELETE, or STATUS (job status polls)."""
        return {"kind": "STATUS" if "/status/" in path else method}

    def internal_error(self, exc: Exception) -> dict:
        return _fault(500, "Internal Server Error", "fake: %s: %s" % (type(exc).__name__, exc))

    def _dispatch(self, method, path, query, raw, handler, extra_headers):
        if path == "/v2.0/tokens":
            if method != "POST":
                return 405, _fault(405, "Method Not Allowed")
            return self._authenticate(raw)
        segments = [s for s in path.split("/") if s]
        if len(segments) < 2 or segments[0] != "v1.0":
            return 404, _fault(404, "Not Found", "no resource at %s" % path)
        token = handler.headers.get("X-Auth-Token")
        if not token or self.tokens.get(token) != segments[1]:
            return 401, {"unauthorized": {"code": 401, "message": NO_TOKEN}}
        now = time.monotonic()
        kind = "STATUS" if len(segments) > 2 and segments[2] == "status" else method
        wait = self._over_limit(kind, now)
        if wait is not None:
            seconds = max(1, int(math.ceil(wait)))
            extra_headers["Retry-After"] = str(seconds)
            self.over_limit.append(dict(self._current, time=now, kind=kind, retry_after=seconds))
            return 413, {
                "overLimit": {
                    "code": 413,
                    "message": "OverLimit Retry...",
                    "details": "Error Details...",
                    "retryAfter": _now_iso(seconds),
                }
            }
        self._settle()
        rest = segments[2:]
        if rest == ["domains"] and method == "GET":
            return self._list_domains(query)
        if len(rest) == 2 and rest[0] == "status" and method == "GET":
            return self._job_status(rest[1], query)
        if len(rest) == 3 and rest[0] == "domains" and rest[2] == "records":
            domain = self.domains.get(rest[1])
            if domain is None:
                return 404, _fault(404, "Not Found", "Domain ID: %s not found" % rest[1])
            if method == "GET":
                return self._list_records(domain, query)
            if method == "POST":
                return self._add_records(domain, raw, handler, path)
            if method == "DELETE":
                return self._delete_records(domain, query, handler, path)
            return 405, _fault(405, "Method Not Allowed")
        return 404, _fault(404, "Not Found", "no resource at %s" % path)

    def _authenticate(self, raw: bytes):
        try:
            request = json.loads(raw.decode("utf-8"))
            credentials = request["auth"]["RAX-KSKEY:apiKeyCredentials"]
            username, api_key = credentials["username"], credentials["apiKey"]
            if not isinstance(username, str) or not isinstance(api_key, str):
                raise TypeError("username and apiKey must be strings")
        except (ValueError, KeyError, TypeError):
            return 400, {"badRequest": {"code": 400, "message": "Invalid json request body"}}
        if username != self.username or not secrets.compare_digest(api_key, self.api_key):
            return 401, {"unauthorized": {"code": 401, "message": "Username or api key is invalid."}}
        token = secrets.token_hex(16)
        self.tokens[token] = self.tenant_id
        self.issued_tokens.append(token)
        tenant = {"id": self.tenant_id, "name": self.tenant_id}
        return 200, {
            "access": {
                "token": {
                    "id": token,
                    "expires": _now_iso(24 * 3600),
                    "tenant": tenant,
                    "RAX-AUTH:authenticatedBy": ["APIKEY"],
                },
                "serviceCatalog": [
                    {
                        "name": "cloudFiles",
                        "type": "object-store",
                        "endpoints": [
                            {
                                "region": "DFW",
                                "tenantId": "MossoCloudFS_" + self.tenant_id,
                                "publicURL": "https://storage.invalid/v1/MossoCloudFS_" + self.tenant_id,
                            }
                        ],
                    },
                    {
                        "name": "cloudDNS",
                        "type": "rax:dns",
                        "endpoints": [{"tenantId": self.tenant_id, "publicURL": self.dns_url}],
                    },
                ],
                "user": {
                    "id": "10" + self.tenant_id,
                    "name": self.username,
                    "RAX-AUTH:defaultRegion": "DFW",
                    "roles": [{"id": "3", "name": "identity:user-admin", "description": "User Admin Role."}],
                },
            }
        }

    @staticmethod
    def _paging(query) -> tuple[int, int, str | None]:
        try:
            limit = int(query.get("limit", [str(MAX_LIMIT)])[0])
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            return 0, 0, "limit and offset must be integers"
        if not 1 <= limit <= MAX_LIMIT:
            return 0, 0, "Limit must be between 1 and %d" % MAX_LIMIT
        if offset < 0 or offset % limit:
            return 0, 0, "Offset must be a multiple of limit"
        return limit, offset, None

    def _page(self, key: str, items: list, query, path: str):
        limit, offset, problem = self._paging(query)
        if problem:
            return 400, _fault(400, "Bad Request", problem)
        body = {key: items[offset : offset + limit], "totalEntries": len(items)}
        if offset + limit < len(items):
            body["links"] = [
                {"rel": "next", "href": "%s%s?limit=%d&offset=%d" % (self.url, path, limit, offset + limit)}
            ]
        return 200, body

    def _list_domains(self, query):
        name = _normalize(query.get("name", [""])[0])
        found = [
            {
                "name": d["name"],
                "id": int(d["id"]),
                "accountId": int(self.tenant_id),
                "emailAddress": "hostmaster@" + d["name"],
                "updated": _now_iso(),
                "created": _now_iso(),
            }
            for d in sorted(self.domains.values(), key=lambda d: d["name"])
            if not name or _in_zone(d["name"], name)
        ]
        return self._page("domains", found, query, "/v1.0/%s/domains" % self.tenant_id)

    def _list_records(self, domain: dict, query):
        wanted_type = query.get("type", [None])[0]
        wanted_name = query.get("name", [None])[0]
        wanted_data = query.get("data", [None])[0]
        found = [
            dict(r)
            for r in sorted(domain["records"].values(), key=lambda r: r["id"])
            if (wanted_type is None or r["type"] == wanted_type.upper())
            and (wanted_name is None or r["name"] == _normalize(wanted_name))
            and (wanted_data is None or r["data"] == wanted_data)
        ]
        return self._page("records", found, query, "/v1.0/%s/domains/%s/records" % (self.tenant_id, domain["id"]))

    def _check_record(self, domain: dict, index: int, record) -> list[str]:
        where = "records[%d]" % index
        if not isinstance(record, dict):
            return ["%s must be an object" % where]
        problems = ["%s: unrecognized field %r" % (where, key) for key in record if key not in RECORD_FIELDS]
        name, rtype, data, ttl = record.get("name"), record.get("type"), record.get("data"), record.get("ttl")
        if not isinstance(name, str) or not name.strip():
            problems.append("%s: name is required" % where)
        elif not _in_zone(_normalize(name), domain["name"]):
            problems.append("%s: name %s is not in domain %s" % (where, name, domain["name"]))
        if rtype not in SUPPORTED_TYPES:
            problems.append("%s: type must be one of %s" % (where, ", ".join(SUPPORTED_TYPES)))
        if not isinstance(data, str) or not data:
            problems.append("%s: data is required" % where)
        elif rtype == "TXT" and len(data) > 4096:
            problems.append("%s: TXT data must be at most 4096 characters" % where)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL):
            problems.append("%s: TTL must be an integer between %d and %d" % (where, MIN_TTL, MAX_TTL))
        if record.get("priority") is not None and rtype not in ("MX", "SRV"):
            problems.append("%s: priority is only allowed for MX and SRV records" % where)
        return problems

    def _new_job(self, verb: str, handler, path: str, request: str, apply) -> tuple[int, dict]:
        job_id = "%08x-%04x-%04x-%04x-%012x" % tuple(secrets.randbits(bits) for bits in (32, 16, 16, 16, 48))
        job = {
            "jobId": job_id,
            "callbackUrl": "%s/v1.0/%s/status/%s" % (self.url, self.tenant_id, job_id),
            "status": "RUNNING",
            "verb": verb,
            "requestUrl": self.url + handler.path,
            "request": request,
            "_due": time.monotonic() + self.job_seconds,
            "_apply": apply,
            "_failure": self.failures.pop(0) if self.failures else None,
        }
        self.jobs[job_id] = job
        return 202, self._job_view(job, details=False)

    @staticmethod
    def _job_view(job: dict, details: bool) -> dict:
        keys = ("jobId", "callbackUrl", "status", "verb", "requestUrl")
        if details:
            keys += ("request", "response", "error")
        return {key: job[key] for key in keys if key in job}

    def _settle(self) -> None:
        """Finish every job whose time has come, in the order they were accepted."""
        now = time.monotonic()
        for job in self.jobs.values():
            if job["status"] != "RUNNING" or job["_due"] > now:
                continue
            if job["_failure"]:
                job["status"] = "ERROR"
                job["error"] = {"code": 500, "message": job["_failure"], "details": ""}
                continue
            outcome, value = job["_apply"]()
            job["status"] = outcome
            job["response" if outcome == "COMPLETED" else "error"] = value

    def _add_records(self, domain: dict, raw: bytes, handler, path: str):
        if "json" not in (handler.headers.get("Content-Type") or ""):
            return 415, _fault(415, "Unsupported Media Type", "send application/json")
        try:
            request = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, _fault(400, "Bad Request", "Invalid JSON request body")
        records = request.get("records") if isinstance(request, dict) else None
        if not isinstance(records, list) or not records:
            return 400, _validation(["records: at least one record is required"])
        problems = [p for index, record in enumerate(records) for p in self._check_record(domain, index, record)]
        if problems:
            return 400, _validation(problems)

        def apply():
            seen = {(r["type"], r["name"], r["data"]) for r in domain["records"].values()}
            faults = []
            for record in records:
                key = (record["type"], _normalize(record["name"]), record["data"])
                if key in seen:
                    details = "%s record %s with data %r" % key
                    faults.append(_fault(409, "Record is a duplicate of another record.", details))
                seen.add(key)
            if faults:
                return "ERROR", {
                    "failedItems": {"faults": faults},
                    "code": 500,
                    "message": "One or more items could not be added.",
                    "details": "",
                }
            created = [self._make_record(record) for record in records]
            for record in created:
                domain["records"][record["id"]] = record
            return "COMPLETED", {"records": created}

        return self._new_job("POST", handler, path, raw.decode("utf-8"), apply)

    def _delete_records(self, domain: dict, query, handler, path: str):
        ids = query.get("id", [])
        if not ids:
            return 400, _validation(["id: at least one record id is required"])

        def apply():
            missing = [i for i in ids if i not in domain["records"]]
            if missing:
                faults = [_fault(404, "Not Found", "Record ID %s not found" % i) for i in missing]
                return "ERROR", {
                    "failedItems": {"faults": faults},
                    "code": 500,
                    "message": "One or more items could not be deleted.",
                    "details": "",
                }
            for record_id in ids:
                del domain["records"][record_id]
            return "COMPLETED", None

        return self._new_job("DELETE", handler, path, "", apply)

    def _job_status(self, job_id: str, query):
        job = self.jobs.get(job_id)
        if job is None:
            return 404, _fault(404, "Not Found", "Job %s not found" % job_id)
        details = query.get("showDetails", ["false"])[0].lower() == "true"
        return 200, self._job_view(job, details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Rackspace Identity + Cloud DNS on loopback.")
    add_address_arguments(parser)
    parser.add_argument("--username", default="certfleet")
    parser.add_argument("--api-key", default=secrets.token_hex(16))
    parser.add_argument("--tenant-id", default="123456")
    parser.add_argument("--domain", action="append", default=[], help="a domain (zone); repeat for more")
    parser.add_argument("--job-seconds", type=float, default=0.3, help="how long jobs stay RUNNING")
    args = parser.parse_args(argv)
    fake = RackspaceFake(
        username=args.username,
        api_key=args.api_key,
        tenant_id=args.tenant_id,
        domains=args.domain or ["example.com"],
        job_seconds=args.job_seconds,
        **address(args),
    )
    return serve_until_interrupted(fake, lambda: json.dumps(fake.info()))


if __name__ == "__main__":
    sys.exit(main())
