#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - Ansible wants the imports below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_wait_propagated
short_description: Wait until every authoritative nameserver shows (or no longer shows) TXT values
version_added: 0.1.0
description:
  - Finds the zone of each record and the addresses of the zone's authoritative nameservers, then asks every address
    directly (recursion off, UDP with TCP fallback on truncation) for every record, all concurrently, every
    O(interval) seconds until every server satisfies O(state) or O(timeout) passes.
  - One wait covers the whole batch of records, so publishing a thousand challenges costs one wait, not a thousand.
  - On timeout the task fails with a table of record, server (name and address) and what that server answered
    (its values, V(NXDOMAIN), or an error such as V(timeout) or V(REFUSED)).
  - Resolvers are used only to find the zone, its NS set and the NS addresses, never for the TXT names themselves,
    so no resolver caches a negative answer for a challenge that is still propagating.
  - An IPv6 address that this host cannot reach (no IPv6 route) is ignored when the same nameserver has another
    address that answers.
author:
  - certfleet.acme contributors (@certfleet)
requirements:
  - dnspython >= 2.4
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads from DNS, so it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  records:
    description:
      - The TXT records to wait for. Entries with the same name are merged.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The TXT owner name, for example C(_acme-challenge.www.example.com).
        type: str
        required: true
      values:
        description:
          - The TXT values that must be shown (O(state=present)) or must be gone (O(state=absent)).
        type: list
        elements: str
        required: true
  state:
    description:
      - V(present) waits until every server shows every value (other values may be there too).
      - V(absent) waits until no server shows any of the values.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds to wait in total, discovery included.
    type: int
    default: 120
  interval:
    description:
      - Seconds between two rounds of queries. Servers that already answered correctly are not asked again.
    type: float
    default: 2
  resolvers:
    description:
      - Addresses of the recursive resolvers used to find each record's zone, its NS set and their addresses.
      - An empty list uses the system resolver configuration (C(/etc/resolv.conf)).
    type: list
    elements: str
    default: []
  nameservers:
    description:
      - Addresses of the servers to ask instead of discovering the authoritative ones, for setups where the
        resolvers cannot see the zone (hidden primaries, split horizon, private zones). All records are checked on
        all of these addresses; O(resolvers) is then not used and RV(records[].zone) is null.
      - An empty list discovers the authoritative nameservers.
    type: list
    elements: str
    default: []
seealso:
  - module: certfleet.acme.dns_txt_record
"""

EXAMPLES = r"""
- name: Wait until every authoritative nameserver serves every challenge value
  certfleet.acme.dns_wait_propagated:
    records: "{{ orders | map(attribute='records') | flatten }}"
    timeout: "{{ letsencrypt_dns_propagation_timeout }}"
    resolvers: "{{ letsencrypt_dns_resolvers }}"

- name: Wait for the values to be gone again
  certfleet.acme.dns_wait_propagated:
    records:
      - name: _acme-challenge.example.org
        values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
    state: absent
    timeout: 60

- name: Check two internal servers directly, without discovery
  certfleet.acme.dns_wait_propagated:
    records:
      - name: _acme-challenge.intranet.example.net
        values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
    nameservers: [10.0.0.53, 10.0.1.53]
"""

RETURN = r"""
records:
  description: One entry per (merged) record, with what every server address answered last.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The record name, normalized.
      type: str
      sample: _acme-challenge.www.example.org
    zone:
      description: The zone the record was found in; null with O(nameservers) or when discovery failed.
      type: str
      sample: example.org
    ok:
      description: Whether every server satisfies O(state) for this record.
      type: bool
      sample: true
    error:
      description: Why the zone or its nameservers could not be found; null otherwise.
      type: str
      sample: null
    servers:
      description: One entry per address of every authoritative nameserver.
      type: list
      elements: dict
      contains:
        name:
          description: The nameserver's host name (its address when given through O(nameservers)).
          type: str
          sample: ns1.example.org
        address:
          description: The address that was asked.
          type: str
          sample: 192.0.2.1
        values:
          description: The TXT values it answered with; null when it gave no usable answer.
          type: list
          elements: str
          sample: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
        ok:
          description: Whether this address satisfies O(state).
          type: bool
          sample: true
        error:
          description: What went wrong with the last query (for example V(timeout), V(REFUSED)); null otherwise.
          type: str
          sample: null
elapsed:
  description: Seconds spent waiting, discovery included.
  returned: always
  type: float
  sample: 4.21
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import DNSPYTHON
from ansible_collections.certfleet.acme.plugins.module_utils._dns.nameservers import DiscoveryError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.propagation import wait_propagated
from ansible_collections.certfleet.acme.plugins.module_utils._dns.record_set import RECORDS_ARGUMENT, STATE_ARGUMENT


def main():
    module = AnsibleModule(
        argument_spec=dict(
            records=RECORDS_ARGUMENT,
            state=STATE_ARGUMENT,
            timeout=dict(type="int", default=120),
            interval=dict(type="float", default=2),
            resolvers=dict(type="list", elements="str", default=[]),
            nameservers=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    require(module, DNSPYTHON)

    try:
        result = wait_propagated(
            module.params["records"],
            state=module.params["state"],
            timeout=module.params["timeout"],
            interval=module.params["interval"],
            resolvers=module.params["resolvers"],
            nameservers=module.params["nameservers"],
        )
    except (DiscoveryError, ValueError) as exc:
        module.fail_json(msg=str(exc), records=[], elapsed=0.0)

    if not result.ok:
        module.fail_json(msg=result.message, records=result.records, elapsed=result.elapsed)
    module.exit_json(changed=False, records=result.records, elapsed=result.elapsed)


if __name__ == "__main__":
    main()
