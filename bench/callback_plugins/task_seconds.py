# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write how long each task of a playbook run took, for profiling renew.yml in the benchmark.

Enabled by bench/competitors.py for every renew.yml run (ANSIBLE_CALLBACKS_ENABLED=task_seconds);
the file is named by CERTFLEET_TASK_SECONDS: one line per task, seconds then name. A task's
time runs until the next task starts, so a skipped task shows what deciding to skip it cost.
"""

from __future__ import annotations

DOCUMENTATION = """
name: task_seconds
type: aggregate
short_description: seconds per task, written to a file
description: Writes each task's wall time to the file named by CERTFLEET_TASK_SECONDS.
"""

import os  # noqa: E402
import time  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_seconds"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = time.monotonic()
        self._tasks = []

    def _close(self):
        if self._tasks and self._tasks[-1][2] is None:
            name, start, _end = self._tasks[-1]
            self._tasks[-1] = (name, start, time.monotonic())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._tasks.append((task.get_name(), time.monotonic(), None))

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("CERTFLEET_TASK_SECONDS")
        if not path:
            return
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(
                "%8.2f  (start-up before the first task)\n" % (self._tasks[0][1] - self._started if self._tasks else 0)
            )
            for name, start, end in self._tasks:
                handle.write("%8.2f  %s\n" % (end - start, name))
            handle.write("%8.2f  (whole run inside ansible-playbook)\n" % (time.monotonic() - self._started))
