# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the AWS targets that need no AWS: dated names, ARNs, tags, what may be removed.

Kept as plain functions so that they are tested on their own, and so that
every target decides "is this ours, is this the same certificate" alike.
"""

from __future__ import annotations

import datetime
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc

#: The tag that ties an ACM certificate, IAM server certificate or secret to a certificate name.
TAG_KEY = "certfleet:name"
DATE_FORMAT = "%Y%m%d%H%M%S"
#: Attempts at finding a free dated name (one second later each time).
NAME_ATTEMPTS = 10


class DeployError(Exception):
    """A deployment failed; the message names the type and target and is safe to show.

    ``result`` holds what was done before the failure (the keys of a normal result).
    """

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


def dated_name(prefix: str, moment: datetime.datetime) -> str:
    """``<prefix>-<YYYYmmddHHMMSS>`` in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return "%s-%s" % (prefix, moment.strftime(DATE_FORMAT))


def dated_name_time(prefix: str, name: str) -> datetime.datetime | None:
    """The UTC time in a dated name of ``prefix``, or None when ``name`` is not one.

    Only ``<prefix>-`` followed by exactly fourteen digits counts, so the
    prefix ``www`` never claims ``www-api-20250101000000``.
    """
    if not isinstance(name, str) or not name.startswith(prefix + "-"):
        return None
    stamp = name[len(prefix) + 1 :]
    if len(stamp) != 14 or not stamp.isdigit():
        return None
    try:
        return datetime.datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def free_dated_name(prefix: str, moment: datetime.datetime, taken) -> str:
    """The dated name for ``moment``, or the first later second that is not in ``taken``."""
    taken = set(taken)
    for offset in range(NAME_ATTEMPTS * 6):
        name = dated_name(prefix, moment + datetime.timedelta(seconds=offset))
        if name not in taken:
            return name
    raise DeployError("no free dated name for prefix %r near %s" % (prefix, iso_utc(moment)))


def iam_name_from_arn(arn: str) -> str | None:
    """The name of an IAM server certificate from its ARN (the last path segment), or None."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("server-certificate/"):
        return None
    return parts[5].rsplit("/", 1)[-1] or None


def is_acm_arn(arn: str) -> bool:
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return len(parts) == 6 and parts[2] == "acm" and parts[5].startswith("certificate/")


def tag_value(tags, key: str = TAG_KEY) -> str | None:
    """The value of tag ``key`` in an AWS tag list (``[{Key, Value}]``), or None."""
    for tag in tags or []:
        if isinstance(tag, dict) and tag.get("Key") == key:
            return tag.get("Value") or ""
    return None


def pick_tagged(cert_name: str, arns: list[str]) -> str | None:
    """The one ACM certificate tagged with ``cert_name``; none is fine, several are an error."""
    unique = sorted(set(arns))
    if len(unique) > 1:
        raise DeployError(
            "%d ACM certificates carry the tag %s=%s (%s); set certificate_arn to the one to re-import, "
            "or remove the tag from the others" % (len(unique), TAG_KEY, cert_name, ", ".join(unique))
        )
    return unique[0] if unique else None


def ours(prefix: str, path: str, certificates: list[dict]) -> list[dict]:
    """The IAM server certificates (metadata) under exactly ``path`` with a dated name of ``prefix``, newest first."""
    found = [
        meta
        for meta in certificates
        if meta.get("Path") == path and dated_name_time(prefix, meta.get("ServerCertificateName", "")) is not None
    ]
    found.sort(key=lambda meta: meta["ServerCertificateName"], reverse=True)
    return found


def cleanup_candidates(prefix: str, path: str, certificates: list[dict], keep: str | None, in_use) -> list[dict]:
    """Which of our IAM certificates may go: dated names of ``prefix`` under ``path``, except ``keep``
    and every certificate whose ARN a listener still uses."""
    in_use = set(in_use)
    return [
        meta
        for meta in ours(prefix, path, certificates)
        if meta.get("ServerCertificateName") != keep and meta.get("Arn") not in in_use
    ]


def stale_sni(listener_certificates: list[dict], arn: str, tagged_ours: Callable[[str], bool]) -> list[str]:
    """SNI certificates of a listener to remove: not the default, not ``arn``, tagged with our certificate name."""
    stale = []
    for entry in listener_certificates:
        other = entry.get("CertificateArn")
        if not other or other == arn or entry.get("IsDefault") or other in stale:
            continue
        if is_acm_arn(other) and tagged_ours(other):
            stale.append(other)
    return stale
