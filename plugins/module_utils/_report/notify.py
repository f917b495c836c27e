# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Telling someone: the alert e-mail and webhook messages, and their delivery.

A run that alerts nobody looks green, so each notifier is tried even when
another fails, and each outcome is returned for the module to warn about.
Building the messages is pure (unit-tested without servers); sending is at
the end of the file.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.error import URLError
from urllib.parse import urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import one_line
from ansible_collections.certfleet.acme.plugins.module_utils._report.table import headline, summary_line, table_lines


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
    body.extend(table if table is not None else table_lines(report["certificates"], report.get("deploys")))
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
    # A header without a name is skipped: an AWX webhook credential whose header fields are empty injects {"": ""}.
    headers.update((name, value) for name, value in (settings.get("headers") or {}).items() if str(name).strip())
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
