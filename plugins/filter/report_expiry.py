# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter that trims cert_expiry_facts' results to what the run report reads (documented in report_expiry.yml).

Internal to the letsencrypt_dns role: no compatibility promise covers it.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.fields import report_expiry


class FilterModule:
    """certfleet.acme run report filters."""

    def filters(self):
        return {"report_expiry": report_expiry}
