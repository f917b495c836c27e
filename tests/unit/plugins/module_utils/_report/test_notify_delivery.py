# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending the report's alerts to the loopback SMTP and webhook sinks of tests/fakes."""

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
    settings = {"host": "127.0.0.1", "port": port, "from": "certfleet@example.test", "to": ["ops@example.test"]}
    settings.update(subject_prefix="[certfleet]", timeout=10, starttls=False, ssl=False, username=None, password=None)
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
