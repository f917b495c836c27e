# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: record every task result of a run as JSON for assertions.

ansible-core ships no JSON stdout callback, and the tests want the human
output too, so this aggregate callback writes to the file named in
CERTFLEET_RESULTS_FILE and leaves stdout to the default callback.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: record_results
type: aggregate
short_description: Write every task result of a run to a JSON file (tests only)
description:
  - Writes plays, tasks, per-host results, the final stats and the C(set_stats) data to the file named in
    E(CERTFLEET_RESULTS_FILE).
requirements:
  - enable in configuration
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._plays = []
        self._failed_items: dict[str, list[bool]] = {}

    def v2_playbook_on_play_start(self, play):
        self._plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._failed_items = {}
        if not self._plays:
            self._plays.append({"play": {"name": ""}, "tasks": []})
        self._plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def _record(self, result, **extra):
        data = dict(result.result)  # result.result and result.host: _result and _host go away after 2.22
        data.update(extra)
        # From 2.21 a loop item's result as callbacks see it has no "failed" key (the registered variable keeps
        # it): the item callbacks below said which items failed, in loop order.
        failed_items = self._failed_items.pop(result.host.get_name(), [])
        for item, failed in zip(data.get("results") or [], failed_items):
            if failed and isinstance(item, dict):
                item["failed"] = True
        if self._plays and self._plays[-1]["tasks"]:
            self._plays[-1]["tasks"][-1]["hosts"][result.host.get_name()] = data

    def _item(self, result, failed: bool) -> None:
        self._failed_items.setdefault(result.host.get_name(), []).append(failed)

    def v2_runner_item_on_ok(self, result):
        self._item(result, False)

    def v2_runner_item_on_failed(self, result):
        self._item(result, True)

    def v2_runner_item_on_skipped(self, result):
        self._item(result, False)

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        summary = {host: stats.summarize(host) for host in hosts}
        path = os.environ.get("CERTFLEET_RESULTS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                # custom: what set_stats handed over (AWX's job artifacts), "_run" for per_host: false.
                json.dump({"plays": self._plays, "stats": summary, "custom": stats.custom}, handle, default=str)
