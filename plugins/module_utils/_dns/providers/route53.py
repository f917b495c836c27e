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
instances using the same credentials and endpoint share one throttle that
paces our requests; throttling answers are retried by botocore (the one retry
layer, configured in _aws/session.py), not again here.

The connection options are amazon.aws's names with their aliases (our former
names among them), as for the AWS deploy module; an entry that gives one
option under two names is refused.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error
from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    CONNECTION_NAMES,
    SECRET_OPTIONS,
    connection_settings,
    names_of,
    partner_name,
)
from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import AwsSession, AwsSetupError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import (
    AWS_ERRORS,
    BOTO3_IMPORT_ERROR,
    HAS_BOTO3,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize, owner_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle, poll_until
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, url_problem
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.route53_changes import (
    add_change,
    remove_change,
    rrset_values,
    split_changes,
    txt_unquote,
)

#: Route 53's documented request rate per account.
REQUESTS_PER_SECOND = 5.0
# Polling of GetChange: first wait, and the longest wait between two polls.
INSYNC_FIRST_DELAY = 1.0
INSYNC_MAX_DELAY = 10.0
CHANGE_COMMENT = "certfleet.acme ACME DNS-01 challenge"

_ZONE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_NAME_ESCAPE = re.compile(r"\\([0-7]{3})")


def route53_name(name: str) -> str:
    """A name as Route 53 returns it (``\\052`` escapes, trailing dot) in our normalized form."""
    text = _NAME_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), str(name))
    if text.endswith("."):
        text = text[:-1]
    return text.lower()


class Route53Provider(DnsProvider):
    """Hosted zones in Amazon Route 53."""

    TYPE = "route53"
    SECRET_OPTIONS = SECRET_OPTIONS
    LIBRARY = "boto3"

    @classmethod
    def missing_library(cls) -> str | None:
        return None if HAS_BOTO3 else BOTO3_IMPORT_ERROR or "boto3 is not installed"

    OPTIONAL_OPTIONS = CONNECTION_NAMES + (
        "hosted_zone_id",
        "private_zone",
        "wait_insync",
        "wait_timeout",
    )
    # The access key id is secret too (SECRET_OPTIONS); aws_config may name a proxy with its password.
    PUBLIC_OPTIONS = (
        names_of("profile")
        + names_of("region")
        + ("aws_ca_bundle", "validate_certs", "hosted_zone_id", "private_zone", "wait_insync", "wait_timeout")
    )
    URL_OPTIONS = names_of("endpoint_url")
    # The throttle allows five requests per second anyway; more threads only wait.
    CONCURRENCY = 5

    _throttles: dict[tuple[str, str], Throttle] = {}
    _throttles_lock = threading.Lock()

    def configure(self, config: dict) -> None:
        settings, conflicts = connection_settings(config)
        if conflicts:
            field, reason = conflicts[0]
            raise self.config_error(field, reason, config.get(field))
        names = {option: self._given_name(config, option) for option in settings}
        texts = {
            option: self.option_str(config, names[option])
            for option in ("access_key", "secret_key", "session_token", "profile", "region", "endpoint_url")
            if option in settings
        }
        self.access_key_id = texts.get("access_key")
        self.profile = texts.get("profile")
        if bool(self.access_key_id) != bool(texts.get("secret_key")):
            other = names.get("access_key") or names["secret_key"]
            raise self.config_error(partner_name(other), "is required when %s is set" % other)
        if texts.get("session_token") and not self.access_key_id:
            token = names["session_token"]
            keys = (
                ("access_key", "secret_key")
                if token == "session_token"
                else ("aws_access_key_id", "aws_secret_access_key")
            )
            raise self.config_error(token, "needs %s and %s (temporary credentials)" % keys)
        if self.profile and self.access_key_id:
            raise self.config_error(
                names["profile"], "cannot be used together with %s" % names["access_key"], self.profile
            )
        self.region = texts.get("region", "us-east-1")
        self.endpoint_url = texts.get("endpoint_url")
        problem = url_problem(self.endpoint_url, self.allow_plain_http) if self.endpoint_url else None
        if problem:
            raise self.config_error(names["endpoint_url"], problem, self.endpoint_url)
        if "aws_ca_bundle" in settings:
            self.option_str(config, "aws_ca_bundle")
        if "validate_certs" in settings:
            settings["validate_certs"] = self.option_bool(config, "validate_certs", True)
        if "aws_config" in settings and not isinstance(settings["aws_config"], dict):
            raise self.config_error(
                "aws_config", "must be a dictionary of botocore Config settings", settings["aws_config"]
            )
        settings.update(texts)
        self._session = AwsSession(settings, default_region="us-east-1")
        self.private_zone = self.option_bool(config, "private_zone", False)
        self.wait_insync = self.option_bool(config, "wait_insync", True)
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

    @staticmethod
    def _given_name(config: dict, option: str) -> str:
        """The name ``option`` is given under in ``config`` (amazon.aws's name or one of its aliases)."""
        return next(name for name in names_of(option) if config.get(name) is not None)

    def _zone_ids(self, mapping: Any) -> dict[str, str]:
        """Validate ``hosted_zone_id``: {zone: id} for zones whose lookup by name is to be skipped."""
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise self.config_error("hosted_zone_id", "must be a dictionary of zone name to hosted zone id", mapping)
        result = {}
        for zone, zone_id in mapping.items():
            problem = owner_name_error(zone)
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
                try:
                    self._client = self._session.client("route53")
                except AwsSetupError as exc:
                    raise self.error(None, "cannot set up the Route53 client: %s" % exc) from None
        return self._client

    def _call(self, operation: str, record: str | None, **params) -> dict:
        """One API call: paced by the shared throttle, retried by botocore alone, errors as ProviderError."""
        method = getattr(self._get_client(), operation)
        self._throttle.wait()
        try:
            return method(**params)
        except AWS_ERRORS as exc:
            raise self.error(record, describe_error(exc)) from None

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
        return {txt_unquote(raw) for raw in rrset_values(rrset)}

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
        if not change_id:
            return
        seen = {"status": info.get("Status"), "asked": False}

        def insync() -> bool:
            if seen["asked"]:
                seen["status"] = (self._call("get_change", record, Id=change_id).get("ChangeInfo") or {}).get("Status")
            seen["asked"] = True
            return seen["status"] == "INSYNC"

        if not poll_until(insync, self.wait_timeout, INSYNC_FIRST_DELAY, INSYNC_MAX_DELAY, 2, self._clock, self._sleep):
            raise self.error(
                record,
                "change %s is still %s after %d seconds (wait_timeout); it was accepted and may still apply"
                % (change_id, seen["status"], self.wait_timeout),
            )

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        self._change(zone, records, lambda fqdn, current, values: add_change(fqdn, current, values, ttl))

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        self._change(zone, records, remove_change)
