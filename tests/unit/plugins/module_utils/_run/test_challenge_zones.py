# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.cname import DelegationError
from ansible_collections.certfleet.acme.plugins.module_utils._run.challenge_zones import refused_certificates

ZONES = ["example.test", "validation.test"]
CHAINS = {
    "_acme-challenge.www.example.test": ["_acme-challenge.www.example.test"],
    "_acme-challenge.shop.customer.test": ["_acme-challenge.shop.customer.test", "shop.validation.test"],
    "_acme-challenge.lost.example.test": ["_acme-challenge.lost.example.test", "lost.elsewhere.test"],
    "_acme-challenge.nowhere.test": ["_acme-challenge.nowhere.test"],
}


def resolve(name):
    if name == "_acme-challenge.broken.example.test":
        raise DelegationError("cannot look up the CNAME of %s: timed out" % name)
    return CHAINS[name]


def check(certificates, follow=True):
    return refused_certificates(certificates, ZONES, follow_cnames=follow, resolve=resolve)


def test_names_in_a_zone_directly_or_by_cname_are_accepted():
    result = check([{"name": "www", "names": ["www.example.test"]}, {"name": "shop", "names": ["shop.customer.test"]}])
    assert result == {
        "refused": [],
        "delegations": {"_acme-challenge.shop.customer.test": "shop.validation.test"},
    }


def test_each_refused_certificate_names_every_name_it_cannot_serve():
    result = check(
        [
            {"name": "good", "names": ["www.example.test"], "key_type": "rsa2048"},
            {"name": "bad", "names": ["Nowhere.test", "lost.example.test", "www.example.test"]},
            {"name": "flaky", "names": ["broken.example.test"]},
        ]
    )
    assert result["refused"] == [
        {
            "name": "bad",
            "stage": "validation",
            "error": "certificate 'bad': field 'names' value 'lost.example.test': _acme-challenge.lost.example.test is "
            "delegated by CNAME to lost.elsewhere.test, which lies in no zone of the providers (example.test, "
            "validation.test): a CNAME target must lie below a configured zone; "
            "certificate 'bad': field 'names' value 'Nowhere.test': _acme-challenge.nowhere.test lies in no zone of "
            "the providers (example.test, validation.test)",
        },
        {
            "name": "flaky",
            "stage": "validation",
            "error": "certificate 'flaky': field 'names' value 'broken.example.test': cannot look up the CNAME of "
            "_acme-challenge.broken.example.test: timed out",
        },
    ]


def test_without_cname_following_nothing_is_looked_up():
    result = refused_certificates(
        [{"name": "shop", "names": ["shop.customer.test"]}, {"name": "www", "names": ["*.example.test"]}],
        ZONES,
        follow_cnames=False,
        resolve=lambda name: pytest.fail("looked up %s" % name),
    )
    assert [entry["name"] for entry in result["refused"]] == ["shop"]
    assert "_acme-challenge.shop.customer.test lies in no zone" in result["refused"][0]["error"]


@pytest.mark.parametrize(
    "certificates, message",
    [
        ("www", "certificates must be a list, got str"),
        ([{"names": ["www.example.test"]}], "certificates[0]: field 'name' is missing or not a string"),
        ([{"name": "www", "names": []}], "certificate 'www': field 'names' value [] must be a non-empty list"),
        ([{"name": "www", "names": [3]}], "certificate 'www': field 'names' value [3] must be a non-empty list"),
    ],
)
def test_bad_entries_name_the_field(certificates, message):
    with pytest.raises(ValueError) as err:
        check(certificates)
    assert message in str(err.value)
