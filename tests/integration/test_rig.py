# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rig itself: Pebble is served and trusted, the hidden primary takes
TSIG-signed updates, the secondaries follow only after a while, the resolver
follows the delegation, and ``down()`` leaves nothing running."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.zone
import pytest
import requests
from cryptography import x509

pytestmark = pytest.mark.rig

ZONE = "deep.sub.example2.test."
NAME = "_acme-challenge.deep.sub.example2.test."
PROPAGATION_LIMIT = 30.0


def _tsig(info: dict) -> dict:
    key = info["tsig"]
    return {
        "keyring": dns.tsigkeyring.from_text({key["key_name"]: key["key_secret"]}),
        "keyname": dns.name.from_text(key["key_name"]),
        "keyalgorithm": dns.tsig.HMAC_SHA256,
    }


def _update(info: dict, zone: str, signed: bool = True) -> dns.update.UpdateMessage:
    return dns.update.UpdateMessage(zone, **(_tsig(info) if signed else {}))


def _send(info: dict, update: dns.update.UpdateMessage) -> int:
    return dns.query.tcp(update, info["primary"], port=53, timeout=5).rcode()


def _query(server: str, name: str, rdtype: str, recursion: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    if not recursion:
        query.flags &= ~dns.flags.RD
    return dns.query.udp(query, server, port=53, timeout=3)


def _txt(server: str, name: str = NAME, recursion: bool = False) -> set[str]:
    """The TXT values one server answers for ``name`` (empty when there are none)."""
    response = _query(server, name, "TXT", recursion)
    assert response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), dns.rcode.to_text(response.rcode())
    values = set()
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            values.update(b"".join(rdata.strings).decode() for rdata in rrset)
    return values


def _until(check, limit: float) -> float:
    """Poll ``check`` until it is true; return the seconds it took (fail after ``limit``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < limit, f"not reached within {limit}s"
        time.sleep(0.05)
    return time.monotonic() - started


def _quiet(info: dict) -> None:
    """Wait until no NOTIFY of an earlier change can still be on its way.

    A change's NOTIFY leaves the primary at most notify_delay seconds after it
    and the relay holds it notify_delay seconds more.
    """
    time.sleep(2 * info["notify_delay"] + 0.5)


def test_info_keys(rig):
    assert set(rig) == {
        "dir",
        "acme_directory",
        "ca_bundle",
        "pebble_management",
        "resolver",
        "primary",
        "secondaries",
        "zones",
        "notify_delay",
        "tsig",
        "provider",
        "powerdns",
        "powerdns_provider",
    }
    assert rig["zones"] == [
        "example.test",
        "example2.test",
        "deep.sub.example2.test",
        "example3.test",
        "validation.test",
        "dual.test",
    ]
    assert rig["provider"]["type"] == "rfc2136"
    assert rig["provider"]["server"] == rig["primary"]
    assert rig["provider"]["key_secret"] == rig["tsig"]["key_secret"]
    assert rig["provider"]["zones"] == rig["zones"]
    pdns = rig["powerdns"]
    assert pdns["api_url"] == "http://%s:8081" % pdns["address"] and pdns["server_id"] == "localhost"
    assert rig["powerdns_provider"] == {
        "name": "rig-pdns",
        "type": "powerdns",
        "zones": ["pdns.test", "dual.test"],
        "api_url": pdns["api_url"],
        "api_key": pdns["api_key"],
        "server_id": "localhost",
        "allow_plain_http": True,
    }
    assert json.loads((Path(rig["dir"]) / "rig.json").read_text()) == rig


def test_pebble_directory_is_served_and_trusted(rig):
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy from the environment
    response = session.get(rig["acme_directory"], verify=rig["ca_bundle"], timeout=10)
    assert response.status_code == 200
    assert {"newNonce", "newAccount", "newOrder"} <= set(response.json())
    with pytest.raises(requests.exceptions.SSLError):
        session.get(rig["acme_directory"], verify=True, timeout=10)


def test_pebble_root_is_a_ca_certificate(rig, rig_module):
    root = x509.load_pem_x509_certificate(rig_module.pebble_root(rig).encode())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def _ns_addresses(rig: dict, server: str, zone: str) -> set[str]:
    """The addresses of the NS set that ``server`` publishes for ``zone``, resolved through the resolver."""
    ns_names = {rdata.target.to_text() for rdata in _query(server, zone, "NS").answer[0]}
    addresses = set()
    for ns_name in ns_names:
        answer = _query(rig["resolver"], ns_name, "A", recursion=True).answer
        addresses.update(rdata.address for rrset in answer for rdata in rrset)
    return addresses


def test_secondaries_are_the_published_ns_set(rig):
    for zone in rig["zones"]:
        for server in rig["secondaries"]:
            soa = _query(server, zone, "SOA")
            assert soa.rcode() == dns.rcode.NOERROR and soa.flags & dns.flags.AA, (zone, server)
        addresses = _ns_addresses(rig, rig["secondaries"][0], zone)
        # The dual-hosted zone also names PowerDNS, which serves its own copy.
        extra = {rig["powerdns"]["address"]} if zone == "dual.test" else set()
        assert addresses == set(rig["secondaries"]) | extra, zone
        assert rig["primary"] not in addresses


def test_powerdns_serves_its_zones_and_the_dual_hosted_copy(rig):
    pdns = rig["powerdns"]["address"]
    # pdns.test: only PowerDNS, reached by the resolver.
    assert _ns_addresses(rig, pdns, "pdns.test") == {pdns}
    for server in rig["secondaries"] + [rig["primary"]]:
        answer = _query(server, "pdns.test", "SOA")
        assert not (answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA), server
    # dual.test: the same NS set in both copies, but PowerDNS's copy is its own (not a transfer).
    assert _ns_addresses(rig, pdns, "dual.test") == _ns_addresses(rig, rig["secondaries"][0], "dual.test")
    pdns_soa = _query(pdns, "dual.test", "SOA")
    bind_soa = _query(rig["secondaries"][0], "dual.test", "SOA")
    assert pdns_soa.flags & dns.flags.AA and bind_soa.flags & dns.flags.AA
    assert pdns_soa.answer[0][0].mname != bind_soa.answer[0][0].mname
    # The API answers with the key and only with it.
    session = requests.Session()
    session.trust_env = False
    url = rig["powerdns"]["api_url"] + "/api/v1/servers/localhost/zones"
    zones = session.get(url, headers={"X-API-Key": rig["powerdns"]["api_key"]}, timeout=10)
    assert zones.status_code == 200
    assert {zone["name"] for zone in zones.json()} == {"pdns.test.", "dual.test."}
    assert session.get(url, headers={"X-API-Key": "wrong"}, timeout=10).status_code == 401


def test_cname_fixtures_are_served(rig):
    def cnames(name: str) -> list[str]:
        answer = _query(rig["resolver"], name, "TXT", recursion=True)
        return [
            rdata.target.to_text() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.CNAME for rdata in rrset
        ]

    assert cnames("_acme-challenge.delegated.example.test") == ["delegated.validation.test."]
    assert cnames("_acme-challenge.chained.example.test") == ["hop.example2.test.", "chained.validation.test."]
    assert cnames("_acme-challenge.dangling.example.test") == ["target.unmanaged.invalid."]
    loop = _query(rig["secondaries"][0], "_acme-challenge.loop.example.test", "TXT")
    assert loop.answer and loop.answer[0].rdtype == dns.rdatatype.CNAME
    back = _query(rig["secondaries"][0], "loop-b.example.test", "TXT")
    assert back.answer[0][0].target.to_text() == "_acme-challenge.loop.example.test."
    soa = _query(rig["secondaries"][1], "validation.test", "SOA")
    assert soa.rcode() == dns.rcode.NOERROR and soa.flags & dns.flags.AA


def test_child_zone_is_delegated_with_glue(rig):
    parent = dns.zone.from_xfr(dns.query.xfr(rig["primary"], "example2.test", port=53, timeout=5, **_tsig(rig)))
    delegation = parent.get_rdataset("deep.sub", "NS")
    assert delegation is not None
    for rdata in delegation:
        glue = parent.get_rdataset(rdata.target.relativize(parent.origin), "A")
        assert glue is not None and {r.address for r in glue} <= set(rig["secondaries"])
    answer = _query(rig["resolver"], ZONE, "NS", recursion=True)
    assert answer.rcode() == dns.rcode.NOERROR
    assert {rdata.target for rdata in answer.answer[0]} == {
        rdata.target.derelativize(parent.origin) for rdata in delegation
    }


def test_signed_update_reaches_the_secondaries_only_after_a_while(rig):
    first, second = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    _quiet(rig)
    add = _update(rig, ZONE)
    add.add(NAME, 60, "TXT", f'"{first}"', f'"{second}"')
    assert _send(rig, add) == dns.rcode.NOERROR
    try:
        # The hidden primary has both values at once, the secondaries not yet.
        assert _txt(rig["primary"]) >= {first, second}
        for server in rig["secondaries"]:
            assert not {first, second} & _txt(server), server
        took = _until(lambda: all(_txt(s) >= {first, second} for s in rig["secondaries"]), PROPAGATION_LIMIT)
        print(f"added values reached both secondaries after {took:.2f}s")
        assert took >= 0.9 * rig["notify_delay"]
        _until(lambda: _txt(rig["resolver"], recursion=True) >= {first, second}, 10)

        # Removing one value leaves the other, everywhere.
        remove = _update(rig, ZONE)
        remove.delete(NAME, "TXT", f'"{first}"')
        assert _send(rig, remove) == dns.rcode.NOERROR
        primary = _txt(rig["primary"])
        assert second in primary and first not in primary

        def only_second(values: set[str]) -> bool:
            return second in values and first not in values

        took = _until(lambda: all(only_second(_txt(s)) for s in rig["secondaries"]), PROPAGATION_LIMIT)
        print(f"removal reached both secondaries after {took:.2f}s")
        _until(lambda: only_second(_txt(rig["resolver"], recursion=True)), 10)
    finally:
        cleanup = _update(rig, ZONE)
        cleanup.delete(NAME, "TXT", f'"{first}"', f'"{second}"')
        _send(rig, cleanup)


def test_unsigned_update_is_refused(rig):
    update = _update(rig, ZONE, signed=False)
    update.add(NAME, 60, "TXT", '"unsigned"')
    assert _send(rig, update) == dns.rcode.REFUSED
    assert "unsigned" not in _txt(rig["primary"])


def test_info_without_a_rig_fails(rig_module, tmp_path):
    with pytest.raises(rig_module.RigNotRunning):
        rig_module.info(tmp_path)


def test_down_stops_every_process_it_started(rig, rig_module):
    # A second rig next to the session's: its own directory (owned by this
    # session's slot) and its own loopback /24 (127.N.99 for 127.N.0).
    state = Path(rig["dir"] + "-down")
    net = rig["primary"].split(".")[0] + "." + rig["primary"].split(".")[1] + ".99"
    rig_module.down(state)
    info = rig_module.up(state, notify_delay=1, net=net)
    try:
        assert info["primary"] == f"{net}.10"
        assert rig_module.up(state, notify_delay=1, net=net) == info  # running: same rig
        with pytest.raises(rig_module.RigError):
            rig_module.up(state, notify_delay=3, net=net)  # running with other settings
        pids = json.loads((state / "pids.json").read_text())
        assert set(pids) == {"relay", "primary", "pdns", "ns1", "ns2", "resolver", "pebble"}
        assert all(Path(f"/proc/{entry['pid']}").exists() for entry in pids.values())
    finally:
        rig_module.down(state)
    still_there = [f"{name} {entry['pid']}" for name, entry in pids.items() if Path(f"/proc/{entry['pid']}").exists()]
    assert still_there == []
    assert not (state / "pids.json").exists()
    with pytest.raises(rig_module.RigNotRunning):
        rig_module.info(state)
    # The session's rig is untouched.
    assert rig_module.info(rig["dir"]) == rig
    assert _query(rig["secondaries"][0], "example.test", "SOA").rcode() == dns.rcode.NOERROR
