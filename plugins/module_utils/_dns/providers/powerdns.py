# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerDNS Authoritative Server through its HTTP API (``/api/v1``).

The API changes whole RRsets: a PATCH with ``changetype: REPLACE`` sets every
record of one name and type at once. To add or remove single values, the
provider reads the zone, merges (what is there plus the new values, or what
is there minus the removed ones) and writes the merged set back, one PATCH
per zone for every name of a batch; a name left without values is deleted.
So the values other certificates or runs hold at a name survive, and records
someone disabled in PowerDNS stay as they are.

The merge reads the whole zone: PowerDNS 4.7 leaves disabled records out of
an answer filtered with ``rrset_name``, and writing back such a partial set
would delete them. The API has no compare-and-set, so read, merge and write
of one zone are serialized within this process (two provider entries for one
server in one run cannot lose each other's values); two separate runs that
change the same name at the same instant still could, and the propagation
wait would then report the lost value.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.certfleet.acme.plugins.module_utils._common.http import (
    MISSING_REQUESTS,
    REQUESTS_CA_BUNDLE_OPTION,
    ApiResponse,
    BadAnswerError,
    HttpError,
    HttpStatusError,
    JsonApi,
    TransportError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import HAS_REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import tls_error_hint
from ansible_collections.certfleet.acme.plugins.module_utils._dns import txt
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider

DEFAULT_SERVER_ID = "localhost"
DEFAULT_TIMEOUT = 30
# Answers worth another try: throttling and a server or proxy that is busy
# or restarting. A PATCH with REPLACE/DELETE sets a fixed state, so sending
# it again is safe even when the first one did land.
RETRY_STATUS = (429, 500, 502, 503, 504)
ATTEMPTS = 3
#: PowerDNS has no CA-bundle option: requests' variable gives the CA. Turning the check off is never advised:
#: the API key goes with every request.
TLS_OPTION = REQUESTS_CA_BUNDLE_OPTION
MAX_DETAIL = 300

_SERVER_ID = re.compile(r"^[A-Za-z0-9._-]+$")

# One lock per (api_url, server_id, zone): read-merge-write of a zone must not
# interleave with another within this process.
_ZONE_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_ZONE_LOCKS_GUARD = threading.Lock()


def _zone_lock(key: tuple[str, str, str]) -> threading.Lock:
    with _ZONE_LOCKS_GUARD:
        return _ZONE_LOCKS.setdefault(key, threading.Lock())


def txt_rrsets(zone_data: Any) -> dict[str, dict]:
    """The TXT RRsets of a zone as PowerDNS returns it: ``{name: {"ttl", "records"}}``.

    Names are normalized (lower case, no trailing dot); each record keeps its
    ``content`` as PowerDNS has it and its ``disabled`` flag. Raises ValueError
    when the answer is not a zone.
    """
    if not isinstance(zone_data, dict) or not isinstance(zone_data.get("rrsets", []), list):
        raise ValueError("the answer is not a zone (no list of rrsets)")
    found: dict[str, dict] = {}
    for rrset in zone_data.get("rrsets", []):
        if not isinstance(rrset, dict) or str(rrset.get("type", "")).upper() != "TXT":
            continue
        name = rrset.get("name")
        records = rrset.get("records")
        if not isinstance(name, str) or not isinstance(records, list):
            raise ValueError("a TXT rrset has no name or no list of records")
        entry = found.setdefault(normalize(name), {"ttl": rrset.get("ttl"), "records": []})
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("content"), str):
                raise ValueError("a record of the TXT rrset at %s has no content" % name)
            entry["records"].append({"content": record["content"], "disabled": bool(record.get("disabled", False))})
    return found


def served_values(rrset: dict | None) -> set[str]:
    """The values of an RRset that PowerDNS serves (its records that are not disabled)."""
    if not rrset:
        return set()
    return {txt.unquote(record["content"]) for record in rrset["records"] if not record["disabled"]}


def patch_rrsets(current: dict[str, dict], changes: dict[str, list[str]], ttl: int | None) -> list[dict]:
    """The ``rrsets`` of a PATCH that adds (``ttl`` given) or removes (``ttl`` None) single values.

    ``current`` is :func:`txt_rrsets` of the zone, ``changes`` maps normalized
    names to values. Each changed name gets its merged set with ``REPLACE``
    (every other record at the name kept, disabled ones still disabled), or
    ``DELETE`` when no record remains. Names with nothing to change are left
    out; an empty list means there is nothing to send.
    """
    rrsets = []
    for name in sorted(changes):
        existing = current.get(name) or {"ttl": None, "records": []}
        records = [dict(record) for record in existing["records"]]
        if ttl is not None:
            changed = False
            for value in changes[name]:
                same = [record for record in records if txt.unquote(record["content"]) == value]
                if not same:
                    records.append({"content": txt.quote(value), "disabled": False})
                    changed = True
                elif all(record["disabled"] for record in same):
                    # Asked to be present: a disabled copy is not served, enable it.
                    same[0]["disabled"] = False
                    changed = True
            if changed:
                rrsets.append(
                    {"name": name + ".", "type": "TXT", "ttl": int(ttl), "changetype": "REPLACE", "records": records}
                )
            continue
        doomed = set(changes[name])
        kept = [record for record in records if txt.unquote(record["content"]) not in doomed]
        if len(kept) == len(records):
            continue
        if kept:
            keep_ttl = (
                existing["ttl"] if isinstance(existing["ttl"], int) and not isinstance(existing["ttl"], bool) else 60
            )
            rrsets.append(
                {"name": name + ".", "type": "TXT", "ttl": keep_ttl, "changetype": "REPLACE", "records": kept}
            )
        else:
            rrsets.append({"name": name + ".", "type": "TXT", "changetype": "DELETE"})
    return rrsets


def api_message(data: Any, text: str, reason: str) -> str:
    """What PowerDNS said in an error answer: ``error`` (and ``errors``) of its JSON, else the text."""
    if isinstance(data, dict) and data.get("error"):
        message = str(data["error"])
        extra = data.get("errors")
        if isinstance(extra, list) and extra:
            message += " (%s)" % "; ".join(str(item) for item in extra)
        return message[:MAX_DETAIL]
    text = " ".join((text or "").split())
    return text[:MAX_DETAIL] or str(reason or "no message")


def _reason(exc: BaseException) -> str:
    """The innermost reason of a requests error ("Connection refused"), not urllib3's whole story."""
    reason: Any = exc
    for _unused in range(4):
        inner = getattr(reason, "reason", None)
        if inner is None and reason.args and isinstance(reason.args[0], BaseException):
            inner = reason.args[0]
        if not isinstance(inner, BaseException) or inner is reason:
            break
        reason = inner
    text = str(reason)
    # urllib3 puts "<connection object at 0x...>: " before the OS error.
    return text.split(">: ", 1)[-1] or type(reason).__name__


# ------------------------------------------------------------------ provider


class PowerDnsProvider(DnsProvider):
    """A PowerDNS Authoritative Server reached through its HTTP API with an API key."""

    TYPE = "powerdns"
    SECRET_OPTIONS = ("api_key",)
    REQUIRED_OPTIONS = ("api_url", "api_key")
    OPTIONAL_OPTIONS = ("server_id", "timeout", "validate_certs")
    PUBLIC_OPTIONS = OPTIONAL_OPTIONS
    URL_OPTIONS = ("api_url",)
    # One PowerDNS, often on a small database (SQLite serializes writes).
    CONCURRENCY = 4

    def configure(self, config: dict) -> None:
        api_url = self.url_option(config, "api_url")
        parts = urlsplit(api_url)
        if parts.query or parts.fragment:
            raise self.config_error("api_url", "must not have a query or fragment", api_url)
        path = parts.path.rstrip("/")
        if path.endswith("/api/v1"):
            path = path[: -len("/api/v1")]
        self.api_url = "%s://%s%s" % (parts.scheme, parts.netloc, path)
        self.api_key: str = self.option_str(config, "api_key")
        self.server_id: str = self.option_str(config, "server_id", DEFAULT_SERVER_ID)
        if not _SERVER_ID.match(self.server_id):
            raise self.config_error("server_id", "must be a PowerDNS server id such as 'localhost'", self.server_id)
        self.timeout = self.option_number(config, "timeout", DEFAULT_TIMEOUT, 0.1, 3600)
        validate = config.get("validate_certs")
        if validate is None:
            self.validate_certs = True
        else:
            try:
                self.validate_certs = boolean(validate, strict=True)
            except TypeError:
                raise self.config_error("validate_certs", "must be a boolean", validate) from None
        if not HAS_REQUESTS:
            raise self.config_error("type", MISSING_REQUESTS)
        self.api = JsonApi(
            self.timeout,
            scrub=self.scrub,
            convert=self._convert,
            retry_statuses=RETRY_STATUS,
            # A PATCH with REPLACE/DELETE sets a fixed state: sending it again is safe. TLS failures stay failures.
            retry_transport=lambda method, exc: not exc.tls,
            attempts=ATTEMPTS,
            max_delay=30.0,
            headers={"X-API-Key": self.api_key},
            verify=self.validate_certs,
            allow_redirects=True,
        )

    def _zone_url(self, zone: str) -> str:
        # The zone id of a zone with plain host-name labels is its name with the trailing dot.
        return "%s/api/v1/servers/%s/zones/%s" % (
            self.api_url,
            quote(self.server_id, safe=""),
            quote(normalize(zone) + ".", safe=""),
        )

    def _label(self, names: list[str], message: str) -> str | None:
        """The record an error is about: the only name of the batch, or the one PowerDNS named."""
        if len(names) == 1:
            return names[0]
        lowered = message.lower()
        for name in names:
            if name + "." in lowered:
                return name
        return None

    def _failure(self, names: list[str], message: str):
        return self.error(self._label(names, message), message)

    def _convert(self, exc: HttpError):
        """The ProviderError for a failed request; ``exc.context`` is (what, zone, names)."""
        what, zone, names = exc.context
        where = "PowerDNS at %s" % self.api_url
        if isinstance(exc, TransportError):
            hint = tls_error_hint(None, exc.cause, TLS_OPTION) if exc.tls else None
            if hint:
                message = self.scrub("%s: %s" % (what, hint))
            elif exc.tls:
                message = "%s: TLS with %s failed: %s" % (
                    what,
                    self.api_url,
                    exc.cause,
                )
            elif exc.timeout:
                message = "%s: no answer from %s within %ss" % (what, self.api_url, self.timeout)
            else:
                message = "%s: cannot reach %s: %s" % (what, self.api_url, _reason(exc.cause))
        elif isinstance(exc, BadAnswerError):
            message = "%s: unexpected answer from %s (HTTP %d): %s" % (what, self.api_url, exc.status, exc.detail)
        elif isinstance(exc, HttpStatusError):
            status, detail = exc.status, api_message(exc.data, exc.text, exc.reason)
            if status in (401, 403):
                message = "%s refused by %s: the API key was not accepted (HTTP %d: %s)" % (what, where, status, detail)
            elif status == 404:
                message = "%s: %s has no zone %s. on server_id %r (HTTP 404: %s)" % (
                    what,
                    where,
                    normalize(zone),
                    self.server_id,
                    detail,
                )
            else:
                message = "%s failed: %s answered HTTP %d: %s" % (what, where, status, detail)
        else:
            message = "%s: %s" % (what, exc.message)
        return self._failure(names, message)

    def _call(self, method: str, zone: str, names: list[str], what: str, params=None, body=None) -> ApiResponse:
        """One API request, retried on throttling, transient server errors and connection failures."""
        return self.api.request(
            method, self._zone_url(zone), (what, zone, names), params=params, body=body, expect=range(200, 400)
        )

    def _zone_rrsets(self, zone: str, names: list[str], what: str, params: dict | None = None) -> dict[str, dict]:
        answer = self._call("GET", zone, names, what, params=params)
        try:
            return txt_rrsets(answer.data)
        except ValueError as exc:
            raise self._failure(
                names, "%s: unexpected answer from %s (HTTP %d): %s" % (what, self.api_url, answer.status, exc)
            ) from None

    # --------------------------------------------------------------- interface
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        name = normalize(fqdn)
        # Servers that do not know the filter return the whole zone; only this name counts either way.
        rrsets = self._zone_rrsets(
            zone, [name], "read of zone %s" % normalize(zone), params={"rrset_name": name + ".", "rrset_type": "TXT"}
        )
        return served_values(rrsets.get(name))

    def _change(self, zone: str, records: dict[str, list[str]], ttl: int | None) -> None:
        changes: dict[str, list[str]] = {}
        for fqdn, values in records.items():
            changes.setdefault(normalize(fqdn), []).extend(values)
        names = sorted(changes)
        what = "update of zone %s" % normalize(zone)
        with _zone_lock((self.api_url, self.server_id, normalize(zone))):
            current = self._zone_rrsets(zone, names, what)
            rrsets = patch_rrsets(current, changes, ttl)
            if rrsets:
                self._call("PATCH", zone, names, what, body={"rrsets": rrsets})

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        self._change(zone, records, int(ttl))

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        self._change(zone, records, None)
