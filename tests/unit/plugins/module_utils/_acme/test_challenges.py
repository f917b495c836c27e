# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import hashlib

import josepy as jose
import pytest
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.certfleet.acme.plugins.module_utils._acme.challenges import (
    authorization_records,
    group_records,
    merge_records,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import CertificateFailure

ACCOUNT_KEY = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def authz(value, status="pending", wildcard=False, token="tok", challenge_status="pending", error=None, types=None):
    challenges = []
    for typ in types or ("http-01", "dns-01"):
        challenge = {"type": typ, "url": "https://ca/chall/%s/%s" % (value, typ), "token": token.ljust(43, "A")}
        challenge["status"] = challenge_status
        if error and typ == "dns-01":
            challenge["error"] = error
        challenges.append(challenge)
    document = {"identifier": {"type": "dns", "value": value}, "status": status, "challenges": challenges}
    if wildcard:
        document["wildcard"] = True
    return messages.Authorization.from_json(document)


def expected_value(token):
    thumbprint = jose.b64encode(ACCOUNT_KEY.thumbprint()).decode()
    digest = hashlib.sha256(("%s.%s" % (token.ljust(43, "A"), thumbprint)).encode()).digest()
    return jose.b64encode(digest).decode()


def test_pending_authorization_gives_its_dns01_value():
    pairs = authorization_records(authz("www.example.org", token="a"), ACCOUNT_KEY)
    assert pairs == [("_acme-challenge.www.example.org", expected_value("a"))]


def test_valid_authorization_gives_no_record():
    assert authorization_records(authz("www.example.org", status="valid"), ACCOUNT_KEY) == []


def test_wildcard_and_apex_make_one_record_with_two_values():
    pairs = authorization_records(authz("example.org", token="apex"), ACCOUNT_KEY)
    pairs += authorization_records(authz("example.org", wildcard=True, token="wild"), ACCOUNT_KEY)
    records = group_records(pairs)
    assert records == [
        {"name": "_acme-challenge.example.org", "txt_values": sorted([expected_value("apex"), expected_value("wild")])}
    ]


def test_grouping_sorts_names_and_drops_repeated_values():
    records = group_records(
        [("_acme-challenge.b.test", "1"), ("_acme-challenge.a.test", "2"), ("_acme-challenge.B.test.", "1")]
    )
    assert records == [
        {"name": "_acme-challenge.a.test", "txt_values": ["2"]},
        {"name": "_acme-challenge.b.test", "txt_values": ["1"]},
    ]


def test_merge_across_orders_by_name():
    first = [{"name": "_acme-challenge.example.org", "txt_values": ["1"]}]
    second = [
        {"name": "_acme-challenge.example.org", "txt_values": ["2"]},
        {"name": "_acme-challenge.x.test", "txt_values": ["3"]},
    ]
    assert merge_records([first, second, []]) == [
        {"name": "_acme-challenge.example.org", "txt_values": ["1", "2"]},
        {"name": "_acme-challenge.x.test", "txt_values": ["3"]},
    ]


def test_invalid_authorization_fails_with_its_problem():
    error = {"type": "urn:ietf:params:acme:error:unauthorized", "detail": "no TXT record"}
    with pytest.raises(CertificateFailure) as failure:
        authorization_records(authz("www.example.org", status="invalid", error=error), ACCOUNT_KEY)
    assert failure.value.problem == {
        "type": "urn:ietf:params:acme:error:unauthorized",
        "detail": "no TXT record",
        "identifier": {"type": "dns", "value": "www.example.org"},
    }


def test_missing_dns01_challenge_fails():
    with pytest.raises(CertificateFailure, match="no dns-01"):
        authorization_records(authz("www.example.org", types=("http-01",)), ACCOUNT_KEY)
