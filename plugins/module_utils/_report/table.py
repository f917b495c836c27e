# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report as a person reads it: fixed-width tables with notes, a summary line, a headline.

The role prints the table at the end of every run and the alerts repeat it,
so one place decides its columns and its wording.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.deploys import OUTCOMES, failed_deploys
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import ACTIONS, one_line

COLUMNS = (
    ("certificate", "CERTIFICATE"),
    ("action", "ACTION"),
    ("days_left", "DAYS"),
    ("reason", "REASON"),
    ("detail", "RESULT / ERROR"),
)
# The second table: one row per certificate, host and target (type and dest, or the AWS target).
DEPLOY_COLUMNS = (
    ("certificate", "CERTIFICATE"),
    ("host", "HOST"),
    ("target", "TARGET"),
    ("outcome", "OUTCOME"),
    ("cause", "CAUSE"),
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


def _fixed_width(columns, cells: list[list[str]]) -> list[str]:
    """The title line and ``cells`` in columns as wide as their widest cell; the last column is not padded."""
    widths = [max([len(title)] + [len(line[index]) for line in cells]) for index, (_key, title) in enumerate(columns)]
    lines = []
    for line in [[title for _key, title in columns]] + cells:
        parts = []
        for index, (key, _title) in enumerate(columns):
            text = line[index]
            if key in RIGHT_ALIGNED:
                parts.append(text.rjust(widths[index]))
            else:
                parts.append(text if index == len(columns) - 1 else text.ljust(widths[index]))
        lines.append("  ".join(parts).rstrip())
    return lines


# Labels named in front of a note shared by many rows (a run error that reached every certificate).
NOTE_LABELS = 5


def _noted(notes: list[tuple[list[str], str]], short: str, whole: str, label: str) -> str:
    """``whole`` when it fits its cell, else ``short`` and the number of the note that holds it whole.

    Rows with the same cause share one note (a run that stopped says why once, not once per certificate).
    """
    if len(whole) <= DETAIL_WIDTH:
        return whole
    texts = [text for _labels, text in notes]
    if whole in texts:
        number = texts.index(whole) + 1
        notes[number - 1][0].append(label)
    else:
        notes.append(([label], whole))
        number = len(notes)
    return "%s, see note [%d] below" % (short, number) if short else "see note [%d] below" % number


def _note_lines(notes: list[tuple[list[str], str]]) -> list[str]:
    lines = []
    for number, (labels, text) in enumerate(notes, start=1):
        named = ", ".join(labels[:NOTE_LABELS])
        if len(labels) > NOTE_LABELS:
            named += " and %d more" % (len(labels) - NOTE_LABELS)
        lines.append("[%d] %s: %s" % (number, named, text))
    return lines


def _deploy_cells(deploy: dict) -> list[str]:
    target = " ".join(str(part) for part in (deploy.get("type"), deploy.get("target")) if part)
    # AWS deploys run once, from the controller: no inventory host.
    host = _cell(deploy, "host") if deploy.get("host") else "controller"
    return [_cell(deploy, "certificate"), host, target or "-", deploy["outcome"].replace("_", " ")]


def table_lines(rows, deploys=()) -> list[str]:
    """The rows as a fixed-width table, the deploy rows as a second one, then a numbered note per long cause.

    Nothing is cut: a person reading a cron mail must see the whole cause, so a RESULT / ERROR or CAUSE longer
    than DETAIL_WIDTH leaves a short text and the note's number on its row and is written whole under the tables.
    A certificate whose deploys failed points to its deploy rows, which say where and why.
    """
    notes = []
    failed = failed_deploys(deploys)
    cells = []
    for row in rows:
        line = [_cell(row, key) for key, _title in COLUMNS[:-1]]
        short, whole = _detail(row)
        bad, total = failed.get(row.get("certificate"), (0, 0))
        if row.get("stage") == "deploy" and bad:
            whole = "deploy failed on %d of %d target%s, see the deploy rows" % (bad, total, "" if total == 1 else "s")
        cells.append(line + [_noted(notes, short, whole, row.get("certificate") or "-")])
    lines = _fixed_width(COLUMNS, cells)
    if deploys:
        cells = []
        for deploy in deploys:
            line = _deploy_cells(deploy)
            label = "%s on %s (%s)" % (line[0], line[1], line[2])
            cells.append(line + [_noted(notes, "", one_line(deploy.get("cause")) or "-", label)])
        lines.append("")
        lines.extend(_fixed_width(DEPLOY_COLUMNS, cells))
    if notes:
        lines.append("")
        lines.extend(_note_lines(notes))
    return lines


def summary_line(report: dict) -> str:
    """'5 certificates: 1 issued, 1 failed, 3 skipped; 2 deploys: 2 deployed; 1 alert' (zero counts left out)."""
    counts = report["summary"]
    total = len(report["certificates"])
    parts = ["%d %s" % (counts[action], action.replace("_", " ")) for action in ACTIONS if counts.get(action)]
    text = "%d certificate%s" % (total, "" if total == 1 else "s")
    if parts:
        text += ": " + ", ".join(parts)
    deploys = report.get("deploys") or []
    if deploys:
        outcomes = counts.get("deploys") or {}
        parts = ["%d %s" % (outcomes[name], name.replace("_", " ")) for name in OUTCOMES if outcomes.get(name)]
        text += "; %d deploy%s: %s" % (len(deploys), "" if len(deploys) == 1 else "s", ", ".join(parts))
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
