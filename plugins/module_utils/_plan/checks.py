# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check what ``cert_expiry_facts`` is asked before anything is read, asked or written.

A fleet check with one bad entry must fail with one message naming the
certificate, the field and the value, not with a half-decided fleet.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import directory_url_error
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import certificate_name_error


def expiry_input_problem(params: dict) -> str | None:
    """The first problem of the module's validated parameters, or None when they can be used."""
    if params["renew_days"] is not None and params["renew_days"] < 0:
        return "renew_days must be 0 or more, not %r" % params["renew_days"]
    if params["request_timeout"] <= 0:
        return "request_timeout must be more than 0, not %r" % params["request_timeout"]
    if params["acme_directory"]:
        problem = directory_url_error(params["acme_directory"], params.get("acme_allow_plain_http", False))
        if problem:
            return problem
    seen = set()
    for item in params["certificates"]:
        name = item["name"]
        problem = certificate_name_error(name)
        if problem:
            return "certificate %r: field 'name' value %r %s" % (name, name, problem)
        if name in seen:
            return "certificate %r: field 'name' value %r is used twice" % (name, name)
        seen.add(name)
        if not item.get("path") and not params["state_dir"]:
            return "certificate %r: field 'path' is not set and state_dir is not given" % name
        endpoint = item.get("endpoint")
        if endpoint:
            if not endpoint["host"]:
                return "certificate %r: field 'endpoint.host' is empty" % name
            if not 0 < endpoint["port"] < 65536:
                return "certificate %r: field 'endpoint.port' value %r is not a TCP port" % (name, endpoint["port"])
    return None


def certificates_option(**options: dict) -> dict:
    """The argument spec of a ``certificates`` option: a list of entries, each with a ``name`` and ``options``.

    ``cert_expiry_facts`` and ``acme_dns01_order`` both take the role's certificate entries.
    """
    return {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": dict({"name": {"type": "str", "required": True}}, **options),
    }
