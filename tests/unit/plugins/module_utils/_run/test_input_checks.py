# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run import input_checks

PROVIDERS = [
    {"name": "bind", "type": "rfc2136", "zones": ["example.test", "deep.sub.example2.test"], "key_secret": "s3cret"},
]


def test_good_input_has_no_errors():
    certs = [
        {"name": "www", "names": ["example.test", "www.example.test"]},
        {"name": "wild", "names": ["example.test", "*.example.test"], "key_type": "rsa2048"},
        {"name": "deep", "names": ["api.deep.sub.example2.test"]},
    ]
    assert input_checks.certificate_errors(certs, PROVIDERS) == []


def test_name_in_no_zone_names_certificate_and_name():
    errors = input_checks.certificate_errors([{"name": "x", "names": ["www.other.test"]}], PROVIDERS)
    assert errors == [
        "certificate 'x': field 'names' value 'www.other.test' lies in no zone of letsencrypt_dns_providers"
    ]


def test_subzone_of_unlisted_parent_is_not_covered():
    errors = input_checks.certificate_errors([{"name": "x", "names": ["www.sub.example2.test"]}], PROVIDERS)
    assert "'www.sub.example2.test' lies in no zone" in errors[0]


def test_every_bad_certificate_is_reported_at_once():
    certs = [
        {"name": "wild", "names": ["www.*.example.test"]},
        {"name": "label", "names": ["-x.example.test"]},
        {"name": "fine", "names": ["fine.example.test"]},
    ]
    errors = input_checks.certificate_errors(certs, PROVIDERS)
    assert len(errors) == 2
    assert "certificate 'wild': field 'names' value 'www.*.example.test' has a wildcard" in errors[0]
    assert "certificate 'label': field 'names' value '-x.example.test' has an invalid label" in errors[1]


def test_duplicates_and_key_type():
    certs = [
        {"name": "a", "names": ["example.test", "EXAMPLE.test."], "key_type": "dsa"},
        {"name": "a", "names": ["www.example.test"]},
    ]
    errors = input_checks.certificate_errors(certs, PROVIDERS)
    assert any("field 'key_type' value 'dsa'" in error for error in errors)
    assert any("is listed twice" in error for error in errors)
    assert any("certificate 'a': field 'name' value 'a' is used by two certificates" in error for error in errors)


def test_provider_errors_refuse_unknown_types_options_and_plain_http():
    providers = [
        {"name": "pdns", "type": "powerdns", "zones": ["example.test"], "api_url": "https://p", "apikey": "S3CRET"},
        {"name": "bind", "type": "rfc2136", "zones": ["example.test"], "server": "s", "key_secert": "S3CRET"},
        {"name": "b9", "type": "bind9", "zones": ["example.test"], "tsig": "S3CRET"},
        {"name": "web", "type": "powerdns", "zones": ["example.test"], "api_url": "http://p", "api_key": "S3CRET"},
        {"name": "cred", "type": "cloudflare", "zones": ["example.test"], "api_url": "https://u:S3CRET@c"},
    ]
    errors = input_checks.provider_errors(providers)
    assert all("S3CRET" not in error for error in errors)
    assert errors == [
        "provider 'pdns': field 'apikey' is not an option of type 'powerdns', did you mean 'api_key'? (known: "
        "allow_plain_http, api_key, api_url, name, server_id, timeout, type, validate_certs, zones)",
        "provider 'bind': field 'key_secert' is not an option of type 'rfc2136', did you mean 'key_secret'? (known: "
        "key_algorithm, key_name, key_secret, name, port, server, timeout, type, zones)",
        "provider 'b9': field 'type' value 'bind9' is not a known provider type (known: cloudflare, hook, manual, "
        "powerdns, rackspace, rfc2136, route53)",
        "provider 'web': field 'api_url' is a plain http:// URL: the API key or token would travel in clear text; "
        "use https://, or set allow_plain_http: true for a test server on a trusted network",
        "provider 'cred': field 'api_url' must not hold credentials (user:password@); the secret goes in its own "
        "option, which is masked",
    ]
    providers[3]["allow_plain_http"] = True
    assert len(input_checks.provider_errors(providers)) == 4


def test_provider_errors_never_echo_secrets():
    providers = [{"name": "bind", "type": "rfc2136", "zones": "example.test", "key_secret": "s3cret"}]
    errors = input_checks.certificate_errors([{"name": "x", "names": ["www.example.test"]}], providers)
    assert errors and all("s3cret" not in error for error in errors)
    assert "provider 'bind': field 'zones'" in errors[0]


def test_unsafe_certificate_name_is_refused():
    errors = input_checks.certificate_errors([{"name": "../etc", "names": ["www.example.test"]}], PROVIDERS)
    assert "field 'name' value '../etc'" in errors[0]


def test_with_defaults_fills_key_type_and_drops_nulls():
    certs = [{"name": "a", "names": ["x.example.test"], "key_type": None, "profile": None}, {"name": "b", "names": []}]
    certs[1]["key_type"] = "rsa2048"
    assert input_checks.with_defaults(certs, "ec384") == [
        {"name": "a", "names": ["x.example.test"], "key_type": "ec384"},
        {"name": "b", "names": [], "key_type": "rsa2048"},
    ]


def test_problems_of_one_named_certificate_refuse_only_it():
    certs = [
        {"name": "fine", "names": ["fine.example.test"]},
        {"name": "bad", "names": ["www.other.test", "-x.example.test"], "key_type": "dsa"},
        {"name": "twice", "names": ["a.example.test"]},
        {"name": "twice", "names": ["b.example.test"]},
    ]
    problems = input_checks.input_problems(certs, PROVIDERS)
    assert problems["errors"] == []
    assert [entry["name"] for entry in problems["refused"]] == ["bad", "twice"]
    assert all(entry["stage"] == "validation" for entry in problems["refused"])
    bad = problems["refused"][0]["error"]
    assert "field 'key_type' value 'dsa'" in bad and "'www.other.test' lies in no zone" in bad
    assert (
        "certificate 'twice': field 'name' value 'twice' is used by two certificates" in problems["refused"][1]["error"]
    )
    assert input_checks.certificate_errors(certs, PROVIDERS) == [entry["error"] for entry in problems["refused"]]


def test_what_no_certificate_name_can_hold_stops_the_run():
    certs = ["www", {"names": ["www.example.test"]}, {"name": "-bad", "names": ["www.example.test"]}]
    problems = input_checks.input_problems(certs, PROVIDERS)
    assert problems["refused"] == []
    assert problems["errors"][0] == "letsencrypt_dns_certificates[0] must be a mapping"
    assert "certificate #1: field 'name' value None" in problems["errors"][1]
    assert "field 'name' value '-bad'" in problems["errors"][2]


def test_provider_problems_stop_the_run_and_zones_are_left_to_the_zone_check():
    providers = [{"name": "bind", "type": "rfc2136", "zones": []}]
    problems = input_checks.input_problems([{"name": "x", "names": ["www.other.test"]}], providers)
    assert problems == {"errors": ["provider 'bind': field 'zones' must be a non-empty list, got []"], "refused": []}
    unchecked = input_checks.input_problems([{"name": "x", "names": ["www.other.test"]}], PROVIDERS, check_zones=False)
    assert unchecked == {"errors": [], "refused": []}
