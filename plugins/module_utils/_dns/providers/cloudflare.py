# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare DNS through the Cloudflare API v4, with a scoped API token.

A zone is looked up by name (``GET /zones?name=``) once per run; TXT values
are single DNS records with ids, created one by one and deleted by id, so
other values at the same name stay. Cloudflare may hand TXT content back in
its presentation form, with surrounding quotes: values are compared
unquoted.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.http import MISSING_REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import HAS_REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.http_api import (
    LookupOnce,
    ProviderHttpError,
    Refused,
    provider_api,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.txt import join_strings, parse_strings

DEFAULT_API_URL = "https://api.cloudflare.com/client/v4"

#: TTL 1 means "automatic" at Cloudflare; any other TTL must lie in [MIN_TTL, MAX_TTL].
AUTO_TTL = 1
MIN_TTL = 60
MAX_TTL = 86400
PAGE_SIZE = 100
MAX_PAGES = 100
#: Cloudflare allows 1200 requests per 5 minutes per user; 4 per second stays within it.
REQUESTS_PER_SECOND = 4.0
#: "An identical record already exists.": the value is there, which is what an add wants.
IDENTICAL_RECORD_EXISTS = 81058
#: "Record does not exist.": the value is gone, which is what a remove wants.
RECORD_DOES_NOT_EXIST = 81044


def clamp_ttl(ttl: int) -> int:
    """The TTL Cloudflare accepts for ``ttl``: 1 stays automatic, others are moved into [60, 86400]."""
    ttl = int(ttl)
    if ttl == AUTO_TTL:
        return AUTO_TTL
    return min(MAX_TTL, max(MIN_TTL, ttl))


def txt_unquote(content: Any) -> str:
    """A TXT value from Cloudflare's ``content``: quoted character-strings are joined and unescaped.

    ``"abc"`` and ``abc`` are the same value; ``"ab" "c"`` is ``abc``, as
    resolvers hand it to ACME servers. Content that is not entirely in
    quoted form is the value as it is (Cloudflare also answers unquoted).
    """
    text = str(content if content is not None else "")
    strings = parse_strings(text, strict=True)
    return text if strings is None else join_strings(strings)


def errors_text(data: Any) -> str:
    """``code: message`` of every entry of a v4 envelope's ``errors`` (and their ``error_chain``)."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return ""
    parts: list[str] = []

    def add(items) -> None:
        for item in items:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            code, message = item.get("code"), item.get("message")
            parts.append("%s: %s" % (code, message) if code is not None else str(message))
            if isinstance(item.get("error_chain"), list):
                add(item["error_chain"])

    add(data["errors"])
    return "; ".join(parts)


def error_codes(data: Any) -> set:
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return set()
    return {item.get("code") for item in data["errors"] if isinstance(item, dict)}


def _error_text(status: int, data: Any, text: str) -> str:
    message = errors_text(data)
    if status in (401, 403):
        hint = "the api_token must be valid and allow Zone:Read and DNS:Edit on the zone"
        message = "%s (%s)" % (message, hint) if message else hint
    return message


class CloudflareProvider(DnsProvider):
    """Cloudflare DNS, with an API token (Bearer authentication)."""

    TYPE = "cloudflare"
    SECRET_OPTIONS = ("api_token",)
    REQUIRED_OPTIONS = ("api_token",)
    OPTIONAL_OPTIONS = ("timeout",)
    PUBLIC_OPTIONS = ("timeout",)
    URL_OPTIONS = ("api_url",)
    CONCURRENCY = 4

    def configure(self, config: dict) -> None:
        if not HAS_REQUESTS:
            raise self.config_error("type", MISSING_REQUESTS, self.TYPE)
        token = self.option_str(config, "api_token")
        if any(not ("!" <= char <= "~") for char in token):
            raise self.config_error("api_token", "must be one word of printable ASCII characters")
        self._headers = {"Authorization": "Bearer %s" % token}
        self.api_url: str = self.url_option(config, "api_url", DEFAULT_API_URL)
        self.timeout = self.option_number(config, "timeout", 30, 1, 600)
        self.api = provider_api(self, self.timeout, _error_text)
        self.throttle = Throttle(REQUESTS_PER_SECOND)
        self._zone_ids = LookupOnce()

    def _call(self, method: str, path: str, record: str | None, params=None, body=None, expect=(200,)):
        """One API request; answers with ``success: false`` are errors even with status 200."""
        self.throttle.wait()
        answer = self.api.request(
            method, self.api_url + path, record, params=params, body=body, headers=self._headers, expect=expect
        )
        data = answer.data
        if not isinstance(data, dict) or data.get("success") is False:
            detail = errors_text(data) or "unexpected answer %r" % (data,)
            raise self.error(record, "%s %s: %s" % (method, path, detail))
        return data

    def _zone_id(self, zone: str, record: str | None) -> str:
        """The id of ``zone``, looked up once per run however many threads ask."""
        zone = normalize(zone)
        return self._zone_ids.get(zone, lambda: self._find_zone(zone, record), lambda text: self.error(record, text))

    def _find_zone(self, zone: str, record: str | None) -> str:
        try:
            data = self._call("GET", "/zones", record, params={"name": zone, "per_page": 50})
        except ProviderHttpError as exc:
            if exc.status in (400, 401, 403):
                # A refused token stays refused for this run: do not send it again for every record.
                raise Refused(exc.message, exc) from None
            raise
        found = [z for z in data.get("result") or [] if isinstance(z, dict) and isinstance(z.get("name"), str)]
        matches = [z for z in found if normalize(z["name"]) == zone and z.get("id")]
        matches.sort(key=lambda z: z.get("status") != "active")
        if not matches:
            raise Refused(
                "zone %r not found: it is not in this Cloudflare account, or the api_token cannot see it "
                "(it needs Zone:Read on the zone)" % zone
            )
        return str(matches[0]["id"])

    def _txt_records(self, zone: str, fqdn: str) -> list[dict]:
        fqdn = normalize(fqdn)
        zone_id = self._zone_id(zone, fqdn)
        path = "/zones/%s/dns_records" % zone_id
        records: list[dict] = []
        page = 1
        while True:
            data = self._call(
                "GET", path, fqdn, params={"type": "TXT", "name": fqdn, "page": page, "per_page": PAGE_SIZE}
            )
            result = data.get("result") or []
            if not isinstance(result, list):
                raise self.error(fqdn, "GET %s: 'result' is not a list" % path)
            records.extend(r for r in result if isinstance(r, dict))
            info = data.get("result_info") if isinstance(data.get("result_info"), dict) else {}
            total_pages = info.get("total_pages")
            more = page < total_pages if isinstance(total_pages, int) else len(result) >= PAGE_SIZE
            if not result or not more:
                break
            page += 1
            if page > MAX_PAGES:
                raise self.error(fqdn, "GET %s: more than %d pages of TXT records, giving up" % (path, MAX_PAGES))
        return [
            r
            for r in records
            if r.get("type") == "TXT" and isinstance(r.get("name"), str) and normalize(r["name"]) == fqdn
        ]

    # ------------------------------------------------------------ interface
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        return {txt_unquote(r.get("content")) for r in self._txt_records(zone, fqdn)}

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        ttl = clamp_ttl(ttl)
        for fqdn, values in records.items():
            name = normalize(fqdn)
            zone_id = self._zone_id(zone, name)
            for value in values:
                body = {"type": "TXT", "name": name, "content": value, "ttl": ttl}
                try:
                    self._call("POST", "/zones/%s/dns_records" % zone_id, name, body=body)
                except ProviderHttpError as exc:
                    if IDENTICAL_RECORD_EXISTS in error_codes(exc.data):
                        continue
                    raise self.error(name, "adding value %r: %s" % (value, exc.message)) from None

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        for fqdn, values in records.items():
            name = normalize(fqdn)
            wanted = set(values)
            zone_id = self._zone_id(zone, name)
            for record in self._txt_records(zone, name):
                if txt_unquote(record.get("content")) not in wanted or not record.get("id"):
                    continue
                try:
                    self._call("DELETE", "/zones/%s/dns_records/%s" % (zone_id, record["id"]), name)
                except ProviderHttpError as exc:
                    if exc.status == 404 or RECORD_DOES_NOT_EXIST in error_codes(exc.data):
                        continue
                    raise self.error(
                        name, "removing value %r: %s" % (txt_unquote(record["content"]), exc.message)
                    ) from None
