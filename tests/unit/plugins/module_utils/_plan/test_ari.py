# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import random

import pytest
import requests
from certgen import make_cert
from requests.structures import CaseInsensitiveDict

from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import NoDirectoryError
from ansible_collections.certfleet.acme.plugins.module_utils._common.encoding import b64url
from ansible_collections.certfleet.acme.plugins.module_utils._plan import ari
from ansible_collections.certfleet.acme.plugins.module_utils._plan.ari_state import open_ari
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import load_certificate

UTC = datetime.timezone.utc
NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

# RFC 9773 section 4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and
# serial 00:87:65:43:21 give this identifier.
RFC_AKI = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
RFC_SERIAL = 0x87654321
RFC_CERT_ID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


# ------------------------------------------------------------------ identifier


def test_cert_id_of_the_rfc_example():
    cert = load_certificate(make_cert(["example.com"], now=NOW, aki=RFC_AKI, serial=RFC_SERIAL))
    assert ari.cert_id(cert) == RFC_CERT_ID


def test_cert_id_parts_are_unpadded_base64url():
    assert b64url(RFC_AKI) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ"
    assert b64url(ari.serial_der_bytes(RFC_SERIAL)) == "AIdlQyE"


@pytest.mark.parametrize(
    "serial, octets",
    [
        (0, "00"),
        (1, "01"),
        (0x7F, "7f"),
        (0x80, "0080"),  # high bit set: a leading zero keeps it positive
        (0xFF, "00ff"),
        (0x100, "0100"),
        (0x87654321, "0087654321"),
        (0x7FFFFFFF, "7fffffff"),
        (-1, "ff"),
        (-128, "80"),
        (-129, "ff7f"),
    ],
)
def test_serial_der_bytes(serial, octets):
    assert ari.serial_der_bytes(serial).hex() == octets


def test_long_serial_keeps_every_octet():
    serial = int("00a1" + "ff" * 18, 16)  # 20 octets with the top bit set
    assert ari.serial_der_bytes(serial) == b"\x00" + serial.to_bytes(19, "big")


def test_certificate_without_aki_has_no_identifier():
    cert = load_certificate(make_cert(["example.com"], now=NOW))
    assert ari.authority_key_identifier(cert) is None
    with pytest.raises(ValueError, match="Authority Key Identifier"):
        ari.cert_id(cert)


def test_renewal_info_resource():
    assert ari.renewal_info_resource("https://ca.test/ari/", RFC_CERT_ID) == "https://ca.test/ari/" + RFC_CERT_ID
    assert ari.renewal_info_resource("https://ca.test/ari", "a.b") == "https://ca.test/ari/a.b"


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-01-02T04:00:00Z", datetime.datetime(2025, 1, 2, 4, 0, 0, tzinfo=UTC)),
        ("2025-01-02t04:00:00z", datetime.datetime(2025, 1, 2, 4, 0, 0, tzinfo=UTC)),
        ("2025-01-02T04:00:00.5Z", datetime.datetime(2025, 1, 2, 4, 0, 0, 500000, tzinfo=UTC)),
        ("2025-01-02T04:00:00.123456789Z", datetime.datetime(2025, 1, 2, 4, 0, 0, 123456, tzinfo=UTC)),
        ("2025-01-02T06:30:00+02:30", datetime.datetime(2025, 1, 2, 4, 0, 0, tzinfo=UTC)),
        ("2025-01-01T23:00:00-05:00", datetime.datetime(2025, 1, 2, 4, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text, expected):
    assert ari.parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2025-01-02", "2025-01-02T04:00:00", "yesterday", 17, None, "2025-13-02T04:00:00Z"])
def test_parse_timestamp_refuses(text):
    with pytest.raises(ari.AriError):
        ari.parse_timestamp(text)


@pytest.mark.parametrize(
    "header, seconds",
    [
        (None, 6 * 3600),
        ("", 6 * 3600),
        ("21600", 21600),
        (" 3600 ", 3600),
        ("5", 60),  # at most once a minute
        ("0", 60),
        ("999999", 86400),  # at least once a day
        ("Sat, 01 Mar 2025 13:00:00 GMT", 3600),  # an HTTP date
        ("Sat, 01 Mar 2025 11:00:00 GMT", 60),  # a date in the past
        ("soon", 6 * 3600),
        ("-5", 6 * 3600),
    ],
)
def test_parse_retry_after(header, seconds):
    assert ari.parse_retry_after(header, now=NOW) == seconds


def test_parse_renewal_info():
    body = {
        "suggestedWindow": {"start": "2025-03-10T00:00:00Z", "end": "2025-03-12T00:00:00Z"},
        "explanationURL": "https://ca.test/why",
    }
    info = ari.parse_renewal_info(body, "7200", now=NOW)
    assert info == ari.RenewalInfo(
        datetime.datetime(2025, 3, 10, tzinfo=UTC),
        datetime.datetime(2025, 3, 12, tzinfo=UTC),
        "https://ca.test/why",
        7200.0,
    )
    del body["explanationURL"]
    assert ari.parse_renewal_info(body).explanation_url is None
    assert ari.parse_renewal_info(body).retry_after_seconds == ari.DEFAULT_RETRY_AFTER


@pytest.mark.parametrize(
    "body, message",
    [
        ([], "not a JSON object"),
        ({}, "no suggestedWindow"),
        ({"suggestedWindow": "soon"}, "no suggestedWindow"),
        ({"suggestedWindow": {"start": "2025-03-10T00:00:00Z"}}, "not a string"),
        ({"suggestedWindow": {"start": "2025-03-10T00:00:00Z", "end": "2025-03-09T00:00:00Z"}}, "before it starts"),
        ({"suggestedWindow": {"start": "2025-03-10T00:00:00Z", "end": "2025-03-10T00:00:00Z"}}, "before it starts"),
    ],
)
def test_parse_renewal_info_refuses(body, message):
    with pytest.raises(ari.AriError, match=message):
        ari.parse_renewal_info(body)


# ------------------------------------------------------------------ choosing


def test_choose_renewal_time_stays_in_the_window_and_spreads():
    start = datetime.datetime(2025, 3, 10, tzinfo=UTC)
    end = start + datetime.timedelta(days=2)
    rng = random.Random(7)
    chosen = [ari.choose_renewal_time(start, end, rng) for _i in range(2000)]
    assert all(start <= moment < end for moment in chosen)
    halves = sum(1 for moment in chosen if moment < start + datetime.timedelta(days=1))
    assert 900 < halves < 1100  # uniform, not clustered at either end
    assert len(set(chosen)) > 1900


def test_choose_renewal_time_is_reproducible_with_a_seed_and_handles_an_empty_window():
    start = datetime.datetime(2025, 3, 10, tzinfo=UTC)
    end = start + datetime.timedelta(hours=1)
    assert ari.choose_renewal_time(start, end, random.Random(1)) == ari.choose_renewal_time(
        start, end, random.Random(1)
    )
    assert ari.choose_renewal_time(start, start, random.Random(1)) == start


# ------------------------------------------------------------------ HTTP (no network: a stand-in session)


class Answer:
    def __init__(self, status=200, body=None, headers=None, text=None):
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers or {})
        self._body = body
        self.text = text if text is not None else ("" if body is None else str(body))

    def json(self):
        if self._body is None:
            raise ValueError("no JSON here")
        return self._body


class Session:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def get(self, url, timeout=None, verify=None, headers=None):
        self.calls.append({"url": url, "timeout": timeout, "verify": verify, "headers": headers})
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


WINDOW = {"suggestedWindow": {"start": "2025-03-10T00:00:00Z", "end": "2025-03-12T00:00:00Z"}}


def test_fetch_renewal_info_is_a_plain_get():
    session = Session(Answer(200, WINDOW, {"Retry-After": "3600"}))
    info = ari.fetch_renewal_info("https://ca.test/ari", RFC_CERT_ID, "/ca.pem", 7, session=session, now=NOW)
    assert info.start == datetime.datetime(2025, 3, 10, tzinfo=UTC)
    assert info.retry_after_seconds == 3600
    assert session.calls == [
        {
            "url": "https://ca.test/ari/" + RFC_CERT_ID,
            "timeout": 7,
            "verify": "/ca.pem",
            "headers": {"Accept": "application/json"},
        }
    ]


@pytest.mark.parametrize(
    "answer, message",
    [
        (Answer(404, None, text='{"type": "urn:ietf:params:acme:error:malformed"}'), "HTTP 404"),
        (Answer(500, None, text="oops"), "HTTP 500 oops"),
        (Answer(200, None, text="<html>"), "did not answer JSON"),
        (Answer(200, {"suggestedWindow": {}}), "not a string"),
        (requests.ConnectionError("refused"), "failed: refused"),
        (requests.Timeout("slow"), "failed: slow"),
    ],
)
def test_fetch_renewal_info_errors_are_ari_errors(answer, message):
    with pytest.raises(ari.AriError, match=message):
        ari.fetch_renewal_info("https://ca.test/ari", RFC_CERT_ID, session=Session(answer))


def test_fetch_renewal_info_url_from_the_directory():
    directory = {"newOrder": "https://ca.test/new-order", "renewalInfo": "https://ca.test/ari"}
    session = Session(Answer(200, directory))
    assert ari.fetch_renewal_info_url("https://ca.test/dir", True, 5, session=session) == "https://ca.test/ari"
    assert ari.fetch_renewal_info_url("https://ca.test/dir", session=Session(Answer(200, {"newOrder": "x"}))) is None
    with pytest.raises(NoDirectoryError, match="not a JSON object"):
        ari.fetch_renewal_info_url("https://ca.test/dir", session=Session(Answer(200, ["x"])))


@pytest.mark.parametrize(
    "answer, why",
    [
        (Answer(404, None, text="404 page not found"), "HTTP 404"),
        (Answer(404, {"type": "urn:ietf:params:acme:error:malformed"}), "HTTP 404"),
        (Answer(200, None, text="<html>"), "HTTP 200, but the answer is not JSON"),
    ],
)
def test_a_wrong_directory_url_reads_as_the_acme_client_says_it(answer, why):
    with pytest.raises(NoDirectoryError) as caught:
        ari.fetch_renewal_info_url("https://ca.test/wrong", session=Session(answer))
    assert str(caught.value) == "no ACME directory at https://ca.test/wrong (%s)" % why


def test_open_ari_leaves_a_wrong_directory_to_its_caller_and_warns_when_the_ca_is_unreachable(monkeypatch):
    monkeypatch.setattr(ari, "_session", lambda: Session(Answer(404, None, text="404 page not found")))
    with pytest.raises(NoDirectoryError, match=r"^no ACME directory at https://ca.test/wrong \(HTTP 404\)$"):
        open_ari("https://ca.test/wrong")
    monkeypatch.setattr(ari, "_session", lambda: Session(requests.ConnectionError("refused")))
    client, warning = open_ari("https://ca.test/dir")
    assert client is None
    assert warning == (
        "ACME renewal information unavailable, deciding by remaining lifetime: GET https://ca.test/dir failed: refused"
    )
    monkeypatch.setattr(ari, "_session", lambda: Session(Answer(200, {"renewalInfo": "https://ca.test/ari"})))
    client, warning = open_ari("https://ca.test/dir")
    assert client.renewal_info_url == "https://ca.test/ari" and warning is None
