# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Route 53 (and AWS-compatible services reached through ``endpoint_url``) through boto3.

Route 53 changes whole record sets, not single values, so every write reads
the name's current TXT set first and sends the set it must become: the merged
set when adding, the remainder (or a DELETE of exactly what is there) when
removing. The changes of all names of one zone go out in one
ChangeResourceRecordSets call, which Route 53 applies atomically, and the
provider then waits until Route 53 reports the change INSYNC, so that the
propagation check that follows looks at something that can be there.

Route 53 allows five API requests per second per account: all provider
instances using the same credentials and endpoint share one throttle, and
throttling answers are retried with backoff.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle, retry_call
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    DnsProvider,
    dns_name_error,
)

try:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR: str | None = traceback.format_exc()
    AWS_ERRORS: tuple = ()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
    AWS_ERRORS = (ClientError, BotoCoreError)

#: Route 53's documented request rate per account.
REQUESTS_PER_SECOND = 5.0
#: Error codes that mean "slow down / try again", never "this request is wrong".
RETRYABLE_CODES = frozenset(
    (
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
    )
)
RETRY_ATTEMPTS = 6
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 10.0
# Limits of one ChangeResourceRecordSets request (an UPSERT counts twice).
MAX_BATCH_RECORDS = 1000
MAX_BATCH_CHARACTERS = 32000
MAX_TXT_STRING = 255
# Polling of GetChange: first wait, and the longest wait between two polls.
INSYNC_FIRST_DELAY = 1.0
INSYNC_MAX_DELAY = 10.0
CHANGE_COMMENT = "certfleet.acme ACME DNS-01 challenge"

_ZONE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_NAME_ESCAPE = re.compile(r"\\([0-7]{3})")


# --------------------------------------------------------------- TXT values
def _escape_string(chunk: bytes) -> str:
    """One TXT character-string in Route 53's quoted form, without the quotes."""
    out = []
    for byte in chunk:
        if byte in (0x22, 0x5C):  # " and \ are escaped with a backslash
            out.append("\\" + chr(byte))
        elif byte < 0x20 or byte >= 0x7F:  # control and non-ASCII bytes as \ + three octal digits
            out.append("\\%03o" % byte)
        else:
            out.append(chr(byte))
    return "".join(out)


def txt_quote(value: str) -> str:
    """A TXT value as Route 53's API wants it: quoted, escaped, split into 255-byte strings."""
    data = value.encode("utf-8")
    chunks = [data[start : start + MAX_TXT_STRING] for start in range(0, len(data), MAX_TXT_STRING)] or [b""]
    return " ".join('"%s"' % _escape_string(chunk) for chunk in chunks)


def txt_strings(text: str) -> list[bytes]:
    """The character-strings of a Route 53 TXT ``Value``.

    Quoted strings may hold ``\\"``, ``\\\\`` and ``\\ooo`` (three octal
    digits, as Route 53 writes them); unquoted words are accepted too, and an
    unterminated quote ends the value. Never raises: records written by other
    tools must not make the whole name unreadable.
    """
    strings: list[bytes] = []
    index, length = 0, len(text)
    while index < length:
        if text[index].isspace():
            index += 1
            continue
        quoted = text[index] == '"'
        if quoted:
            index += 1
        buf = bytearray()
        while index < length:
            char = text[index]
            if quoted and char == '"':
                index += 1
                break
            if not quoted and char.isspace():
                break
            if char == "\\" and index + 1 < length:
                digits = text[index + 1 : index + 4]
                if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) <= 255:
                    buf.append(int(digits, 8))
                    index += 4
                    continue
                buf.extend(text[index + 1].encode("utf-8"))
                index += 2
                continue
            buf.extend(char.encode("utf-8"))
            index += 1
        strings.append(bytes(buf))
    return strings


def txt_unquote(text: str) -> str:
    """The value of a Route 53 TXT ``Value``: its strings joined, as a resolver's client reads them."""
    return b"".join(txt_strings(text)).decode("utf-8", "replace")


def route53_name(name: str) -> str:
    """A name as Route 53 returns it (``\\052`` escapes, trailing dot) in our normalized form."""
    text = _NAME_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), str(name))
    if text.endswith("."):
        text = text[:-1]
    return text.lower()


# ------------------------------------------------------------ change batches
def _rrset_values(rrset: dict | None) -> list[str]:
    return [record["Value"] for record in (rrset or {}).get("ResourceRecords", [])]


def add_change(fqdn: str, current: dict | None, values: list[str], ttl: int) -> dict | None:
    """The change that adds ``values`` at ``fqdn`` to the ``current`` record set (None: nothing to do).

    Values already there stay exactly as Route 53 holds them; the set gets
    ``ttl``, as a dynamic update adding a record would give it.
    """
    existing = _rrset_values(current)
    have = {txt_unquote(raw) for raw in existing}
    new = []
    for value in values:
        if value not in have:
            have.add(value)
            new.append(txt_quote(value))
    if not new:
        return None
    name = current["Name"] if current else fqdn + "."
    return {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": name,
            "Type": "TXT",
            "TTL": int(ttl),
            "ResourceRecords": [{"Value": raw} for raw in existing + new],
        },
    }


def remove_change(fqdn: str, current: dict | None, values: list[str]) -> dict | None:
    """The change that removes ``values`` from the ``current`` record set (None: nothing to do).

    Other values stay, with the set's TTL; when nothing stays, the set is
    deleted with exactly the values and TTL Route 53 holds, as DELETE demands.
    """
    existing = _rrset_values(current)
    drop = set(values)
    remainder = [raw for raw in existing if txt_unquote(raw) not in drop]
    if not existing or len(remainder) == len(existing):
        return None
    if not remainder:
        return {
            "Action": "DELETE",
            "ResourceRecordSet": {
                "Name": current["Name"],
                "Type": "TXT",
                "TTL": current["TTL"],
                "ResourceRecords": [{"Value": raw} for raw in existing],
            },
        }
    return {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": current["Name"],
            "Type": "TXT",
            "TTL": current["TTL"],
            "ResourceRecords": [{"Value": raw} for raw in remainder],
        },
    }


def split_changes(changes: list[dict]) -> list[list[dict]]:
    """Changes grouped into as few requests as Route 53's per-request limits allow (usually one)."""
    batches: list[list[dict]] = []
    current: list[dict] = []
    records = characters = 0
    for change in changes:
        factor = 2 if change["Action"] == "UPSERT" else 1
        values = _rrset_values(change["ResourceRecordSet"])
        weight = factor * len(values)
        size = factor * sum(len(value) for value in values)
        if current and (records + weight > MAX_BATCH_RECORDS or characters + size > MAX_BATCH_CHARACTERS):
            batches.append(current)
            current, records, characters = [], 0, 0
        current.append(change)
        records += weight
        characters += size
    if current:
        batches.append(current)
    return batches


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (or anything shaped like one)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code else None
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether Route 53 asked us to slow down or to wait for a previous change."""
    return error_code(exc) in RETRYABLE_CODES


def describe_error(exc: BaseException) -> str:
    """AWS's own words for a failure: ``Operation: Code: message``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        details = response.get("Error") or {}
        operation = getattr(exc, "operation_name", None) or "request"
        return "%s: %s: %s" % (operation, details.get("Code") or "error", details.get("Message") or exc)
    return "%s: %s" % (type(exc).__name__, exc)


def _option_bool(provider: DnsProvider, config: dict, key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("no", "false", "off", "0"):
        return False
    raise provider.config_error(key, "must be a boolean", value)


class Route53Provider(DnsProvider):
    """Hosted zones in Amazon Route 53."""

    TYPE = "route53"
    SECRET_OPTIONS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
    LIBRARY = "boto3"

    @classmethod
    def missing_library(cls) -> str | None:
        return None if HAS_BOTO3 else BOTO3_IMPORT_ERROR or "boto3 is not installed"

    OPTIONAL_OPTIONS = (
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_profile",
        "region",
        "endpoint_url",
        "hosted_zone_id",
        "private_zone",
        "wait_insync",
        "wait_timeout",
    )
    # The throttle allows five requests per second anyway; more threads only wait.
    CONCURRENCY = 5

    _throttles: dict[tuple[str, str], Throttle] = {}
    _throttles_lock = threading.Lock()

    def configure(self, config: dict) -> None:
        self.access_key_id = self.option_str(config, "aws_access_key_id")
        self._secret_access_key = self.option_str(config, "aws_secret_access_key")
        self._session_token = self.option_str(config, "aws_session_token")
        self.profile = self.option_str(config, "aws_profile")
        if bool(self.access_key_id) != bool(self._secret_access_key):
            missing = "aws_secret_access_key" if self.access_key_id else "aws_access_key_id"
            other = "aws_access_key_id" if self.access_key_id else "aws_secret_access_key"
            raise self.config_error(missing, "is required when %s is set" % other)
        if self._session_token and not self.access_key_id:
            raise self.config_error(
                "aws_session_token", "needs aws_access_key_id and aws_secret_access_key (temporary credentials)"
            )
        if self.profile and self.access_key_id:
            raise self.config_error("aws_profile", "cannot be used together with aws_access_key_id", self.profile)
        self.region = self.option_str(config, "region", "us-east-1")
        self.endpoint_url = self.option_str(config, "endpoint_url")
        if self.endpoint_url and not re.match(r"^https?://[^/\s]+", self.endpoint_url):
            raise self.config_error("endpoint_url", "must be an http:// or https:// URL", self.endpoint_url)
        self.private_zone = _option_bool(self, config, "private_zone", False)
        self.wait_insync = _option_bool(self, config, "wait_insync", True)
        self.wait_timeout = self.option_number(config, "wait_timeout", 300, 1, 86400, integer=True)
        self.hosted_zone_ids = self._zone_ids(config.get("hosted_zone_id"))

        self._client: Any = None
        self._client_lock = threading.Lock()
        self._zone_cache: dict[str, str] = {}
        self._zone_lock = threading.Lock()
        self._sleep = time.sleep
        self._clock = time.monotonic
        # One throttle per account and endpoint; the key id names the account
        # well enough, and a profile or the default chain stands for its own.
        identity = self.access_key_id or ("profile:" + self.profile if self.profile else "default-chain")
        key = (self.endpoint_url or "aws", identity)
        with self._throttles_lock:
            if key not in self._throttles:
                self._throttles[key] = Throttle(REQUESTS_PER_SECOND)
            self._throttle = self._throttles[key]

    def _zone_ids(self, mapping: Any) -> dict[str, str]:
        """Validate ``hosted_zone_id``: {zone: id} for zones whose lookup by name is to be skipped."""
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise self.config_error("hosted_zone_id", "must be a dictionary of zone name to hosted zone id", mapping)
        result = {}
        for zone, zone_id in mapping.items():
            problem = dns_name_error(zone)
            if problem:
                raise self.config_error("hosted_zone_id", "key %s" % problem, zone)
            if normalize(zone) not in self.zones:
                raise self.config_error("hosted_zone_id", "names zone %r, which is not in zones" % zone, zone)
            text = zone_id.strip() if isinstance(zone_id, str) else ""
            if text.startswith("/hostedzone/"):
                text = text[len("/hostedzone/") :]
            if not _ZONE_ID.match(text):
                raise self.config_error("hosted_zone_id", "value for %r is not a hosted zone id" % zone, zone_id)
            result[normalize(zone)] = text
        return result

    # ----------------------------------------------------------------- client
    def _get_client(self):
        """The boto3 Route 53 client, made on first use (construction stays offline)."""
        with self._client_lock:
            if self._client is None:
                if not HAS_BOTO3:
                    raise self.error(None, "the Python library boto3 is required for provider type route53")
                session_args = {}
                if self.access_key_id:
                    session_args.update(
                        aws_access_key_id=self.access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        aws_session_token=self._session_token,
                    )
                if self.profile:
                    session_args["profile_name"] = self.profile
                settings = botocore.config.Config(
                    retries={"mode": "standard", "max_attempts": 3},
                    connect_timeout=10,
                    read_timeout=60,
                    user_agent_extra="certfleet.acme",
                )
                try:
                    session = boto3.session.Session(region_name=self.region, **session_args)
                    self._client = session.client("route53", endpoint_url=self.endpoint_url, config=settings)
                except AWS_ERRORS as exc:
                    raise self.error(None, "cannot set up the Route53 client: %s" % describe_error(exc)) from None
                except ValueError as exc:
                    raise self.error(None, "cannot set up the Route53 client: %s" % exc) from None
        return self._client

    def _call(self, operation: str, record: str | None, **params) -> dict:
        """One API call: throttled, retried while Route 53 says slow down, errors as ProviderError."""
        method = getattr(self._get_client(), operation)

        def attempt():
            self._throttle.wait()
            return method(**params)

        try:
            return retry_call(
                attempt,
                attempts=RETRY_ATTEMPTS,
                base_delay=RETRY_BASE_DELAY,
                max_delay=RETRY_MAX_DELAY,
                is_retryable=is_retryable,
                sleep=self._sleep,
            )
        except AWS_ERRORS as exc:
            message = describe_error(exc)
            if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
                message += " (set aws_access_key_id and aws_secret_access_key, or aws_profile, or AWS_* variables)"
            raise self.error(record, message) from None

    # ------------------------------------------------------------------ zones
    def _zone_id(self, zone: str, record: str | None) -> str:
        """The hosted zone id of ``zone``: configured, or looked up once by name."""
        zone = normalize(zone)
        if zone in self.hosted_zone_ids:
            return self.hosted_zone_ids[zone]
        with self._zone_lock:
            if zone not in self._zone_cache:
                self._zone_cache[zone] = self._find_zone(zone, record)
            return self._zone_cache[zone]

    def _find_zone(self, zone: str, record: str | None) -> str:
        matches: list[dict] = []
        params = {"DNSName": zone + ".", "MaxItems": "100"}
        for _page in range(100):
            response = self._call("list_hosted_zones_by_name", record, **params)
            passed = False
            for hosted in response.get("HostedZones", []):
                if route53_name(hosted.get("Name", "")) == zone:
                    matches.append(hosted)
                else:
                    # Zones come sorted by name from DNSName on: the same-named ones come first.
                    passed = True
                    break
            if passed or not response.get("IsTruncated") or not response.get("NextDNSName"):
                break
            params = {
                "DNSName": response["NextDNSName"],
                "HostedZoneId": response.get("NextHostedZoneId"),
                "MaxItems": "100",
            }
            if not params["HostedZoneId"]:
                del params["HostedZoneId"]
        kind = "private" if self.private_zone else "public"
        chosen = [
            hosted for hosted in matches if bool((hosted.get("Config") or {}).get("PrivateZone")) == self.private_zone
        ]
        ids = [str(hosted.get("Id", "")).replace("/hostedzone/", "") for hosted in chosen]
        if not chosen:
            others = [str(hosted.get("Id", "")).replace("/hostedzone/", "") for hosted in matches]
            hint = ""
            if others:
                hint = " (only %s one(s): %s; private_zone is %s)" % (
                    "public" if self.private_zone else "private",
                    ", ".join(others),
                    str(self.private_zone).lower(),
                )
            raise self.error(
                record, "no %s hosted zone named %s. is visible to these credentials%s" % (kind, zone, hint)
            )
        if len(chosen) > 1:
            raise self.error(
                record,
                "%d %s hosted zones are named %s. (%s); set hosted_zone_id: {%s: <id>} to pick one"
                % (len(chosen), kind, zone, ", ".join(ids), zone),
            )
        return ids[0]

    # ---------------------------------------------------------------- records
    def _read_rrset(self, zone_id: str, fqdn: str) -> dict | None:
        """The simple-routing TXT record set at ``fqdn`` as Route 53 returns it, or None."""
        response = self._call(
            "list_resource_record_sets",
            fqdn,
            HostedZoneId=zone_id,
            StartRecordName=fqdn + ".",
            StartRecordType="TXT",
            MaxItems="10",
        )
        for rrset in response.get("ResourceRecordSets", []):
            if route53_name(rrset.get("Name", "")) != fqdn or rrset.get("Type") != "TXT":
                break
            if "SetIdentifier" in rrset or "AliasTarget" in rrset:
                continue  # weighted/latency/... sets are not ours to merge into
            return rrset
        return None

    def read_values(self, zone: str, fqdn: str) -> set[str]:
        fqdn = normalize(fqdn)
        rrset = self._read_rrset(self._zone_id(zone, fqdn), fqdn)
        return {txt_unquote(raw) for raw in _rrset_values(rrset)}

    def _change(self, zone: str, records: dict[str, list[str]], plan) -> None:
        names = [normalize(fqdn) for fqdn in records]
        label = names[0] if len(names) == 1 else None
        zone_id = self._zone_id(zone, label or (names[0] if names else None))
        changes = []
        for fqdn, values in zip(names, records.values()):
            change = plan(fqdn, self._read_rrset(zone_id, fqdn), list(values))
            if change is not None:
                changes.append(change)
        submitted = []
        for batch in split_changes(changes):
            response = self._call(
                "change_resource_record_sets",
                label,
                HostedZoneId=zone_id,
                ChangeBatch={"Comment": CHANGE_COMMENT, "Changes": batch},
            )
            submitted.append(response.get("ChangeInfo") or {})
        if self.wait_insync:
            for info in submitted:
                self._wait_insync(info, label)

    def _wait_insync(self, info: dict, record: str | None) -> None:
        """Poll GetChange with growing pauses until the change is INSYNC, at most ``wait_timeout`` seconds."""
        change_id = info.get("Id")
        status = info.get("Status")
        if not change_id:
            return
        deadline = self._clock() + self.wait_timeout
        delay = INSYNC_FIRST_DELAY
        while status != "INSYNC":
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self.error(
                    record,
                    "change %s is still %s after %d seconds (wait_timeout); it was accepted and may still apply"
                    % (change_id, status, self.wait_timeout),
                )
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, INSYNC_MAX_DELAY)
            status = (self._call("get_change", record, Id=change_id).get("ChangeInfo") or {}).get("Status")

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        self._change(zone, records, lambda fqdn, current, values: add_change(fqdn, current, values, ttl))

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        self._change(zone, records, remove_change)
