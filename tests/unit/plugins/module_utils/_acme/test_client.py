# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import threading
import time

import pytest
from acme import messages

from ansible_collections.certfleet.acme.plugins.module_utils._acme import client as acme_client
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    NONCE_ATTEMPTS,
    AcmeSession,
    AcmeSettings,
    RetryingNetwork,
    poll_interval,
    retry_after_seconds,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Deadline, DeadlineExceeded


class Response:
    def __init__(self, headers=None):
        self.headers = headers or {}


def test_retry_after_delta_and_date():
    now = datetime.datetime(2025, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    assert retry_after_seconds(Response({"Retry-After": "7"}), 1) == 7
    assert retry_after_seconds(Response({"Retry-After": "Wed, 01 Jan 2025 12:00:30 GMT"}), 1, now=now) == 30
    assert retry_after_seconds(Response({"Retry-After": "Wed, 01 Jan 2025 11:00:00 GMT"}), 1, now=now) == 0
    assert retry_after_seconds(Response({"Retry-After": "soon"}), 3) == 3
    assert retry_after_seconds(Response(), 2) == 2
    assert retry_after_seconds(None, 2) == 2


def test_poll_interval_backs_off_to_five_seconds():
    assert poll_interval(None, 0) == 0.5
    assert poll_interval(None, 2) == 1.125
    assert poll_interval(None, 10) == 5
    assert poll_interval(Response({"Retry-After": "9"}), 0) == 9


def test_deadline_never_sleeps_past_its_end():
    deadline = Deadline(0.2)
    start = time.monotonic()
    deadline.sleep(10, "nothing")
    assert time.monotonic() - start < 1
    with pytest.raises(DeadlineExceeded, match="waiting for the thing"):
        deadline.sleep(1, "the thing")


def bad_nonce():
    return messages.Error.with_code("badNonce", detail="JWS has an invalid anti-replay nonce")


def test_bad_nonce_is_retried_more_than_once(monkeypatch):
    network = RetryingNetwork(key=None)
    calls = []

    def post_once(*args, **kwargs):
        calls.append(args)
        if len(calls) < NONCE_ATTEMPTS:
            raise bad_nonce()
        return "ok"

    monkeypatch.setattr(network, "_post_once", post_once)
    assert network.post("https://ca/x", None) == "ok"
    assert len(calls) == NONCE_ATTEMPTS


def test_bad_nonce_gives_up_eventually(monkeypatch):
    network = RetryingNetwork(key=None)

    def always_bad(*args, **kwargs):
        raise bad_nonce()

    monkeypatch.setattr(network, "_post_once", always_bad)
    with pytest.raises(messages.Error):
        network.post("https://ca/x", None)


def test_other_errors_are_not_retried(monkeypatch):
    network = RetryingNetwork(key=None)
    calls = []

    def post_once(*args, **kwargs):
        calls.append(1)
        raise messages.Error.with_code("unauthorized", detail="no")

    monkeypatch.setattr(network, "_post_once", post_once)
    with pytest.raises(messages.Error):
        network.post("https://ca/x", None)
    assert calls == [1]


def test_each_thread_gets_its_own_client(monkeypatch):
    monkeypatch.setattr(acme_client.acme_lib, "ClientV2", lambda directory, net: object())
    settings = AcmeSettings(directory_url="https://ca/dir", state_dir="/nonexistent", ca_bundle="/ca.pem")
    session = AcmeSession(settings, directory={}, account_key=None, account_url="https://ca/acct/1")
    clients = []
    main = session.client()
    assert session.client() is main

    def worker():
        clients.append(session.client())

    threads = [threading.Thread(target=worker) for dummy in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in clients + [main]}) == 4


def test_network_uses_ca_bundle_and_account():
    settings = AcmeSettings(directory_url="https://ca/dir", state_dir="/x", ca_bundle="/ca.pem", request_timeout=7)
    network = acme_client.make_network(settings, key=None, account_url="https://ca/acct/1")
    assert network.verify_ssl == "/ca.pem"
    assert network._default_timeout == 7
    assert network.account.uri == "https://ca/acct/1"
    assert AcmeSettings(directory_url="d", state_dir="s").verify is True
