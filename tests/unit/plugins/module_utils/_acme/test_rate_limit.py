# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP 429 from the CA: short Retry-After waited out (never sooner), long ones fail at once with the retry time."""

from __future__ import annotations

import datetime
import email.utils
import json

import josepy as jose
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.certfleet.acme.plugins.module_utils._acme import client as acme_client
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    RATE_LIMIT_RETRIES,
    AcmeSettings,
    RetryingNetwork,
    make_network,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import (
    RATE_LIMITED_TYPE,
    CertificateFailure,
    RateLimited,
    exception_problem,
    problem_text,
)

URL = "https://ca.test/finalize/1"
NONCE_URL = "https://ca.test/nonce"


def answer(status: int, body=None, headers=None, url: str = URL) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = url
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update({"Replay-Nonce": "bm9uY2U"})
    if body is not None:
        response.headers["Content-Type"] = "application/problem+json" if status >= 400 else "application/json"
    response.headers.update(headers or {})
    return response


def limited(retry_after=None) -> requests.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return answer(429, {"type": RATE_LIMITED_TYPE, "detail": "too many new orders recently"}, headers)


class Server:
    """Answers POSTs from a script and records every request; HEAD (newNonce) always gets a nonce."""

    def __init__(self, monkeypatch, script):
        self.script = list(script)
        self.sent: list[str] = []
        self.sleeps: list[float] = []
        monkeypatch.setattr(acme_client.time, "sleep", self.sleeps.append)

    def send(self, method, url, *args, **kwargs):
        if method == "HEAD":
            return answer(200, url=url)
        self.sent.append(method)
        return self.script.pop(0)


def network(monkeypatch, server: Server, wait: int = 60) -> RetryingNetwork:
    net = make_network(
        AcmeSettings(directory_url="https://ca.test/dir", state_dir="/nonexistent", rate_limit_wait=wait),
        key=jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())),
        account_url="https://ca.test/acct/1",
    )
    monkeypatch.setattr(net, "_send_request", server.send)
    return net


def test_a_short_retry_after_is_waited_out_exactly_then_the_request_succeeds(monkeypatch):
    server = Server(monkeypatch, [limited(2), limited(1), answer(200, {"status": "valid"})])
    response = network(monkeypatch, server).post(URL, None, new_nonce_url=NONCE_URL)
    assert response.json() == {"status": "valid"}
    assert server.sent == ["POST"] * 3
    assert server.sleeps == [2.0, 1.0]


def test_a_long_retry_after_fails_at_once_with_the_time_to_retry(monkeypatch):
    server = Server(monkeypatch, [limited(3600)])
    before = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(RateLimited) as caught:
        network(monkeypatch, server, wait=60).post(URL, None, new_nonce_url=NONCE_URL)
    assert server.sent == ["POST"] and server.sleeps == []
    problem = exception_problem(caught.value)
    assert problem["type"] == RATE_LIMITED_TYPE
    assert problem["retry_after_seconds"] == 3600
    retry_at = datetime.datetime.strptime(problem["retry_after"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    assert before + datetime.timedelta(seconds=3599) <= retry_at <= before + datetime.timedelta(seconds=3602)
    text = problem_text(problem)
    assert "rate limited by the CA at %s" % URL in text
    assert "too many new orders recently" in text
    assert "retry after %s (in 3600 s)" % problem["retry_after"] in text


def test_no_retry_after_means_no_retry(monkeypatch):
    server = Server(monkeypatch, [limited(None)])
    with pytest.raises(RateLimited, match="gave no Retry-After"):
        network(monkeypatch, server).post(URL, None, new_nonce_url=NONCE_URL)
    assert server.sent == ["POST"] and server.sleeps == []
    assert "retry_after" not in exception_problem(RateLimited(URL, None, None))


def test_waiting_stops_after_a_few_tries(monkeypatch):
    server = Server(monkeypatch, [limited(1)] * (RATE_LIMIT_RETRIES + 1))
    with pytest.raises(RateLimited, match="still after waiting %d time" % RATE_LIMIT_RETRIES):
        network(monkeypatch, server).post(URL, None, new_nonce_url=NONCE_URL)
    assert len(server.sent) == RATE_LIMIT_RETRIES + 1
    assert server.sleeps == [1.0] * RATE_LIMIT_RETRIES


def test_an_http_date_retry_after_counts_from_now(monkeypatch):
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    server = Server(monkeypatch, [limited(email.utils.format_datetime(soon, usegmt=True)), answer(200, {})])
    network(monkeypatch, server).post(URL, None, new_nonce_url=NONCE_URL)
    assert len(server.sleeps) == 1 and 27 <= server.sleeps[0] <= 30


def test_rate_limit_wait_zero_fails_on_every_positive_retry_after(monkeypatch):
    server = Server(monkeypatch, [limited(1)])
    with pytest.raises(RateLimited):
        network(monkeypatch, server, wait=0).post(URL, None, new_nonce_url=NONCE_URL)
    assert server.sleeps == []


def test_a_rate_limited_get_is_waited_out_too(monkeypatch):
    server = Server(monkeypatch, [limited(1), answer(200, {"newOrder": "x"})])
    assert network(monkeypatch, server).get("https://ca.test/dir").json() == {"newOrder": "x"}
    assert server.sleeps == [1.0]


def test_rate_limited_is_not_a_certificate_failure():
    """Code that drops a saved order on CertificateFailure must keep it: the order is fine, the CA is busy."""
    assert not issubclass(RateLimited, CertificateFailure)


def test_rate_limit_wait_is_checked_and_reaches_the_network():
    params = {"acme_directory": "https://ca.test/dir", "state_dir": "/x", "rate_limit_wait": 5}
    settings = AcmeSettings.from_params(params)
    assert make_network(settings).rate_limit_wait == 5
    assert AcmeSettings.from_params(dict(params, rate_limit_wait=None)).rate_limit_wait == 60
    with pytest.raises(ValueError, match="rate_limit_wait: must be 0 or more seconds, got -1"):
        AcmeSettings.from_params(dict(params, rate_limit_wait=-1))
