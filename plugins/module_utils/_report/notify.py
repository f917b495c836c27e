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
from urllib.parse import urljoin, urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import tls_error_hint
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


#: Completes "give the CA certificate with ..." when the SMTP server's certificate is not trusted.
SMTP_CA_OPTION = "ca_bundle of the e-mail settings (role: letsencrypt_dns_notify_email.ca_bundle)"


class SmtpNotSecure(smtplib.SMTPException):
    """The mail would go, or the login would be sent, without the TLS the settings ask for: nothing is sent."""


def wants_starttls(settings: dict) -> bool:
    """STARTTLS unless implicit TLS is used or it is turned off explicitly (``starttls: false``)."""
    if settings.get("ssl"):
        return False
    return settings.get("starttls") is not False


def email_settings_error(settings: dict) -> str | None:
    """Settings that contradict each other; ``starttls: false`` beside ``ssl: false`` (plain SMTP) is fine."""
    if settings.get("ssl") and settings.get("starttls"):
        return "ssl and starttls exclude each other (ssl is implicit TLS from the start); set only one of them"
    return None


def _tls_context(settings: dict) -> ssl.SSLContext:
    """Certificate and host name always verified; ``ca_bundle`` trusts a private CA instead of the system's."""
    return ssl.create_default_context(cafile=settings.get("ca_bundle") or None)


def _check_plain_login(settings: dict) -> None:
    """Refuse, before connecting, a login that would send the password in plain text unless allowed by name."""
    if settings.get("username") and not settings.get("ssl") and not wants_starttls(settings):
        if not settings.get("allow_plain_text_login"):
            raise SmtpNotSecure(
                "starttls is false and ssl is false, so the login would send the password in plain text; "
                "nothing was sent. Use starttls or ssl, or set allow_plain_text_login: true to log in without TLS"
            )


def send_email(settings: dict, message: EmailMessage) -> None:
    """Deliver through SMTP (STARTTLS by default, implicit TLS, or plain), logging in when a user name is set.

    With STARTTLS a server that does not offer it gets no login and no message: the password never
    travels in clear unless ``allow_plain_text_login`` says so.
    """
    _check_plain_login(settings)
    helo = settings.get("helo") or socket.gethostname() or "localhost"
    timeout = settings.get("timeout") or 30
    where = "smtp://%s:%s" % (settings["host"], settings["port"])
    try:
        if settings.get("ssl"):
            client = smtplib.SMTP_SSL(
                settings["host"], settings["port"], local_hostname=helo, timeout=timeout, context=_tls_context(settings)
            )
        else:
            client = smtplib.SMTP(settings["host"], settings["port"], local_hostname=helo, timeout=timeout)
    except ssl.SSLError as exc:
        raise SmtpNotSecure(tls_error_hint(where, exc, SMTP_CA_OPTION) or "TLS failed: %s" % exc) from None
    try:
        if wants_starttls(settings):
            client.ehlo()
            if not client.has_extn("starttls"):
                raise SmtpNotSecure(
                    "the server does not offer STARTTLS; nothing was sent and no login was tried. Use a server or "
                    "port that offers it, ssl: true for SMTPS, or starttls: false to send without TLS (with a login "
                    "also allow_plain_text_login: true)"
                )
            try:
                client.starttls(context=_tls_context(settings))
            except ssl.SSLError as exc:
                raise SmtpNotSecure(tls_error_hint(where, exc, SMTP_CA_OPTION) or "STARTTLS failed: %s" % exc) from None
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
    """POST ``payload`` as JSON; any status outside 2xx (open_url raises for 3xx, 4xx, 5xx) is an error."""
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
            # A redirect would carry the headers (Authorization) to wherever it points, and a 302 turns the POST
            # into a GET that "succeeds": every 3xx is a failed delivery instead.
            follow_redirects="none",
        )
    except (URLError, OSError, http.client.HTTPException, UrlConnectionError, ValueError) as exc:
        code = getattr(exc, "code", None)
        if isinstance(code, int) and 300 <= code < 400:
            raise RuntimeError(_redirect_refused(settings["url"], code, getattr(exc, "headers", None))) from None
        reason = "HTTP %s" % code if code else "%s: %s" % (type(exc).__name__, getattr(exc, "reason", exc))
        raise RuntimeError("POST to %s failed: %s" % (_where(settings["url"]), reason)) from None
    status = response.getcode()
    if not 200 <= status < 300:
        raise RuntimeError("POST to %s answered HTTP %s" % (_where(settings["url"]), status))
    return status


def _redirect_refused(url: str, code: int, headers) -> str:
    """Why a 3xx answer is a failure: the status and where it pointed, by scheme and host only (paths hold tokens)."""
    location = headers.get("Location") if headers is not None else None
    target = "redirect to %s" % _where(urljoin(url, location)) if location else "answer without a Location"
    return "POST to %s failed: HTTP %s %s, not followed (give the webhook's final URL)" % (_where(url), code, target)


def notify(report: dict, email: dict | None, webhook: dict | None, table: list[str] | None = None) -> dict:
    """Send to every configured notifier; one that fails does not stop the other. Returns per notifier its outcome."""
    outcome = {}
    if email:
        try:
            send_email(email, email_message(report, email, table))
            outcome["email"] = {"sent": True, "error": None}
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, SmtpNotSecure) else "%s: %s" % (type(exc).__name__, exc)
            outcome["email"] = {
                "sent": False,
                "error": "SMTP %s:%s: %s" % (email.get("host"), email.get("port"), one_line(reason, 400)),
            }
    if webhook:
        try:
            post_webhook(webhook, webhook_payload(report))
            outcome["webhook"] = {"sent": True, "error": None}
        except RuntimeError as exc:
            outcome["webhook"] = {"sent": False, "error": str(exc)}
    return outcome
