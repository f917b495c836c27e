# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand-offs between the role's stages: what one stage's result means for the next.

After each batch the role must know which certificates are due, which
records were written, which orders may be finalized and which certificates
failed, and at which stage. Those decisions span several modules' results,
so they live here and reach the role as filters (role-internal, see
plugins/filter/stage_handoffs.py).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED

ORDER_FIELDS = ("name", "names", "key_type", "profile")


def due_certificates(certificates, expiry_result) -> list[dict]:
    """The certificates cert_expiry_facts found due, shaped for acme_dns01_order.

    Settings only the expiry check uses (``force``, ``endpoint``) are dropped,
    and the ARI id of the certificate being replaced is added, so the CA can
    link the renewal to its predecessor.
    """
    result = expiry_result or {}
    due = set(result.get("due") or [])
    facts = result.get("certificates") or (result.get("ansible_facts") or {}).get("cert_expiry") or {}
    selected = []
    for cert in certificates or []:
        if cert.get("name") not in due:
            continue
        entry = {key: cert[key] for key in ORDER_FIELDS if cert.get(key) is not None}
        replaces = (facts.get(cert["name"]) or {}).get("replaces")
        if replaces:
            entry["replaces"] = replaces
        selected.append(entry)
    return selected


def deploy_failures(results, host: str | None = None) -> list[dict]:
    """Failed items of a looped deploy task, as run_failures entries with stage ``deploy``.

    The deploy tasks ignore their errors so that every host and certificate
    is tried; this turns what failed into entries the report and the final
    failure name. A web-server deploy runs on ``host``: its error names the
    type and the host. An AWS deploy runs once from the controller (no
    ``host``): its error names the type and the target. aws_certificate_deploy
    starts its messages with both; other messages (bad options, missing
    files) get them from the loop item's ``target``.
    """
    failures = []
    for item in (results or {}).get("results", []) or []:
        if not item.get("failed"):
            continue
        entry = item.get("item") if isinstance(item.get("item"), dict) else {}
        kind = entry.get("type")
        message = item.get("msg") or "failed"
        if host:
            error = "%s on %s: %s" % (kind, host, message)
        elif str(message).startswith("%s " % kind):
            error = message
        else:
            error = "%s %s: %s" % (kind, entry.get("target") or "(no target)", message)
        failures.append({"name": entry.get("cert"), "stage": "deploy", "host": host, "error": error})
    return failures


def record_errors(result) -> list[str]:
    """dns_txt_record's per-provider failures as lines naming provider, record and cause."""
    return [
        "provider %r record %r: %s" % (item.get("provider"), item.get("name"), item["error"])
        for item in (result or {}).get("records", []) or []
        if item.get("error")
    ]


def unpublished_names(published) -> set[str]:
    """TXT names that at least one provider failed to write, from dns_txt_record's result."""
    return {normalize(item.get("name", "")) for item in (published or {}).get("records", []) or [] if item.get("error")}


def published_records(records, published) -> list[dict]:
    """The records every provider wrote: the only ones worth waiting for."""
    failed = unpublished_names(published)
    return [record for record in records or [] if normalize(record["name"]) not in failed]


def _unpropagated_names(wait_result) -> set[str]:
    pending = set()
    for record in (wait_result or {}).get("records", []) or []:
        servers = record.get("servers") or []
        if not servers or not all(server.get("ok") for server in servers):
            pending.add(normalize(record.get("name", "")))
    return pending


def _record_names(order) -> set[str]:
    return {normalize(record["name"]) for record in order.get("records", [])}


def propagated_orders(orders, wait_result, published=None) -> list[dict]:
    """The orders whose every TXT record was written and seen on every authoritative server.

    Finalizing an order whose record did not propagate would only turn it
    invalid at the CA; leaving it pending lets the next run resume it.
    """
    blocked = _unpropagated_names(wait_result) | unpublished_names(published)
    return [order for order in orders or [] if order.get("status") != FAILED and not _record_names(order) & blocked]


def _propagation_error(order, wait_result) -> str:
    """Why ``order`` did not propagate: the rows of the wait's table that are about its own records.

    The wait reports every record of the batch at once; repeating that
    whole table for each certificate would bury the cause of each one in a
    fleet run.
    """
    # Imported only when a wait failed: propagation pulls in the DNS and
    # provider libraries, which every other filter of this file can do without.
    from ansible_collections.certfleet.acme.plugins.module_utils._dns.nameservers import (  # pylint: disable=import-outside-toplevel
        Answer,
        Server,
    )
    from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import (  # pylint: disable=import-outside-toplevel
        describe,
        format_table,
        server_label,
    )

    wanted = {normalize(record["name"]): record.get("txt_values") or [] for record in order.get("records", [])}
    rows = []
    for record in (wait_result or {}).get("records", []) or []:
        name = normalize(record.get("name", ""))
        if name not in wanted or record.get("ok"):
            continue
        servers = record.get("servers") or []
        if not servers:
            rows.append((name, "-", record.get("error") or "no nameservers found"))
        for server in servers:
            if server.get("ok"):
                continue
            answered = server.get("answered")
            answer = Answer(values=None if answered is None else frozenset(answered), error=server.get("error"))
            label = server_label(Server(server.get("name") or "?", server.get("address") or ""))
            rows.append((name, label, describe("present", wanted[name], answer)))
    if not rows:
        return (wait_result or {}).get("msg") or "TXT records did not reach every nameserver"
    return "not on every authoritative nameserver after %ss of waiting:\n%s" % (
        (wait_result or {}).get("elapsed", "?"),
        format_table(rows),
    )


def run_failures(orders, wait_result, finalized, published=None) -> list[dict]:
    """One entry per failed certificate: its name, the stage that failed and why."""
    failures = []
    unpublished = unpublished_names(published)
    unpropagated = _unpropagated_names(wait_result)
    publish_errors = [item for item in (published or {}).get("records", []) or [] if item.get("error")]
    publish_lines = record_errors(published)
    for order in orders or []:
        names = _record_names(order)
        if order.get("status") == FAILED:
            failures.append({"name": order["name"], "stage": "order", "error": order.get("error")})
        elif names & unpublished:
            errors = [line for item, line in zip(publish_errors, publish_lines) if normalize(item["name"]) in names]
            failures.append({"name": order["name"], "stage": "publish", "error": "; ".join(errors)})
        elif names & unpropagated:
            failures.append(
                {"name": order["name"], "stage": "propagation", "error": _propagation_error(order, wait_result)}
            )
    for cert in (finalized or {}).get("certificates", []) or []:
        if cert.get("status") == FAILED:
            failures.append({"name": cert["name"], "stage": "finalize", "error": cert.get("error")})
    return failures
