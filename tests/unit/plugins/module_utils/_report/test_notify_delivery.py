# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending the report's alerts to the loopback SMTP and webhook sinks of tests/fakes, and a real aiosmtpd server."""

from __future__ import annotations

import datetime
import importlib.util
import smtplib
import socket
import sys
from pathlib import Path

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._report import notify as rep
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import build_report

FAKES = Path(__file__).resolve().parents[4] / "fakes"
NOW = datetime.datetime(2025, 5, 1, tzinfo=datetime.timezone.utc)


def load_fake(name: str):
    module_name = "certfleet_fake_%s" % name
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, FAKES / ("%s.py" % name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@pytest.fixture
def report():
    return build_report(
        [{"name": "lost"}, {"name": "kept"}],
        expiry={"kept": {"exists": True, "needs_renewal": False, "days_left": 60, "not_after": "2025-06-30T00:00:00Z"}},
        failures=[{"name": "lost", "stage": "order", "error": "rejected"}],
        now=NOW,
        run={"host": "ops", "run_id": "r1"},
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def email_settings(port, **extra):
    """Plain SMTP (the sink has no STARTTLS) with the login allowed in clear; tests of the defaults override both."""
    settings = {"host": "127.0.0.1", "port": port, "from": "certfleet@example.test", "to": ["ops@example.test"]}
    settings.update(subject_prefix="[certfleet]", timeout=10, starttls=False, ssl=False, username=None, password=None)
    settings.update(allow_plain_text_login=True)
    settings.update(extra)
    return settings


def test_email_with_login_arrives(report):
    with load_fake("smtp_sink").SmtpSink(users={"certfleet": "p4ss w0rd"}) as sink:
        settings = email_settings(sink.port, username="certfleet", password="p4ss w0rd")
        outcome = rep.notify(report, settings, None)
        assert outcome == {"email": {"sent": True, "error": None}}
    [received] = sink.messages
    assert received.mail_from == "certfleet@example.test"
    assert received.rcpt_to == ["ops@example.test"]
    assert (received.username, received.password) == ("certfleet", "p4ss w0rd")
    assert received.helo == socket.gethostname()
    assert received.message["Subject"] == "[certfleet] certfleet.acme renewal on ops: 1 certificate failed"
    assert "- lost failed (no certificate yet): order: rejected" in received.body()


def test_email_failures_are_reported_not_raised(report):
    with load_fake("smtp_sink").SmtpSink(users={"certfleet": "right"}) as sink:
        wrong = rep.notify(report, email_settings(sink.port, username="certfleet", password="wrong"), None)
        unauthenticated = rep.notify(report, email_settings(sink.port), None)
        sink.refuse_mail = "mailbox busy"
        refused = rep.notify(report, email_settings(sink.port, username="certfleet", password="right"), None)
    assert sink.messages == []
    assert "SMTPAuthenticationError" in wrong["email"]["error"] and "wrong" not in wrong["email"]["error"]
    assert unauthenticated["email"]["sent"] is False and "530" in unauthenticated["email"]["error"]
    assert "mailbox busy" in refused["email"]["error"]
    down = rep.notify(report, email_settings(closed_port()), None)
    assert down["email"]["sent"] is False and "ConnectionRefusedError" in down["email"]["error"]


def test_email_without_login_when_the_server_needs_none(report):
    with load_fake("smtp_sink").SmtpSink() as sink:
        rep.send_email(email_settings(sink.port), rep.email_message(report, email_settings(sink.port)))
    assert sink.messages[0].username is None


def test_webhook_posts_text_and_report_with_headers(report):
    with load_fake("webhook_sink").WebhookSink() as sink:
        settings = {"url": sink.url, "headers": {"Authorization": "Bearer t0ken"}, "timeout": 5}
        assert rep.post_webhook(settings, rep.webhook_payload(report)) == 200
    [request] = sink.requests
    assert request.method == "POST" and request.path == "/hooks/certfleet"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body["text"].startswith("certfleet.acme renewal on ops: 1 certificate failed")
    assert request.body["report"]["certificates"][0]["certificate"] == "lost"


def test_webhook_skips_a_header_without_a_name(report):
    # What an AWX webhook credential with empty header fields injects.
    with load_fake("webhook_sink").WebhookSink() as sink:
        settings = {"url": sink.url, "headers": {"": ""}, "timeout": 5}
        assert rep.post_webhook(settings, rep.webhook_payload(report)) == 200
    [request] = sink.requests
    assert request.headers["Content-Type"] == "application/json"


def test_webhook_failure_names_only_scheme_and_host(report):
    with load_fake("webhook_sink").WebhookSink(status=500) as sink:
        settings = {"url": sink.url + "/s3cr3t-path", "headers": {}, "timeout": 5}
        outcome = rep.notify(report, None, settings)
    assert outcome["webhook"]["sent"] is False
    assert outcome["webhook"]["error"] == "POST to http://127.0.0.1:%d failed: HTTP 500" % sink.port
    down = rep.notify(report, None, {"url": "http://127.0.0.1:%d/x" % closed_port(), "headers": {}, "timeout": 5})
    assert "POST to http://127.0.0.1" in down["webhook"]["error"] and "/x" not in down["webhook"]["error"]


def test_smtp_sink_unstuffs_dots():
    with load_fake("smtp_sink").SmtpSink() as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, local_hostname="client.test", timeout=10) as client:
            client.sendmail("a@x.test", ["b@x.test", "c@x.test"], "Subject: dots\r\n\r\n.leading dot\r\n..two\r\n")
    [received] = sink.messages
    assert received.rcpt_to == ["b@x.test", "c@x.test"]
    assert received.data.endswith(b"\r\n\r\n.leading dot\r\n..two\r\n")


# Security of the delivery: no redirect followed, no password in clear unless allowed by name, TLS verified.


def test_webhook_redirect_is_a_failed_delivery_and_not_followed(report):
    sink = load_fake("webhook_sink")
    with sink.WebhookSink() as elsewhere, sink.WebhookSink() as hook:
        hook.redirect = (302, elsewhere.url + "/st0len-path")
        settings = {"url": hook.url + "/t0ken", "headers": {"Authorization": "Bearer s3cret"}, "timeout": 5}
        outcome = rep.notify(report, None, settings)
        hook.redirect = (307, "/relative/t0ken2")
        relative = rep.notify(report, None, settings)
    assert outcome["webhook"] == {
        "sent": False,
        "error": "POST to http://127.0.0.1:%d failed: HTTP 302 redirect to http://127.0.0.1:%d, not followed "
        "(give the webhook's final URL)" % (hook.port, elsewhere.port),
    }
    assert "HTTP 307 redirect to http://127.0.0.1:%d," % hook.port in relative["webhook"]["error"]
    assert elsewhere.requests == []
    assert [request.method for request in hook.requests] == ["POST", "POST"]
    for text in (outcome["webhook"]["error"], relative["webhook"]["error"]):
        assert "t0ken" not in text and "s3cret" not in text and "st0len" not in text


@pytest.mark.parametrize("status", [301, 303, 304, 308])
def test_every_3xx_is_a_failure(report, status):
    with load_fake("webhook_sink").WebhookSink(status=status) as sink:
        outcome = rep.notify(report, None, {"url": sink.url, "headers": {}, "timeout": 5})
    assert outcome["webhook"]["sent"] is False
    assert outcome["webhook"]["error"].startswith("POST to http://127.0.0.1:%d failed: HTTP %d" % (sink.port, status))


def test_starttls_is_the_default(report):
    assert rep.wants_starttls({}) and rep.wants_starttls({"starttls": None, "ssl": False})
    assert not rep.wants_starttls({"ssl": True}) and not rep.wants_starttls({"starttls": False})
    assert rep.email_settings_error({"ssl": True, "starttls": True}).startswith("ssl and starttls exclude each other")
    assert rep.email_settings_error({"ssl": False, "starttls": False}) is None


def test_no_login_in_clear_without_the_option(report):
    """starttls: false with a login is refused before any connection: the sink sees nothing."""
    with load_fake("smtp_sink").SmtpSink(users={"certfleet": "pw"}) as sink:
        settings = email_settings(sink.port, username="certfleet", password="pw", allow_plain_text_login=False)
        outcome = rep.notify(report, settings, None)
    assert outcome["email"]["sent"] is False
    assert outcome["email"]["error"] == (
        "SMTP 127.0.0.1:%d: starttls is false and ssl is false, so the login would send the password in plain "
        "text; nothing was sent. Use starttls or ssl, or set allow_plain_text_login: true to log in without TLS"
        % sink.port
    )
    assert sink.messages == []


def default_settings(server, **extra) -> dict:
    """What the module passes when the user sets only the server, the addresses and a login."""
    settings = email_settings(server.port, username="certfleet", password="pw-123")
    del settings["starttls"], settings["allow_plain_text_login"]
    settings.update(extra)
    return settings


def test_a_server_without_starttls_gets_no_login_by_default(report):
    with load_fake("aiosmtpd_server").AiosmtpdServer(users={"certfleet": "pw-123"}) as server:
        outcome = rep.notify(report, default_settings(server), None)
        allowed = rep.notify(report, default_settings(server, starttls=False, allow_plain_text_login=True), None)
    assert outcome["email"]["sent"] is False
    assert "the server does not offer STARTTLS; nothing was sent and no login was tried" in outcome["email"]["error"]
    assert "pw-123" not in outcome["email"]["error"]
    assert allowed == {"email": {"sent": True, "error": None}}
    # Only the explicitly allowed delivery logged in, in clear.
    assert [(command.tls, message.login) for command, message in zip(server.auth_commands, server.messages)] == [
        (False, "certfleet")
    ]
    assert len(server.auth_commands) == 1


def test_starttls_logs_in_over_tls_with_the_ca_bundle(report, tmp_path):
    with load_fake("aiosmtpd_server").AiosmtpdServer(
        users={"certfleet": "pw-123"}, starttls=True, tls_dir=tmp_path
    ) as server:
        untrusted = rep.notify(report, default_settings(server), None)
        trusted = rep.notify(report, default_settings(server, ca_bundle=server.ca_bundle), None)
    assert untrusted["email"]["sent"] is False
    assert untrusted["email"]["error"].startswith(
        "SMTP 127.0.0.1:%d: TLS verification of smtp://127.0.0.1:%d failed: certificate verify failed"
        % (server.port, server.port)
    )
    assert untrusted["email"]["error"].endswith(
        "give the CA certificate with ca_bundle of the e-mail settings (role: letsencrypt_dns_notify_email.ca_bundle)"
    )
    assert trusted == {"email": {"sent": True, "error": None}}
    assert [command.tls for command in server.auth_commands] == [True]
    [message] = server.messages
    assert (message.login, message.tls) == ("certfleet", True)
