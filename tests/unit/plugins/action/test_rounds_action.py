# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins of dns_wait_propagated and acme_finalize: the round loop, its lines and the final result.

The module is replaced by a script of round results, as ``_execute_module``
would return them; what matters is what the plugin sends, prints and returns.
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.certfleet.acme.plugins.action import acme_finalize, dns_wait_propagated
from ansible_collections.certfleet.acme.plugins.plugin_utils import rounds

DNS = "certfleet.acme.dns_wait_propagated"
FINALIZE = "certfleet.acme.acme_finalize"


def plugin(cls, task_args: dict, script: list[dict]):
    """An action plugin whose module answers from ``script``; ``calls`` records the module args of each call."""
    action = cls.__new__(cls)
    action._task = SimpleNamespace(args=task_args)
    calls = []

    def execute(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        calls.append((module_name, dict(module_args)))
        return dict(script.pop(0))

    action._execute_module = execute
    return action, calls


def run(cls, task_args: dict, script: list[dict]):
    action, calls = plugin(cls, task_args, script)
    with mock.patch.object(ActionBase, "run", return_value={}), mock.patch.object(rounds, "display") as display:
        result = action.run(task_vars={})
    lines = [call.args[0] for call in display.display.call_args_list]
    return result, calls, lines


def waiting(progress: str, waited: float, **extra) -> dict:
    result = {"changed": False, "records": [], "elapsed": waited}
    result.update(extra)
    result["round"] = {"done": False, "progress": progress, "next": {"seconds": 30.0, "waited": waited}}
    return result


def test_a_wait_over_in_the_first_round_is_one_call_without_a_line():
    done = {"changed": False, "records": [{"name": "_acme-challenge.a.example.com", "ok": True}], "elapsed": 1.5}
    result, calls, lines = run(
        dns_wait_propagated.ActionModule,
        {"records": [{"name": "a", "values": ["v"]}], "timeout": 300},
        [dict(done, round={"done": True, "progress": ""})],
    )
    assert calls == [(DNS, {"records": [{"name": "a", "values": ["v"]}], "timeout": 300, "round": {"seconds": 30.0}})]
    assert lines == []
    assert result == done


def test_every_unfinished_round_prints_its_line_and_hands_its_next_option_on():
    progress = "37/40 values seen on every nameserver; still waiting on ns2.example.com (192.0.2.2) for x; 30 s of 90 s"
    script = [
        waiting(progress, 30.2, warnings=["first"]),
        waiting("39/40 values seen on every nameserver; 60 s of 90 s", 60.4),
        {
            "changed": False,
            "records": [],
            "elapsed": 71.0,
            "warnings": ["last"],
            "invocation": {"module_args": {"timeout": 90, "round": {"seconds": 30.0, "waited": 60.4}}},
            "round": {"done": True, "progress": ""},
        },
    ]
    result, calls, lines = run(dns_wait_propagated.ActionModule, {"records": [], "timeout": 90}, script)
    assert [args.get("round") for _name, args in calls] == [
        {"seconds": 30.0},
        {"seconds": 30.0, "waited": 30.2},
        {"seconds": 30.0, "waited": 60.4},
    ]
    assert lines == [DNS + ": " + progress, DNS + ": 39/40 values seen on every nameserver; 60 s of 90 s"]
    # The result of one call: no round, the warnings of every round, the task's own arguments.
    assert result == {
        "changed": False,
        "records": [],
        "elapsed": 71.0,
        "warnings": ["first", "last"],
        "invocation": {"module_args": {"timeout": 90, "round": None}},
    }


def test_a_failed_round_ends_the_loop_with_the_modules_failure():
    failure = {"failed": True, "msg": "timed out after 90s: 1 of 1 record(s) not published ...", "records": []}
    script = [waiting("0/1 values seen on every nameserver; 30 s of 90 s", 30.0), dict(failure, round={"done": True})]
    result, calls, lines = run(dns_wait_propagated.ActionModule, {"records": [], "timeout": 90}, script)
    assert len(calls) == 2 and len(lines) == 1
    assert result == failure


def test_a_failure_without_a_round_result_is_returned_as_it_is():
    failure = {"failed": True, "msg": "records[0]: field 'name' ..."}
    result, calls, lines = run(dns_wait_propagated.ActionModule, {"records": [{}]}, [dict(failure)])
    assert len(calls) == 1 and lines == [] and result == failure


def test_the_task_chooses_only_the_round_length():
    done = {"changed": False, "certificates": [], "round": {"done": True, "progress": ""}}
    _result, calls, _lines = run(
        acme_finalize.ActionModule,
        {"orders": [], "round": {"seconds": 5, "waited": {"www": 99}, "finished": [{"name": "www"}]}},
        [dict(done)],
    )
    assert calls == [(FINALIZE, {"orders": [], "round": {"seconds": 5.0}})]


@pytest.mark.parametrize("seconds", [0, -1])
def test_round_length_zero_is_one_call_without_the_option(seconds):
    done = {"changed": False, "certificates": []}
    result, calls, lines = run(acme_finalize.ActionModule, {"orders": [], "round": {"seconds": seconds}}, [done])
    assert calls == [(FINALIZE, {"orders": []})] and lines == [] and result == done


def test_a_round_length_that_is_no_number_goes_to_the_module_to_name_it():
    failure = {"failed": True, "msg": "argument 'seconds' is of type str and we were unable to convert to float"}
    result, calls, _lines = run(acme_finalize.ActionModule, {"orders": [], "round": {"seconds": "soon"}}, [failure])
    assert calls == [(FINALIZE, {"orders": [], "round": {"seconds": "soon"}})] and result == failure


def test_finalize_rounds_carry_the_finished_certificates_and_end_with_one_result():
    issued = {"name": "a", "status": "issued"}
    pending = {"name": "b", "status": "in_progress", "waited": 30.5, "waiting_for": "validation of 1 authorization(s)"}
    first = {
        "changed": True,
        "certificates": [issued, pending],
        "round": {
            "done": False,
            "progress": "1/2 issued, 0 failed, 1 in progress (1 validating, 0 not started); longest wait b, 30 s of 120 s",
            "next": {"seconds": 30.0, "waited": {"b": 30.5}, "finished": [issued]},
        },
    }
    last = {"changed": True, "certificates": [issued, {"name": "b", "status": "issued"}], "round": {"done": True}}
    result, calls, lines = run(acme_finalize.ActionModule, {"orders": [{"name": "a"}, {"name": "b"}]}, [first, last])
    assert calls[1][1]["round"] == {"seconds": 30.0, "waited": {"b": 30.5}, "finished": [issued]}
    assert lines == [FINALIZE + ": " + first["round"]["progress"]]
    assert result == {"changed": True, "certificates": [issued, {"name": "b", "status": "issued"}]}
