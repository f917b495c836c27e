# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.state_workspace: start, feed and stop the guardian of a remote state.

Everything happens on the controller, in this worker process: the guardian
(``_state.guardian``) must be a process of its own that outlives the task,
follows ``ansible-playbook`` and holds the backend's credentials, which a
module process (gone when its task ends) cannot be. No module runs.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ansible.plugins.action import ActionBase

from ansible_collections.certfleet.acme.plugins.module_utils._state import workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import (
    backend_problems,
    describe_backend,
    state_backend_argument_spec,
)
from ansible_collections.certfleet.acme.plugins.plugin_utils.playbook import not_on_controller, playbook_pid

#: The folder holding ``ansible_collections``, as Ansible found this file (not through symlinks, which may lead out
#: of it): the guardian imports the collection from there.
COLLECTIONS_ROOT = Path(os.path.abspath(__file__)).parents[5]
BOOT = "from ansible_collections.certfleet.acme.plugins.module_utils._state.guardian import main; main()"
#: How long the guardian may take to take the lease and pull the state of a large fleet.
HANDSHAKE_TIMEOUT = 600

ARGUMENT_SPEC = {
    "state_backend": state_backend_argument_spec(),
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "certificates": {"type": "list", "elements": "str", "default": []},
    "fetch": {"type": "list", "elements": "str", "default": []},
    "work_dir": {"type": "path"},
    "run_id": {"type": "str"},
    "owner_pid": {"type": "int"},
}


def _handshake(process: subprocess.Popen, errors, timeout: float) -> dict:
    """The guardian's first line on stdout, or why there is none."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            process.kill()
            return {"ok": False, "error": "the state guardian did not answer within %d s" % timeout}
        ready = select.select([process.stdout], [], [], min(left, 1.0))[0]
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            data += chunk
    try:
        return json.loads(data)
    except ValueError:
        process.wait(timeout=10)
        errors.seek(0)
        tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"ok": False, "error": "the state guardian stopped: %s" % (" / ".join(tail) or "no output")}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _python(self, task_vars: dict) -> str:
        """The controller Python the role's modules use (it has boto3 and hvac), else this one."""
        value = (task_vars or {}).get("ansible_python_interpreter")
        if isinstance(value, str) and value:
            value = self._templar.template(value)
            if isinstance(value, str) and os.path.isabs(value) and os.access(value, os.X_OK):
                return value
        return sys.executable

    def _start(self, args: dict, task_vars: dict) -> dict:
        config = {
            "backend": args["state_backend"],
            "run_id": args["run_id"] or uuid.uuid4().hex,
            "owner_pid": args["owner_pid"] or playbook_pid(),
            "names": args["certificates"],
            "check_mode": bool(self._task.check_mode),
        }
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COLLECTIONS_ROOT), env.get("PYTHONPATH")]))
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [self._python(task_vars), "-c", BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
            process.stdin.write(json.dumps(config).encode())
            process.stdin.close()
            reply = _handshake(process, errors, HANDSHAKE_TIMEOUT)
        process.stdout.close()
        if not reply.get("ok"):
            return {"failed": True, "msg": reply["error"], "holder": reply.get("holder"), "changed": False}
        return {
            "changed": False,
            "run_id": config["run_id"],
            "work_dir": reply["work_dir"],
            "store": reply["store"],
            "lease": reply["lease"],
            "previous": reply["previous"],
            "pulled": reply["pulled"],
            "incomplete": reply["incomplete"],
            "guardian_pid": reply["guardian_pid"],
            "warnings": reply["warnings"]
            + [
                "certificate %r: a run was killed while writing its files to %s; it is issued again"
                % (name, reply["store"])
                for name in reply["incomplete"]
            ],
        }

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        problem = not_on_controller("state_workspace", getattr(self._connection, "transport", None))
        if problem:
            result.update(failed=True, msg=problem)
            return result
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        args = validation.validated_parameters
        problems = backend_problems(args["state_backend"])
        if problems:
            result.update(failed=True, msg="; ".join(problems))
            return result
        if args["state_backend"]["type"] == "local":
            result.update(failed=True, msg="a local state needs no workspace: state_lock locks it")
            return result
        where = describe_backend(args["state_backend"])
        try:
            if args["state"] == "present" and not args["fetch"]:
                result.update(self._start(args, task_vars))
            elif not args["work_dir"]:
                result.update(failed=True, msg="work_dir is required to fetch into or close a workspace")
            elif args["state"] == "present":
                keys = workspace.deploy_keys(args["fetch"])
                reply = workspace.request(args["work_dir"], "pull", keys=keys)
                result.update(changed=False, work_dir=args["work_dir"], store=where, pulled=reply["pulled"])
            else:
                reply = workspace.request(args["work_dir"], "close")
                result.update(changed=False, released=reply["released"], written=reply["written"], store=where)
        except workspace.WorkspaceError as exc:
            result.update(failed=True, msg="%s: %s" % (where, exc))
        return result
