# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that select the certificates of one run (letsencrypt_dns_only)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: only_certificates
short_description: Keep the certificates named in letsencrypt_dns_only
version_added: 0.1.0
description:
  - Returns the certificates whose C(name) is in O(only), in the order of the input, like dnscontrol's C(--only).
  - An empty or unset O(only) keeps every certificate.
  - O(only) may be a list or one string of names separated by commas or spaces, as C(-e letsencrypt_dns_only=a,b)
    gives it.
options:
  _input:
    description: The certificate list, as in C(letsencrypt_dns_certificates).
    type: list
    elements: dict
    required: true
  only:
    description: The certificate names to keep.
    type: raw
    default: []
"""

EXAMPLES = r"""
- name: Renew only www and api
  ansible.builtin.debug:
    msg: "{{ letsencrypt_dns_certificates | certfleet.acme.only_certificates(['www', 'api']) }}"
"""

RETURN = r"""
_value:
  description: The selected certificates.
  type: list
  elements: dict
"""

from ansible_collections.certfleet.acme.plugins.module_utils.run_selection import (
    only_certificates,
    unknown_certificates,
)


class FilterModule:
    """certfleet.acme run selection filters."""

    def filters(self):
        return {
            "only_certificates": only_certificates,
            "unknown_certificates": unknown_certificates,
        }
