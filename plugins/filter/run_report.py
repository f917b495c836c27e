# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's filters: cert_expiry_facts' results trimmed to what the report reads, the deploy tasks' results
as deploy rows, and the message that fails a run (documented in report_expiry.yml, deploy_outcomes.yml and
failure_message.yml).

Internal to the letsencrypt_dns role: no compatibility promise covers it.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.deploys import deploy_outcomes
from ansible_collections.certfleet.acme.plugins.module_utils._report.fields import report_expiry
from ansible_collections.certfleet.acme.plugins.module_utils._report.headline import failure_message


class FilterModule:
    """certfleet.acme run report filters."""

    def filters(self):
        return {
            "report_expiry": report_expiry,
            "deploy_outcomes": deploy_outcomes,
            "failure_message": failure_message,
        }
