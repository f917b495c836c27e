# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from report_data import CERTIFICATES, EXPIRY, FAILURES, FINALIZED, NOW

from ansible_collections.certfleet.acme.plugins.module_utils._report import notify as rep
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import build_report


def test_email_message():
    report = build_report(
        CERTIFICATES,
        expiry=EXPIRY,
        orders=[],
        finalized=FINALIZED,
        failures=FAILURES,
        now=NOW,
        run={"host": "ops", "run_id": "r1"},
    )
    settings = {"from": "certfleet@example.test", "to": ["a@example.test", "b@example.test"], "subject_prefix": "[tls]"}
    message = rep.email_message(report, settings)
    assert message["Subject"] == "[tls] certfleet.acme renewal on ops: 2 certificates failed"
    assert message["To"] == "a@example.test, b@example.test"
    assert message["Message-ID"].endswith(">")
    body = message.get_body(("plain",)).get_content()
    assert "Run: r1" in body
    assert "- lost failed (5 days left): publish: provider 'broken'" in body
    assert "CERTIFICATE" in body
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "renewal-report.json"
    assert json.loads(attachment.get_content())["run_id"] == "r1"
    settings.pop("subject_prefix")
    assert rep.email_message(report, settings)["Subject"].startswith("certfleet.acme renewal on ops:")


def test_webhook_payload_is_short_text_plus_report():
    rows_certs = [{"name": "c%02d" % index} for index in range(15)]
    failures = [{"name": "c%02d" % index, "stage": "order", "error": "no"} for index in range(15)]
    report = build_report(rows_certs, expiry={}, failures=failures, now=NOW, run={"host": "ops"})
    payload = rep.webhook_payload(report, limit=10)
    lines = payload["text"].splitlines()
    assert lines[0] == "certfleet.acme renewal on ops: 15 certificates failed"
    assert lines[1] == "15 certificates: 15 failed; 15 alerts"
    assert lines[2] == "- c00 failed (no certificate yet): order: no"
    assert lines[-1] == "- and 5 more, see the report"
    assert len(lines) == 2 + 10 + 1
    assert payload["report"] is report


def test_where_hides_the_path_and_credentials():
    assert (
        rep._where("https://user:tok@hooks.example.test:8443/services/T0/B1/secret")
        == "https://hooks.example.test:8443"
    )


def test_notify_tries_every_notifier(monkeypatch):
    report = build_report(CERTIFICATES[2:3], expiry=EXPIRY, failures=FAILURES[:1], now=NOW)
    calls = []

    def broken_email(settings, message):
        calls.append("email")
        raise OSError("connection refused")

    def fine_webhook(settings, payload):
        calls.append("webhook")
        return 200

    monkeypatch.setattr(rep, "send_email", broken_email)
    monkeypatch.setattr(rep, "post_webhook", fine_webhook)
    outcome = rep.notify(report, {"host": "127.0.0.1", "port": 1, "from": "a@x.test", "to": ["b@x.test"]}, {"url": "x"})
    assert calls == ["email", "webhook"]
    assert outcome["email"]["sent"] is False and "connection refused" in outcome["email"]["error"]
    assert outcome["webhook"] == {"sent": True, "error": None}
