# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``letsencrypt_dns_state`` may say, defined once: its fields per type, their check, and the store it opens.

The role's variable, the modules' ``state_backend`` option (same fields) and
the docs (doc_fragments/state_backend.py, kept equal to the spec by a unit
test) all come from here, so a field cannot be accepted by one and refused by
another. Only the standard library and the AWS option names are imported at
the top: the role's input check runs this without boto3 or hvac; the backends
are imported when a store is opened.
"""

from __future__ import annotations

import difflib
import os

from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    CONNECTION_NAMES,
    REGION_VARIABLES,
    SECRET_OPTIONS,
    connection_argument_spec,
    connection_settings,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import StateStore, StoreError

STATE_TYPES = ("local", "s3", "vault")
VAULT_AUTH = ("token", "approle")
#: The variable the fields belong to, as messages name it.
VARIABLE = "letsencrypt_dns_state"
DEFAULT_LEASE = 900
#: A shorter lease would expire between two renewals of a busy controller.
MIN_LEASE = 5
DEFAULT_VAULT_MOUNT = "secret"
DEFAULT_VAULT_PATH = "certfleet.acme"
#: Fields every type takes.
COMMON_FIELDS = ("type", "lease_duration")
#: The fields of each type (``validate_certs`` is both S3's and Vault's).
TYPE_FIELDS = {
    "local": ("path",),
    "s3": ("bucket", "prefix", "kms_key_id") + CONNECTION_NAMES,
    "vault": (
        "url",
        "mount",
        "path",
        "auth",
        "token",
        "role_id",
        "secret_id",
        "namespace",
        "ca_bundle",
        "validate_certs",
    ),
}
#: Fields whose values are never shown.
SECRET_FIELDS = frozenset(("token", "secret_id") + SECRET_OPTIONS)
#: Fields a module fills from the environment when they are not given (so such a value is not "given").
_ENV_FALLBACKS = {"region": tuple(REGION_VARIABLES), "token": ("VAULT_TOKEN",)}
_ALL_FIELDS = tuple(dict.fromkeys(COMMON_FIELDS + sum(TYPE_FIELDS.values(), ())))


def state_backend_argument_spec() -> dict:
    """The modules' ``state_backend`` option: a dict with every field as a suboption (a fresh copy)."""
    from ansible.module_utils.basic import env_fallback  # only modules need it, not the role's check

    options = {
        "type": {"type": "str", "choices": list(STATE_TYPES), "default": "local"},
        "lease_duration": {"type": "int", "default": DEFAULT_LEASE},
        "path": {"type": "str"},
        "bucket": {"type": "str"},
        "prefix": {"type": "str"},
        "kms_key_id": {"type": "str"},
    }
    options.update(connection_argument_spec())
    options.update(
        url={"type": "str"},
        mount={"type": "str", "default": DEFAULT_VAULT_MOUNT},
        auth={"type": "str", "choices": list(VAULT_AUTH), "default": "token"},
        token={"type": "str", "no_log": True, "fallback": (env_fallback, ["VAULT_TOKEN"])},
        role_id={"type": "str"},
        secret_id={"type": "str", "no_log": True},
        namespace={"type": "str"},
        ca_bundle={"type": "path"},
    )
    return {"type": "dict", "options": options}


def _defaults() -> dict:
    return {
        "type": "local",
        "lease_duration": DEFAULT_LEASE,
        "validate_certs": True,
        "mount": DEFAULT_VAULT_MOUNT,
        "auth": "token",
    }


def _value(options: dict, field: str):
    """The field's value, or None when unset (the role passes empty strings for unset fields)."""
    value = options.get(field)
    return None if value is None or value == "" else value


def _given(options: dict, field: str) -> bool:
    """Set by the user: neither unset, nor a module's default, nor what a module read from the environment."""
    value = _value(options, field)
    if value is None or _defaults().get(field, object()) == value:
        return False
    return not any(os.environ.get(name) == value for name in _ENV_FALLBACKS.get(field, ()))


def _show(field: str, value) -> str:
    return "(not shown)" if field in SECRET_FIELDS else repr(value)


def _guess(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
    return " (did you mean %s?)" % close[0] if close else ""


def state_type(options: dict) -> str:
    """The backend type the options ask for (``local`` when unset)."""
    return str(_value(options, "type") or "local")


def _vault_problems(options: dict, field) -> list[str]:
    problems = []
    url = _value(options, "url")
    if url is None:
        problems.append(
            "%s is required with type vault (the server, for example https://vault.example:8200)" % field("url")
        )
    elif not str(url).startswith(("https://", "http://")):
        problems.append("%s: %r is not an http(s) URL" % (field("url"), url))
    auth = str(_value(options, "auth") or "token")
    if auth not in VAULT_AUTH:
        problems.append(
            "%s: unknown auth method %r%s; one of %s"
            % (field("auth"), auth, _guess(auth, VAULT_AUTH), ", ".join(VAULT_AUTH))
        )
    elif auth == "approle":
        problems.extend(
            "%s is required with auth approle" % field(name)
            for name in ("role_id", "secret_id")
            if _value(options, name) is None
        )
    elif _value(options, "token") is None and not os.environ.get("VAULT_TOKEN"):
        problems.append("%s is required with auth token (or set VAULT_TOKEN)" % field("token"))
    return problems


def _s3_problems(options: dict, field) -> list[str]:
    problems = []
    bucket = _value(options, "bucket")
    if bucket is None:
        problems.append("%s is required with type s3" % field("bucket"))
    prefix = _value(options, "prefix")
    if prefix is not None and (not isinstance(prefix, str) or prefix.startswith("/") or ".." in prefix.split("/")):
        problems.append(
            "%s: %r must be a relative path without '..' (for example certfleet/prod)" % (field("prefix"), prefix)
        )
    problems.extend("%s %s" % (field(name), reason) for name, reason in connection_settings(options, _value_unset)[1])
    return problems


def _value_unset(value) -> bool:
    return value is None or value == ""


def backend_problems(options) -> list[str]:
    """One message per bad field of ``letsencrypt_dns_state``, naming the field and its value (secrets hidden)."""
    if options is None:
        return []
    if not isinstance(options, dict):
        return [
            "%s must be a dictionary (type: local, s3 or vault, and its fields), got %s"
            % (VARIABLE, type(options).__name__)
        ]

    def field(name: str) -> str:
        return "%s.%s" % (VARIABLE, name)

    kind = state_type(options)
    if kind not in STATE_TYPES:
        return [
            "%s: unknown type %r%s; one of %s"
            % (field("type"), kind, _guess(kind, STATE_TYPES), ", ".join(STATE_TYPES))
        ]
    problems = []
    mine = set(COMMON_FIELDS + TYPE_FIELDS[kind])
    for name in options:
        if name not in _ALL_FIELDS:
            problems.append("%s: unknown field%s" % (field(name), _guess(name, _ALL_FIELDS)))
        elif name not in mine and _given(options, name):
            owners = [other for other in STATE_TYPES if name in TYPE_FIELDS[other]]
            problems.append(
                "%s: %s is a field of type %s, not of type %s"
                % (field(name), _show(name, options[name]), " and ".join(owners), kind)
            )
    lease = _value(options, "lease_duration")
    if lease is not None:
        try:
            seconds = int(lease)
        except (TypeError, ValueError):
            seconds = None
        if isinstance(lease, bool) or seconds is None or seconds < MIN_LEASE:
            problems.append(
                "%s: %r is not a number of seconds of at least %d" % (field("lease_duration"), lease, MIN_LEASE)
            )
    if kind == "s3":
        problems.extend(_s3_problems(options, field))
    elif kind == "vault":
        problems.extend(_vault_problems(options, field))
    return problems


def lease_duration(options: dict | None) -> int:
    """The lease's length in seconds."""
    return int(_value(options or {}, "lease_duration") or DEFAULT_LEASE)


def describe_backend(options: dict | None) -> str:
    """Where the options put the state, for messages; never a credential."""
    options = options or {}
    kind = state_type(options)
    if kind == "s3":
        from ansible_collections.certfleet.acme.plugins.module_utils._state.store.s3 import object_prefix

        return "s3://%s/%s" % (_value(options, "bucket"), object_prefix(_value(options, "prefix")).rstrip("/"))
    if kind == "vault":
        return "vault %s %s/%s" % (
            _value(options, "url"),
            _value(options, "mount") or DEFAULT_VAULT_MOUNT,
            _value(options, "path") or DEFAULT_VAULT_PATH,
        )
    return str(_value(options, "path") or "the local state directory")


def open_store(options: dict | None) -> StateStore:
    """The store the options name; StoreError listing every problem when they are not usable."""
    options = options or {}
    problems = backend_problems(options)
    if problems:
        raise StoreError("; ".join(problems))
    kind = state_type(options)
    if kind == "s3":
        from ansible_collections.certfleet.acme.plugins.module_utils._state.store.s3 import S3Store

        connection = {name: options[name] for name in CONNECTION_NAMES if not _value_unset(options.get(name))}
        return S3Store(
            _value(options, "bucket"), _value(options, "prefix") or "", _value(options, "kms_key_id"), connection
        )
    if kind == "vault":
        from ansible_collections.certfleet.acme.plugins.module_utils._state.store.vault import VaultStore

        validate = options.get("validate_certs")
        return VaultStore(
            _value(options, "url"),
            mount=_value(options, "mount") or DEFAULT_VAULT_MOUNT,
            path=_value(options, "path") or DEFAULT_VAULT_PATH,
            auth=_value(options, "auth") or "token",
            token=_value(options, "token") or os.environ.get("VAULT_TOKEN"),
            role_id=_value(options, "role_id"),
            secret_id=_value(options, "secret_id"),
            namespace=_value(options, "namespace"),
            ca_bundle=_value(options, "ca_bundle"),
            validate_certs=validate is not False and str(validate).lower() not in ("false", "no", "0"),
        )
    from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore

    path = _value(options, "path")
    if path is None:
        raise StoreError("%s.path is required with type local (the state directory)" % VARIABLE)
    return LocalStore(os.path.expanduser(str(path)))
