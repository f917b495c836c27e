# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A wrong directory URL reads 'no ACME directory at URL (HTTP 404)', never as the library's ClientError."""

from __future__ import annotations

import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from ansible_collections.certfleet.acme.plugins.module_utils._acme import client
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import account_failure
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import exception_problem, problem_text
from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import NoDirectoryError

URL = "https://ca.test:14000/wrong"
DIRECTORY = {
    "newNonce": "https://ca.test:14000/nonce-plz",
    "newAccount": "https://ca.test:14000/sign-me-up",
    "newOrder": "https://ca.test:14000/order-plz",
}


def answer(status: int, text: str, content_type: str = "text/plain", headers=None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()  # pylint: disable=protected-access
    response.headers = CaseInsensitiveDict({"Content-Type": content_type, **(headers or {})})
    response.url = URL
    return response


class Session:
    """The network's requests session: the scripted answers in turn, each request recorded."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url))
        return self.answers.pop(0)


def fetch(monkeypatch, *answers):
    settings = client.AcmeSettings(directory_url=URL, state_dir="/nonexistent", rate_limit_wait=5)
    session = Session(*answers)

    def network(settings_, key=None, account_url=None):
        made = make_network(settings_, key, account_url)
        made.session = session
        return made

    make_network = client.make_network
    monkeypatch.setattr(client, "make_network", network)
    return settings, session, lambda: client.fetch_directory(settings)


@pytest.mark.parametrize(
    "status, text, content_type",
    [
        (404, "404 page not found\n", "text/plain"),
        (
            404,
            json.dumps({"type": "urn:ietf:params:acme:error:malformed", "detail": "no such path"}),
            "application/problem+json",
        ),
        (500, "<html>oops</html>", "text/html"),
    ],
)
def test_a_wrong_url_says_no_directory_with_the_status(monkeypatch, status, text, content_type):
    settings, session, run = fetch(monkeypatch, answer(status, text, content_type))
    with pytest.raises(NoDirectoryError) as caught:
        run()
    assert str(caught.value) == "no ACME directory at %s (HTTP %d)" % (URL, status)
    assert session.calls == [("GET", URL)]
    # What the modules print: the sentence alone, no exception class, no Response object.
    assert account_failure(settings, caught.value) == str(caught.value)
    assert problem_text(exception_problem(caught.value)) == str(caught.value)
    assert "ClientError" not in account_failure(settings, caught.value)


def test_an_answer_that_is_no_directory(monkeypatch):
    _settings, _session, run = fetch(monkeypatch, answer(200, "<html>welcome</html>", "text/html"))
    with pytest.raises(
        NoDirectoryError, match=r"^no ACME directory at %s \(HTTP 200, but the answer is not JSON\)$" % URL
    ):
        run()
    _settings, _session, run = fetch(monkeypatch, answer(200, "[1, 2]", "application/json"))
    with pytest.raises(NoDirectoryError, match="not a JSON object"):
        run()


def test_a_directory_is_read_and_a_short_rate_limit_waited_out(monkeypatch):
    monkeypatch.setattr(client.time, "sleep", lambda seconds: None)
    limited = answer(429, "", headers={"Retry-After": "1"})
    _settings, session, run = fetch(monkeypatch, limited, answer(200, json.dumps(DIRECTORY), "application/json"))
    directory = run()
    assert directory["newOrder"] == DIRECTORY["newOrder"] and directory["newNonce"] == DIRECTORY["newNonce"]
    assert session.calls == [("GET", URL), ("GET", URL)]
