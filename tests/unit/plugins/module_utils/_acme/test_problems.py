# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from acme import errors as acme_errors
from acme import messages

from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import (
    exception_problem,
    problem_dict,
    problem_text,
)

# A CA's problem with a subproblem naming its identifier: it must come back unchanged.
REJECTED = {
    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
    "detail": "2 names rejected",
    "subproblems": [
        {
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "blocked",
            "identifier": {"type": "dns", "value": "bad.example"},
        }
    ],
}


def test_problem_keeps_subproblems_and_identifiers():
    error = messages.Error.from_json(REJECTED)
    assert problem_dict(error) == REJECTED


def test_other_exceptions_become_generic_problems():
    assert exception_problem(acme_errors.TimeoutError())["type"] == "about:blank"
    assert exception_problem(OSError("boom")) == {"type": "about:blank", "detail": "OSError: boom"}


def test_problem_text():
    assert problem_text({"type": "urn:ietf:params:acme:error:dns", "detail": "SERVFAIL"}) == "dns: SERVFAIL"
    assert problem_text({"type": "about:blank", "detail": "timed out"}) == "timed out"
    assert problem_text(None) == "unknown error"
