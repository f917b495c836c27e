# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest
from report_data import CERTIFICATES, EXPIRY, FAILURES, FINALIZED, NOW, rows_by_name

from ansible_collections.certfleet.acme.plugins.module_utils._report import rows as rep
from ansible_collections.certfleet.acme.plugins.module_utils._report.table import headline, summary_line


def test_rows_have_one_action_each():
    rows = rep.build_rows(CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW)
    assert [row["certificate"] for row in rows] == ["fresh", "renewed", "lost", "calm", "acme"]
    by_name = rows_by_name(rows)
    assert by_name["fresh"]["action"] == "issued"
    assert by_name["fresh"]["days_left"] == 90
    assert by_name["fresh"]["result"] == "serial 0A1B, valid until 2025-07-30T12:00:00Z"
    assert by_name["fresh"]["reason"] == "missing"
    assert by_name["renewed"]["action"] == "renewed"
    # A serial written by an older release ("c2d") reads as openssl prints it.
    assert by_name["renewed"]["result"] == "serial 0C2D, valid until 2025-07-30T11:00:00Z"
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
        CERTIFICATES,
        expiry=EXPIRY,
        orders=[],
        finalized=FINALIZED,
        failures=FAILURES,
        alert_days=14,
        now=NOW,
        run={"run_id": "r1", "host": "ops"},
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
        "deploys": {"deployed": 0, "would_deploy": 0, "unchanged": 0, "failed": 0, "rolled_back": 0},
    }
    assert report["deploys"] == []
    assert [alert["certificate"] for alert in report["alerts"]] == ["lost", "acme"]
    json.dumps(report)  # the file and the webhook need plain JSON
    assert summary_line(report) == "5 certificates: 1 issued, 1 renewed, 2 failed, 1 skipped; 2 alerts"
    assert headline(report) == "2 certificates failed"

    calm = rep.build_report(CERTIFICATES[3:4], expiry=EXPIRY, now=NOW)
    assert calm["ok"] is True and calm["alerts"] == []
    assert headline(calm) == "all certificates fine"


def test_days_until_and_parse_time():
    assert rep.days_until("2025-05-02T12:00:00Z", NOW) == 1
    assert rep.days_until("2025-05-02T11:59:59+00:00", NOW) == 0
    assert rep.days_until("2025-04-30T12:00:00Z", NOW) == -1
    assert rep.days_until("not a time", NOW) is None
    assert rep.parse_time("2025-05-01T12:00:00").tzinfo is not None
