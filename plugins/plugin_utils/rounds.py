# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin side of rounds: call the module until its wait is over, saying how it goes in between.

A module prints nothing until it returns, and AWX on Kubernetes has been
seen to stop a task that printed nothing for about five minutes. The modules
that may wait that long take a ``round`` option (``module_utils._common.rounds``):
a call ends after about ``round.seconds`` when the wait is not over, and
returns a progress line and the ``round`` option of the next call. This runs
those calls and prints each line with ``Display().display``, which shows at
default verbosity (and reaches ansible-runner, hence AWX, as a ``verbose``
event). A wait that is over returns at once, so the fast case costs nothing
more than one call; Ansible's ``async``/``poll`` would cost ``poll`` seconds.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

#: Seconds of one round when the task does not set ``round.seconds``: well under the five minutes that were seen.
ROUND_SECONDS = 30.0
#: Result keys of a round's result that a later round's result does not repeat.
COLLECTED = ("warnings", "deprecations")


def first_round(task_round) -> dict | None:
    """The ``round`` option of the first call: ``round.seconds`` of the task (else the default), or None for one call.

    Only the length is the task's to choose; what is carried from round to round is the module's.
    """
    seconds = ROUND_SECONDS
    if isinstance(task_round, dict) and task_round.get("seconds") is not None:
        seconds = task_round["seconds"]
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return {"seconds": seconds}  # the module names the field and the value
    return {"seconds": seconds} if seconds > 0 else None


class RoundsAction(ActionBase):
    """Runs ``MODULE`` in rounds (see the module's ``round`` option) and returns the result of the last one."""

    MODULE = ""
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        task_round = args.pop("round", None)
        round_option = first_round(task_round)
        if round_option is not None:
            args["round"] = round_option
        collected: dict[str, list] = {}
        while True:
            returned = dict(
                self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars, wrap_async=False)
            )
            state = returned.pop("round", None)
            for key in COLLECTED:
                collected.setdefault(key, []).extend(returned.pop(key, None) or [])
            if not isinstance(state, dict) or state.get("done", True) or returned.get("failed"):
                break
            display.display("%s: %s" % (self.MODULE, state.get("progress") or "still waiting"))
            args["round"] = state["next"]
        invocation = returned.get("invocation")
        if isinstance(invocation, dict) and isinstance(invocation.get("module_args"), dict):
            # The result reads as that of one call: the task's own round option, not the last round's.
            invocation["module_args"] = dict(invocation["module_args"], round=task_round)
        for key, values in collected.items():
            if values:
                returned[key] = values
        result.update(returned)
        return result
