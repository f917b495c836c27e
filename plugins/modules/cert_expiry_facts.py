#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report expiry, names and key type of many certificates, and which are due for renewal."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_expiry_facts
short_description: Decide which certificates need renewal, for a whole fleet in one call
version_added: 0.1.0
description:
  - Reads every certificate file given (by default C(<state_dir>/<name>/cert.pem)) and reports its expiry, names,
    issuer, serial and key type as the fact C(cert_expiry), keyed by certificate name.
  - A certificate needs renewal when it is missing (or not a readable PEM certificate), expires in fewer than
    O(renew_days) days, has a different set of names than V(names), or a different key type than V(key_type).
  - Reads only; it never changes anything. Parsing is done in-process, so thousands of certificates take well
    under a second or two.
author:
  - certfleet contributors (@certfleet)
attributes:
  check_mode:
    description: Reads the same files as in a normal run.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  facts:
    description: Sets the fact C(cert_expiry).
    support: full
options:
  certificates:
    description:
      - The certificates to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the certificate; the key of its entry in the results.
        type: str
        required: true
      path:
        description:
          - The PEM certificate file (the leaf first, a full chain is fine).
          - Defaults to C(<state_dir>/<name>/cert.pem).
        type: path
      names:
        description:
          - The DNS names the certificate should have. When given, a certificate whose set of SAN names differs
            (ignoring order, case and a trailing dot) needs renewal with reason V(names_changed).
        type: list
        elements: str
      key_type:
        description:
          - The key type the certificate should have (V(ec256), V(ec384), V(rsa2048), V(rsa3072), V(rsa4096)).
            When given and different, the certificate needs renewal with reason V(key_type_changed).
        type: str
      profile:
        description:
          - Ignored. Accepted so the same certificate list can be given to this module and to
            M(certfleet.acme.acme_dns01_order).
        type: str
  state_dir:
    description:
      - The directory holding the certificates (role variable C(letsencrypt_dns_dir)).
      - Required when a certificate has no O(certificates[].path).
    type: path
  renew_days:
    description:
      - Renew when fewer than this many days of validity remain.
    type: int
    default: 30
requirements:
  - cryptography >= 41
seealso:
  - module: certfleet.acme.acme_dns01_order
"""

EXAMPLES = r"""
- name: Find the certificates that are due
  certfleet.acme.cert_expiry_facts:
    state_dir: /srv/certificates
    renew_days: 30
    certificates:
      - name: www
        names: [example.com, www.example.com]
        key_type: ec256
      - name: legacy
        path: /etc/ssl/legacy.pem
  register: expiry

- name: Show why
  ansible.builtin.debug:
    msg: "{{ item }}: {{ ansible_facts.cert_expiry[item].reason }}"
  loop: "{{ expiry.due }}"
"""

RETURN = r"""
ansible_facts:
  description: The facts set by this module.
  returned: always
  type: dict
  contains:
    cert_expiry:
      description: The same dictionary as RV(certificates).
      type: dict
      returned: always
certificates:
  description: One entry per certificate, keyed by certificate name.
  returned: always
  type: dict
  sample:
    www:
      exists: true
      not_after: "2025-06-01T12:00:00Z"
      days_left: 12
      lifetime_days: 90
      names: [example.com, www.example.com]
      issuer: CN=R11,O=Let's Encrypt,C=US
      serial: 4a3f0c9d1e2b
      key_type: ec256
      needs_renewal: true
      reason: expiring
  contains:
    exists:
      description: Whether a readable certificate was found.
      type: bool
      returned: always
    not_after:
      description: End of validity, ISO 8601 in UTC; V(null) when missing.
      type: str
      returned: always
    days_left:
      description: Whole days until RV(certificates.not_after) (negative once expired); V(null) when missing.
      type: int
      returned: always
    lifetime_days:
      description: Length of the validity period in days; V(null) when missing.
      type: int
      returned: always
    names:
      description: The DNS names (SAN) of the certificate, normalized; empty when missing.
      type: list
      elements: str
      returned: always
    issuer:
      description: The issuer distinguished name (RFC 4514); V(null) when missing.
      type: str
      returned: always
    serial:
      description: The serial number in lower-case hexadecimal; V(null) when missing.
      type: str
      returned: always
    key_type:
      description:
        - Key type of the certificate's public key (V(ec256) ... V(rsa4096)); V(null) when missing or for a key
          type without a name here.
      type: str
      returned: always
    needs_renewal:
      description: Whether the certificate should be renewed now.
      type: bool
      returned: always
    reason:
      description:
        - Why it needs renewal; V(null) when it does not.
        - The first that applies of V(missing), V(expiring), V(names_changed), V(key_type_changed).
      type: str
      returned: always
due:
  description: The names of the certificates that need renewal, in the order of O(certificates).
  returned: always
  type: list
  elements: str
  sample: [www]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils.acme_deps import require_libraries
from ansible_collections.certfleet.acme.plugins.module_utils.cert_expiry import due_names, expiry_facts


def main():
    argument_spec = {
        "certificates": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "name": {"type": "str", "required": True},
                "path": {"type": "path"},
                "names": {"type": "list", "elements": "str"},
                "key_type": {"type": "str"},
                "profile": {"type": "str"},
            },
        },
        "state_dir": {"type": "path"},
        "renew_days": {"type": "int", "default": 30},
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, acme=False)
    certificates = module.params["certificates"]
    state_dir = module.params["state_dir"]
    seen = set()
    for item in certificates:
        if item["name"] in seen:
            module.fail_json(msg="certificate %r: field 'name' value %r is used twice" % (item["name"], item["name"]))
        seen.add(item["name"])
        if not item.get("path") and not state_dir:
            module.fail_json(msg="certificate %r: field 'path' is not set and state_dir is not given" % item["name"])

    facts, warnings = expiry_facts(certificates, state_dir, module.params["renew_days"])
    for warning in warnings:
        module.warn(warning)
    module.exit_json(
        changed=False,
        ansible_facts={"cert_expiry": facts},
        certificates=facts,
        due=due_names(facts),
    )


if __name__ == "__main__":
    main()
