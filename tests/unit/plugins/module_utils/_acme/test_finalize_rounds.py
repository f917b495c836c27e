# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acme_finalize in rounds: an order a round ends on is resumed safely, and the rounds add up to one result."""

from __future__ import annotations

import josepy as jose
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fake_clock import install_clock
from requests.structures import CaseInsensitiveDict

from ansible_collections.certfleet.acme.plugins.module_utils._acme import finalize
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import (
    IN_PROGRESS,
    NOT_STARTED,
    finalize_all,
    finalize_certificate,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize_rounds import (
    finalize_progress,
    finished_by_name,
    merge_round,
    round_returned,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import MAX_WORKERS
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import Round

ORDER_URL = "https://ca.test/order/1"
AUTHZ_URL = "https://ca.test/authz/1"
CHALLENGE_URL = "https://ca.test/chall/1"


@pytest.fixture
def clock(monkeypatch):
    return install_clock(monkeypatch)


class Response:
    def __init__(self, body):
        self._body = body
        self.headers = CaseInsensitiveDict()

    def json(self):
        return self._body


class Session:
    """A CA whose order waits for an authorization that stays pending; records every POST."""

    def __init__(self, challenge_status):
        self.account_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        self.challenge_status = challenge_status
        self.posted = []

    def post_as_get(self, url, accept=None):
        if url == ORDER_URL:
            return Response(
                {
                    "status": "pending",
                    "identifiers": [{"type": "dns", "value": "www.example.test"}],
                    "authorizations": [AUTHZ_URL],
                    "finalize": "https://ca.test/finalize/1",
                }
            )
        assert url == AUTHZ_URL
        challenge = {"type": "dns-01", "url": CHALLENGE_URL, "token": "t" * 43, "status": self.challenge_status}
        return Response(
            {"identifier": {"type": "dns", "value": "www.example.test"}, "status": "pending", "challenges": [challenge]}
        )

    def post(self, url, obj, headers=None):
        self.posted.append(url)
        self.challenge_status = "processing"
        return Response({})


def spec(name="www", order_url=ORDER_URL):
    return CertSpec(name=name, names=("www.example.test",), order_url=order_url)


def test_a_round_ends_an_order_waiting_for_validation_and_the_next_does_not_answer_again(clock, tmp_path):
    session = Session("pending")
    first = finalize_certificate(session, spec(), str(tmp_path), 120, round_=Round(2, clock=clock))
    assert first["status"] == IN_PROGRESS and first["waiting_for"] == "validation of 1 authorization(s)"
    assert session.posted == [CHALLENGE_URL]
    waited = first["waited"]
    assert 2 <= waited < 4
    second = finalize_certificate(session, spec(), str(tmp_path), 120, round_=Round(2, clock=clock), waited=waited)
    assert second["status"] == IN_PROGRESS and second["waited"] > waited
    assert session.posted == [CHALLENGE_URL]  # the challenge is processing now: no second answer


def test_rounds_keep_the_orders_timeout_and_its_message(clock, tmp_path):
    session = Session("processing")
    waited, results = 0.0, []
    while not results or results[-1]["status"] == IN_PROGRESS:
        results.append(
            finalize_certificate(session, spec(), str(tmp_path), 10, round_=Round(3, clock=clock), waited=waited)
        )
        waited = results[-1].get("waited", waited)
    assert [result["status"] for result in results][-1] == "failed" and len(results) > 2
    assert results[-1]["error"]["detail"] == "timed out after 10s waiting for validation of 1 authorization(s)"
    assert clock.now <= 100 + 10 and session.posted == []


def test_orders_beyond_the_first_pool_wait_for_the_next_round_once_the_round_is_over(monkeypatch, tmp_path, clock):
    started = []

    def fake(session, spec_, state_dir, timeout, preferred_chain, round_, waited):
        started.append((spec_.name, waited))
        return {"name": spec_.name, "status": "issued"}

    monkeypatch.setattr(finalize, "finalize_certificate", fake)
    specs = [spec("c%02d" % number) for number in range(MAX_WORKERS + 2)]
    over = Round(1, clock=clock)
    clock.now += 1
    results = finalize_all(None, specs, str(tmp_path), 60, None, over, {"c16": 7.5})
    assert sorted(started) == [("c%02d" % number, 0.0) for number in range(MAX_WORKERS)]
    assert [(r["name"], r["status"], r["waited"], r["waiting_for"]) for r in results[MAX_WORKERS:]] == [
        ("c16", IN_PROGRESS, 7.5, NOT_STARTED),
        ("c17", IN_PROGRESS, 0.0, NOT_STARTED),
    ]


def test_finished_certificates_come_back_in_the_order_of_the_orders():
    specs = [spec("a"), spec("b"), spec("c")]
    finished = finished_by_name({"finished": [{"name": "b", "status": "issued"}]})
    merged = merge_round(specs, finished, [{"name": "c", "status": "failed"}, {"name": "a", "status": IN_PROGRESS}])
    assert [(cert["name"], cert["status"]) for cert in merged] == [("a", IN_PROGRESS), ("b", "issued"), ("c", "failed")]
    assert finished_by_name(None) == {}


def test_progress_and_the_next_round():
    certificates = [
        {"name": "a", "status": "issued"},
        {"name": "b", "status": "failed"},
        {"name": "c", "status": IN_PROGRESS, "waited": 31.7, "waiting_for": "validation of 1 authorization(s)"},
        {"name": "d", "status": IN_PROGRESS, "waited": 0.0, "waiting_for": NOT_STARTED},
    ]
    assert finalize_progress(certificates, 120) == (
        "1/4 issued, 1 failed, 2 in progress (1 validating, 1 not started); longest wait c, 31 s of 120 s"
    )
    returned = round_returned({"seconds": 30.0, "waited": {}, "finished": []}, certificates, 120)
    assert returned["round"]["done"] is False
    assert returned["round"]["next"] == {"seconds": 30.0, "waited": {"c": 31.7, "d": 0.0}, "finished": certificates[:2]}
    assert round_returned({"seconds": 30.0}, certificates[:2], 120) == {"round": {"done": True, "progress": ""}}
    assert round_returned(None, certificates, 120) == {}
