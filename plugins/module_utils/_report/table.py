# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report as a person reads it: a fixed-width table, a summary line, a headline.

The role prints the table at the end of every run and the alerts repeat it,
so one place decides its columns and its wording.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import ACTIONS, one_line

COLUMNS = (
    ("certificate", "CERTIFICATE", 40),
    ("action", "ACTION", 12),
    ("days_left", "DAYS", 6),
    ("reason", "REASON", 16),
    ("detail", "RESULT / ERROR", 90),
)
RIGHT_ALIGNED = ("days_left",)


def _cell(row: dict, key: str) -> str:
    if key == "detail":
        if row.get("error"):
            stage = row.get("stage")
            error = row["error"]
            return error if not stage or error.startswith(stage) else "%s: %s" % (stage, error)
        return row.get("result") or ""
    value = row.get(key)
    if value is None:
        return "-"
    return str(value)


def table_lines(rows) -> list[str]:
    """The rows as a fixed-width table: one header, one line per certificate; long cells are cut with '...'."""
    cells = [[one_line(_cell(row, key), width) for key, _title, width in COLUMNS] for row in rows]
    widths = []
    for index, (_key, title, width) in enumerate(COLUMNS):
        widths.append(min(width, max([len(title)] + [len(line[index]) for line in cells])))
    lines = []
    for line in [[title for _key, title, _width in COLUMNS]] + cells:
        parts = []
        for index, (key, _title, _width) in enumerate(COLUMNS):
            text = line[index]
            last = index == len(COLUMNS) - 1
            if key in RIGHT_ALIGNED:
                parts.append(text.rjust(widths[index]))
            else:
                parts.append(text if last else text.ljust(widths[index]))
        lines.append("  ".join(parts).rstrip())
    return lines


def summary_line(report: dict) -> str:
    """'5 certificates: 1 issued, 1 failed, 3 skipped; 1 alert' (zero counts left out)."""
    counts = report["summary"]
    total = len(report["certificates"])
    parts = ["%d %s" % (counts[action], action.replace("_", " ")) for action in ACTIONS if counts.get(action)]
    text = "%d certificate%s" % (total, "" if total == 1 else "s")
    if parts:
        text += ": " + ", ".join(parts)
    if report["errors"]:
        text += "; %d run error%s" % (len(report["errors"]), "" if len(report["errors"]) == 1 else "s")
    if counts.get("alerts"):
        text += "; %d alert%s" % (counts["alerts"], "" if counts["alerts"] == 1 else "s")
    if report.get("check_mode"):
        text += " (check mode: nothing was changed)"
    return text


def headline(report: dict) -> str:
    """The short subject of an alert: what went wrong, by count."""
    kinds = {}
    for alert in report["alerts"]:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1
    parts = []
    if kinds.get("failed"):
        parts.append("%d certificate%s failed" % (kinds["failed"], "" if kinds["failed"] == 1 else "s"))
    if kinds.get("not_deployed"):
        parts.append("%d not deployed" % kinds["not_deployed"])
    if kinds.get("expiring"):
        parts.append("%d expiring within %d days" % (kinds["expiring"], report["alert_days"]))
    if kinds.get("error"):
        parts.append("%d run error%s" % (kinds["error"], "" if kinds["error"] == 1 else "s"))
    return ", ".join(parts) or "all certificates fine"
