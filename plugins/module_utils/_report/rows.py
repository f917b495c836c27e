# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's content: one row per certificate, the deploy rows, the alerts, the counts.

A renewal that runs from cron must say what it did and must tell someone
when a certificate is in danger. This file turns the role's results
(cert_expiry facts, orders, finalize results, run_failures entries and
run-level errors) into rows, picks the rows that need attention and counts
them. It is pure, so it is unit-tested without servers; the table and the
messages are built from its report in table.py and notify.py.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, parse_iso, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED, ISSUED
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._report.deploys import count_outcomes, deploy_rows

REPORT_VERSION = 1

RENEWED = "renewed"
SKIPPED = "skipped"
WOULD_ISSUE = "would_issue"
NOT_DEPLOYED = "not_deployed"
ACTIONS = (ISSUED, RENEWED, FAILED, NOT_DEPLOYED, WOULD_ISSUE, SKIPPED)
ATTENTION = (FAILED, NOT_DEPLOYED)

_ACME_ERROR_PREFIX = "urn:ietf:params:acme:error:"
_DAY = 86400


def parse_time(value) -> datetime.datetime | None:
    """An ISO 8601 time as written by the modules ('2025-06-01T12:00:00Z'), as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    return parse_iso(value)


def days_until(value, now: datetime.datetime) -> int | None:
    """Whole days from ``now`` until the ISO time ``value`` (negative once past), as cert_expiry_facts counts."""
    moment = parse_time(value)
    if moment is None:
        return None
    return int((moment - now).total_seconds() // _DAY)


def format_error(error) -> str:
    """One line for an error: a message as it is, an ACME problem document as 'identifier: detail (type)'."""
    if error is None:
        return ""
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        detail = str(error.get("detail") or error.get("msg") or "").strip()
        kind = str(error.get("type") or "")
        if kind.startswith(_ACME_ERROR_PREFIX):
            kind = kind[len(_ACME_ERROR_PREFIX) :]
        text = detail or kind or json.dumps(error, sort_keys=True)
        if detail and kind and kind != "about:blank":
            text = "%s (%s)" % (detail, kind)
        identifier = error.get("identifier")
        name = identifier.get("value") if isinstance(identifier, dict) else None
        if name and str(name) not in text:  # which name of the certificate the CA refused
            text = "%s: %s" % (name, text)
        subproblems = [format_error(sub) for sub in error.get("subproblems") or [] if isinstance(sub, dict)]
        subproblems = [sub for sub in subproblems if sub and sub not in text]
        if subproblems:
            text = "%s: %s" % (text, "; ".join(subproblems))
        return text
    return json.dumps(error, sort_keys=True, default=str)


def one_line(text: str, width: int | None = None) -> str:
    """Whitespace (newlines of a propagation table too) collapsed; cut to ``width`` with '...'."""
    line = re.sub(r"\s+", " ", str(text or "")).strip()
    if width is not None and len(line) > width:
        line = line[: max(width - 3, 0)] + "..."
    return line


def _names(certificates) -> list[str]:
    names = []
    for cert in certificates or []:
        name = cert.get("name") if isinstance(cert, dict) else None
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return names


def _by_name(items) -> dict:
    found = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found.setdefault(item["name"], []).append(item)
    return found


def _row(name: str, action: str, **fields) -> dict:
    row = {
        "certificate": name,
        "action": action,
        "days_left": None,
        "not_after": None,
        "reason": None,
        "stage": None,
        "result": None,
        "error": None,
    }
    row.update(fields)
    return row


def failure_cause(failure: dict) -> str:
    """'stage on host: cause' for one entry of run_failures or deploy_failures (the table's and the headline's)."""
    cause = format_error(failure.get("error")) or "failed"
    host = failure.get("host")
    if failure.get("stage") == "deploy" and isinstance(failure.get("name"), str):
        # "nginx on web1: certificate 'www' (nginx): ..." says the certificate and the type twice: once is enough.
        cause = re.sub(
            r"^(\S+)( on .+?)?: certificate %s \(\1\): " % re.escape(repr(failure["name"])), r"\1\2: ", cause
        )
    # A deploy's error names its target and host already ("nginx on web1: ..."): the host is said once.
    where = " on %s" % host if host and " on %s" % host not in cause else ""
    return "%s%s: %s" % (failure.get("stage") or "run", where, cause)


def _failure_text(failures: list[dict]) -> tuple[str, str]:
    stages = [failure.get("stage") or "run" for failure in failures]
    return ", ".join(dict.fromkeys(stages)), "; ".join(failure_cause(failure) for failure in failures)


def build_rows(
    certificates,
    expiry=None,
    orders=None,
    finalized=None,
    failures=None,
    errors=None,
    check_mode: bool = False,
    now: datetime.datetime | None = None,
) -> list[dict]:
    """One row per certificate of ``certificates`` (then any other certificate a failure names).

    ``expiry`` is cert_expiry_facts' ``certificates`` (keyed by name),
    ``orders`` acme_dns01_order's ``orders``, ``finalized`` acme_finalize's
    ``certificates``, ``failures`` run_failures' entries (stage ``deploy``
    makes ``not_deployed``), ``errors`` run-level messages (a task that
    stopped the run). A certificate that was due and neither issued nor
    named by a failure also failed: something stopped the run first.
    """
    now = now or utc_now()
    expiry = expiry if isinstance(expiry, dict) else {}
    failed_by = _by_name(failures)
    finalized_by = _by_name(finalized)
    ordered_by = _by_name(orders)
    errors = [one_line(error) for error in errors or [] if error]
    stopped = "the run stopped before it was issued: %s" % errors[0] if errors else "not issued"
    names = _names(certificates)
    names.extend(name for name in failed_by if name not in names)

    rows = []
    for name in names:
        facts = expiry.get(name) if isinstance(expiry.get(name), dict) else None
        common = {}
        if facts:
            common = {
                "days_left": facts.get("days_left"),
                "not_after": facts.get("not_after"),
                "reason": facts.get("reason"),
            }
        existed = bool(facts and facts.get("exists"))
        cert_failures = failed_by.get(name, [])
        issue_failures = [item for item in cert_failures if item.get("stage") != "deploy"]
        deploy_failures = [item for item in cert_failures if item.get("stage") == "deploy"]
        done = [item for item in finalized_by.get(name, []) if item.get("status") == "issued"]

        if issue_failures:
            stage, message = _failure_text(issue_failures)
            rows.append(_row(name, FAILED, stage=stage, error=message, **common))
            continue
        if done:
            issued = done[-1]
            fields = dict(common)
            fields.update(
                days_left=days_until(issued.get("not_after"), now),
                not_after=issued.get("not_after"),
                result="serial %s, valid until %s"
                % (format_serial(issued.get("serial")) or "?", issued.get("not_after") or "?"),
            )
            action = RENEWED if existed else ISSUED
            if deploy_failures:
                stage, message = _failure_text(deploy_failures)
                rows.append(_row(name, NOT_DEPLOYED, stage=stage, error=message, **fields))
            else:
                rows.append(_row(name, action, **fields))
            continue
        if deploy_failures:
            stage, message = _failure_text(deploy_failures)
            rows.append(_row(name, NOT_DEPLOYED, stage=stage, error=message, **common))
            continue
        planned = [item for item in ordered_by.get(name, []) + finalized_by.get(name, []) if item.get("status")]
        if facts is None:
            if errors:
                rows.append(_row(name, FAILED, stage="run", error="not checked: %s" % errors[0]))
            else:
                rows.append(_row(name, SKIPPED, reason="not checked"))
            continue
        if not facts.get("needs_renewal"):
            valid = "valid until %s" % facts["not_after"] if facts.get("not_after") else None
            # A reason without renewal (e.g. not_deployed: an endpoint serves an older certificate) is kept.
            fields = dict(common, reason=facts.get("reason") or "not due", result=valid)
            rows.append(_row(name, SKIPPED, **fields))
            continue
        if check_mode or any(item["status"] in ("would_order", "would_finalize") for item in planned):
            rows.append(_row(name, WOULD_ISSUE, result="would be ordered", **common))
            continue
        rows.append(_row(name, FAILED, stage="run", error=stopped, **common))
    return rows


def select_alerts(rows, alert_days: int, errors=None) -> list[dict]:
    """What needs a person: failed or undeployed certificates, fewer than ``alert_days`` days left, run errors."""
    alerts = []
    for row in rows:
        days = row.get("days_left")
        left = "no certificate yet" if days is None else "%d day%s left" % (days, "" if days == 1 else "s")
        if row["action"] in ATTENTION:
            kind = "failed" if row["action"] == FAILED else "not_deployed"
            message = "%s %s (%s): %s" % (
                row["certificate"],
                "failed" if kind == "failed" else "was not deployed",
                left,
                one_line(row.get("error")),
            )
            alerts.append({"certificate": row["certificate"], "kind": kind, "days_left": days, "message": message})
        elif days is not None and days < alert_days:
            until = " (until %s)" % row["not_after"] if row.get("not_after") else ""
            message = "%s expires soon: %s%s, action %s" % (row["certificate"], left, until, row["action"])
            alerts.append(
                {"certificate": row["certificate"], "kind": "expiring", "days_left": days, "message": message}
            )
    for error in errors or []:
        if error:
            alerts.append({"certificate": None, "kind": "error", "days_left": None, "message": one_line(error)})
    return alerts


def summarize(rows, alerts=None) -> dict:
    """How many rows have each action, and how many alerts there are."""
    counts = {action: 0 for action in ACTIONS}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    counts["alerts"] = len(alerts or [])
    return counts


def build_report(
    certificates,
    alert_days: int = 14,
    now: datetime.datetime | None = None,
    run: dict | None = None,
    **results: Any,
) -> dict:
    """The whole report as written to the JSON file and posted to the webhook.

    ``results`` are the role's results as :func:`build_rows` takes them (``expiry``, ``orders``, ``finalized``,
    ``failures``, ``errors``, ``check_mode``) and ``deploys``, the deploy rows (deploys.py); ``run`` adds fields about the run (host, run id, state directory).
    """
    now = now or utc_now()
    errors = [one_line(error) for error in results.pop("errors", None) or [] if error]
    deploys = deploy_rows(results.pop("deploys", None), check_mode=bool(results.get("check_mode")))
    rows = build_rows(certificates, errors=errors, now=now, **results)
    alerts = select_alerts(rows, alert_days, errors)
    report = {
        "version": REPORT_VERSION,
        "generated": iso_utc(now),
        "check_mode": bool(results.get("check_mode")),
        "alert_days": alert_days,
        "ok": not errors and not any(row["action"] in ATTENTION for row in rows),
        "summary": dict(summarize(rows, alerts), deploys=count_outcomes(deploys)),
        "certificates": rows,
        "deploys": deploys,
        "alerts": alerts,
        "errors": errors,
    }
    for key, value in (run or {}).items():
        if value is not None and key not in report:
            report[key] = value
    return report
