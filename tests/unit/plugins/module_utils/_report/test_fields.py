# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime

from ansible_collections.certfleet.acme.plugins.filter.run_report import FilterModule
from ansible_collections.certfleet.acme.plugins.module_utils._report.fields import (
    EXPIRY_FIELDS,
    attention_rows,
    report_expiry,
)
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import build_report

NOW = datetime.datetime(2025, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)

# Entries as cert_expiry_facts returns them, with the fields the report does not read.
FULL_EXPIRY = {
    "calm": {
        "exists": True,
        "not_after": "2025-06-30T12:00:00Z",
        "days_left": 60,
        "lifetime_days": 90,
        "names": ["calm.example.test"],
        "issuer": "CN=Pebble",
        "serial": "0a",
        "key_type": "ec256",
        "needs_renewal": False,
        "needs_deploy": False,
        "reason": None,
        "renew_at": "2025-06-01T12:00:00Z",
        "renew_source": "lifetime",
        "ari": None,
        "replaces": None,
    },
    "soon": {
        "exists": True,
        "not_after": "2025-05-06T12:00:00Z",
        "days_left": 5,
        "needs_renewal": False,
        "needs_deploy": True,
        "reason": "not_deployed",
        "served": {"serial": "0b", "matches": False},
    },
    "due": {"exists": False, "not_after": None, "days_left": None, "needs_renewal": True, "reason": "missing"},
    "odd": "not a mapping",
}
CERTIFICATES = [{"name": name} for name in ("calm", "soon", "due", "odd")]
FINALIZED = [{"name": "due", "status": "issued", "serial": "0c", "not_after": "2025-07-30T12:00:00Z"}]


def test_report_expiry_keeps_only_the_fields_the_report_reads():
    trimmed = report_expiry(FULL_EXPIRY)
    assert trimmed["calm"] == {
        "exists": True,
        "not_after": "2025-06-30T12:00:00Z",
        "days_left": 60,
        "needs_renewal": False,
        "reason": None,
    }
    assert set(trimmed["soon"]) == set(EXPIRY_FIELDS)
    assert trimmed["odd"] == "not a mapping"
    assert report_expiry(None) is None
    assert FilterModule().filters()["report_expiry"] is report_expiry


def test_the_report_is_the_same_from_trimmed_facts():
    def report(expiry):
        return build_report(CERTIFICATES, expiry=expiry, finalized=FINALIZED, alert_days=14, now=NOW)

    assert report(report_expiry(FULL_EXPIRY)) == report(FULL_EXPIRY)


def test_attention_rows_leave_out_quiet_skipped_rows_only():
    report = build_report(CERTIFICATES, expiry=FULL_EXPIRY, finalized=FINALIZED, alert_days=14, now=NOW)
    actions = {row["certificate"]: row["action"] for row in report["certificates"]}
    assert actions == {"calm": "skipped", "soon": "skipped", "due": "issued", "odd": "skipped"}
    # "soon" is skipped but expires within alert_days: it stays, with the issued one.
    assert [row["certificate"] for row in attention_rows(report["certificates"], report["alerts"])] == ["soon", "due"]
    assert attention_rows([], []) == []
