# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the letsencrypt_dns role uses to check its input and sort its results."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.handoffs import (
    certificate_errors,
    deploy_failures,
    due_certificates,
    propagated_orders,
    published_records,
    record_errors,
    run_failures,
    with_defaults,
)


class FilterModule:
    """certfleet.acme filters."""

    def filters(self):
        return {
            "certificate_errors": certificate_errors,
            "propagated_orders": propagated_orders,
            "published_records": published_records,
            "record_errors": record_errors,
            "run_failures": run_failures,
            "certificate_defaults": with_defaults,
            "due_certificates": due_certificates,
            "deploy_failures": deploy_failures,
        }
