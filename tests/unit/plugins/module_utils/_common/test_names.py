# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common import names


@pytest.mark.parametrize(
    "name",
    ["example.test", "www.example.test", "*.example.test", "a-b.c.example.test", "Example.TEST.", "xn--bcher-kva.test"],
)
def test_valid_names(name):
    assert names.name_error(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("localhost", "fully qualified"),
        ("www.*.example.test", "wildcard"),
        ("*foo.example.test", "wildcard"),
        ("*.*.example.test", "wildcard"),
        ("-bad.example.test", "invalid label"),
        ("bad_.example.test", "invalid label"),
        ("a" * 64 + ".test", "invalid label"),
        ("sp ace.example.test", "invalid label"),
    ],
)
def test_invalid_names(name, reason):
    assert reason in names.name_error(name)


def test_idna_names_are_normalized():
    assert names.normalize("Bücher.Test.") == "xn--bcher-kva.test"


def test_wildcard_and_apex_share_one_challenge_name():
    assert names.challenge_name("*.example.test") == "_acme-challenge.example.test"
    assert names.challenge_name("example.test") == "_acme-challenge.example.test"


def test_longest_zone_prefers_the_deepest_delegation():
    zones = ["example2.test", "deep.sub.example2.test", "example.test"]
    assert names.longest_zone("_acme-challenge.api.deep.sub.example2.test", zones) == "deep.sub.example2.test"
    assert names.longest_zone("_acme-challenge.sub.example2.test", zones) == "example2.test"
    assert names.longest_zone("_acme-challenge.notexample.test", zones) is None
    assert names.longest_zone("www.other.test", zones) is None


def test_relative_name():
    assert names.relative_name("_acme-challenge.www.example.test", "example.test") == "_acme-challenge.www"
    assert names.relative_name("example.test.", "example.test") == "@"


def test_owner_name_error_allows_underscore_labels():
    assert names.owner_name_error("_acme-challenge.www.example.com") is None
    assert names.owner_name_error("internal") is None
    assert names.owner_name_error("bad..name") is not None
    assert names.owner_name_error("-x.example.com") is not None
    assert names.owner_name_error(42) == "must be a string"


@pytest.mark.parametrize("name", ["www", "www.example.test", "a_b-c.1", "9", "x" * 128])
def test_certificate_names_that_can_name_a_folder(name):
    assert names.certificate_name_error(name) is None


@pytest.mark.parametrize(
    "name",
    ["www\n", "-x\n", "-x", ".hidden", "..", "../outside", "a/b", "a..b", "tab\tname", "nul\0", "", None, 7, "x" * 129],
)
def test_certificate_names_that_are_refused_with_one_rule(name):
    """Full match: '$' would accept 'www\\n'; separators, '..', a leading '-' or '.' and control characters fail."""
    assert names.certificate_name_error(name) == names.CERT_NAME_RULE


@pytest.mark.parametrize("name", ["192.0.2.1", "::1", "2001:db8::1", "[2001:db8::1]", "192.0.2.1."])
def test_ip_addresses_are_refused_locally(name):
    assert names.name_error(name) == "is an IP address: DNS-01 validates DNS names only"


@pytest.mark.parametrize("name", ["xn--zz.example.test", "www.xn--abc.test", "XN--ZZ.example.test"])
def test_invalid_punycode_is_refused_locally(name):
    assert "no valid IDNA (punycode) encoding" in names.name_error(name)


def test_valid_punycode_and_numeric_labels_pass():
    assert names.name_error("xn--ls8h.example.test") is None
    assert names.name_error("1.2.3.example.test") is None
    assert names.name_error("2.0.192.in-addr.arpa") is None


def test_owner_labels_use_a_full_match():
    assert "invalid label" in names.owner_name_error("_acme-challenge.www\n.example.test")
