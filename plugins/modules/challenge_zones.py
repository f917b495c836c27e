#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refuse, read-only and before any order, the certificates whose challenge names no DNS provider can write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: challenge_zones
short_description: Find the certificates whose C(_acme-challenge) names lie in no zone of the DNS providers
version_added: 0.1.0
description:
  - For every name of every certificate, follows the CNAME chain at C(_acme-challenge.<name>) (when
    O(follow_cnames) is true) as M(certfleet.acme.acme_dns01_order) does, and checks that the name where the TXT
    value must be written lies in one of O(zones).
  - Returns, in RV(refused), each certificate that cannot be validated, with every name of it that lies (or whose
    chain ends) in no zone, whose chain loops or is longer than 8 hops, or whose CNAME could not be looked up. It
    does not fail for them; the role C(certfleet.acme.letsencrypt_dns) runs it with its input checks, before any
    order or DNS write, and either stops the run or leaves those certificates out (C(letsencrypt_dns_keep_going)).
  - It only reads DNS, in and out of check mode, and never reports a change. All names are looked up at the same
    time.
author:
  - certfleet contributors (@certfleet)
requirements:
  - dnspython >= 2.4 (when O(follow_cnames) is true)
attributes:
  check_mode:
    description: Runs fully; it only reads DNS.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  certificates:
    description:
      - The certificates to check, as in the role variable C(letsencrypt_dns_certificates).
      - Each entry needs C(name) (a string) and C(names) (a non-empty list of DNS names, wildcards allowed); other
        keys of the entry are ignored. An entry without them fails the module, naming it.
    type: list
    elements: dict
    required: true
  zones:
    description:
      - The zones the DNS providers can write to (all C(zones) of C(letsencrypt_dns_providers)).
      - Every record name (after following CNAMEs) must lie in one of them; the longest matching zone counts.
        Empty means no zone check (only CNAME loops and lookup failures refuse a certificate).
      - A CNAME target must lie below one of them, not at a zone's apex. A target outside every zone is not looked
        up further; the certificate is refused at once, naming the challenge name, the chain and the zones.
    type: list
    elements: str
    required: true
  resolvers:
    description:
      - Resolver addresses used to follow the CNAMEs. Empty means the system resolver.
    type: list
    elements: str
    default: []
  follow_cnames:
    description:
      - Follow a CNAME (or a chain of them) at C(_acme-challenge.<name>) and check the name at the end of the chain,
        where the CA looks for the TXT value.
      - When false, no lookup is made and C(_acme-challenge.<name>) itself must lie in a zone.
    type: bool
    default: true
seealso:
  - module: certfleet.acme.acme_dns01_order
  - module: certfleet.acme.dns_txt_record
"""

EXAMPLES = r"""
- name: Find the certificates that no DNS provider can validate
  certfleet.acme.challenge_zones:
    certificates:
      - name: www
        names: [example.org, www.example.org]
      - name: shop
        names: [shop.example.net]
    zones: [example.org, validation.example.com]
    resolvers: [192.0.2.53]
  register: zones_checked

- name: Stop naming them
  ansible.builtin.fail:
    msg: "{{ zones_checked.refused | map(attribute='error') | join('; ') }}"
  when: zones_checked.refused | length > 0
"""

RETURN = r"""
refused:
  description:
    - One entry per certificate that cannot be validated, in the order of O(certificates); empty when every name can
      be served. The entries have the shape of the role's failure list, so a report reads them as failed rows.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name of the certificate.
      type: str
      sample: shop
    stage:
      description: Always V(validation).
      type: str
      sample: validation
    error:
      description: Every name of the certificate that cannot be served, each with its cause.
      type: str
      sample: >-
        certificate 'shop': field 'names' value 'shop.example.net': _acme-challenge.shop.example.net lies in no zone
        of the providers
delegations:
  description:
    - The C(_acme-challenge) names that are delegated by CNAME, each mapped to the name at the end of its chain,
      where the TXT value is written; names that are not delegated are left out.
  returned: success
  type: dict
  sample:
    _acme-challenge.www.example.org: www.validation.example.com
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import (
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
)
from ansible_collections.certfleet.acme.plugins.module_utils._run.challenge_zones import refused_certificates


def main():
    module = AnsibleModule(
        argument_spec={
            "certificates": {"type": "list", "elements": "dict", "required": True},
            "zones": {"type": "list", "elements": "str", "required": True},
            "resolvers": {"type": "list", "elements": "str", "default": []},
            "follow_cnames": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    if module.params["follow_cnames"] and not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_IMPORT_ERROR)
    try:
        result = refused_certificates(
            module.params["certificates"],
            module.params["zones"],
            module.params["resolvers"],
            module.params["follow_cnames"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
