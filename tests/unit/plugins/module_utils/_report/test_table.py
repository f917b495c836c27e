# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from report_data import CERTIFICATES, EXPIRY, FAILURES, FINALIZED, NOW

from ansible_collections.certfleet.acme.plugins.module_utils._report import table
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import _row, build_rows

LONG_CAUSE = "Create one ACME order per due certificate: " + " ".join("word%03d" % index for index in range(45))


def test_table_is_fixed_width():
    rows = build_rows(CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW)
    rows[3]["result"] = "x" * 300
    lines = table.table_lines(rows)
    assert lines[0].split() == ["CERTIFICATE", "ACTION", "DAYS", "REASON", "RESULT", "/", "ERROR"]
    # Every column starts at the same offset on every row.
    for title in ("ACTION", "DAYS", "REASON", "RESULT"):
        offset = lines[0].index(title)
        for line in lines[1:6]:
            assert line[offset - 2 : offset] == "  ", (title, line)
    assert lines[0] == "CERTIFICATE  ACTION   DAYS  REASON    RESULT / ERROR"
    assert lines[1] == "fresh        issued     90  missing   serial 0A1B, valid until 2025-07-30T12:00:00Z"
    assert lines[3].startswith("lost         failed      5  expiring  publish: provider 'broken'")
    assert lines[5].startswith("acme         failed      -  missing   finalize: Incorrect TXT record (unauthorized)")
    # The 300-character result is a note under the table, whole.
    assert lines[4] == "calm         skipped    60  not due   see note [1] below"
    assert lines[6:] == ["", "[1] calm: " + "x" * 300]


def test_table_collapses_multi_line_errors_and_shows_dashes():
    rows = [_row("p", "failed", stage="propagation", error="timeout:\nrecord  server\n a  b")]
    lines = table.table_lines(rows)
    assert lines[1] == "p            failed     -  -       propagation: timeout: record server a b"


def test_a_long_cause_is_written_whole_under_the_table():
    assert len(LONG_CAUSE) > 400
    rows = [
        _row("www", "failed", stage="order", error=LONG_CAUSE, days_left=0, reason="expiring"),
        _row("api", "failed", stage="publish", error="publish: short cause"),
        _row("mail", "failed", stage="deploy", error="deploy: " + LONG_CAUSE),
    ]
    lines = table.table_lines(rows)
    assert lines[:4] == [
        "CERTIFICATE  ACTION  DAYS  REASON    RESULT / ERROR",
        "www          failed     0  expiring  order failed, see note [1] below",
        "api          failed     -  -         publish: short cause",
        "mail         failed     -  -         deploy failed, see note [2] below",
    ]
    assert lines[4:] == ["", "[1] www: order: " + LONG_CAUSE, "[2] mail: deploy: " + LONG_CAUSE]
    assert not any(line.endswith("...") for line in lines)


def test_rows_with_the_same_long_cause_share_one_note():
    stopped = "not checked: " + LONG_CAUSE
    rows = [_row("c%d" % index, "failed", stage="run", error=stopped) for index in range(7)]
    rows.append(_row("other", "failed", stage="order", error=LONG_CAUSE))
    lines = table.table_lines(rows)
    assert [line.split("  ")[-1].strip() for line in lines[1:9]] == ["run failed, see note [1] below"] * 7 + [
        "order failed, see note [2] below"
    ]
    assert lines[9:] == ["", "[1] c0, c1, c2, c3, c4 and 2 more: run: " + stopped, "[2] other: order: " + LONG_CAUSE]


def test_a_long_certificate_name_is_not_cut():
    name = "a-very-long-certificate-name-that-is-longer-than-forty-characters"
    lines = table.table_lines([_row(name, "skipped", reason="not due", result="valid until 2025-06-30T12:00:00Z")])
    assert lines[1] == name + "  skipped     -  not due  valid until 2025-06-30T12:00:00Z"
    assert lines[0].index("ACTION") == lines[1].index("skipped")
