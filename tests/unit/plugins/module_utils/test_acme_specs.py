# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils.acme_specs import (
    CertSpec,
    SpecError,
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
        (
            [{"name": "www", "names": ["a.test"]}, {"name": "www", "names": ["b.test"]}],
            "certificate 'www': field 'name' value 'www' is used by two certificates",
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
