# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 provider: the UPDATE messages it builds and how it reads answers (no server)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import rfc2136
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.txt import rdata_value

SECRET = "c2VjcmV0LXRzaWcta2V5LXZhbHVlLTEyMzQ1Njc4OTA="


@pytest.fixture
def provider():
    return build_provider(
        {
            "name": "bind",
            "type": "rfc2136",
            "zones": ["example.com"],
            "server": "192.0.2.53",
            "port": 5353,
            "key_name": "acme-key",
            "key_secret": SECRET,
        }
    )


@pytest.fixture
def sent(monkeypatch):
    """Capture what would go to the server; answer with the queued rcode/answer."""
    state = {"messages": [], "rcode": dns.rcode.NOERROR, "answer": [], "aa": True}

    def fake_tcp(message, where, timeout=None, port=53):
        state["messages"].append((message, where, port))
        response = dns.message.make_response(message)
        response.set_rcode(state["rcode"])
        if state["aa"]:
            response.flags |= dns.flags.AA
        response.answer = list(state["answer"])
        return response

    monkeypatch.setattr(rfc2136.dns.query, "tcp", fake_tcp)
    return state


def _update_rrs(message):
    """(name, deleting class, ttl, value) per RR of the update section."""
    return sorted(
        (rrset.name.to_text(), rrset.deleting, rrset.ttl, rdata.to_text())
        for rrset in message.update
        for rdata in rrset
    )


def test_add_sends_one_signed_update_with_rr_level_adds(provider, sent):
    provider.add_values(
        "example.com", {"_acme-challenge.example.com": ["v1", "v2"], "_acme-challenge.www.example.com": ["v3"]}, 60
    )
    assert len(sent["messages"]) == 1
    message, where, port = sent["messages"][0]
    assert (where, port) == ("192.0.2.53", 5353)
    assert message.had_tsig and message.keyname.to_text() == "acme-key."
    assert message.zone[0].name.to_text() == "example.com."
    assert _update_rrs(message) == [
        ("_acme-challenge.example.com.", None, 60, '"v1"'),
        ("_acme-challenge.example.com.", None, 60, '"v2"'),
        ("_acme-challenge.www.example.com.", None, 60, '"v3"'),
    ]


def test_remove_deletes_single_rrs_never_the_rrset(provider, sent):
    provider.remove_values("example.com", {"_acme-challenge.example.com": ["v1"]})
    (message, _w, _p) = sent["messages"][0]
    # Class NONE with rdata deletes this one RR (RFC 2136 2.5.4); class ANY would drop the whole RRset.
    assert _update_rrs(message) == [("_acme-challenge.example.com.", dns.rdataclass.NONE, 0, '"v1"')]


def test_big_batches_are_split(provider, sent, monkeypatch):
    monkeypatch.setattr(rfc2136, "MAX_CHANGES_PER_UPDATE", 2)
    provider.add_values("example.com", {"a.example.com": ["1", "2", "3"], "b.example.com": ["4"]}, 60)
    assert len(sent["messages"]) == 2


def test_refused_update_raises_with_the_rcode(provider, sent):
    sent["rcode"] = dns.rcode.REFUSED
    with pytest.raises(ProviderError) as err:
        provider.add_values("example.com", {"_acme-challenge.example.com": ["v1"]}, 60)
    assert "REFUSED" in str(err.value) and err.value.provider == "bind"
    assert err.value.record == "_acme-challenge.example.com"
    assert SECRET not in str(err.value)


def test_read_values_joins_strings_and_filters_by_name(provider, sent):
    sent["answer"] = [
        dns.rrset.from_text("_acme-challenge.example.com.", 60, "IN", "TXT", '"v1"', '"part1" "part2"'),
        dns.rrset.from_text("other.example.com.", 60, "IN", "TXT", '"nope"'),
    ]
    assert provider.read_values("example.com", "_acme-challenge.example.com") == {"v1", "part1part2"}
    query = sent["messages"][0][0]
    assert not query.flags & dns.flags.RD
    assert query.question[0].rdtype == dns.rdatatype.TXT


def test_read_values_nxdomain_is_empty_and_not_authoritative_is_an_error(provider, sent):
    sent["rcode"] = dns.rcode.NXDOMAIN
    assert provider.read_values("example.com", "_acme-challenge.example.com") == set()
    sent["rcode"], sent["aa"] = dns.rcode.NOERROR, False
    with pytest.raises(ProviderError, match="not authoritative"):
        provider.read_values("example.com", "_acme-challenge.example.com")


def test_timeout_becomes_provider_error(provider, monkeypatch):
    def slow(*args, **kwargs):
        raise rfc2136.dns.exception.Timeout()

    monkeypatch.setattr(rfc2136.dns.query, "tcp", slow)
    with pytest.raises(ProviderError, match="no answer"):
        provider.read_values("example.com", "x.example.com")


def test_txt_rdata_round_trip_with_quotes():
    rdata = rfc2136.txt_rdata('a "quoted" \\ value')
    assert rdata_value(rdata) == 'a "quoted" \\ value'


@pytest.mark.parametrize("algorithm", rfc2136.KEY_ALGORITHMS)
def test_every_documented_algorithm_can_sign(algorithm):
    provider = build_provider(
        {
            "name": "bind",
            "type": "rfc2136",
            "zones": ["example.com"],
            "server": "192.0.2.53",
            "key_name": "acme-key",
            "key_secret": SECRET,
            "key_algorithm": algorithm.upper(),
        }
    )
    query = dns.message.make_query("example.com", "TXT")
    query.use_tsig(provider._key)
    assert query.to_wire()
