# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import (
    CertSpec,
    SpecError,
    certificate_problems,
    parse_certificates,
    parse_orders,
)


def test_valid_certificates_are_normalized():
    specs = parse_certificates(
        [
            {"name": "www", "names": ["Example.COM.", "www.example.com"]},
            {"name": "wild", "names": ["example.org", "*.example.org"], "key_type": "rsa2048", "profile": "shortlived"},
        ]
    )
    assert specs == [
        CertSpec(name="www", names=("example.com", "www.example.com"), key_type="ec256"),
        CertSpec(name="wild", names=("example.org", "*.example.org"), key_type="rsa2048", profile="shortlived"),
    ]


@pytest.mark.parametrize(
    "items, message",
    [
        (
            [{"name": "www", "names": ["*.*.example.com"]}],
            "certificate 'www': field 'names' value '*.*.example.com' has a wildcard",
        ),
        (
            [{"name": "www", "names": ["localhost"]}],
            "certificate 'www': field 'names' value 'localhost' is not a fully qualified",
        ),
        ([{"name": "www", "names": []}], "certificate 'www': field 'names' value [] must be a non-empty list"),
        (
            [{"name": "www", "names": ["a.test", "A.test."]}],
            "certificate 'www': field 'names' value 'A.test.' is listed twice",
        ),
        (
            [{"name": "www", "names": ["a.test"], "key_type": "ec521"}],
            "certificate 'www': field 'key_type' value 'ec521' is not one of",
        ),
        ([{"name": "../etc", "names": ["a.test"]}], "field 'name' value '../etc' must start with"),
        ([{"name": ".acme", "names": ["a.test"]}], "field 'name' value '.acme'"),
        ([{"name": "www\n", "names": ["a.test"]}], "certificate 'www\\n': field 'name' value 'www\\n' must start with"),
        ([{"name": "www", "names": ["192.0.2.1"]}], "field 'names' value '192.0.2.1' is an IP address"),
        ([{"name": "www", "names": ["::1"]}], "field 'names' value '::1' is an IP address"),
        (
            [{"name": "www", "names": ["xn--zz.example.test"]}],
            "field 'names' value 'xn--zz.example.test' has a label 'xn--zz' that is no valid IDNA",
        ),
        (
            [{"name": "www", "names": ["a.test"]}, {"name": "www", "names": ["b.test"]}],
            "certificate 'www': field 'name' value 'www' is used by two certificates",
        ),
        (
            [{"name": "www", "names": ["a.test"], "replaces": "no-dot-here"}],
            "certificate 'www': field 'replaces' value 'no-dot-here' is not an ARI certificate id",
        ),
        (
            [{"name": "www", "names": ["a.test"], "replaces": "aYhb+a4d.AIdl="}],
            "field 'replaces' value 'aYhb+a4d.AIdl=' is not an ARI certificate id",
        ),
    ],
)
def test_problems_name_certificate_field_and_value(items, message):
    with pytest.raises(SpecError) as error:
        parse_certificates(items)
    assert message in str(error.value)


def test_orders_keep_url_and_ignore_other_keys():
    specs = parse_orders(
        [
            {
                "name": "www",
                "names": ["a.test"],
                "key_type": "ec384",
                "order_url": "https://ca/o/1",
                "status": "pending",
                "records": [],
            },
            {"name": "bad", "names": ["b.test"], "order_url": None, "status": "failed"},
        ]
    )
    assert specs[0] == CertSpec(name="www", names=("a.test",), key_type="ec384", order_url="https://ca/o/1")
    assert specs[1].order_url is None


def test_replaces_is_kept_and_reported_by_certificate_problems():
    ident = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    spec = parse_certificates([{"name": "www", "names": ["a.test"], "replaces": ident}])[0]
    assert spec.replaces == ident
    assert parse_certificates([{"name": "www", "names": ["a.test"], "replaces": ""}])[0].replaces is None
    assert certificate_problems(0, {"name": "www", "names": ["a.test"], "replaces": 5}) == [
        "certificate 'www': field 'replaces' value 5 is not an ARI certificate id (base64url key identifier, "
        "'.', base64url serial number, as cert_expiry_facts reports it)"
    ]
