# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the letsencrypt_dns role uses to check its input and sort its results."""

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_errors
short_description: List every problem with a certificate list before anything is ordered
version_added: 0.1.0
description:
  - Checks C(letsencrypt_dns_certificates) against C(letsencrypt_dns_providers) the way the role needs it
    before the first ACME order or DNS write.
  - Each problem names the certificate, the field and the value. Provider secrets are never echoed.
  - Checked are certificate names, duplicate certificates or names, malformed DNS names, wildcards that are not the
    whole leftmost label, unknown key types, and names whose C(_acme-challenge) name lies in no configured zone.
options:
  _input:
    description: The certificate list, as in C(letsencrypt_dns_certificates).
    type: list
    elements: dict
    required: true
  providers:
    description: The provider list, as in C(letsencrypt_dns_providers).
    type: list
    elements: dict
    required: true
  default_key_type:
    description: Key type of certificates that do not set C(key_type).
    type: str
    default: ec256
  check_zones:
    description:
      - Whether a name whose C(_acme-challenge) name lies in no provider zone is a problem.
      - The role turns this off when it follows CNAMEs, because the zone is then known only after DNS lookups;
        M(certfleet.acme.acme_dns01_order) checks it instead, also before any order.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Refuse bad certificate definitions before anything changes
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ letsencrypt_dns_certificates | certfleet.acme.certificate_errors(letsencrypt_dns_providers) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the input is good.
  type: list
  elements: str
"""

from ansible_collections.certfleet.acme.plugins.module_utils.certificate_plan import (
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
