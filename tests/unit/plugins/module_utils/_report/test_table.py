# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from report_data import CERTIFICATES, EXPIRY, FAILURES, FINALIZED, NOW

from ansible_collections.certfleet.acme.plugins.module_utils._report import table
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import _row, build_rows


def test_table_is_fixed_width():
    rows = build_rows(CERTIFICATES, EXPIRY, [], FINALIZED, FAILURES, now=NOW)
    rows[3]["result"] = "x" * 300
    lines = table.table_lines(rows)
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
    rows = [_row("p", "failed", stage="propagation", error="timeout:\nrecord  server\n a  b")]
    lines = table.table_lines(rows)
    assert lines[1] == "p            failed     -  -       propagation: timeout: record server a b"
