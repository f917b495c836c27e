# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route 53 provider: TXT quoting, change batches, zone choice, pacing, botocore's retries, waiting (stub client)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import MAX_ATTEMPTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Throttle
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import (
    ProviderConfigError,
    ProviderError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    build_provider,
    secret_values,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.route53 import (
    Route53Provider,
    route53_name,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.route53_changes import (
    add_change,
    remove_change,
    split_changes,
    txt_quote,
    txt_strings,
    txt_unquote,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.records import sync_records

KEY_ID = "AKIAUNITTESTKEY00001"
SECRET_KEY = "unit/test+secret+access+key+0000000000"
SESSION_TOKEN = "unit-test-session-token-value-123456"


def aws(**extra):
    config = {
        "name": "aws",
        "type": "route53",
        "zones": ["example.com"],
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET_KEY,
    }
    config.update(extra)
    return config


def throttling(operation="ChangeResourceRecordSets", code="Throttling"):
    return ClientError(
        {"Error": {"Code": code, "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )


class StubRoute53:
    """Just enough of the Route 53 API: zones, TXT record sets, changes, with queued failures."""

    def __init__(self, zones=None):
        self.zones = zones if zones is not None else [{"Id": "/hostedzone/ZPUBLIC", "Name": "example.com."}]
        self.rrsets: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.change_status = "INSYNC"
        self.statuses: list[str] = []

    def _enter(self, operation, params):
        self.calls.append((operation, params))
        queued = self.failures.get(operation)
        if queued:
            raise queued.pop(0)

    def count(self, operation):
        return sum(1 for name, _params in self.calls if name == operation)

    def list_hosted_zones_by_name(self, **params):
        self._enter("list_hosted_zones_by_name", params)
        wanted = route53_name(params["DNSName"])
        return {"HostedZones": [z for z in self.zones if route53_name(z["Name"]) >= wanted], "IsTruncated": False}

    def list_resource_record_sets(self, **params):
        self._enter("list_resource_record_sets", params)
        start = route53_name(params["StartRecordName"])
        names = sorted(name for name in self.rrsets if name >= start)
        return {"ResourceRecordSets": [self.rrsets[name] for name in names][: int(params["MaxItems"])]}

    def change_resource_record_sets(self, **params):
        self._enter("change_resource_record_sets", params)
        for change in params["ChangeBatch"]["Changes"]:
            rrset = change["ResourceRecordSet"]
            name = route53_name(rrset["Name"])
            if change["Action"] == "DELETE":
                assert self.rrsets[name] == rrset, "DELETE must name exactly what is there"
                del self.rrsets[name]
            else:
                self.rrsets[name] = dict(rrset, Name=name + ".")
        return {"ChangeInfo": {"Id": "/change/C%d" % len(self.calls), "Status": self.change_status}}

    def get_change(self, **params):
        self._enter("get_change", params)
        status = self.statuses.pop(0) if self.statuses else "INSYNC"
        return {"ChangeInfo": {"Id": params["Id"], "Status": status}}


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def make(stub, clock, **extra) -> Route53Provider:
    provider = build_provider(aws(**extra))
    provider._client = stub
    provider._throttle = Throttle(0)
    provider._sleep = clock.sleep
    provider._clock = clock
    return provider


def put(stub, name, values, ttl=300):
    stub.rrsets[name] = {
        "Name": name + ".",
        "Type": "TXT",
        "TTL": ttl,
        "ResourceRecords": [{"Value": txt_quote(value)} for value in values],
    }


# ------------------------------------------------------------------ quoting
@pytest.mark.parametrize(
    "value",
    [
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
        "two words  and a tab\there",
        'say "hi"',
        "back\\slash\\\\double",
        '\\"',
        "exämple ✓",
        "\x00\x1f\x7f",
        "x" * 255,
        "y" * 600,
        "é" * 200,
        "",
    ],
)
def test_quote_unquote_round_trip(value):
    quoted = txt_quote(value)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert txt_unquote(quoted) == value
    strings = txt_strings(quoted)
    assert all(len(chunk) <= 255 for chunk in strings)
    assert b"".join(strings) == value.encode("utf-8")


def test_quote_escapes_quotes_backslashes_and_non_ascii():
    assert txt_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert txt_quote("ä") == '"\\303\\244"'
    assert txt_quote("a b") == '"a b"'
    assert txt_quote("\n") == '"\\012"'


def test_long_values_are_split_into_255_byte_strings():
    quoted = txt_quote("a" * 300)
    assert quoted == '"%s" "%s"' % ("a" * 255, "a" * 45)
    # A multi-byte character split across two strings is whole again once joined.
    assert txt_unquote(txt_quote("a" * 254 + "é")) == "a" * 254 + "é"


def test_unquote_reads_what_route53_and_other_tools_write():
    assert txt_unquote('"abc" "def"') == "abcdef"
    assert txt_unquote('"v=spf1 include:_spf.example.com ~all"') == "v=spf1 include:_spf.example.com ~all"
    assert txt_unquote('"ex\\344mple"'.replace("\\344", "\\303\\244")) == "exämple"
    assert txt_unquote('"a\\"b"') == 'a"b'
    assert txt_unquote('"a\\\\b"') == "a\\b"
    assert txt_unquote("unquoted") == "unquoted"
    assert txt_unquote('"unterminated') == "unterminated"
    assert txt_unquote('"\\999"') == "999"  # not octal: the backslash only escapes the next character
    assert txt_strings('"a"   "b"') == [b"a", b"b"]


def test_route53_names_are_normalized():
    assert route53_name("\\052.Example.COM.") == "*.example.com"
    assert route53_name("_acme-challenge.www.example.com.") == "_acme-challenge.www.example.com"
    assert route53_name("example.com") == "example.com"


# ------------------------------------------------------------- change batches
def current(values, ttl=300, name="_acme-challenge.example.com."):
    return {"Name": name, "Type": "TXT", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}


def test_add_creates_the_set_when_there_is_none():
    change = add_change("_acme-challenge.example.com", None, ["a", "b"], 60)
    assert change == {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": "_acme-challenge.example.com.",
            "Type": "TXT",
            "TTL": 60,
            "ResourceRecords": [{"Value": '"a"'}, {"Value": '"b"'}],
        },
    }


def test_add_upserts_the_merged_set_keeping_other_values_verbatim():
    # The other value is kept exactly as Route 53 holds it, split strings and all.
    change = add_change("_acme-challenge.example.com", current(['"oth" "er"', '"b"']), ["b", "c"], 60)
    assert change["Action"] == "UPSERT"
    assert change["ResourceRecordSet"]["ResourceRecords"] == [
        {"Value": '"oth" "er"'},
        {"Value": '"b"'},
        {"Value": '"c"'},
    ]
    assert change["ResourceRecordSet"]["TTL"] == 60


def test_add_of_values_already_there_is_no_change():
    assert add_change("_acme-challenge.example.com", current(['"a"', '"b"']), ["b", "a", "a"], 60) is None
    change = add_change("_acme-challenge.example.com", None, ["a", "a"], 60)
    assert change["ResourceRecordSet"]["ResourceRecords"] == [{"Value": '"a"'}]


def test_remove_upserts_the_remainder_with_the_current_ttl():
    change = remove_change("_acme-challenge.example.com", current(['"a"', '"b"', '"c"'], ttl=120), ["b"])
    assert change == {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": "_acme-challenge.example.com.",
            "Type": "TXT",
            "TTL": 120,
            "ResourceRecords": [{"Value": '"a"'}, {"Value": '"c"'}],
        },
    }


def test_remove_of_the_last_values_deletes_exactly_what_is_there():
    there = current(['"b"', '"a"'], ttl=77)
    change = remove_change("_acme-challenge.example.com", there, ["a", "b", "z"])
    assert change == {"Action": "DELETE", "ResourceRecordSet": there}


def test_remove_of_absent_values_is_no_change():
    assert remove_change("_acme-challenge.example.com", None, ["a"]) is None
    assert remove_change("_acme-challenge.example.com", current(['"a"']), ["b"]) is None


def test_split_changes_keeps_small_batches_whole_and_respects_route53_limits():
    small = [add_change("_acme-challenge.n%d.example.com" % i, None, ["v%d" % i], 60) for i in range(50)]
    assert split_changes(small) == [small]
    # 600 UPSERTs of one value count 1200 records: two requests.
    many = [add_change("_acme-challenge.n%d.example.com" % i, None, ["v"], 60) for i in range(600)]
    batches = split_changes(many)
    assert [len(batch) for batch in batches] == [500, 100]
    # 32000 characters per request, UPSERT values counted twice.
    long = [add_change("_acme-challenge.n%d.example.com" % i, None, ["x" * 250], 60) for i in range(100)]
    batches = split_changes(long)
    assert sum(len(batch) for batch in batches) == 100 and len(batches) == 2
    assert split_changes([]) == []


# ------------------------------------------------------------------- zones
PRIVATE = {"Id": "/hostedzone/ZPRIVATE", "Name": "example.com.", "Config": {"PrivateZone": True}}
PUBLIC = {"Id": "/hostedzone/ZPUBLIC", "Name": "example.com.", "Config": {"PrivateZone": False}}
OTHER = {"Id": "/hostedzone/ZOTHER", "Name": "example.net.", "Config": {"PrivateZone": False}}


def test_public_zone_is_chosen_over_a_private_one_of_the_same_name(clock):
    stub = StubRoute53([PRIVATE, PUBLIC, OTHER])
    provider = make(stub, clock)
    put(stub, "_acme-challenge.example.com", ["a"])
    assert provider.read_values("example.com", "_acme-challenge.example.com") == {"a"}
    assert provider.read_values("example.com", "_acme-challenge.www.example.com") == set()
    reads = [params for name, params in stub.calls if name == "list_resource_record_sets"]
    assert {params["HostedZoneId"] for params in reads} == {"ZPUBLIC"}
    assert stub.count("list_hosted_zones_by_name") == 1  # cached per provider


def test_private_zone_true_picks_the_private_one(clock):
    stub = StubRoute53([PUBLIC, PRIVATE])
    provider = make(stub, clock, private_zone=True)
    assert provider._zone_id("example.com", None) == "ZPRIVATE"


def test_only_a_private_zone_is_an_error_unless_private_zone(clock):
    provider = make(StubRoute53([PRIVATE]), clock)
    with pytest.raises(ProviderError) as info:
        provider.read_values("example.com", "_acme-challenge.example.com")
    text = str(info.value)
    assert "'aws'" in text and "_acme-challenge.example.com" in text
    assert "no public hosted zone named example.com." in text and "ZPRIVATE" in text


def test_missing_and_ambiguous_zones_are_errors(clock):
    provider = make(StubRoute53([OTHER]), clock)
    with pytest.raises(ProviderError, match=r"no public hosted zone named example\.com\."):
        provider.read_values("example.com", "_acme-challenge.example.com")
    twin = dict(PUBLIC, Id="/hostedzone/ZTWIN")
    provider = make(StubRoute53([PUBLIC, twin]), clock)
    with pytest.raises(
        ProviderError, match="2 public hosted zones are named example.com. .ZPUBLIC, ZTWIN.; set hosted_zone_id"
    ):
        provider.read_values("example.com", "_acme-challenge.example.com")


def test_hosted_zone_id_skips_the_lookup(clock):
    stub = StubRoute53([])
    provider = make(stub, clock, hosted_zone_id={"Example.com.": "/hostedzone/ZGIVEN"})
    provider.read_values("example.com", "_acme-challenge.example.com")
    assert stub.count("list_hosted_zones_by_name") == 0
    assert stub.calls[0][1]["HostedZoneId"] == "ZGIVEN"


def test_zone_lookup_follows_pages(clock):
    class Paged(StubRoute53):
        def list_hosted_zones_by_name(self, **params):
            self._enter("list_hosted_zones_by_name", params)
            if "HostedZoneId" not in params:
                return {
                    "HostedZones": [PRIVATE],
                    "IsTruncated": True,
                    "NextDNSName": "example.com.",
                    "NextHostedZoneId": "ZP",
                }
            return {"HostedZones": [PUBLIC, OTHER], "IsTruncated": True, "NextDNSName": "x.", "NextHostedZoneId": "ZX"}

    stub = Paged()
    assert make(stub, clock)._zone_id("example.com", None) == "ZPUBLIC"
    assert stub.count("list_hosted_zones_by_name") == 2


# ---------------------------------------------------------------- reading
def test_read_ignores_other_names_types_and_routing_policy_sets(clock):
    stub = StubRoute53()
    stub.rrsets = {
        "_acme-challenge.example.com": {
            "Name": "_acme-challenge.example.com.",
            "Type": "TXT",
            "SetIdentifier": "weighted-1",
            "TTL": 60,
            "ResourceRecords": [{"Value": '"weighted"'}],
        },
        "_acme-challenge.example.com~": current(['"simple"']),
        "_acme-challenge.x.example.com": current(['"other"'], name="_acme-challenge.x.example.com."),
    }
    provider = make(stub, clock)
    assert provider.read_values("example.com", "_acme-challenge.example.com") == {"simple"}
    assert provider.read_values("example.com", "_acme-challenge.y.example.com") == set()
    params = [p for name, p in stub.calls if name == "list_resource_record_sets"][0]
    assert params["StartRecordName"] == "_acme-challenge.example.com." and params["StartRecordType"] == "TXT"


# ---------------------------------------------------------- writing in batches
def test_all_records_of_a_zone_go_in_one_change(clock):
    stub = StubRoute53()
    put(stub, "_acme-challenge.b.example.com", ["keep"])
    provider = make(stub, clock)
    provider.add_values(
        "example.com",
        {
            "_acme-challenge.a.example.com": ["a1", "a2"],
            "_acme-challenge.b.example.com": ["b1"],
            "_acme-challenge.c.example.com": ["c1"],
        },
        60,
    )
    assert stub.count("change_resource_record_sets") == 1
    batch = [p for name, p in stub.calls if name == "change_resource_record_sets"][0]
    assert batch["HostedZoneId"] == "ZPUBLIC" and len(batch["ChangeBatch"]["Changes"]) == 3
    assert provider.read_values("example.com", "_acme-challenge.b.example.com") == {"keep", "b1"}

    provider.remove_values(
        "example.com",
        {"_acme-challenge.a.example.com": ["a1", "a2"], "_acme-challenge.b.example.com": ["b1"]},
    )
    changes = [p for name, p in stub.calls if name == "change_resource_record_sets"][1]["ChangeBatch"]["Changes"]
    assert [change["Action"] for change in changes] == ["DELETE", "UPSERT"]
    assert provider.read_values("example.com", "_acme-challenge.a.example.com") == set()
    assert provider.read_values("example.com", "_acme-challenge.b.example.com") == {"keep"}


def test_nothing_to_change_sends_no_change(clock):
    stub = StubRoute53()
    put(stub, "_acme-challenge.example.com", ["a"])
    provider = make(stub, clock)
    provider.add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    provider.remove_values("example.com", {"_acme-challenge.example.com": ["zzz"]})
    assert stub.count("change_resource_record_sets") == 0


def test_sync_records_drives_one_change_per_zone(clock):
    stub = StubRoute53()

    def factory(config):
        return make(stub, clock) if config["type"] == "route53" else build_provider(config)

    records = [{"name": "_acme-challenge.n%d.example.com" % i, "values": ["v%d" % i]} for i in range(5)]
    result = sync_records(records, [aws()], factory=factory)
    assert result.changed and not result.errors
    assert stub.count("change_resource_record_sets") == 1
    again = sync_records(records, [aws()], factory=factory)
    assert not again.changed and stub.count("change_resource_record_sets") == 1


# ------------------------------------------------------------- waiting INSYNC
def test_waits_until_the_change_is_insync(clock):
    stub = StubRoute53()
    stub.change_status = "PENDING"
    stub.statuses = ["PENDING", "PENDING", "INSYNC"]
    provider = make(stub, clock)
    provider.add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    assert stub.count("get_change") == 3
    assert clock.slept == [1.0, 2.0, 4.0]
    assert [p["Id"] for name, p in stub.calls if name == "get_change"] == ["/change/C3"] * 3


def test_insync_already_or_not_waiting_needs_no_poll(clock):
    stub = StubRoute53()
    make(stub, clock).add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    assert stub.count("get_change") == 0
    stub.change_status = "PENDING"
    make(stub, clock, wait_insync=False).add_values("example.com", {"_acme-challenge.example.com": ["b"]}, 60)
    assert stub.count("get_change") == 0


def test_wait_is_bounded_by_wait_timeout(clock):
    stub = StubRoute53()
    stub.change_status = "PENDING"
    stub.statuses = ["PENDING"] * 1000
    provider = make(stub, clock, wait_timeout=30)
    with pytest.raises(ProviderError, match=r"still PENDING after 30 seconds \(wait_timeout\)"):
        provider.add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    assert sum(clock.slept) == pytest.approx(30)
    assert max(clock.slept) <= 10


# ------------------------------------------------------- throttling and errors
def test_throttling_is_retried_by_botocore_with_backoff(monkeypatch):
    """The client retries throttling (botocore's standard mode, MAX_ATTEMPTS in all), configured once."""
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    client = build_provider(aws())._get_client()
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    adaptive = build_provider(aws(name="a", aws_config={"retries": {"mode": "adaptive"}}))._get_client()
    assert adaptive.meta.config.retries == {"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS}


def test_throttling_that_botocore_gave_up_on_is_not_retried_again(clock):
    stub = StubRoute53()
    stub.failures["list_resource_record_sets"] = [throttling("ListResourceRecordSets") for _n in range(10)]
    with pytest.raises(ProviderError, match="ListResourceRecordSets: Throttling: Rate exceeded"):
        make(stub, clock).read_values("example.com", "_acme-challenge.example.com")
    assert stub.count("list_resource_record_sets") == 1 and clock.slept == []


def test_aws_errors_name_provider_record_and_code_but_no_credentials(clock):
    stub = StubRoute53()
    denied = ClientError(
        {
            "Error": {
                "Code": "AccessDenied",
                "Message": "not authorized; key %s secret %s token %s" % (KEY_ID, SECRET_KEY, SESSION_TOKEN),
            }
        },
        "ChangeResourceRecordSets",
    )
    stub.failures["change_resource_record_sets"] = [denied]
    provider = make(stub, clock, aws_session_token=SESSION_TOKEN)
    with pytest.raises(ProviderError) as info:
        provider.add_values("example.com", {"_acme-challenge.example.com": ["a"]}, 60)
    text = str(info.value)
    assert text.startswith(
        "provider 'aws', record '_acme-challenge.example.com': ChangeResourceRecordSets: AccessDenied:"
    )
    assert KEY_ID not in text and SECRET_KEY not in text and SESSION_TOKEN not in text
    assert stub.count("change_resource_record_sets") == 1  # not retried


# ---------------------------------------------------------------- options
def test_defaults_and_options():
    provider = build_provider(aws())
    assert provider.region == "us-east-1" and provider.endpoint_url is None
    assert provider.private_zone is False and provider.wait_insync is True and provider.wait_timeout == 300
    assert provider._client is None  # made on first use, never at construction
    provider = build_provider(
        aws(
            region="eu-west-1",
            endpoint_url="http://127.0.0.1:5000",
            allow_plain_http=True,
            private_zone="yes",
            wait_insync="false",
            wait_timeout="60",
        )
    )
    assert (provider.region, provider.endpoint_url) == ("eu-west-1", "http://127.0.0.1:5000")
    assert provider.private_zone is True and provider.wait_insync is False and provider.wait_timeout == 60
    chain = build_provider({"name": "aws", "type": "route53", "zones": ["example.com"], "aws_profile": "dns"})
    assert chain.profile == "dns" and chain.access_key_id is None


@pytest.mark.parametrize("field", ["endpoint_url", "aws_endpoint_url"])
def test_a_plain_http_endpoint_needs_allow_plain_http(field):
    with pytest.raises(ProviderConfigError, match="'%s' is a plain http:// URL" % field) as err:
        build_provider(aws(**{field: "http://127.0.0.1:5000"}))
    assert SECRET_KEY not in str(err.value) and KEY_ID not in str(err.value)
    with pytest.raises(ProviderConfigError, match="must not hold credentials") as err:
        build_provider(aws(**{field: "https://me:hunter2@route53.example"}))
    assert "hunter2" not in str(err.value)


def test_amazon_aws_names_work_as_the_former_ones():
    config = {"name": "aws", "type": "route53", "zones": ["example.com"], "access_key": KEY_ID}
    provider = build_provider(dict(config, secret_key=SECRET_KEY, aws_region="eu-west-1", validate_certs=False))
    assert (provider.access_key_id, provider.region) == (KEY_ID, "eu-west-1")
    assert provider._session._secret_access_key == SECRET_KEY and provider._session.verify is False
    profile = build_provider({"name": "p", "type": "route53", "zones": ["example.com"], "profile": "dns"})
    assert profile.profile == "dns"
    with pytest.raises(ProviderConfigError) as info:
        build_provider(dict(config, secret_key=SECRET_KEY, profile="dns"))
    assert (info.value.field, info.value.reason) == ("profile", "cannot be used together with access_key")
    with pytest.raises(ProviderConfigError) as info:
        build_provider(dict(config, aws_access_key_id=KEY_ID, secret_key=SECRET_KEY))
    assert info.value.field == "aws_access_key_id" and "set only one of access_key, aws_access_key_id" in str(
        info.value
    )
    assert KEY_ID not in str(info.value)


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"aws_secret_access_key": None}, "aws_secret_access_key"),
        ({"aws_access_key_id": None}, "aws_access_key_id"),
        ({"aws_access_key_id": None, "aws_secret_access_key": None, "aws_session_token": "t"}, "aws_session_token"),
        ({"aws_profile": "dns"}, "aws_profile"),
        ({"endpoint_url": "127.0.0.1:5000"}, "endpoint_url"),
        ({"private_zone": "maybe"}, "private_zone"),
        ({"wait_timeout": 0}, "wait_timeout"),
        ({"hosted_zone_id": "Z123"}, "hosted_zone_id"),
        ({"hosted_zone_id": {"example.net": "Z123"}}, "hosted_zone_id"),
        ({"hosted_zone_id": {"example.com": "not an id!"}}, "hosted_zone_id"),
        ({"region": ""}, "region"),
        ({"aws_default_region": "us-east-1"}, "aws_default_region"),
        ({"aws_access_key_id": None, "aws_secret_access_key": None, "access_key": KEY_ID}, "secret_key"),
        ({"aws_secret_key": SECRET_KEY}, "aws_secret_key"),
        ({"region": "us-east-1", "aws_region": "eu-west-1"}, "aws_region"),
        ({"validate_certs": "maybe"}, "validate_certs"),
        ({"aws_config": "adaptive"}, "aws_config"),
    ],
)
def test_bad_options_name_the_field(extra, field):
    with pytest.raises(ProviderConfigError) as info:
        build_provider(aws(**extra))
    assert info.value.field == field
    assert SECRET_KEY not in str(info.value)


def test_secret_values_are_never_shown_in_config_errors():
    with pytest.raises(ProviderConfigError) as info:
        build_provider(aws(aws_secret_access_key=["not", "a", "string"]))
    assert info.value.field == "aws_secret_access_key" and "not" not in str(info.value)


def test_registered_with_secrets_for_masking():
    assert registry.PROVIDER_TYPES["route53"] is Route53Provider
    secrets = secret_values([aws(aws_session_token=SESSION_TOKEN)])
    assert {KEY_ID, SECRET_KEY, SESSION_TOKEN} <= secrets


def test_throttle_is_shared_per_credentials_and_endpoint():
    one, two = build_provider(aws(name="one")), build_provider(aws(name="two"))
    assert one._throttle is two._throttle
    assert one._throttle.interval == pytest.approx(0.2)
    other = build_provider(aws(name="three", endpoint_url="http://127.0.0.1:1", allow_plain_http=True))
    assert other._throttle is not one._throttle
