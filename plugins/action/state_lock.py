# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.state_lock: tie the lock to the ansible-playbook process.

A module runs in a short-lived process of its own, so it cannot name the run
that holds a lock. This plugin runs in an Ansible worker process, which
``ansible-playbook`` (or ``ansible``) forked: the worker's parent is the
process whose life the lock must follow. The plugin passes that pid as
``owner_pid`` and runs the module, on the controller only.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.certfleet.acme.plugins.plugin_utils.playbook import not_on_controller, playbook_pid


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        problem = not_on_controller("state_lock", getattr(self._connection, "transport", None))
        if problem:
            result.update(failed=True, msg=problem)
            return result
        args = dict(self._task.args)
        if args.get("owner_pid") is None:
            args["owner_pid"] = playbook_pid()
        result.update(
            self._execute_module(
                module_name="certfleet.acme.state_lock", module_args=args, task_vars=task_vars, wrap_async=False
            )
        )
        return result
