#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of certfleet.acme.state_workspace; its action plugin does the work, on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: state_workspace
short_description: Work on a state kept in S3 or Vault, under a lease, from a private copy removed after the run
version_added: 0.2.0
description:
  - With a remote state backend (O(state_backend.type=s3) or V(vault), role variable C(letsencrypt_dns_state)), the
    other modules of this collection still read and write files in the layout of a state directory. This module
    gives them one, a private C(0700) temporary directory (the workspace), filled from the backend, and a
    guardian process that keeps it in step with the backend and removes it.
  - O(state=present) starts the guardian. It takes the backend's lease (the object C(.lock) with run id, host, pid,
    expiry), with a conditional write (S3 C(If-None-Match)/C(If-Match), Vault check-and-set), so of two runs
    exactly one gets it and the other fails at once naming the holder and when its lease ends. A lease whose
    expiry passed (its run was killed with its runner) is taken over, with a warning naming the old owner. It then
    copies into the workspace what the run reads before it knows what is due, for the certificates in
    O(certificates) - their C(cert.pem), C(cert.json) and pending C(order.json) - and the account and the TXT
    journal. Certificate private keys are not copied.
  - While the run lasts the guardian renews the lease every third of O(state_backend.lease_duration), and saves to
    the backend what each module of this collection wrote in the workspace as soon as that module ends (the TXT
    journal after each write, before any value is published), each object with the version it was read at, so a
    run whose lease was taken over cannot overwrite the newer state.
  - O(fetch) with O(work_dir) copies the private keys and chains of those certificates into the workspace, C(0600),
    for the deploy stage.
  - O(state=absent) saves what is left, releases the lease and removes the workspace. When C(ansible-playbook)
    ends without that (it failed hard, or was killed), the guardian notices within a second, removes the workspace
    with every key in it and releases the lease. If the guardian is killed too (the runner's container is gone),
    the lease expires after O(state_backend.lease_duration) seconds.
  - A certificate's files are several objects, and a backend has no multi-object transaction. While they are
    written, a marker C(<name>/.commit.json) says so; a run that finds one (the writer was killed half-way) treats
    that certificate as missing, so it is issued again rather than a key deployed with a certificate it may not
    match. Such certificates are listed in RV(incomplete) and named in a warning.
  - The action plugin does all of this on the controller (connection C(local)); no module is sent to a host.
author:
  - certfleet.acme contributors (@certfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - certfleet.acme.state_backend
attributes:
  action:
    support: full
    details: The guardian is started by the action plugin on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: >-
      Copies the state into a workspace so the other modules can decide in check mode, but takes no lease (a run
      holding one is named in a warning) and writes nothing to the backend.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: V(present) starts a workspace (or with O(fetch) adds to one), V(absent) closes it.
    type: str
    choices: [present, absent]
    default: present
  certificates:
    description: Names of the certificates whose public files and pending orders the run reads.
    type: list
    elements: str
    default: []
  fetch:
    description:
      - Names of certificates whose private key, chain and full chain are copied into the workspace O(work_dir),
        for the deploy stage. Only with O(state=present) and O(work_dir).
    type: list
    elements: str
    default: []
  work_dir:
    description: The workspace returned by O(state=present), to fetch into or to close.
    type: path
  run_id:
    description: The run id recorded in the lease; a random one when unset.
    type: str
  owner_pid:
    description:
      - Pid of the process whose life the workspace and lease follow. The action plugin sets it to the
        C(ansible-playbook) process.
    type: int
notes:
  - The guardian runs with the Python of C(ansible_python_interpreter) where that is a path (the role sets it to
    C(letsencrypt_dns_controller_python)), since that one has C(boto3) or C(hvac).
seealso:
  - module: certfleet.acme.state_lock
  - module: certfleet.acme.state_migrate
"""

EXAMPLES = r"""
- name: Start a workspace on a state kept in S3, encrypted with a KMS key
  certfleet.acme.state_workspace:
    state_backend:
      type: s3
      bucket: acme-state
      prefix: prod
      kms_key_id: alias/acme-state
      region: eu-west-1
    certificates: [www, api]
  register: workspace

- name: Bring the keys of the certificates to deploy
  certfleet.acme.state_workspace:
    state_backend: "{{ letsencrypt_dns_state }}"
    work_dir: "{{ workspace.work_dir }}"
    fetch: [www]

- name: Save, release the lease and remove the workspace
  certfleet.acme.state_workspace:
    state_backend: "{{ letsencrypt_dns_state }}"
    work_dir: "{{ workspace.work_dir }}"
    state: absent
"""

RETURN = r"""
work_dir:
  description: The workspace, a C(0700) temporary directory laid out as a state directory.
  returned: when O(state=present)
  type: str
  sample: /tmp/certfleet-acme-0b6f0d4f8b5e-k2j3h4
store:
  description: Where the state is, without credentials.
  returned: always
  type: str
  sample: s3://acme-state/prod
run_id:
  description: The run id of the lease.
  returned: when O(state=present) without O(fetch)
  type: str
lease:
  description: The lease this run holds (V(null) in check mode).
  returned: when O(state=present) without O(fetch)
  type: dict
  contains:
    run_id:
      description: The run id.
      type: str
    host:
      description: Host name of the controller.
      type: str
    pid:
      description: Pid of C(ansible-playbook).
      type: int
    expires_at:
      description: When the lease ends unless renewed, ISO 8601 UTC.
      type: str
previous:
  description: The expired lease that was taken over, V(null) when none was.
  returned: when O(state=present) without O(fetch)
  type: dict
pulled:
  description: How many objects were copied into the workspace.
  returned: when O(state=present)
  type: int
incomplete:
  description: Certificates whose files a killed run left half-written in the backend; they count as missing.
  returned: when O(state=present) without O(fetch)
  type: list
  elements: str
guardian_pid:
  description: Pid of the guardian process.
  returned: when O(state=present) without O(fetch)
  type: int
released:
  description: Whether the lease was released.
  returned: when O(state=absent)
  type: bool
written:
  description: State keys saved or removed at the close.
  returned: when O(state=absent)
  type: list
  elements: str
"""
