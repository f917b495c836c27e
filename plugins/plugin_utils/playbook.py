# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an action plugin knows about the run it is part of: the ansible-playbook process and the controller.

A module runs in a short-lived process of its own, so it cannot name the
run: locks, leases and the workspace of a remote state must follow the life
of ``ansible-playbook`` instead. Action plugins run in an Ansible worker
process that ``ansible-playbook`` (or ``ansible``) forked, so the worker's
parent is that process.
"""

from __future__ import annotations

import multiprocessing
import os

LOCAL_CONNECTIONS = ("local", "ansible.builtin.local", "ansible.legacy.local")


def playbook_pid() -> int:
    """Pid of the process that forked this worker: ansible-playbook itself."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid:
        return parent.pid
    return os.getppid()


def not_on_controller(module: str, transport: str | None) -> str | None:
    """Why ``module`` cannot run through ``transport`` (it must run where ansible-playbook runs), or None."""
    if transport in LOCAL_CONNECTIONS:
        return None
    return (
        "%s must run on the controller, where ansible-playbook runs (connection local, e.g. "
        "delegate_to: localhost), not through connection %r" % (module, transport)
    )
