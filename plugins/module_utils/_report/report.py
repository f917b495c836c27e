# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report: one row per certificate, a fixed-width table, alerts and their messages.

A renewal that runs from cron must say what it did and must tell someone
when a certificate is in danger. This module turns the role's results
(cert_expiry facts, orders, finalize results, run_failures entries and
run-level errors) into rows, picks the rows that need attention, and builds
the e-mail and webhook messages. Sending is at the end of the file; all
building is pure, so it is unit-tested without servers.
"""

from __future__ import annotations

import datetime
import http.client
import json
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.error import URLError
from urllib.parse import urlsplit

REPORT_VERSION = 1

ISSUED = "issued"
RENEWED = "renewed"
FAILED = "failed"
SKIPPED = "skipped"
WOULD_ISSUE = "would_issue"
NOT_DEPLOYED = "not_deployed"
ACTIONS = (ISSUED, RENEWED, FAILED, NOT_DEPLOYED, WOULD_ISSUE, SKIPPED)
ATTENTION = (FAILED, NOT_DEPLOYED)

COLUMNS = (
    ("certificate", "CERTIFICATE", 40),
    ("action", "ACTION", 12),
    ("days_left", "DAYS", 6),
    ("reason", "REASON", 16),
    ("detail", "RESULT / ERROR", 90),
)
RIGHT_ALIGNED = ("days_left",)
_ACME_ERROR_PREFIX = "urn:ietf:params:acme:error:"
_DAY = 86400


def parse_time(value) -> datetime.datetime | None:
    """An ISO 8601 time as written by the modules ('2025-06-01T12:00:00Z'), as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_until(value, now: datetime.datetime) -> int | None:
    """Whole days from ``now`` until the ISO time ``value`` (negative once past), as cert_expiry_facts counts."""
    moment = parse_time(value)
    if moment is None:
        return None
    return int((moment - now).total_seconds() // _DAY)


def format_error(error) -> str:
    """One line for an error: a message as it is, an ACME problem document as 'detail (type)'."""
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


def _failure_text(failures: list[dict]) -> tuple[str, str]:
    stages = []
    messages = []
    for failure in failures:
        stage = failure.get("stage") or "run"
        where = " on %s" % failure["host"] if failure.get("host") else ""
        stages.append(stage)
        messages.append("%s%s: %s" % (stage, where, format_error(failure.get("error")) or "failed"))
    return ", ".join(dict.fromkeys(stages)), "; ".join(messages)


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
    now = now or datetime.datetime.now(datetime.timezone.utc)
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
                result="serial %s, valid until %s" % (issued.get("serial") or "?", issued.get("not_after") or "?"),
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
    counts = {action: 0 for action in ACTIONS}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    counts["alerts"] = len(alerts or [])
    return counts


def build_report(
    certificates,
    expiry=None,
    orders=None,
    finalized=None,
    failures=None,
    errors=None,
    check_mode: bool = False,
    alert_days: int = 14,
    now: datetime.datetime | None = None,
    run: dict | None = None,
) -> dict:
    """The whole report as written to the JSON file and posted to the webhook."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    errors = [one_line(error) for error in errors or [] if error]
    rows = build_rows(certificates, expiry, orders, finalized, failures, errors, check_mode, now)
    alerts = select_alerts(rows, alert_days, errors)
    report = {
        "version": REPORT_VERSION,
        "generated": iso(now),
        "check_mode": bool(check_mode),
        "alert_days": alert_days,
        "ok": not errors and not any(row["action"] in ATTENTION for row in rows),
        "summary": summarize(rows, alerts),
        "certificates": rows,
        "alerts": alerts,
        "errors": errors,
    }
    for key, value in (run or {}).items():
        if value is not None and key not in report:
            report[key] = value
    return report


def _cell(row: dict, key: str) -> str:
    if key == "detail":
        if row.get("error"):
            stage = row.get("stage")
            error = row["error"]
            return error if not stage or error.startswith(stage) else "%s: %s" % (stage, error)
        return row.get("result") or ""
    value = row.get(key)
    if value is None:
        return "-"
    return str(value)


def table_lines(rows) -> list[str]:
    """The rows as a fixed-width table: one header, one line per certificate; long cells are cut with '...'."""
    cells = [[one_line(_cell(row, key), width) for key, _title, width in COLUMNS] for row in rows]
    widths = []
    for index, (_key, title, width) in enumerate(COLUMNS):
        widths.append(min(width, max([len(title)] + [len(line[index]) for line in cells])))
    lines = []
    for line in [[title for _key, title, _width in COLUMNS]] + cells:
        parts = []
        for index, (key, _title, _width) in enumerate(COLUMNS):
            text = line[index]
            last = index == len(COLUMNS) - 1
            if key in RIGHT_ALIGNED:
                parts.append(text.rjust(widths[index]))
            else:
                parts.append(text if last else text.ljust(widths[index]))
        lines.append("  ".join(parts).rstrip())
    return lines


def summary_line(report: dict) -> str:
    """'5 certificates: 1 issued, 1 failed, 3 skipped; 1 alert' (zero counts left out)."""
    counts = report["summary"]
    total = len(report["certificates"])
    parts = ["%d %s" % (counts[action], action.replace("_", " ")) for action in ACTIONS if counts.get(action)]
    text = "%d certificate%s" % (total, "" if total == 1 else "s")
    if parts:
        text += ": " + ", ".join(parts)
    if report["errors"]:
        text += "; %d run error%s" % (len(report["errors"]), "" if len(report["errors"]) == 1 else "s")
    if counts.get("alerts"):
        text += "; %d alert%s" % (counts["alerts"], "" if counts["alerts"] == 1 else "s")
    if report.get("check_mode"):
        text += " (check mode: nothing was changed)"
    return text


def headline(report: dict) -> str:
    """The short subject of an alert: what went wrong, by count."""
    kinds = {}
    for alert in report["alerts"]:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1
    parts = []
    if kinds.get("failed"):
        parts.append("%d certificate%s failed" % (kinds["failed"], "" if kinds["failed"] == 1 else "s"))
    if kinds.get("not_deployed"):
        parts.append("%d not deployed" % kinds["not_deployed"])
    if kinds.get("expiring"):
        parts.append("%d expiring within %d days" % (kinds["expiring"], report["alert_days"]))
    if kinds.get("error"):
        parts.append("%d run error%s" % (kinds["error"], "" if kinds["error"] == 1 else "s"))
    return ", ".join(parts) or "all certificates fine"


def _origin(report: dict) -> str:
    host = report.get("host")
    return "certfleet.acme renewal%s" % (" on %s" % host if host else "")


def email_message(report: dict, settings: dict, table: list[str] | None = None) -> EmailMessage:
    """The alert e-mail: subject with the headline, body with the alerts and the table, the JSON attached."""
    message = EmailMessage()
    prefix = settings.get("subject_prefix")
    subject = "%s: %s" % (_origin(report), headline(report))
    message["Subject"] = "%s %s" % (prefix, subject) if prefix else subject
    message["From"] = settings["from"]
    message["To"] = ", ".join(settings["to"])
    message["Date"] = formatdate(localtime=False, usegmt=True)
    # make_msgid() without a domain asks the resolver for this host's FQDN; the host name is enough.
    message["Message-ID"] = make_msgid(domain=settings.get("helo") or socket.gethostname() or "localhost")
    body = ["%s, %s" % (_origin(report), report["generated"])]
    if report.get("run_id"):
        body.append("Run: %s" % report["run_id"])
    body.extend(["", summary_line(report), ""])
    if report["alerts"]:
        body.append("Needs attention:")
        body.extend("- %s" % alert["message"] for alert in report["alerts"])
        body.append("")
    body.extend(table if table is not None else table_lines(report["certificates"]))
    body.extend(["", "The full report is attached as JSON."])
    message.set_content("\n".join(body) + "\n")
    message.add_attachment(
        json.dumps(report, indent=2, sort_keys=True).encode("utf-8"),
        maintype="application",
        subtype="json",
        filename="renewal-report.json",
    )
    return message


def webhook_payload(report: dict, limit: int = 10) -> dict:
    """Slack/Mattermost incoming-webhook compatible: a short ``text``, plus the structured ``report``."""
    lines = ["%s: %s" % (_origin(report), headline(report)), summary_line(report)]
    alerts = report["alerts"]
    lines.extend("- %s" % one_line(alert["message"], 300) for alert in alerts[:limit])
    if len(alerts) > limit:
        lines.append("- and %d more, see the report" % (len(alerts) - limit))
    return {"text": "\n".join(lines), "report": report}


def _where(url: str) -> str:
    """scheme://host[:port] of a URL: enough to name it without the path, which often holds a token."""
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1]) if parts.netloc else "the webhook"


def send_email(settings: dict, message: EmailMessage) -> None:
    """Deliver through SMTP (plain, STARTTLS or implicit TLS), logging in when a user name is set."""
    helo = settings.get("helo") or socket.gethostname() or "localhost"
    timeout = settings.get("timeout") or 30
    if settings.get("ssl"):
        client = smtplib.SMTP_SSL(
            settings["host"],
            settings["port"],
            local_hostname=helo,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(settings["host"], settings["port"], local_hostname=helo, timeout=timeout)
    try:
        if settings.get("starttls") and not settings.get("ssl"):
            client.starttls(context=ssl.create_default_context())
        if settings.get("username"):
            client.login(settings["username"], settings.get("password") or "")
        refused = client.send_message(message, from_addr=settings["from"], to_addrs=list(settings["to"]))
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def post_webhook(settings: dict, payload: dict) -> int:
    """POST ``payload`` as JSON; any status outside 2xx (open_url raises for 4xx/5xx) is an error."""
    # Imported only when a webhook is sent: the module runs from a zip, where ansible.module_utils.urls is compiled
    # again on every run, and most runs alert nobody.
    from ansible.module_utils.urls import ConnectionError as UrlConnectionError
    from ansible.module_utils.urls import open_url

    headers = {"Content-Type": "application/json"}
    headers.update(settings.get("headers") or {})
    try:
        response = open_url(
            settings["url"],
            data=json.dumps(payload, sort_keys=True).encode("utf-8"),
            headers=headers,
            method="POST",
            timeout=settings.get("timeout") or 10,
            validate_certs=settings.get("validate_certs", True),
        )
    except (URLError, OSError, http.client.HTTPException, UrlConnectionError, ValueError) as exc:
        code = getattr(exc, "code", None)
        reason = "HTTP %s" % code if code else "%s: %s" % (type(exc).__name__, getattr(exc, "reason", exc))
        raise RuntimeError("POST to %s failed: %s" % (_where(settings["url"]), reason)) from None
    status = response.getcode()
    if not 200 <= status < 300:
        raise RuntimeError("POST to %s answered HTTP %s" % (_where(settings["url"]), status))
    return status


def notify(report: dict, email: dict | None, webhook: dict | None, table: list[str] | None = None) -> dict:
    """Send to every configured notifier; one that fails does not stop the other. Returns per notifier its outcome."""
    outcome = {}
    if email:
        try:
            send_email(email, email_message(report, email, table))
            outcome["email"] = {"sent": True, "error": None}
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            outcome["email"] = {
                "sent": False,
                "error": "SMTP %s:%s: %s: %s"
                % (email.get("host"), email.get("port"), type(exc).__name__, one_line(str(exc), 300)),
            }
    if webhook:
        try:
            post_webhook(webhook, webhook_payload(report))
            outcome["webhook"] = {"sent": True, "error": None}
        except RuntimeError as exc:
            outcome["webhook"] = {"sent": False, "error": str(exc)}
    return outcome
