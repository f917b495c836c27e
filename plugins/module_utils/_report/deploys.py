# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy rows of the run report: one per certificate, host and target, with its outcome and cause.

A run that only pushed a certificate to its servers must say so, and a
deploy that failed on one of ten hosts must name that host and target,
not only the certificate. The role's deploy tasks register a looped result
per host (cert_deploy) and one from the controller (aws_certificate_deploy);
:func:`deploy_outcomes` turns each into rows (a filter, so the controller
gathers them from every host), :func:`deploy_rows` checks them for the
report. Standard library only: the filter runs inside Ansible.
"""

from __future__ import annotations

DEPLOYED = "deployed"
UNCHANGED = "unchanged"
DEPLOY_FAILED = "failed"
ROLLED_BACK = "rolled_back"
WOULD_DEPLOY = "would_deploy"
OUTCOMES = (DEPLOYED, WOULD_DEPLOY, UNCHANGED, DEPLOY_FAILED, ROLLED_BACK)
FAILED_OUTCOMES = (DEPLOY_FAILED, ROLLED_BACK)

ROW_FIELDS = ("certificate", "host", "type", "target", "outcome", "cause")


def deploy_cause(message, cert, kind, target) -> str:
    """The module's message without what the row's columns already say (certificate, type, target)."""
    cause = str(message or "failed").strip()
    # cert_deploy starts with "certificate 'www' (nginx): ", aws_certificate_deploy with "aws_acm <target>: ".
    for prefix in ("certificate %r (%s): " % (cert, kind), "%s %s: " % (kind, target)):
        if cause.startswith(prefix) and len(cause) > len(prefix):
            cause = cause[len(prefix) :]
    return cause


def deploy_outcomes(results, host: str | None = None) -> list[dict]:
    """One row per item of a looped deploy task's registered result; ``host`` unset for the controller's AWS deploys.

    A failed item whose files were put back (cert_deploy's ``rolled_back``) is ``rolled_back``, another failed
    item ``failed``; a changed one ``deployed``, the rest ``unchanged``. Skipped items are left out.
    """
    rows = []
    items = results.get("results") if isinstance(results, dict) else None
    for item in items or []:
        if not isinstance(item, dict) or item.get("skipped"):
            continue
        entry = item.get("item") if isinstance(item.get("item"), dict) else {}
        kind = entry.get("type")
        target = entry.get("target") or entry.get("dest")
        cause = None
        if item.get("failed"):
            outcome = ROLLED_BACK if item.get("rolled_back") else DEPLOY_FAILED
            cause = deploy_cause(item.get("msg"), entry.get("cert"), kind, target)
        else:
            outcome = DEPLOYED if item.get("changed") else UNCHANGED
        rows.append(
            {
                "certificate": entry.get("cert"),
                "host": host,
                "type": kind,
                "target": None if target is None else str(target),
                "outcome": outcome,
                "cause": cause,
            }
        )
    return rows


def deploy_rows(deploys, check_mode: bool = False) -> list[dict]:
    """The rows of :func:`deploy_outcomes` the report keeps, in order; in check mode ``deployed`` is ``would_deploy``.

    Entries without a certificate name or with an unknown outcome are left out, so a run whose deploy results
    are odd still gets its report.
    """
    rows = []
    for entry in deploys or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("certificate"), str):
            continue
        if entry.get("outcome") not in OUTCOMES:
            continue
        row = {field: entry.get(field) for field in ROW_FIELDS}
        if check_mode and row["outcome"] == DEPLOYED:
            row["outcome"] = WOULD_DEPLOY
        rows.append(row)
    return rows


def count_outcomes(rows) -> dict:
    """How many deploy rows have each outcome."""
    counts = {outcome: 0 for outcome in OUTCOMES}
    for row in rows:
        counts[row["outcome"]] += 1
    return counts


def failed_deploys(rows) -> dict:
    """Per certificate, how many of its deploy rows failed and how many there are: {name: (failed, total)}."""
    found = {}
    for row in rows:
        failed, total = found.get(row["certificate"], (0, 0))
        found[row["certificate"]] = (failed + (row["outcome"] in FAILED_OUTCOMES), total + 1)
    return found
