# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's ``letsencrypt_dns_deploy`` entries: checked before anything changes, shown without secrets.

An entry is only used after the ACME orders and the DNS changes, so a typo
found at deploy time costs a renewal that never reaches its server or load
balancer. The role therefore checks every play host's entries before the
first change, with messages that name the entry (certificate and type), the
field and the value; AWS credentials are never echoed.

AWS entries run once from the controller with their credentials; the loop
items the role shows and registers for them are :func:`deploy_items`, which
hold only the certificate, the type and where it goes.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    CONNECTION_NAMES,
    connection_settings,
    names_of,
    partner_name,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import certificate_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import (
    AWS_OPTIONS,
    AWS_SECRET_OPTIONS,
    AWS_TYPE_OPTIONS,
    AWS_TYPES,
    FAMILIES,
    REQUIRED,
    SERVER_OPTIONS,
    SERVER_TYPES,
    TYPES,
)

HIDDEN = "(hidden)"


def _unset(value) -> bool:
    return value is None or value == ""


def _shown(field: str, value) -> str:
    return HIDDEN if field in AWS_SECRET_OPTIONS and not _unset(value) else repr(value)


def _entry_errors(entry: dict, known) -> list[str]:
    cert, kind = entry.get("cert"), entry.get("type")
    where = "letsencrypt_dns_deploy entry (cert %r, type %r)" % (cert, kind)

    def problem(field: str, text: str) -> str:
        return "%s: field %r value %s %s" % (where, field, _shown(field, entry.get(field)), text)

    errors = []
    if certificate_name_error(cert):
        errors.append(problem("cert", "must be a certificate name from letsencrypt_dns_certificates"))
    elif known is not None and cert not in known:
        errors.append(problem("cert", "is no certificate of letsencrypt_dns_certificates"))
    if kind not in TYPES:
        errors.append(problem("type", "must be one of %s" % ", ".join(TYPES)))
        return errors
    required = REQUIRED.get(kind)
    if required and _unset(entry.get(required)):
        errors.append(problem(required, "is missing: type %s requires it" % kind))
    foreign, family = (AWS_OPTIONS, "an AWS") if kind in SERVER_TYPES else (SERVER_OPTIONS, "a web-server")
    for field in foreign:
        if entry.get(field) is not None:
            errors.append(problem(field, "is %s option, not one of type %s" % (family, kind)))
    if kind in AWS_TYPES:
        for field, types in AWS_TYPE_OPTIONS.items():
            if entry.get(field) is not None and kind not in types:
                errors.append(problem(field, "is only used with type %s, not with %s" % (" or ".join(types), kind)))
        errors.extend(_credential_errors(entry, problem))
    return errors


def _credential_errors(entry: dict, problem) -> list[str]:
    """The module's rules for credentials, checked here so they fail before issuance, not after it.

    Each connection option may be given under amazon.aws's name or an alias
    (our former names among them), but only under one of them per entry.
    """
    settings, conflicts = connection_settings(entry, unset=_unset)
    errors = [problem(field, reason) for field, reason in conflicts]
    key_id, secret = settings.get("access_key"), settings.get("secret_key")
    if _unset(key_id) != _unset(secret):
        given = _given_name(entry, "access_key" if _unset(secret) else "secret_key")
        missing = partner_name(given)
        errors.append(problem(missing, "is missing: %s and %s go together" % tuple(sorted((given, missing)))))
    if not _unset(settings.get("session_token")) and _unset(key_id):
        token = _given_name(entry, "session_token")
        keys = (
            ("access_key", "secret_key") if token == "session_token" else ("aws_access_key_id", "aws_secret_access_key")
        )
        errors.append(problem(token, "needs %s and %s" % keys))
    if not _unset(settings.get("profile")) and not _unset(key_id):
        given = _given_name(entry, "access_key")
        errors.append(problem(_given_name(entry, "profile"), "cannot be combined with %s" % given))
    return errors


def _given_name(entry: dict, option: str) -> str:
    """The name ``option`` is given under in ``entry`` (the option's own name when it is not given)."""
    return next((name for name in names_of(option) if not _unset(entry.get(name))), option)


def deploy_connection(entry: dict) -> dict:
    """An AWS entry with its connection options under amazon.aws's names, for the module's parameters."""
    settings, _conflicts = connection_settings(entry, unset=_unset)
    result = {key: value for key, value in entry.items() if key not in CONNECTION_NAMES}
    result.update(settings)
    return result


def deploy_entry_errors(entries, certificates=None) -> list[str]:
    """Every problem of one host's ``letsencrypt_dns_deploy``; empty when it is good.

    ``certificates`` (the names of ``letsencrypt_dns_certificates``), when
    given, catches an entry whose certificate does not exist: it would never
    be deployed, and its server would keep an expiring certificate silently.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        return ["letsencrypt_dns_deploy must be a list of entries, not a %s" % type(entries).__name__]
    known = None if certificates is None else {name for name in certificates if isinstance(name, str)}
    errors = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            errors.append("letsencrypt_dns_deploy[%d] must be a mapping, not a %s" % (index, type(entry).__name__))
            continue
        errors.extend(_entry_errors(entry, known))
    return errors


def deploy_target(entry: dict) -> str:
    """Where an entry puts its certificate, in words that match aws_certificate_deploy's messages."""
    kind = entry.get("type")
    if kind not in AWS_TYPES:
        return str(entry.get("dest"))
    if kind == "aws_acm":
        target = "certificate %s" % (entry.get("certificate_arn") or "tagged certfleet:name=%s" % entry.get("cert"))
    elif kind == "aws_iam_elb":
        target = "load balancer %s port %s" % (entry.get("load_balancer_name"), entry.get("listener_port") or 443)
    elif kind == "aws_alb":
        target = "listener %s" % entry.get("listener_arn")
    else:
        target = "secret %s" % entry.get("secret_name")
    region = connection_settings(entry, unset=_unset)[0].get("region")
    if region:
        target += " in %s" % region
    return target


def deploy_items(entries) -> list[dict]:
    """The entries as loop items: ``{cert, type, target}`` only, so no credential reaches a result or the output."""
    return [
        {"cert": entry.get("cert"), "type": entry.get("type"), "target": deploy_target(entry)}
        for entry in entries or []
        if isinstance(entry, dict)
    ]


def deploy_entries_of(entries, family: str) -> list[dict]:
    """The entries whose type belongs to ``family`` (``server`` or ``aws``), for the task that deploys them."""
    if family not in FAMILIES:
        raise ValueError("family must be one of %s, not %r" % (", ".join(FAMILIES), family))
    types = FAMILIES[family]
    chosen = [entry for entry in entries or [] if isinstance(entry, dict) and entry.get("type") in types]
    # The AWS deploy task passes amazon.aws's option names: an entry may use any of their names.
    return [deploy_connection(entry) for entry in chosen] if family == "aws" else chosen
