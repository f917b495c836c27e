# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare provider and the shared HTTP helper: requests sent, answers read (no server)."""

from __future__ import annotations

import email.utils

import pytest
import requests
from http_stub import StubResponse, StubSession

from ansible_collections.certfleet.acme.plugins.module_utils._common import retry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import cloudflare
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    ProviderConfigError,
    ProviderError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    build_provider,
    secret_values,
)

TOKEN = "YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T"
ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
NAME = "_acme-challenge.www.example.com"


def entry(**extra):
    config = {"name": "cf", "type": "cloudflare", "zones": ["example.com"], "api_token": TOKEN}
    config.update(extra)
    return config


def envelope(result, info=None):
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if info:
        body["result_info"] = info
    return body


def failure(status, *errors, headers=None):
    body = {"success": False, "errors": [{"code": c, "message": m} for c, m in errors], "messages": [], "result": None}
    return StubResponse(status, body, headers=headers)


class Api:
    """Scripted Cloudflare v4: one zone, records in memory, pages of ``page_size``."""

    def __init__(self):
        self.records = [
            {"id": "r1", "type": "TXT", "name": NAME, "content": '"old"'},
            {"id": "r2", "type": "TXT", "name": "_acme-challenge.example.com", "content": "apex"},
        ]
        self.page_size = 100
        self.fail = {}  # (method, path suffix) -> answers to give first
        self.created = 0
        self.session = StubSession(self.route)

    def route(self, call):
        for (method, suffix), answers in self.fail.items():
            if call["method"] == method and call["path"].endswith(suffix) and answers:
                return answers.pop(0)
        path = call["path"][len("/client/v4") :]
        if path == "/zones":
            zones = [{"id": "0" * 32, "name": "sub.example.com"}, {"id": ZONE_ID, "name": "example.com"}]
            return StubResponse(200, envelope([z for z in zones if z["name"] == call["query"]["name"][0]]))
        records_path = "/zones/%s/dns_records" % ZONE_ID
        if path == records_path and call["method"] == "GET":
            found = [r for r in self.records if r["name"] == call["query"]["name"][0]]
            page = int(call["query"]["page"][0])
            chunk = found[(page - 1) * self.page_size : page * self.page_size]
            pages = max(1, -(-len(found) // self.page_size))
            return StubResponse(200, envelope(chunk, {"page": page, "total_pages": pages, "count": len(chunk)}))
        if path == records_path and call["method"] == "POST":
            self.created += 1
            record = dict(call["body"], id="new%d" % self.created)
            self.records.append(record)
            return StubResponse(200, envelope(record))
        if path.startswith(records_path + "/") and call["method"] == "DELETE":
            record_id = path.rsplit("/", 1)[1]
            self.records = [r for r in self.records if r["id"] != record_id]
            return StubResponse(200, envelope({"id": record_id}))
        return failure(400, (7003, "Could not route to %s" % path), (7000, "No route for that URI"))


@pytest.fixture
def api():
    return Api()


@pytest.fixture
def provider(api):
    provider = build_provider(entry())
    provider.api._session = api.session
    provider.throttle.interval = 0
    api.sleeps = []
    provider.api.sleep = api.sleeps.append
    return provider


def calls(api, method=None, suffix=""):
    return [c for c in api.session.calls if (method is None or c["method"] == method) and c["path"].endswith(suffix)]


# ------------------------------------------------------------------ options
def test_options():
    with pytest.raises(ProviderConfigError, match="'api_token' is required"):
        build_provider({"name": "cf", "type": "cloudflare", "zones": ["example.com"]})
    with pytest.raises(ProviderConfigError) as err:
        build_provider(entry(api_token="two words"))
    assert "printable" in str(err.value) and "two words" not in str(err.value)
    with pytest.raises(ProviderConfigError, match="api_url"):
        build_provider(entry(api_url="api.cloudflare.com"))
    with pytest.raises(ProviderConfigError, match="'api_url' is a plain http:// URL") as err:
        build_provider(entry(api_url="http://127.0.0.1:8080/client/v4/"))
    assert TOKEN not in str(err.value)
    with pytest.raises(ProviderConfigError, match="must not hold credentials") as err:
        build_provider(entry(api_url="https://cf:hunter2@api.cloudflare.com/client/v4"))
    assert "hunter2" not in str(err.value)
    provider = build_provider(entry(api_url="http://127.0.0.1:8080/client/v4/", timeout="5", allow_plain_http=True))
    assert provider.api_url == "http://127.0.0.1:8080/client/v4" and provider.timeout == 5
    assert build_provider(entry()).api_url == "https://api.cloudflare.com/client/v4"
    assert TOKEN in secret_values([entry()])


# -------------------------------------------------------------------- reads
def test_read_looks_up_the_zone_once_and_unquotes(provider, api):
    assert provider.read_values("example.com", NAME) == {"old"}
    assert provider.read_values("example.com", "_acme-challenge.example.com") == {"apex"}
    (lookup,) = calls(api, "GET", "/zones")
    assert lookup["query"]["name"] == ["example.com"]
    assert lookup["headers"]["Authorization"] == "Bearer " + TOKEN
    search = calls(api, "GET", "/dns_records")[0]
    assert search["query"]["type"] == ["TXT"] and search["query"]["name"] == [NAME]


def test_read_follows_pages(provider, api):
    api.page_size = 2
    api.records = [{"id": "r%d" % i, "type": "TXT", "name": NAME, "content": "v%d" % i} for i in range(5)]
    assert provider.read_values("example.com", NAME) == {"v0", "v1", "v2", "v3", "v4"}
    assert [c["query"]["page"][0] for c in calls(api, "GET", "/dns_records")] == ["1", "2", "3"]


def test_zone_not_visible_is_explained(provider):
    with pytest.raises(ProviderError, match="zone 'other.org' not found.*Zone:Read"):
        provider.read_values("other.org", "_acme-challenge.other.org")


@pytest.mark.parametrize(
    "content, value",
    [
        ('"abc"', "abc"),
        ("abc", "abc"),
        ('"ab" "c"', "abc"),
        ('"a\\"b"', 'a"b'),
        ('"a\\\\b"', "a\\b"),
        ('"\\065b"', "Ab"),
        ('"unterminated', '"unterminated'),
        ('"a" b', '"a" b'),
        ("", ""),
        (None, ""),
    ],
)
def test_txt_unquote(content, value):
    assert cloudflare.txt_unquote(content) == value


# ------------------------------------------------------------------- writes
@pytest.mark.parametrize("ttl, sent", [(60, 60), (1, 1), (0, 60), (30, 60), (3600, 3600), (10**6, 86400)])
def test_add_posts_one_record_per_value_with_a_valid_ttl(provider, api, ttl, sent):
    provider.add_values("example.com", {NAME: ["v1", "v2"]}, ttl)
    posts = calls(api, "POST", "/dns_records")
    assert [c["body"] for c in posts] == [
        {"type": "TXT", "name": NAME, "content": "v1", "ttl": sent},
        {"type": "TXT", "name": NAME, "content": "v2", "ttl": sent},
    ]


def test_add_of_an_identical_record_is_not_an_error(provider, api):
    api.fail[("POST", "/dns_records")] = [failure(400, (81058, "An identical record already exists."))]
    provider.add_values("example.com", {NAME: ["old", "v2"]}, 60)
    assert len(calls(api, "POST", "/dns_records")) == 2


def test_add_error_names_provider_record_value_and_codes(provider, api):
    api.fail[("POST", "/dns_records")] = [failure(400, (9021, "TTL must be between 60 and 86400 seconds"))]
    with pytest.raises(ProviderError) as err:
        provider.add_values("example.com", {NAME: ["v1"]}, 60)
    assert err.value.provider == "cf" and err.value.record == NAME
    assert "'v1'" in str(err.value) and "HTTP 400: 9021: TTL must be between" in str(err.value)


def test_remove_deletes_exactly_the_matching_records(provider, api):
    api.records.append({"id": "r3", "type": "TXT", "name": NAME, "content": '"mine"'})
    provider.remove_values("example.com", {NAME: ["mine", "absent"]})
    assert [c["path"].rsplit("/", 1)[1] for c in calls(api, "DELETE")] == ["r3"]
    assert {r["id"] for r in api.records} == {"r1", "r2"}


def test_remove_of_a_vanished_record_is_not_an_error(provider, api):
    api.fail[("DELETE", "/r1")] = [failure(404, (81044, "Record does not exist."))]
    provider.remove_values("example.com", {NAME: ["old"]})


# ------------------------------------------------------------------- errors
def test_invalid_token_gives_the_api_message_and_a_hint(provider, api):
    api.fail[("GET", "/zones")] = [failure(403, (9109, "Invalid access token"))]
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", NAME)
    text = str(err.value)
    assert "provider 'cf', record %r" % NAME in text and "9109: Invalid access token" in text
    assert "Zone:Read and DNS:Edit" in text and TOKEN not in text
    # The refused token is not sent again for every other record of the run.
    with pytest.raises(ProviderError, match="9109: Invalid access token"):
        provider.read_values("example.com", "_acme-challenge.example.com")
    assert len(calls(api, "GET", "/zones")) == 1


def test_error_chain_is_shown():
    data = {"success": False, "errors": [{"code": 6003, "message": "Invalid request headers", "error_chain": [
        {"code": 6111, "message": "Invalid format for Authorization header"}]}]}  # fmt: skip
    assert cloudflare.errors_text(data) == (
        "6003: Invalid request headers; 6111: Invalid format for Authorization header"
    )


def test_rate_limit_is_retried_after_retry_after(provider, api):
    api.fail[("GET", "/dns_records")] = [failure(429, (971, "Please wait"), headers={"Retry-After": "3"})]
    assert provider.read_values("example.com", NAME) == {"old"}
    assert len(api.sleeps) == 1 and api.sleeps[0] >= 3


def test_success_false_with_status_200_is_an_error(provider, api):
    api.fail[("GET", "/zones")] = [StubResponse(200, {"success": False, "errors": [{"code": 1, "message": "odd"}]})]
    with pytest.raises(ProviderError, match="1: odd"):
        provider.read_values("example.com", NAME)


# ------------------------------------------------------------ the HTTP helper
def test_parse_retry_after_forms():
    now = 1_000_000_000.0
    assert retry.parse_retry_after("120", now=lambda: now) == 120
    assert retry.parse_retry_after(2.5) == 2.5
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert retry.parse_retry_after(later, now=lambda: now) == pytest.approx(30)
    assert retry.parse_retry_after("2001-09-09T01:47:00Z", now=lambda: now) == pytest.approx(20)
    assert retry.parse_retry_after("2001-09-09T01:47:30.000+0000", now=lambda: now) == pytest.approx(50)
    assert retry.parse_retry_after("1999-01-01T00:00:00Z", now=lambda: now) == 0
    assert retry.parse_retry_after("soon") is None
    assert retry.parse_retry_after(None) is None and retry.parse_retry_after(True) is None


def test_transport_errors_are_retried_for_reads_only(provider, api):
    api.fail[("GET", "/zones")] = [requests.ConnectionError("connection refused")]
    assert provider.read_values("example.com", NAME) == {"old"}
    api.fail[("POST", "/dns_records")] = [requests.Timeout("read timed out")]
    with pytest.raises(ProviderError, match="no answer within 30"):
        provider.add_values("example.com", {NAME: ["v1"]}, 60)
    assert len(calls(api, "POST")) == 1


def test_non_json_error_pages_are_trimmed(provider, api):
    page = "<html>" + "x" * 1000 + "</html>"
    api.fail[("GET", "/zones")] = [StubResponse(502, text=page)]
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", NAME)
    assert "HTTP 502" in str(err.value) and len(str(err.value)) < 400


def test_service_unavailable_is_retried(provider, api):
    api.fail[("GET", "/zones")] = [StubResponse(503, text="busy"), StubResponse(503, text="busy")]
    assert provider.read_values("example.com", NAME) == {"old"}
    assert len(api.sleeps) == 2
