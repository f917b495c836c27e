# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._report import report as rep

NOW = datetime.datetime(2025, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)

CERTIFICATES = [
    {"name": "fresh", "names": ["fresh.example.test"]},
    {"name": "renewed", "names": ["renewed.example.test"]},
    {"name": "lost", "names": ["lost.example3.test"]},
    {"name": "calm", "names": ["calm.example.test"]},
    {"name": "acme", "names": ["acme.example.test"]},
]
EXPIRY = {
    "fresh": {"exists": False, "days_left": None, "not_after": None, "needs_renewal": True, "reason": "missing"},
    "renewed": {
        "exists": True,
        "days_left": 20,
        "not_after": "2025-05-21T12:00:00Z",
        "needs_renewal": True,
        "reason": "expiring",
    },
    "lost": {
        "exists": True,
        "days_left": 5,
        "not_after": "2025-05-06T13:00:00Z",
        "needs_renewal": True,
        "reason": "expiring",
    },
    "calm": {"exists": True, "days_left": 60, "not_after": "2025-06-30T12:00:00Z", "needs_renewal": False},
    "acme": {"exists": False, "days_left": None, "not_after": None, "needs_renewal": True, "reason": "missing"},
}
FINALIZED = [
    {"name": "fresh", "status": "issued", "serial": "0a1b", "not_after": "2025-07-30T12:00:00Z"},
    {"name": "renewed", "status": "issued", "serial": "0c2d", "not_after": "2025-07-30T11:00:00Z"},
    {
        "name": "acme",
        "status": "failed",
        "error": {
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "Incorrect TXT record",
            "subproblems": [{"type": "urn:ietf:params:acme:error:dns", "detail": "NXDOMAIN at _acme-challenge"}],
        },
    },
]
FAILURES = [
    {
        "name": "lost",
        "stage": "publish",
        "error": "provider 'broken' record '_acme-challenge.lost.example3.test': BADSIG",
    },
    {"name": "acme", "stage": "finalize", "error": FINALIZED[2]["error"]},
]


def rows_by_name(rows):
    return {row["certificate"]: row for row in rows}


def test_rows_have_one_action_each():
    rows = rep.build_rows(CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW)
    assert [row["certificate"] for row in rows] == ["fresh", "renewed", "lost", "calm", "acme"]
    by_name = rows_by_name(rows)
    assert by_name["fresh"]["action"] == "issued"
    assert by_name["fresh"]["days_left"] == 90
    assert by_name["fresh"]["result"] == "serial 0a1b, valid until 2025-07-30T12:00:00Z"
    assert by_name["fresh"]["reason"] == "missing"
    assert by_name["renewed"]["action"] == "renewed"
    assert by_name["renewed"]["days_left"] == 89  # one hour short of 90 days
    assert by_name["lost"]["action"] == "failed"
    assert by_name["lost"]["stage"] == "publish"
    assert by_name["lost"]["days_left"] == 5
    assert "BADSIG" in by_name["lost"]["error"]
    assert by_name["calm"]["action"] == "skipped"
    assert by_name["calm"]["reason"] == "not due"
    assert by_name["calm"]["days_left"] == 60
    assert by_name["acme"]["action"] == "failed"
    assert (
        by_name["acme"]["error"] == "finalize: Incorrect TXT record (unauthorized): NXDOMAIN at _acme-challenge (dns)"
    )


def test_check_mode_rows_would_issue():
    orders = [{"name": "fresh", "status": "would_order"}]
    rows = rows_by_name(rep.build_rows(CERTIFICATES[:1] + CERTIFICATES[3:4], EXPIRY, orders, check_mode=True, now=NOW))
    assert rows["fresh"]["action"] == "would_issue"
    assert rows["calm"]["action"] == "skipped"


def test_due_but_not_issued_is_failed_with_the_run_error():
    rows = rows_by_name(
        rep.build_rows(CERTIFICATES, EXPIRY, errors=["Create one ACME order: directory unreachable"], now=NOW)
    )
    assert rows["fresh"]["action"] == "failed"
    assert (
        rows["fresh"]["error"] == "the run stopped before it was issued: Create one ACME order: directory unreachable"
    )
    assert rows["calm"]["action"] == "skipped"


def test_unchecked_certificates_fail_only_when_the_run_stopped():
    stopped = rep.build_rows(CERTIFICATES[:1], {}, errors=["Refuse bad input: bad name"], now=NOW)
    assert stopped[0]["action"] == "failed" and stopped[0]["error"] == "not checked: Refuse bad input: bad name"
    quiet = rep.build_rows(CERTIFICATES[:1], {}, now=NOW)
    assert quiet[0]["action"] == "skipped" and quiet[0]["reason"] == "not checked"


def test_deploy_failure_is_not_deployed_and_bad_entries_are_ignored():
    failures = [{"name": "renewed", "stage": "deploy", "host": "web1", "error": "nginx -t failed"}]
    rows = rep.build_rows(["junk", {"names": []}, CERTIFICATES[1]], EXPIRY, finalized=FINALIZED, failures=failures)
    assert len(rows) == 1
    assert rows[0]["action"] == "not_deployed"
    assert rows[0]["error"] == "deploy on web1: nginx -t failed"
    assert rows[0]["days_left"] is not None


def test_a_failure_for_an_unlisted_certificate_still_gets_a_row():
    rows = rep.build_rows([], {}, failures=[{"name": "ghost", "stage": "order", "error": "rejected"}])
    assert rows == [
        {
            "certificate": "ghost",
            "action": "failed",
            "days_left": None,
            "not_after": None,
            "reason": None,
            "stage": "order",
            "result": None,
            "error": "order: rejected",
        }
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, ""),
        ("plain", "plain"),
        ({"type": "about:blank", "detail": "timed out"}, "timed out"),
        ({"type": "urn:ietf:params:acme:error:rateLimited", "detail": "too many"}, "too many (rateLimited)"),
        ({"type": "urn:ietf:params:acme:error:malformed"}, "malformed"),
        (["a", 1], '["a", 1]'),
    ],
)
def test_format_error(error, expected):
    assert rep.format_error(error) == expected


def test_alert_selection_by_days_and_failures():
    rows = [
        rep._row("ok", "skipped", days_left=40),
        rep._row("edge", "skipped", days_left=14),
        rep._row("soon", "skipped", days_left=13, not_after="2025-05-14T00:00:00Z"),
        rep._row("gone", "skipped", days_left=-2),
        rep._row("new", "issued", days_left=89),
        rep._row("broke", "failed", days_left=None, error="order: rejected"),
        rep._row("undeployed", "not_deployed", days_left=80, error="deploy: x"),
        rep._row("maybe", "would_issue", days_left=3),
    ]
    alerts = rep.select_alerts(rows, 14, errors=["task X: boom"])
    assert [(alert["certificate"], alert["kind"]) for alert in alerts] == [
        ("soon", "expiring"),
        ("gone", "expiring"),
        ("broke", "failed"),
        ("undeployed", "not_deployed"),
        ("maybe", "expiring"),
        (None, "error"),
    ]
    assert alerts[0]["message"] == "soon expires soon: 13 days left (until 2025-05-14T00:00:00Z), action skipped"
    assert alerts[2]["message"] == "broke failed (no certificate yet): order: rejected"
    assert alerts[5]["message"] == "task X: boom"
    # With no warning period only failures and expired certificates remain.
    assert [alert["certificate"] for alert in rep.select_alerts(rows, 0)] == ["gone", "broke", "undeployed"]
    assert [alert["certificate"] for alert in rep.select_alerts(rows, 41)][:3] == ["ok", "edge", "soon"]


def test_report_summary_and_ok():
    report = rep.build_report(
        CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, alert_days=14, now=NOW, run={"run_id": "r1", "host": "ops"}
    )
    assert report["ok"] is False
    assert report["generated"] == "2025-05-01T12:00:00Z"
    assert report["run_id"] == "r1" and report["host"] == "ops"
    assert report["summary"] == {
        "issued": 1,
        "renewed": 1,
        "failed": 2,
        "not_deployed": 0,
        "would_issue": 0,
        "skipped": 1,
        "alerts": 2,
    }
    assert [alert["certificate"] for alert in report["alerts"]] == ["lost", "acme"]
    json.dumps(report)  # the file and the webhook need plain JSON
    assert rep.summary_line(report) == "5 certificates: 1 issued, 1 renewed, 2 failed, 1 skipped; 2 alerts"
    assert rep.headline(report) == "2 certificates failed"

    calm = rep.build_report(CERTIFICATES[3:4], EXPIRY, now=NOW)
    assert calm["ok"] is True and calm["alerts"] == []
    assert rep.headline(calm) == "all certificates fine"


def test_table_is_fixed_width():
    rows = rep.build_rows(CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW)
    rows[3]["result"] = "x" * 300
    lines = rep.table_lines(rows)
    assert lines[0].split() == ["CERTIFICATE", "ACTION", "DAYS", "REASON", "RESULT", "/", "ERROR"]
    # Every column starts at the same offset on every line.
    for title in ("ACTION", "DAYS", "REASON", "RESULT"):
        offset = lines[0].index(title)
        for line in lines[1:]:
            assert line[offset - 2 : offset] == "  ", (title, line)
    assert lines[0] == "CERTIFICATE  ACTION   DAYS  REASON    RESULT / ERROR"
    assert lines[1] == "fresh        issued     90  missing   serial 0a1b, valid until 2025-07-30T12:00:00Z"
    assert lines[3].startswith("lost         failed      5  expiring  publish: provider 'broken'")
    assert lines[5].startswith("acme         failed      -  missing   finalize: Incorrect TXT record (unauthorized)")
    assert lines[4].endswith("...") and len(lines[4]) == lines[0].index("RESULT") + 90
    assert lines[4][lines[0].index("DAYS") :].startswith("  60")


def test_table_collapses_multi_line_errors_and_shows_dashes():
    rows = [rep._row("p", "failed", stage="propagation", error="timeout:\nrecord  server\n a  b")]
    lines = rep.table_lines(rows)
    assert lines[1] == "p            failed     -  -       propagation: timeout: record server a b"


def test_email_message():
    report = rep.build_report(
        CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW, run={"host": "ops", "run_id": "r1"}
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
    report = rep.build_report(rows_certs, {}, failures=failures, now=NOW, run={"host": "ops"})
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


def test_days_until_and_parse_time():
    assert rep.days_until("2025-05-02T12:00:00Z", NOW) == 1
    assert rep.days_until("2025-05-02T11:59:59+00:00", NOW) == 0
    assert rep.days_until("2025-04-30T12:00:00Z", NOW) == -1
    assert rep.days_until("not a time", NOW) is None
    assert rep.parse_time("2025-05-01T12:00:00").tzinfo is not None


def test_notify_tries_every_notifier(monkeypatch):
    report = rep.build_report(CERTIFICATES[2:3], EXPIRY, failures=FAILURES[:1], now=NOW)
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
