# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rackspace Cloud DNS provider: the requests it sends and how it reads answers (no server)."""

from __future__ import annotations

import pytest
from http_stub import StubResponse, StubSession

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import rackspace
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    ProviderConfigError,
    ProviderError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    build_provider,
    secret_values,
)

API_KEY = "a4bbc55a951242c48b03e88e32123456"
TOKEN = "ea85e6acbaff4a6cbf43848020ea3812"
DNS = "https://dns.api.rackspacecloud.com/v1.0/1234"
NAME = "_acme-challenge.www.example.com"


def entry(**extra):
    config = {"name": "rax", "type": "rackspace", "zones": ["example.com"], "username": "ops", "api_key": API_KEY}
    config.update(extra)
    return config


def access(token=TOKEN, catalog=None):
    if catalog is None:
        catalog = [
            {
                "name": "cloudFiles",
                "type": "object-store",
                "endpoints": [{"region": "DFW", "publicURL": "https://f/v1"}],
            },
            {"name": "cloudDNS", "type": "rax:dns", "endpoints": [{"tenantId": "1234", "publicURL": DNS}]},
        ]
    return {"access": {"token": {"id": token, "tenant": {"id": "1234", "name": "1234"}}, "serviceCatalog": catalog}}


class Api:
    """Scripted Identity + Cloud DNS: records in memory, jobs that finish after ``polls`` status calls."""

    def __init__(self):
        self.records = [
            {"id": "TXT-1", "type": "TXT", "name": NAME, "data": "old", "ttl": 300},
            {"id": "TXT-2", "type": "TXT", "name": "_acme-challenge.example.com", "data": "apex", "ttl": 300},
        ]
        self.polls = 2
        self.job_error = None
        self.tokens = [TOKEN]
        self.auth_status = 200
        self.fail = {}  # (method, path suffix) -> list of StubResponse to answer first
        self.session = StubSession(self.route)
        self.sleeps: list[float] = []

    def job(self, job_id):
        return {"jobId": job_id, "status": "RUNNING", "callbackUrl": "%s/status/%s" % (DNS, job_id)}

    def route(self, call):
        for (method, suffix), answers in self.fail.items():
            if call["method"] == method and call["path"].endswith(suffix) and answers:
                return answers.pop(0)
        if call["path"].endswith("/v2.0/tokens"):
            if self.auth_status != 200:
                return StubResponse(401, {"unauthorized": {"code": 401, "message": "Username or api key is invalid."}})
            return StubResponse(200, access(self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0]))
        path = call["path"][len("/v1.0/1234") :]
        if path == "/domains":
            domains = [{"name": "sub.example.com", "id": 11}, {"name": "example.com", "id": 10}]
            return StubResponse(200, {"domains": domains, "totalEntries": 2})
        if path == "/domains/10/records" and call["method"] == "GET":
            found = [r for r in self.records if r["name"] == call["query"]["name"][0]]
            offset, limit = int(call["query"]["offset"][0]), int(call["query"]["limit"][0])
            return StubResponse(200, {"records": found[offset : offset + limit], "totalEntries": len(found)})
        if path == "/domains/10/records":
            return StubResponse(202, self.job("job-%d" % len(self.session.calls)))
        if path.startswith("/status/"):
            self.polls -= 1
            job = self.job(path.split("/")[-1])
            if self.polls <= 0:
                job["status"] = "ERROR" if self.job_error else "COMPLETED"
                if self.job_error:
                    job["error"] = self.job_error
            return StubResponse(200, job)
        return StubResponse(404, {"code": 404, "message": "Not Found", "details": path})


@pytest.fixture
def api():
    return Api()


@pytest.fixture
def provider(api):
    return make(api)


def make(api, **extra):
    provider = build_provider(entry(**extra))
    provider.api._session = api.session
    api.sleeps = []
    provider.api.sleep = api.sleeps.append
    provider._sleep = lambda seconds: None
    provider._status_throttle.interval = 0
    return provider


def dns_calls(api, method=None):
    return [c for c in api.session.calls if "/v1.0/" in c["path"] and (method is None or c["method"] == method)]


# ------------------------------------------------------------------ options
def test_required_options_and_secret_hidden():
    with pytest.raises(ProviderConfigError, match="'username' is required"):
        build_provider({"name": "rax", "type": "rackspace", "zones": ["example.com"], "api_key": API_KEY})
    with pytest.raises(ProviderConfigError) as err:
        build_provider(entry(api_key=["not", "a", "string"]))
    assert "api_key" in str(err.value) and "not" not in str(err.value)
    assert API_KEY in secret_values([entry()])


def test_option_checks():
    with pytest.raises(ProviderConfigError, match="identity_url"):
        build_provider(entry(identity_url="ftp://identity.example"))
    with pytest.raises(ProviderConfigError, match="must not hold credentials") as err:
        build_provider(entry(dns_url="https://user:pw@dns.example/v1.0/1"))
    assert "user:pw" not in str(err.value)
    for field in ("identity_url", "dns_url"):
        with pytest.raises(ProviderConfigError, match="'%s' is a plain http:// URL" % field):
            build_provider(entry(**{field: "http://127.0.0.1:5000/v2.0/tokens"}))
        assert build_provider(entry(allow_plain_http=True, **{field: "http://127.0.0.1:5000/v2.0/tokens"}))
    with pytest.raises(ProviderConfigError, match="job_timeout"):
        build_provider(entry(job_timeout=0))
    with pytest.raises(ProviderConfigError, match="not an option"):
        build_provider(entry(api_token="x"))
    provider = build_provider(entry(identity_url="https://lon.identity.api.rackspacecloud.com/v2.0/", region="lon"))
    assert provider.identity_url == "https://lon.identity.api.rackspacecloud.com/v2.0/tokens"
    assert provider.region == "LON" and provider.job_timeout == 120


# --------------------------------------------------------------- identity
def test_authenticates_with_api_key_and_uses_the_catalog(provider, api):
    assert provider.read_values("example.com", NAME) == {"old"}
    auth = api.session.calls[0]
    assert auth["method"] == "POST" and auth["url"] == rackspace.DEFAULT_IDENTITY_URL
    assert auth["body"] == {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "ops", "apiKey": API_KEY}}}
    assert auth["allow_redirects"] is False
    lookup, search = dns_calls(api)
    assert lookup["url"] == DNS + "/domains" and lookup["query"]["name"] == ["example.com"]
    assert lookup["headers"]["X-Auth-Token"] == TOKEN
    # The exact domain (id 10), not the subdomain that the name filter also returned.
    assert search["path"].endswith("/domains/10/records")
    assert search["query"]["type"] == ["TXT"] and search["query"]["name"] == [NAME]
    # The token is fetched once and the domain id is cached.
    provider.read_values("example.com", NAME)
    assert len([c for c in api.session.calls if c["path"].endswith("/tokens")]) == 1
    assert len([c for c in dns_calls(api) if c["path"].endswith("/domains")]) == 1


def test_dns_url_override_and_region(api):
    provider = make(api, dns_url="https://lon.dns.api.rackspacecloud.com/v1.0")
    token, endpoint = provider._login()
    assert token == TOKEN and endpoint == "https://lon.dns.api.rackspacecloud.com/v1.0/1234"
    regional = [
        {"type": "rax:dns", "endpoints": [{"region": "ORD", "publicURL": "https://ord/v1.0/1"}]},
        {"type": "rax:dns", "endpoints": [{"region": "LON", "publicURL": "https://lon/v1.0/1"}]},
    ]
    assert make(api, region="lon")._dns_endpoint(regional, "1") == "https://lon/v1.0/1"
    with pytest.raises(ProviderError, match="region 'SYD' has no Cloud DNS endpoint"):
        make(api, region="syd")._dns_endpoint(regional, "1")
    with pytest.raises(ProviderError, match="no rax:dns"):
        make(api)._dns_endpoint([{"type": "object-store"}], "1")


def test_bad_credentials_name_the_user_and_the_answer_never_the_key(provider, api):
    api.auth_status = 401
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", NAME)
    text = str(err.value)
    assert "provider 'rax'" in text and "'ops'" in text and "Username or api key is invalid." in text
    assert API_KEY not in text
    # Refused credentials are not sent again for every other record of the run.
    with pytest.raises(ProviderError, match="Username or api key is invalid.") as again:
        provider.read_values("example.com", "_acme-challenge.example.com")
    assert again.value.record == "_acme-challenge.example.com"
    assert len([c for c in api.session.calls if c["path"].endswith("/tokens")]) == 1


def test_expired_token_reauthenticates_once(provider, api):
    api.tokens = ["first-token-0000", "second-token-000"]
    provider.read_values("example.com", NAME)
    unauthorized = StubResponse(401, {"unauthorized": {"code": 401, "message": "No valid token provided."}})
    api.fail[("GET", "/records")] = [unauthorized]
    assert provider.read_values("example.com", NAME) == {"old"}
    searches = [c for c in dns_calls(api, "GET") if c["path"].endswith("/records")]
    assert [c["headers"]["X-Auth-Token"] for c in searches] == ["first-token-0000"] * 2 + ["second-token-000"]
    # A second refusal right after a fresh token is an error, not a loop.
    api.fail[("GET", "/records")] = [unauthorized, unauthorized]
    with pytest.raises(ProviderError, match="a fresh token was refused too"):
        provider.read_values("example.com", NAME)


def test_token_never_shows_in_messages(provider, api):
    provider.read_values("example.com", NAME)
    api.fail[("GET", "/records")] = [StubResponse(400, {"code": 400, "message": "bad token %s" % TOKEN})]
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", NAME)
    assert TOKEN not in str(err.value) and "********" in str(err.value)


# ------------------------------------------------------------------ lookups
def test_unknown_zone_lists_what_the_account_has(provider, api):
    for name in ("_acme-challenge.other.org", "_acme-challenge.www.other.org"):
        with pytest.raises(ProviderError, match="'other.org' is not a domain .* found: example.com, sub.example.com"):
            provider.read_values("other.org", name)
    assert len([c for c in dns_calls(api) if c["path"].endswith("/domains")]) == 1


def test_records_are_paged_by_offset(provider, api, monkeypatch):
    monkeypatch.setattr(rackspace, "PAGE_SIZE", 2)
    api.records = [{"id": "TXT-%d" % i, "type": "TXT", "name": NAME, "data": "v%d" % i} for i in range(5)]
    api.records.append({"id": "A-1", "type": "A", "name": NAME, "data": "192.0.2.1"})
    assert provider.read_values("example.com", NAME) == {"v0", "v1", "v2", "v3", "v4"}
    offsets = [c["query"]["offset"][0] for c in dns_calls(api) if c["path"].endswith("/records")]
    assert offsets == ["0", "2", "4"]


# ------------------------------------------------------------------- writes
def test_add_sends_every_record_of_the_zone_in_one_job_and_waits(provider, api):
    provider.add_values("example.com", {NAME: ["v1", "v2"], "_acme-challenge.example.com": ["v3"]}, 60)
    (post,) = dns_calls(api, "POST")
    assert post["path"].endswith("/domains/10/records")
    assert post["body"] == {
        "records": [
            {"name": NAME, "type": "TXT", "data": "v1", "ttl": 300},
            {"name": NAME, "type": "TXT", "data": "v2", "ttl": 300},
            {"name": "_acme-challenge.example.com", "type": "TXT", "data": "v3", "ttl": 300},
        ]
    }
    polls = [c for c in dns_calls(api, "GET") if "/status/" in c["path"]]
    assert len(polls) == 2 and all(c["query"]["showDetails"] == ["true"] for c in polls)


def test_ttl_above_the_minimum_is_kept(provider, api):
    provider.add_values("example.com", {NAME: ["v1"]}, 3600)
    assert dns_calls(api, "POST")[0]["body"]["records"][0]["ttl"] == 3600


def test_big_batches_are_split(provider, api, monkeypatch):
    monkeypatch.setattr(rackspace, "MAX_PER_REQUEST", 2)
    provider.add_values("example.com", {NAME: ["1", "2", "3"]}, 300)
    assert [len(c["body"]["records"]) for c in dns_calls(api, "POST")] == [2, 1]


def test_job_error_names_provider_record_and_the_api_message(provider, api):
    api.job_error = {
        "failedItems": {"faults": [{"code": 409, "message": "Record is a duplicate of another record."}]},
        "code": 500,
        "message": "One or more items could not be added.",
    }
    with pytest.raises(ProviderError) as err:
        provider.add_values("example.com", {NAME: ["old"]}, 300)
    assert err.value.provider == "rax" and err.value.record == NAME
    assert "ended in ERROR" in str(err.value) and "Record is a duplicate of another record." in str(err.value)


def test_job_timeout_is_an_error(provider, api):
    api.polls = 10**6
    now = [0.0]
    provider._clock = lambda: now[0]
    provider._sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    provider.job_timeout = 5
    with pytest.raises(ProviderError, match="still RUNNING after 5s"):
        provider.add_values("example.com", {NAME: ["v1"]}, 300)


def test_callback_on_another_host_is_not_sent_the_token(provider, api):
    provider.read_values("example.com", NAME)
    job = {"jobId": "j-1", "status": "RUNNING", "callbackUrl": "https://elsewhere.example/status/j-1"}
    assert provider._status_url(job, None) == DNS + "/status/j-1"
    job["callbackUrl"] = DNS + "/status/j-1?showDetails=false"
    assert provider._status_url(job, None) == DNS + "/status/j-1"


def test_remove_deletes_exactly_the_matching_ids(provider, api):
    api.records.append({"id": "TXT-3", "type": "TXT", "name": NAME, "data": "mine"})
    provider.remove_values("example.com", {NAME: ["mine", "absent"]})
    (delete,) = dns_calls(api, "DELETE")
    assert delete["path"].endswith("/domains/10/records") and delete["query"]["id"] == ["TXT-3"]


def test_remove_of_nothing_sends_nothing(provider, api):
    provider.remove_values("example.com", {NAME: ["absent"]})
    assert not dns_calls(api, "DELETE")


def test_over_limit_is_retried_after_the_wait(provider, api):
    over = StubResponse(
        413,
        {"overLimit": {"code": 413, "message": "OverLimit Retry...", "retryAfter": "2000-01-01T00:00:00Z"}},
        headers={"Retry-After": "7"},
    )
    api.fail[("GET", "/records")] = [over]
    assert provider.read_values("example.com", NAME) == {"old"}
    assert api.sleeps and api.sleeps[0] >= 7


def test_413_without_a_retry_hint_is_an_error(provider, api):
    api.fail[("POST", "/records")] = [StubResponse(413, {"code": 413, "message": "Too many records in request"})]
    with pytest.raises(ProviderError, match="HTTP 413: Too many records in request"):
        provider.add_values("example.com", {NAME: ["v1"]}, 300)


def test_fault_text_shapes():
    assert rackspace.fault_text({"code": 404, "message": "Not Found", "details": "Domain ID: 1"}) == (
        "Not Found; Domain ID: 1"
    )
    assert rackspace.fault_text({"unauthorized": {"code": 401, "message": "No token"}}) == "unauthorized: No token"
    assert rackspace.fault_text({"validationErrors": {"messages": ["a", "b"]}, "code": 400}) == "a; b"
    assert rackspace.fault_text(["not", "a", "fault"]) == ""
