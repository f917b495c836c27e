# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rackspace Cloud DNS (API v1.0), authenticated through Rackspace Identity v2.0.

The flow follows the Cloud DNS developer guide: an API key buys a token, the
tenant id and the service catalog (``POST /v2.0/tokens``); the DNS endpoint is
the catalog entry of type ``rax:dns`` (Cloud DNS is global, one endpoint per
account). A zone is a Rackspace "domain" found by name; TXT values are single
records with ids. Every write is asynchronous: the API answers ``202`` with a
job whose ``callbackUrl`` is polled until the job is COMPLETED or ERROR.
Records are only ever added or deleted by id, so other values at the same
name stay.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.http import MISSING_REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import HAS_REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle, poll_until
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.http_api import (
    LookupOnce,
    ProviderHttpError,
    Refused,
    provider_api,
)

DEFAULT_IDENTITY_URL = "https://identity.api.rackspacecloud.com/v2.0/tokens"
DNS_SERVICE_TYPE = "rax:dns"

#: Cloud DNS refuses TTLs below 300 seconds; lower requested TTLs are raised to this.
MIN_TTL = 300
#: Records per add request and record ids per delete request (the API pages lists by 100 as well).
MAX_PER_REQUEST = 100
PAGE_SIZE = 100
#: A zone with more TXT records than this at one name is not an ACME zone; stop paging there.
MAX_ITEMS = 10000
#: The documented rate for status (job) calls: 5 per second per account.
STATUS_CALLS_PER_SECOND = 5.0
RUNNING_STATES = ("INITIALIZED", "RUNNING")


def fault_text(data: Any) -> str:
    """The message of a Cloud DNS or Identity fault body, in any of its documented shapes.

    Faults come bare (``{"code", "message", "details"}``), wrapped in their
    type (``{"overLimit": {...}}``, ``{"unauthorized": {...}}``), with
    ``validationErrors.messages``, or with ``failedItems.faults`` (job errors).
    """
    if not isinstance(data, dict):
        return ""
    kind = None
    body = data
    known = ("message", "details", "validationErrors", "failedItems", "code")
    if not any(key in data for key in known) and len(data) == 1:
        kind, body = next(iter(data.items()))
        if not isinstance(body, dict):
            return ""
    parts: list[str] = []
    message = body.get("message")
    if message:
        parts.append(str(message))
    details = body.get("details")
    if details and str(details) != str(message):
        parts.append(str(details))
    validation = body.get("validationErrors")
    if isinstance(validation, dict) and isinstance(validation.get("messages"), list):
        parts.extend(str(item) for item in validation["messages"] if item)
    failed = body.get("failedItems")
    if isinstance(failed, dict) and isinstance(failed.get("faults"), list):
        parts.extend(text for text in (fault_text(item) for item in failed["faults"]) if text)
    text = "; ".join(parts)
    if kind:
        text = "%s: %s" % (kind, text) if text else kind
    return text


def _error_text(status: int, data: Any, text: str) -> str:
    return fault_text(data)


class RackspaceProvider(DnsProvider):
    """Rackspace Cloud DNS, with a user name and API key."""

    TYPE = "rackspace"
    SECRET_OPTIONS = ("api_key",)
    REQUIRED_OPTIONS = ("username", "api_key")
    OPTIONAL_OPTIONS = ("region", "timeout", "job_timeout")
    # The user name is an account name (shown in the Rackspace console), no secret; the API key is.
    PUBLIC_OPTIONS = ("username", "region", "timeout", "job_timeout")
    URL_OPTIONS = ("identity_url", "dns_url")
    # Writes are jobs that run for seconds; a few at a time keeps within the account's rate limits.
    CONCURRENCY = 4

    #: Seconds between the first job status polls (grows to POLL_MAX); tests lower it.
    poll_interval = 0.5
    POLL_MAX = 3.0

    def configure(self, config: dict) -> None:
        if not HAS_REQUESTS:
            raise self.config_error("type", MISSING_REQUESTS, self.TYPE)
        self.username: str = self.option_str(config, "username")
        self._api_key: str = self.option_str(config, "api_key")
        identity_url = self.url_option(config, "identity_url", DEFAULT_IDENTITY_URL)
        # The rax_* modules take the Identity base (".../v2.0/"); accept it too.
        if identity_url.endswith("/v2.0"):
            identity_url += "/tokens"
        self.identity_url: str = identity_url
        region = self.option_str(config, "region")
        self.region: str | None = region.upper() if region else None
        self.dns_url: str | None = self.url_option(config, "dns_url")
        self.timeout = self.option_number(config, "timeout", 30, 1, 600)
        self.job_timeout = self.option_number(config, "job_timeout", 120, 1, 3600)
        self.api = provider_api(self, self.timeout, _error_text, limit_statuses=(413,))
        self._lock = threading.Lock()
        self._token: str | None = None
        self._endpoint: str | None = None
        self._refused: str | None = None
        self._domains = LookupOnce()
        self._status_throttle = Throttle(STATUS_CALLS_PER_SECOND)
        self._clock = time.monotonic
        self._sleep = time.sleep

    # ------------------------------------------------------------ identity
    def _authenticate(self) -> tuple[str, str]:
        """POST the API key to Identity; return (token, DNS endpoint)."""
        body = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": self.username, "apiKey": self._api_key}}}
        try:
            answer = self.api.request("POST", self.identity_url, body=body, expect=(200, 203))
        except ProviderHttpError as exc:
            if exc.status in (400, 401, 403):
                # Refused credentials stay refused for this run: every later call fails at once,
                # rather than sending the same bad key again for each record.
                self._refused = "authentication as user %r refused by %s: %s" % (
                    self.username,
                    urlsplit(self.identity_url).hostname,
                    exc.message,
                )
                raise self.error(None, self._refused) from None
            raise
        access = answer.data.get("access") if isinstance(answer.data, dict) else None
        token = access.get("token") if isinstance(access, dict) else None
        token_id = token.get("id") if isinstance(token, dict) else None
        if not isinstance(token_id, str) or not token_id:
            raise self.error(None, "the Identity answer from %s holds no token" % self.identity_url)
        # The token is a credential too: keep it out of every message from now on.
        self._secrets = tuple(self._secrets) + (token_id,)
        tenant = token.get("tenant") if isinstance(token.get("tenant"), dict) else {}
        tenant_id = str(tenant.get("id") or "")
        return token_id, self._dns_endpoint(access.get("serviceCatalog"), tenant_id)

    def _dns_endpoint(self, catalog: Any, tenant_id: str) -> str:
        if self.dns_url:
            # A bare ".../v1.0" override gets the tenant appended, as the catalog's publicURL has it.
            if self.dns_url.endswith("/v1.0") and tenant_id:
                return "%s/%s" % (self.dns_url, tenant_id)
            return self.dns_url
        services = [s for s in catalog if isinstance(s, dict)] if isinstance(catalog, list) else []
        dns = [s for s in services if s.get("type") == DNS_SERVICE_TYPE]
        if not dns:
            raise self.error(
                None,
                "the service catalog of user %r has no %s (Cloud DNS) entry; services: %s"
                % (self.username, DNS_SERVICE_TYPE, ", ".join(sorted(str(s.get("type")) for s in services)) or "none"),
            )
        endpoints = [e for s in dns for e in (s.get("endpoints") or []) if isinstance(e, dict) and e.get("publicURL")]
        if not endpoints:
            raise self.error(None, "the Cloud DNS catalog entry has no publicURL")
        chosen = endpoints[0]
        if self.region:
            regional = [e for e in endpoints if str(e.get("region") or "").upper() == self.region]
            # Cloud DNS is global: its endpoint usually has no region at all.
            unregioned = [e for e in endpoints if not e.get("region")]
            if regional:
                chosen = regional[0]
            elif unregioned:
                chosen = unregioned[0]
            else:
                raise self.error(
                    None,
                    "region %r has no Cloud DNS endpoint (regions: %s)"
                    % (self.region, ", ".join(sorted(str(e.get("region")) for e in endpoints))),
                )
        return str(chosen["publicURL"]).rstrip("/")

    def _login(self, record: str | None = None) -> tuple[str, str]:
        with self._lock:
            if self._refused is not None:
                raise self.error(record, self._refused)
            if self._token is None:
                self._token, self._endpoint = self._authenticate()
            return self._token, self._endpoint

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _dns(self, method: str, path: str, record: str | None = None, params=None, body=None, expect=(200,), url=None):
        """One Cloud DNS request; a 401 (token expired or revoked) re-authenticates once."""
        for attempt in (1, 2):
            token, endpoint = self._login(record)
            try:
                return self.api.request(
                    method,
                    url or endpoint + path,
                    record,
                    params=params,
                    body=body,
                    headers={"X-Auth-Token": token},
                    expect=expect,
                )
            except ProviderHttpError as exc:
                if exc.status != 401:
                    raise
                self._forget(token)
                if attempt == 2:
                    raise self.error(record, "%s (a fresh token was refused too)" % exc.message) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -------------------------------------------------------------- lookups
    def _collect(self, path: str, key: str, params: dict, record: str | None) -> list[dict]:
        """Every item of a paged list (``limit``/``offset``, ``totalEntries``)."""
        items: list[dict] = []
        offset = 0
        while True:
            answer = self._dns("GET", path, record, params=dict(params, limit=PAGE_SIZE, offset=offset))
            data = answer.data if isinstance(answer.data, dict) else {}
            page = data.get(key, [])
            if not isinstance(page, list):
                raise self.error(record, "GET %s: %r is not a list in the answer" % (path, key))
            items.extend(item for item in page if isinstance(item, dict))
            offset += len(page)
            total = data.get("totalEntries")
            more = offset < total if isinstance(total, int) else len(page) >= PAGE_SIZE
            if not page or not more:
                return items
            if offset >= MAX_ITEMS:
                raise self.error(record, "GET %s: more than %d entries, giving up" % (path, MAX_ITEMS))

    def _domain_id(self, zone: str, record: str | None) -> str:
        """The id of the domain named ``zone``, looked up once per run however many threads ask."""
        zone = normalize(zone)
        return self._domains.get(zone, lambda: self._find_domain(zone, record), lambda text: self.error(record, text))

    def _find_domain(self, zone: str, record: str | None) -> str:
        # The name filter also returns subdomains of the zone; only the exact name is ours.
        found = self._collect("/domains", "domains", {"name": zone}, record)
        matches = [d for d in found if isinstance(d.get("name"), str) and normalize(d["name"]) == zone]
        if not matches or matches[0].get("id") in (None, ""):
            raise Refused(
                "zone %r is not a domain of this Rackspace account (GET /domains?name=%s found: %s)"
                % (zone, zone, ", ".join(sorted(str(d.get("name")) for d in found)) or "nothing")
            )
        return str(matches[0]["id"])

    def _txt_records(self, zone: str, fqdn: str) -> list[dict]:
        fqdn = normalize(fqdn)
        domain_id = self._domain_id(zone, fqdn)
        found = self._collect("/domains/%s/records" % domain_id, "records", {"type": "TXT", "name": fqdn}, fqdn)
        return [
            r
            for r in found
            if r.get("type") == "TXT" and isinstance(r.get("name"), str) and normalize(r["name"]) == fqdn
        ]

    # ----------------------------------------------------------------- jobs
    def _status_url(self, job: dict, record: str | None) -> str:
        """Where to poll a job: its callbackUrl when it is on the DNS endpoint's host, else /status/<jobId>.

        The token is only ever sent to the DNS endpoint's own host.
        """
        endpoint = self._login()[1]
        base = urlsplit(endpoint)
        callback = job.get("callbackUrl")
        if isinstance(callback, str) and callback:
            parts = urlsplit(callback)
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
                return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        job_id = job.get("jobId")
        if not job_id:
            raise self.error(record, "the API accepted the change but returned no job to follow: %r" % (job,))
        return "%s/status/%s" % (endpoint, job_id)

    def _wait(self, job: Any, record: str | None, what: str) -> dict:
        """Poll an asynchronous job until COMPLETED (returned) or ERROR / timeout (raised)."""
        if not isinstance(job, dict):
            raise self.error(record, "%s: the API answered 202 without a job" % what)
        seen = {"job": job, "url": None, "asked": False}

        def completed() -> bool:
            if seen["asked"]:
                if seen["url"] is None:
                    seen["url"] = self._status_url(seen["job"], record)
                self._status_throttle.wait()
                answer = self._dns("GET", "", record, params={"showDetails": "true"}, url=seen["url"]).data
                if not isinstance(answer, dict):
                    raise self.error(record, "%s: job status answer is not a JSON object" % what)
                seen["job"] = answer
            seen["asked"] = True
            status, job_id = seen["job"].get("status"), seen["job"].get("jobId", "?")
            if status == "ERROR":
                reason = fault_text(seen["job"].get("error")) or "no error details"
                raise self.error(record, "%s: job %s ended in ERROR: %s" % (what, job_id, reason))
            if status != "COMPLETED" and status not in RUNNING_STATES:
                raise self.error(record, "%s: job %s has an unknown status %r" % (what, job_id, status))
            return status == "COMPLETED"

        if not poll_until(
            completed, self.job_timeout, self.poll_interval, self.POLL_MAX, 1.5, self._clock, self._sleep
        ):
            raise self.error(
                record,
                "%s: job %s still %s after %ss (job_timeout); it may still complete"
                % (what, seen["job"].get("jobId", "?"), seen["job"].get("status"), self.job_timeout),
            )
        return seen["job"]

    # ------------------------------------------------------------ interface
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        return {str(r.get("data")) for r in self._txt_records(zone, fqdn) if r.get("data") is not None}

    @staticmethod
    def _label(names) -> tuple[str | None, str]:
        names = sorted(set(names))
        if len(names) == 1:
            return names[0], ""
        return None, " (records %s)" % ", ".join(names)

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        ttl = max(MIN_TTL, int(ttl))
        wanted = [
            {"name": normalize(fqdn), "type": "TXT", "data": value, "ttl": ttl}
            for fqdn, values in records.items()
            for value in values
        ]
        if not wanted:
            return
        domain_id = self._domain_id(zone, None)
        for start in range(0, len(wanted), MAX_PER_REQUEST):
            chunk = wanted[start : start + MAX_PER_REQUEST]
            record, names = self._label(r["name"] for r in chunk)
            what = "adding %d TXT value(s) in zone %s%s" % (len(chunk), normalize(zone), names)
            answer = self._dns(
                "POST", "/domains/%s/records" % domain_id, record, body={"records": chunk}, expect=(200, 202)
            )
            self._wait(answer.data, record, what)

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        domain_id = self._domain_id(zone, None)
        doomed: list[tuple[str, str]] = []
        for fqdn, values in records.items():
            wanted = set(values)
            doomed.extend(
                (normalize(fqdn), str(r["id"])) for r in self._txt_records(zone, fqdn) if r.get("data") in wanted
            )
        for start in range(0, len(doomed), MAX_PER_REQUEST):
            chunk = doomed[start : start + MAX_PER_REQUEST]
            record, names = self._label(name for name, _id in chunk)
            what = "removing %d TXT value(s) in zone %s%s" % (len(chunk), normalize(zone), names)
            answer = self._dns(
                "DELETE",
                "/domains/%s/records" % domain_id,
                record,
                params=[("id", record_id) for _name, record_id in chunk],
                expect=(200, 202, 204),
            )
            if answer.status == 202:
                self._wait(answer.data, record, what)
