# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.role_arguments: check a role's variables where they are, on the controller.

The variables, the role's files and the other hosts' variables are only known
to the controller, so this runs no module; the checks themselves are in
plugin_utils/role_arguments.py.
"""

from __future__ import annotations

import glob
import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.certfleet.acme.plugins.plugin_utils.role_arguments import (
    argument_problems,
    role_names,
    unknown_problems,
)

ARGUMENT_SPEC = {
    "entry_point": {"type": "str"},
    "prefix": {"type": "str"},
    "known_names": {"type": "list", "elements": "str", "default": []},
    "known_patterns": {"type": "list", "elements": "str", "default": []},
    "hosts": {"type": "list", "elements": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def _load(self, path: str):
        return self._loader.load_from_file(path) if os.path.isfile(path) else None

    def _options(self, role_path: str, entry_point: str | None) -> tuple[str, dict]:
        """The entry point's name and options from the role's meta/argument_specs.yml."""
        path = os.path.join(role_path, "meta", "argument_specs.yml")
        specs = (self._load(path) or {}).get("argument_specs") or {}
        if entry_point is None and len(specs) == 1:
            entry_point = next(iter(specs))
        if entry_point not in specs:
            raise AnsibleError("%s has no entry point %r (it has: %s)" % (path, entry_point, ", ".join(specs)))
        return entry_point, specs[entry_point].get("options") or {}

    def _own_names(self, role_path: str) -> set[str]:
        """What the role's vars, defaults and tasks files define."""
        vars_files = [os.path.join(role_path, folder, "main.yml") for folder in ("vars", "defaults")]
        task_files = sorted(glob.glob(os.path.join(role_path, "tasks", "*.yml")))
        return role_names([self._load(path) for path in vars_files], [self._load(path) for path in task_files])

    def _names_by_host(self, hosts: list[str], task_vars: dict) -> dict:
        """The variable names of each host; this host's from its task vars, the others' untemplated."""
        current = task_vars.get("inventory_hostname")
        hostvars = task_vars.get("hostvars") or {}
        names = {}
        for host in hosts:
            if host == current:
                names[host] = list(task_vars)
            elif host in hostvars:
                names[host] = list(hostvars.raw_get(host))
        return names

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        role_path = task_vars.get("role_path")
        if not role_path:
            result.update(failed=True, msg="role_arguments checks the variables of a role: run it in a role's tasks")
            return result
        entry_point, options = self._options(role_path, args["entry_point"])
        prefix = args["prefix"] or os.path.basename(role_path.rstrip(os.sep)) + "_"
        values = {}
        problems = []
        for name in options:
            if name in task_vars:
                try:
                    values[name] = self._templar.template(task_vars[name])
                except AnsibleError as error:
                    shown = "" if options[name].get("no_log") else ": %s" % error.message
                    problems.append("%s: cannot be evaluated%s" % (name, shown))
        problems.extend(argument_problems(options, values))
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        known = set(options) | self._own_names(role_path) | set(args["known_names"])
        unknown = unknown_problems(self._names_by_host(hosts, task_vars), prefix, known, args["known_patterns"])
        result.update(changed=False, entry_point=entry_point, problems=problems + unknown, invalid=problems)
        return result
