# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand-offs between the letsencrypt_dns role's stages as filters: what one stage's result means for the next.

Internal to the role: no compatibility promise covers these filters. Each is documented in the file of its
name next to this one (due_certificates.yml, published_records.yml, record_errors.yml, propagated_orders.yml,
run_failures.yml, deploy_failures.yml).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.handoffs import (
    deploy_failures,
    due_certificates,
    propagated_orders,
    published_records,
    record_errors,
    run_failures,
)


class FilterModule:
    """certfleet.acme stage hand-off filters."""

    def filters(self):
        return {
            "due_certificates": due_certificates,
            "published_records": published_records,
            "record_errors": record_errors,
            "propagated_orders": propagated_orders,
            "run_failures": run_failures,
            "deploy_failures": deploy_failures,
        }
