#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of certfleet.acme.role_arguments, which is an action plugin only (plugins/action)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: role_arguments
short_description: Check a role's variables against its argument spec, with short messages, and refuse unknown names
version_added: 0.1.0
description:
  - "Checks the variables of the role whose tasks run it against the options of an entry point of the role's
    C(meta/argument_specs.yml), with ansible's own C(ArgumentSpecValidator), one option at a time. Each problem
    names the variable or field (C(letsencrypt_dns_certificates[2].key_type)), the value and what is allowed, for
    example C(letsencrypt_dns_ttl: 'abc' is not an integer). Values of C(no_log) options, and everything under
    them, are never shown (the message says C(hidden) in their place); a value longer than 60 characters is cut."
  - "Also refuses every variable whose name starts with O(prefix) and that is neither an option of the entry point,
    nor a name the role defines itself, nor in O(known_names), nor matched by O(known_patterns). The names the role
    defines are read from its files on each run, so they need no list: the keys of C(vars/main.yml) and
    C(defaults/main.yml), and in C(tasks/*.yml) the C(register) names, the keys of C(set_fact) and of the C(data)
    of C(set_stats), C(loop_control.loop_var) and C(loop_control.index_var), and C(vars). A close known name is
    suggested (C(unknown variable letsencrypt_dns_certificate: did you mean letsencrypt_dns_certificates?))."
  - The variables of every host of O(hosts) are looked at, so a misspelt name in the host or group vars of one
    host is found too; such a problem names the hosts that have it.
  - The task never fails for a problem it finds; it returns them all in RV(problems), so the caller can name them
    together with its other checks in one message. The role C(certfleet.acme.letsencrypt_dns) does this before
    anything changes.
  - Runs on the controller only, in the tasks of a role (it reads C(role_path)); it runs no module.
author:
  - certfleet.acme contributors (@certfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: Runs on the controller, where the variables and the role's files are.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reads only; it checks the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  entry_point:
    description:
      - The entry point of C(meta/argument_specs.yml) whose options are checked.
      - Unset means the file's only entry point (the task fails when it has several).
    type: str
  prefix:
    description:
      - Variables whose name starts with this are the role's; an unknown one is a problem.
      - Unset means the role's name followed by C(_) (C(letsencrypt_dns_)).
    type: str
  known_names:
    description: Further names with O(prefix) that are not problems, such as a variable a playbook reads.
    type: list
    elements: str
    default: []
  known_patterns:
    description: Regular expressions (matched at the start of the name) of further names that are not problems.
    type: list
    elements: str
    default: []
  hosts:
    description: The hosts whose variable names are checked. Unset means every host of the play.
    type: list
    elements: str
notes:
  - ansible-core checks the variables of a role against the entry point C(main) by itself, before the role's first
    task, and on failure prints the whole argument spec. A role that checks with this module names its entry point
    otherwise, so that only this check runs.
"""

EXAMPLES = r"""
- name: Check the role's variables
  certfleet.acme.role_arguments:
    known_names: [letsencrypt_dns_hosts]
    known_patterns: ['^letsencrypt_dns_credential_provider_[a-z0-9_]+$']
  register: checked

- name: Stop on any problem, naming all of them
  ansible.builtin.fail:
    msg: "{{ checked.problems | join('; ') }}"
  when: checked.problems | length > 0
"""

RETURN = r"""
problems:
  description: Every problem found, one sentence each; empty when the variables are good.
  returned: always
  type: list
  elements: str
  sample:
    - "letsencrypt_dns_ttl: 'abc' is not an integer"
    - "unknown variable letsencrypt_dns_certificate: did you mean letsencrypt_dns_certificates?"
invalid:
  description:
    - The problems of RV(problems) that are values of a wrong type or not among the choices (not unknown names).
    - A caller's own checks of these values may rely on their types and wait until this is empty.
  returned: always
  type: list
  elements: str
  sample:
    - "letsencrypt_dns_ttl: 'abc' is not an integer"
entry_point:
  description: The entry point whose options were checked.
  returned: always
  type: str
  sample: variables
"""
