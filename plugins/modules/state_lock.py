#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep concurrent renewal runs out of one state directory."""

from __future__ import annotations

DOCUMENTATION = r"""
module: state_lock
short_description: Lock a state directory so that concurrent renewal runs cannot corrupt it
version_added: 0.1.0
description:
  - Takes (O(state=present)) or releases (O(state=absent)) the lock file C(<state_dir>/.lock) of a
    C(letsencrypt_dns) state directory. Cron or AWX can then start runs without C(flock)(1); a run that finds the
    directory locked by another live run fails at once, naming it.
  - The lock is tied to the C(ansible-playbook) process, not to this module's short-lived process. The module's
    action plugin runs in an Ansible worker process, which C(ansible-playbook) forked, and passes the pid of that
    parent as O(owner_pid). The lock file records the host name, that pid, the process's start time (from
    C(/proc/<pid>/stat), so that a reused pid is not mistaken for the owner), the boot id (a lock from before a
    reboot is dead), the time the lock was taken and a run id.
  - The file is created with C(O_CREAT|O_EXCL), so of two runs exactly one creates it; the loser reads the owner
    and fails with the message C(state directory X is locked by run Y on host H since T (pid P)).
  - A lock whose owner process is gone from this host (killed with SIGKILL, crashed, or the host rebooted) is
    taken over with a warning. Removing a stale lock is done under C(flock)(2) on the directory and only if the
    file still has the content that was found stale, so two runs that find one stale lock cannot both take it.
    A lock of another host is not taken over (its process cannot be checked) until it is older than
    O(expire_after), if that is set; otherwise remove it by hand once that run is gone.
  - Once the lock is taken, a certificate directory whose switch a killed run had started (a C(<name>/.commit)
    or C(.<name>.old) directory, see M(certfleet.acme.acme_finalize)) is switched to the complete new set and the
    old set removed, so the next steps find one whole set; they are listed in RV(finished_commits) and shown as
    warnings.
  - O(state=absent) removes the lock only if it is this run's (same O(run_id), or else the same owner process),
    and removes the state directory too if taking the lock created it and it is still empty.
  - The action plugin runs the module on the controller only (connection C(local), as the role's
    C(delegate_to=localhost) gives), since the pid must be checked where C(ansible-playbook) runs.
author:
  - certfleet.acme contributors (@certfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin sets O(owner_pid) and refuses connections other than C(local).
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports whether the lock could be taken (a live owner is a warning, not a failure) and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state_dir:
    description:
      - The state directory (role variable C(letsencrypt_dns_dir)); created when missing, with mode C(0700) (or
        C(0750), see O(group_read)) whatever the umask.
      - Before anything is read or written, the state directory and everything in it are checked; the task fails,
        naming the path and what is wrong, when any of them is owned by another user, is writable by its group or
        by others, or (below the state directory) is a symbolic link. The state directory itself may be named
        through a symlink. Such a directory could let another user plant a certificate commit, redirect keys or
        forge TXT journal entries.
      - A folder inside an installed collection (with an C(ansible_collections/<namespace>/<name>) folder above it,
        as written or through symlinks) is refused before anything is written, since an upgrade of that
        collection replaces the folder with every key in it.
    type: path
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description:
      - With O(state=present), the run id to record; a random one when unset.
      - With O(state=absent), release only a lock with this run id; when unset, only a lock of the same owner
        process.
    type: str
  group_read:
    description:
      - The mode of the state directory. V(false) makes it C(0700), V(true) C(0750) so that its group can read the
        certificates (keys stay C(0600)). Directories made later under it (certificate directories) follow the
        group-read bit of the state directory.
      - An existing state directory of this user is set to that mode when the lock is taken. Unset leaves an
        existing one as it is and makes a new one C(0700).
      - The group is never given write access; a group-writable state directory is refused.
    type: bool
  expire_after:
    description:
      - Seconds after which a lock whose owner cannot be checked from here (taken on another host, for example in
        the container of an earlier AWX job) is taken over, with a warning. Set it well above the longest run.
      - A lock of a live process on this host is never taken over. Unset means never.
    type: int
  owner_pid:
    description:
      - Pid of the process whose life the lock follows. The action plugin sets it to the C(ansible-playbook)
        process; set it only when calling the module some other way. Unset means the module's parent process.
    type: int
seealso:
  - module: certfleet.acme.renewal_report
"""

EXAMPLES = r"""
- name: Lock the state directory
  certfleet.acme.state_lock:
    state_dir: /srv/certificates
  register: lock

- name: Work on the state directory, then always release the lock
  block:
    - name: Renew
      ansible.builtin.include_role:
        name: certfleet.acme.letsencrypt_dns
  always:
    - name: Release the lock
      certfleet.acme.state_lock:
        state_dir: /srv/certificates
        state: absent
        run_id: "{{ lock.lock.run_id }}"
      when: lock.acquired
"""

RETURN = r"""
path:
  description: The lock file.
  returned: always
  type: str
  sample: /srv/certificates/.lock
lock:
  description:
    - With O(state=present), the lock this run holds (or, in check mode, would hold or found held).
    - With O(state=absent), the lock that was found; V(null) when there was none.
  returned: always
  type: dict
  contains:
    run_id:
      description: The run id.
      type: str
      sample: 0b6f0d4f8b5e4b8c9a3c2d1e0f9a8b7c
    host:
      description: Host name of the owner.
      type: str
      sample: ops1
    pid:
      description: Pid of the owner process (C(ansible-playbook)).
      type: int
      sample: 41211
    pid_start:
      description: Start time of that process in clock ticks since boot; V(null) where unknown.
      type: str
      sample: "8811231"
    boot_id:
      description: Boot id of the owner's host; V(null) where unknown.
      type: str
    started:
      description: When the lock was taken, ISO 8601 in UTC.
      type: str
      sample: "2025-05-01T03:17:02Z"
    created_dir:
      description: Whether taking the lock created the state directory.
      type: bool
run_id:
  description:
    - With O(state=present), the id of this run's lock (taken now, already held by this process, or in check mode
      the one that would be recorded); V(null) when the lock could not be taken.
    - With O(state=absent), O(run_id).
  returned: always
  type: str
  sample: 0b6f0d4f8b5e4b8c9a3c2d1e0f9a8b7c
acquired:
  description: Whether this task took the lock (False when the same process already held it, and in check mode).
  returned: always
  type: bool
released:
  description: Whether this task removed the lock.
  returned: always
  type: bool
previous:
  description: The stale lock that was taken over, V(null) when none was.
  returned: always
  type: dict
finished_commits:
  description:
    - Names of the certificates whose file commit, started by a killed run, was finished when the lock was taken.
  returned: always
  type: list
  elements: str
  sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import finish_interrupted_commits
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import lock_path
from ansible_collections.certfleet.acme.plugins.module_utils._state.location import (
    StateLocationError,
    refuse_inside_collection,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.lock import LockHeld, acquire, release
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import StateTrustError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            run_id=dict(type="str"),
            owner_pid=dict(type="int"),
            expire_after=dict(type="int"),
            group_read=dict(type="bool"),
        ),
        supports_check_mode=True,
    )
    state_dir = module.params["state_dir"]
    pid = module.params["owner_pid"] or os.getppid()
    result = dict(
        path=lock_path(state_dir),
        lock=None,
        acquired=False,
        released=False,
        previous=None,
        run_id=None,
        finished_commits=[],
    )
    try:
        refuse_inside_collection(state_dir)
    except StateLocationError as exc:
        module.fail_json(msg=str(exc), changed=False, **result)
    try:
        if module.params["state"] == "present":
            outcome = acquire(
                state_dir,
                pid,
                module.params["run_id"],
                check_mode=module.check_mode,
                expire_after=module.params["expire_after"],
                group_read=module.params["group_read"],
            )
            result.update(
                acquired=outcome["acquired"],
                lock=outcome["lock"],
                previous=outcome["previous"],
                run_id=outcome["run_id"],
            )
            if outcome["acquired"]:
                # The directory is this run's now: finish what a killed run left half-committed. A failure
                # here must not keep the lock from being released by the caller, so it is only a warning.
                try:
                    result["finished_commits"] = finish_interrupted_commits(state_dir)
                except OSError as exc:
                    outcome["warnings"].append("could not finish an interrupted certificate file commit: %s" % exc)
                outcome["warnings"].extend(
                    "certificate %r: finished writing its files, which a killed run had left half-replaced" % name
                    for name in result["finished_commits"]
                )
        else:
            outcome = release(state_dir, pid, module.params["run_id"], check_mode=module.check_mode)
            result.update(released=outcome["released"], lock=outcome["lock"], run_id=module.params["run_id"])
    except LockHeld as exc:
        result["lock"] = exc.holder
        module.fail_json(msg=str(exc), changed=False, **result)
    except StateTrustError as exc:
        module.fail_json(msg=str(exc), changed=False, **result)
    except OSError as exc:
        module.fail_json(msg="cannot lock the state directory %s: %s" % (state_dir, exc), changed=False, **result)
    for warning in outcome["warnings"]:
        module.warn(warning)
    module.exit_json(changed=outcome["changed"], **result)


if __name__ == "__main__":
    main()
