# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the run report reads of cert_expiry_facts' results, and the rows it returns to the play.

A module's options travel as text and come back in its result (``invocation``),
so every field the role hands renewal_report costs time on each of the run's
certificates. cert_expiry_facts returns some twenty fields per certificate;
the report reads five. This file names those five, for the filter that trims
the facts before they are passed on, with the standard library only because
the filter runs inside Ansible on the controller.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.deploys import UNCHANGED

# Every field of a cert_expiry_facts entry that rows.build_rows reads.
EXPIRY_FIELDS = ("exists", "needs_renewal", "reason", "days_left", "not_after")

# A row the play may leave out when it asks for the rows that need a look: not due, nothing done.
QUIET_ACTION = "skipped"


def report_expiry(expiry) -> dict:
    """cert_expiry_facts' ``certificates`` with only :data:`EXPIRY_FIELDS`; anything else passes as it is."""
    if not isinstance(expiry, dict):
        return expiry
    return {
        name: {key: facts[key] for key in EXPIRY_FIELDS if key in facts} if isinstance(facts, dict) else facts
        for name, facts in expiry.items()
    }


def attention_rows(rows, alerts) -> list[dict]:
    """The rows of certificates the run acted on or alerted about: every row but the quiet skipped ones."""
    alerted = {alert.get("certificate") for alert in alerts or []}
    return [row for row in rows if row.get("action") != QUIET_ACTION or row.get("certificate") in alerted]


def attention_deploys(deploys) -> list[dict]:
    """The deploy rows where something happened or failed: every row but the unchanged ones."""
    return [row for row in deploys or [] if row.get("outcome") != UNCHANGED]
