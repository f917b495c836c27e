# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report as a person reads it: a fixed-width table with notes, a summary line, a headline.

The role prints the table at the end of every run and the alerts repeat it,
so one place decides its columns and its wording.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import ACTIONS, one_line

COLUMNS = (
    ("certificate", "CERTIFICATE"),
    ("action", "ACTION"),
    ("days_left", "DAYS"),
    ("reason", "REASON"),
    ("detail", "RESULT / ERROR"),
)
RIGHT_ALIGNED = ("days_left",)
# The widest RESULT / ERROR cell kept on its row; a longer one is written whole as a note under the table.
DETAIL_WIDTH = 90


def _detail(row: dict) -> tuple[str, str]:
    """The short text (the stage, or nothing) and the whole text of a row's RESULT / ERROR cell."""
    if row.get("error"):
        stage = row.get("stage")
        error = one_line(row["error"])
        short = "%s failed" % stage if stage else "failed"
        return short, error if not stage or error.startswith(stage) else "%s: %s" % (stage, error)
    return "", one_line(row.get("result"))


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    return one_line(str(value))


def table_lines(rows) -> list[str]:
    """The rows as a fixed-width table, then a numbered note for each cause too long for its row.

    Nothing is cut: a person reading a cron mail must see the whole cause, so a RESULT / ERROR longer than
    DETAIL_WIDTH leaves a short text and the note's number on its row and is written whole under the table.
    """
    cells = []
    notes = []
    for row in rows:
        line = [_cell(row, key) for key, _title in COLUMNS[:-1]]
        short, whole = _detail(row)
        if len(whole) > DETAIL_WIDTH:
            notes.append("[%d] %s: %s" % (len(notes) + 1, row.get("certificate") or "-", whole))
            whole = "%s, see note [%d] below" % (short, len(notes)) if short else "see note [%d] below" % len(notes)
        cells.append(line + [whole])
    widths = [max([len(title)] + [len(line[index]) for line in cells]) for index, (_key, title) in enumerate(COLUMNS)]
    lines = []
    for line in [[title for _key, title in COLUMNS]] + cells:
        parts = []
        for index, (key, _title) in enumerate(COLUMNS):
            text = line[index]
            if key in RIGHT_ALIGNED:
                parts.append(text.rjust(widths[index]))
            else:
                parts.append(text if index == len(COLUMNS) - 1 else text.ljust(widths[index]))
        lines.append("  ".join(parts).rstrip())
    if notes:
        lines.append("")
        lines.extend(notes)
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
