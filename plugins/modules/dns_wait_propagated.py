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
          - The alias C(txt_values) is the name M(certfleet.acme.acme_dns01_order) returns them under, so its
            RV(certfleet.acme.acme_dns01_order#module:records) can be passed as they are.
        type: list
        elements: str
        required: true
        aliases: [txt_values]
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
  round:
    description:
      - Makes this call one round of a longer wait, so that the task can show progress between rounds. A task
        never needs to set it; its action plugin does it.
      - "Every task of this module runs through the module's action plugin, which calls the module once per round
        of about 30 seconds and, while the wait is not over, prints one line at default verbosity between two
        rounds, for example 'certfleet.acme.dns_wait_propagated: 37/40 values seen on every nameserver; still
        waiting on ns2.example.com (192.0.2.2) for _acme-challenge.a.example.com (and 2 more); 45 s of 300 s'.
        A long wait is so never a silent task (AWX on Kubernetes has been seen to stop a task that printed nothing
        for about five minutes). O(timeout) bounds all rounds together, a wait that is over returns at once, and
        the task's result is that of one call without O(round)."
      - Set in a task, only O(round.seconds) is taken from it (V(0) waits in one silent call).
      - Without the action plugin (the module run on its own) and without this option, the module waits in one
        call. With it, a call whose round ends before the wait does returns successfully with RV(round.done=false).
    type: dict
    suboptions:
      seconds:
        description:
          - Length of the round. The call ends after the first round of queries that ends after this many seconds.
        type: float
        required: true
      waited:
        description:
          - Seconds of O(timeout) that earlier rounds of the same wait already spent.
        type: float
        default: 0
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
        answered:
          description:
            - The TXT values it answered with; null when it gave no usable answer.
            - Named C(values) before 0.1.0.
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
round:
  description:
    - How this round of the wait ended. The action plugin removes it from the task's result.
  returned: when O(round) is set
  type: dict
  contains:
    done:
      description: Whether the wait is over (RV(records) are then final), or only this round.
      type: bool
      sample: false
    progress:
      description: One line saying how far the wait got; empty when it is over.
      type: str
      sample: "37/40 values seen on every nameserver; still waiting on ns2.example.com (192.0.2.2) for
        _acme-challenge.a.example.com"
    next:
      description: The O(round) option of the next call of the same wait.
      type: dict
      returned: when RV(round.done) is false
      sample: {seconds: 30, waited: 30.4}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.dnspython import DNSPYTHON
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import NO_ROUND, Round, round_argument
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
            round=round_argument(waited=dict(type="float", default=0)),
        ),
        supports_check_mode=True,
    )
    require(module, DNSPYTHON)
    round_option = module.params["round"]

    try:
        result = wait_propagated(
            module.params["records"],
            state=module.params["state"],
            timeout=module.params["timeout"],
            interval=module.params["interval"],
            resolvers=module.params["resolvers"],
            nameservers=module.params["nameservers"],
            waited=round_option["waited"] if round_option else 0.0,
            round_=Round(round_option["seconds"]) if round_option else NO_ROUND,
        )
    except (DiscoveryError, ValueError) as exc:
        module.fail_json(msg=str(exc), records=[], elapsed=0.0)

    returned = dict(records=result.records, elapsed=result.elapsed)
    if round_option:
        returned["round"] = dict(done=result.done, progress=result.progress)
        if not result.done:
            returned["round"]["next"] = dict(seconds=round_option["seconds"], waited=result.elapsed)
    if not result.ok and result.done:
        module.fail_json(msg=result.message, **returned)
    module.exit_json(changed=False, **returned)


if __name__ == "__main__":
    main()
