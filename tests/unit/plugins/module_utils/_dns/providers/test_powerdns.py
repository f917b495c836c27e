# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerDNS provider: the PATCH bodies it builds, TXT quoting, and how it reports errors (no server)."""

from __future__ import annotations

import json

import pytest
import requests

from ansible_collections.certfleet.acme.plugins.module_utils._common.http import JsonApi
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import powerdns
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    ProviderConfigError,
    ProviderError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    PROVIDER_TYPES,
    build_provider,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

API_KEY = "pdns-api-key-0123456789abcdef"
ZONE_URL = "http://192.0.2.80:8081/api/v1/servers/localhost/zones/example.com."


def config(**overrides) -> dict:
    entry = {
        "name": "pdns",
        "type": "powerdns",
        "zones": ["example.com"],
        "api_url": "http://192.0.2.80:8081",
        "api_key": API_KEY,
        "allow_plain_http": True,
    }
    entry.update(overrides)
    return entry


class FakeResponse:
    def __init__(self, status: int, body=None, text: str | None = None, headers: dict | None = None):
        self.status_code = status
        self._body = body
        self.text = text if text is not None else ("" if body is None else json.dumps(body))
        self.reason = "Reason"
        self.headers = headers or {}

    def json(self):
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class FakeSession:
    """Answers like a PowerDNS holding TXT rrsets of example.com; records every request."""

    def __init__(self):
        self.rrsets: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.queued: list = []  # responses or exceptions served before the zone logic

    def request(self, method, url, timeout=None, **kwargs):
        self.requests.append((method, url, kwargs))
        if self.queued:
            answer = self.queued.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        if method == "GET":
            rrsets = list(self.rrsets.values())
            params = kwargs.get("params") or {}
            if params.get("rrset_name"):
                # As PowerDNS 4.7 does: the filtered answer leaves disabled records out.
                rrsets = [
                    dict(r, records=[rec for rec in r["records"] if not rec["disabled"]])
                    for r in rrsets
                    if r["name"] == params["rrset_name"] and r["type"] == params.get("rrset_type", r["type"])
                ]
            return FakeResponse(200, {"id": "example.com.", "name": "example.com.", "rrsets": rrsets})
        assert method == "PATCH"
        for change in json.loads(kwargs["data"])["rrsets"]:
            if change["changetype"] == "DELETE":
                self.rrsets.pop(change["name"], None)
            else:
                self.rrsets[change["name"]] = {
                    "name": change["name"],
                    "type": "TXT",
                    "ttl": change["ttl"],
                    "records": change["records"],
                    "comments": [],
                }
        return FakeResponse(204, text="")

    def hold(self, name: str, *contents: str, ttl: int = 300, disabled=()):
        self.rrsets[name] = {
            "name": name,
            "type": "TXT",
            "ttl": ttl,
            "records": [{"content": c, "disabled": c in disabled} for c in contents],
            "comments": [],
        }

    def patches(self) -> list[list[dict]]:
        return [json.loads(kwargs["data"])["rrsets"] for method, _url, kwargs in self.requests if method == "PATCH"]


@pytest.fixture
def session(monkeypatch):
    fake = FakeSession()
    monkeypatch.setattr(JsonApi, "session", property(lambda self: fake))
    return fake


@pytest.fixture
def provider(session):
    built = build_provider(config())
    built.api.sleep = lambda seconds: None
    return built


# ------------------------------------------------------------------ merge


def test_patch_adds_to_what_is_there_and_keeps_disabled_records():
    current = powerdns.txt_rrsets(
        {
            "rrsets": [
                {
                    "name": "_acme-challenge.Example.com.",
                    "type": "TXT",
                    "ttl": 300,
                    "records": [{"content": '"other"', "disabled": False}, {"content": '"off"', "disabled": True}],
                },
                {"name": "example.com.", "type": "SOA", "ttl": 60, "records": [{"content": "x", "disabled": False}]},
            ]
        }
    )
    rrsets = powerdns.patch_rrsets(current, {"_acme-challenge.example.com": ["new", "other"]}, 60)
    assert rrsets == [
        {
            "name": "_acme-challenge.example.com.",
            "type": "TXT",
            "ttl": 60,
            "changetype": "REPLACE",
            "records": [
                {"content": '"other"', "disabled": False},
                {"content": '"off"', "disabled": True},
                {"content": '"new"', "disabled": False},
            ],
        }
    ]


def test_patch_enables_a_disabled_copy_of_a_wanted_value_and_skips_names_already_right():
    current = {
        "a.example.com": {"ttl": 60, "records": [{"content": '"v"', "disabled": True}]},
        "b.example.com": {"ttl": 60, "records": [{"content": '"w"', "disabled": False}]},
    }
    rrsets = powerdns.patch_rrsets(current, {"a.example.com": ["v"], "b.example.com": ["w"]}, 60)
    assert [r["name"] for r in rrsets] == ["a.example.com."]
    assert rrsets[0]["records"] == [{"content": '"v"', "disabled": False}]


def test_patch_removal_keeps_the_rest_with_its_ttl_or_deletes_the_empty_rrset():
    current = {
        "a.example.com": {
            "ttl": 300,
            "records": [{"content": '"x"', "disabled": False}, {"content": '"y"', "disabled": False}],
        },
        "b.example.com": {"ttl": 60, "records": [{"content": '"z"', "disabled": False}]},
    }
    rrsets = powerdns.patch_rrsets(
        current, {"a.example.com": ["x"], "b.example.com": ["z"], "c.example.com": ["q"]}, None
    )
    assert rrsets == [
        {
            "name": "a.example.com.",
            "type": "TXT",
            "ttl": 300,
            "changetype": "REPLACE",
            "records": [{"content": '"y"', "disabled": False}],
        },
        {"name": "b.example.com.", "type": "TXT", "changetype": "DELETE"},
    ]


# ------------------------------------------------------------------ provider against the fake API


def test_add_sends_one_patch_per_zone_with_the_merged_sets(provider, session):
    session.hold("_acme-challenge.example.com.", '"theirs"')
    provider.add_values(
        "example.com", {"_acme-challenge.example.com": ["v1", "v2"], "_acme-challenge.www.example.com": ["v3"]}, 60
    )
    gets = [r for r in session.requests if r[0] == "GET"]
    assert len(gets) == 1 and gets[0][1] == ZONE_URL and not gets[0][2].get("params")
    assert session.patches() == [
        [
            {
                "name": "_acme-challenge.example.com.",
                "type": "TXT",
                "ttl": 60,
                "changetype": "REPLACE",
                "records": [
                    {"content": '"theirs"', "disabled": False},
                    {"content": '"v1"', "disabled": False},
                    {"content": '"v2"', "disabled": False},
                ],
            },
            {
                "name": "_acme-challenge.www.example.com.",
                "type": "TXT",
                "ttl": 60,
                "changetype": "REPLACE",
                "records": [{"content": '"v3"', "disabled": False}],
            },
        ]
    ]
    assert provider.read_values("example.com", "_acme-challenge.example.com.") == {"theirs", "v1", "v2"}


def test_read_asks_for_one_rrset_and_ignores_disabled_and_other_names(provider, session):
    session.hold("_acme-challenge.example.com.", '"on"', '"off"', disabled=('"off"',))
    session.hold("_acme-challenge.www.example.com.", '"elsewhere"')
    assert provider.read_values("example.com", "_acme-challenge.EXAMPLE.com") == {"on"}
    method, url, kwargs = session.requests[-1]
    assert (method, url) == ("GET", ZONE_URL)
    assert kwargs["params"] == {"rrset_name": "_acme-challenge.example.com.", "rrset_type": "TXT"}
    assert provider.read_values("example.com", "_acme-challenge.nothing.example.com") == set()


def test_remove_keeps_other_values_then_deletes_the_rrset(provider, session):
    session.hold("_acme-challenge.example.com.", '"a"', '"b"', '"off"', disabled=('"off"',))
    provider.remove_values("example.com", {"_acme-challenge.example.com": ["a"]})
    assert session.rrsets["_acme-challenge.example.com."]["records"] == [
        {"content": '"b"', "disabled": False},
        {"content": '"off"', "disabled": True},
    ]
    provider.remove_values("example.com", {"_acme-challenge.example.com": ["b", "off"]})
    assert session.patches()[-1] == [{"name": "_acme-challenge.example.com.", "type": "TXT", "changetype": "DELETE"}]
    assert "_acme-challenge.example.com." not in session.rrsets


def test_nothing_to_change_sends_no_patch(provider, session):
    provider.remove_values("example.com", {"_acme-challenge.example.com": ["gone"]})
    assert session.patches() == []


def test_sync_records_through_the_provider(session):
    name = "_acme-challenge.example.com"
    session.hold(name + ".", '"kept"')
    added = sync_records([{"name": name, "values": ["x", "y"]}], [config()])
    assert added.changed and not added.errors and added.records[0]["added"] == ["x", "y"]
    assert not sync_records([{"name": name, "values": ["x"]}], [config()]).changed
    removed = sync_records([{"name": name, "values": ["x"]}], [config()], state="absent")
    assert removed.records[0]["after"] == ["kept", "y"]
    check = sync_records([{"name": name, "values": ["y"]}], [config()], state="absent", check_mode=True)
    assert check.changed and session.rrsets[name + "."]["records"][-1]["content"] == '"y"'


def test_api_key_goes_in_the_header_only(monkeypatch):
    provider = build_provider(config(validate_certs="no"))
    session = provider.api.session
    assert session.headers["X-API-Key"] == API_KEY
    assert session.verify is False
    assert provider.api.session is session


# ------------------------------------------------------------------ errors


def test_api_error_names_provider_record_and_powerdns_message(provider, session):
    session.queued = [
        FakeResponse(200, {"rrsets": []}),
        FakeResponse(422, {"error": "RRset _acme-challenge.www.example.com. IN TXT: Name is out of zone"}),
    ]
    with pytest.raises(ProviderError) as err:
        provider.add_values(
            "example.com", {"_acme-challenge.example.com": ["a"], "_acme-challenge.www.example.com": ["b"]}, 60
        )
    text = str(err.value)
    assert err.value.provider == "pdns" and err.value.record == "_acme-challenge.www.example.com"
    assert "HTTP 422" in text and "Name is out of zone" in text and API_KEY not in text


def test_bad_key_is_reported_without_the_key(provider, session):
    session.queued = [FakeResponse(401, text="Unauthorized")]
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", "_acme-challenge.example.com")
    assert "API key was not accepted" in str(err.value) and "401" in str(err.value)
    assert API_KEY not in str(err.value)


def test_a_message_quoting_the_key_is_scrubbed(provider, session):
    session.queued = [FakeResponse(400, {"error": "bad header %s" % API_KEY})]
    with pytest.raises(ProviderError) as err:
        provider.read_values("example.com", "_acme-challenge.example.com")
    assert API_KEY not in str(err.value) and "********" in str(err.value)


def test_missing_zone_says_which_zone_and_server(provider, session):
    session.queued = [FakeResponse(404, text="Not Found")]
    with pytest.raises(ProviderError, match=r"has no zone example\.com\. on server_id 'localhost' \(HTTP 404"):
        provider.read_values("example.com", "_acme-challenge.example.com")


def test_throttling_and_connection_errors_are_retried(provider, session):
    session.queued = [
        FakeResponse(429, {"error": "slow down"}, headers={"Retry-After": "2"}),
        requests.exceptions.ConnectionError("connection reset"),
    ]
    slept = []
    provider.api.sleep = slept.append
    assert provider.read_values("example.com", "_acme-challenge.example.com") == set()
    assert len(session.requests) == 3 and slept[0] >= 2


def test_retries_give_up_with_the_last_error(provider, session):
    session.queued = [FakeResponse(503, text="busy")] * 3
    with pytest.raises(ProviderError, match="HTTP 503: busy"):
        provider.read_values("example.com", "_acme-challenge.example.com")
    assert len(session.requests) == 3


def test_client_errors_are_not_retried(provider, session):
    session.queued = [FakeResponse(200, {"rrsets": []}), FakeResponse(422, {"error": "nope"})]
    with pytest.raises(ProviderError):
        provider.add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    assert len(session.requests) == 2


def test_an_answer_that_is_not_a_zone_is_an_error(provider, session):
    session.queued = [FakeResponse(200, text="<html>login</html>")]
    with pytest.raises(ProviderError, match="unexpected answer"):
        provider.read_values("example.com", "_acme-challenge.example.com")


def test_timeout_is_reported_with_the_limit(provider, session):
    session.queued = [requests.exceptions.ReadTimeout("read timed out")] * 3
    with pytest.raises(ProviderError, match=r"no answer from http://192\.0\.2\.80:8081 within 30s"):
        provider.read_values("example.com", "_acme-challenge.example.com")


# ------------------------------------------------------------------ configuration


def test_options_and_defaults():
    provider = build_provider(config(api_url="https://pdns.example.net:8443/api/v1/", timeout="5", server_id="ns1"))
    assert provider.api_url == "https://pdns.example.net:8443"
    assert provider.server_id == "ns1" and provider.timeout == 5 and provider.validate_certs is True
    assert provider._zone_url("Example.COM") == "https://pdns.example.net:8443/api/v1/servers/ns1/zones/example.com."
    assert PROVIDER_TYPES["powerdns"] is powerdns.PowerDnsProvider


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"api_url": None}, "api_url"),
        ({"api_key": ""}, "api_key"),
        ({"api_url": "ftp://192.0.2.80"}, "api_url"),
        ({"api_url": "192.0.2.80:8081"}, "api_url"),
        ({"api_url": "http://192.0.2.80:8081/?x=1"}, "api_url"),
        ({"server_id": "a/b"}, "server_id"),
        ({"timeout": 0}, "timeout"),
        ({"validate_certs": "maybe"}, "validate_certs"),
        ({"apikey": "x"}, "apikey"),
    ],
)
def test_bad_options_name_the_field(overrides, field):
    with pytest.raises(ProviderConfigError) as err:
        build_provider(config(**overrides))
    assert err.value.field == field and API_KEY not in str(err.value)


def test_credentials_in_the_url_are_refused_without_showing_them():
    with pytest.raises(ProviderConfigError) as err:
        build_provider(config(api_url="http://admin:hunter2@192.0.2.80:8081"))
    assert err.value.field == "api_url" and "hunter2" not in str(err.value)
    assert "must not hold credentials" in str(err.value)


def test_a_plain_http_url_needs_allow_plain_http():
    entry = config()
    del entry["allow_plain_http"]
    with pytest.raises(ProviderConfigError) as err:
        build_provider(entry)
    assert err.value.field == "api_url" and "provider 'pdns'" in str(err.value)
    assert "would travel in clear text" in str(err.value) and "allow_plain_http: true" in str(err.value)
    assert API_KEY not in str(err.value)
    assert build_provider(config(allow_plain_http="yes")).api_url == "http://192.0.2.80:8081"
    assert build_provider(dict(entry, api_url="https://192.0.2.80:8443")).allow_plain_http is False


def test_allow_plain_http_must_be_a_boolean():
    with pytest.raises(ProviderConfigError, match="'allow_plain_http' must be a boolean"):
        build_provider(config(allow_plain_http="sometimes"))


def test_tls_failure_does_not_advise_turning_verification_off():
    assert "validate_certs" not in powerdns.TLS_OPTION
