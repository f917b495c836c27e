# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.structures import CaseInsensitiveDict

from ansible_collections.certfleet.acme.plugins.module_utils._acme.chains import (
    alternate_urls,
    chain_issuer,
    chain_matches,
    parse_links,
    select_chain,
    topmost_names,
)

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, issuer: str, key, signer, ca: bool) -> tuple:
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture(scope="module")
def chains():
    """Default: leaf <- Int A (by Root A); alternate 1: leaf <- Int B (by Root B); alternate 2 ends with Root C itself."""
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ("ia", "ib", "ic", "rc")}
    int_a = _cert("Int A", "Root A", keys["ia"], keys["ia"], True)
    int_b = _cert("Int B", "Root B", keys["ib"], keys["ib"], True)
    int_c = _cert("Int C", "Root C", keys["ic"], keys["rc"], True)
    root_c = _cert("Root C", "Root C", keys["rc"], keys["rc"], True)
    leaf = _cert("www.example.test", "Int A", leaf_key, keys["ia"], False)
    return {
        "default": [leaf, int_a],
        "https://ca.test/cert/1/1": [leaf, int_b],
        "https://ca.test/cert/1/2": [leaf, int_c, root_c],
    }


class Response:
    def __init__(self, link, url="https://ca.test/cert/1"):
        self.headers = CaseInsensitiveDict({"Link": link} if link is not None else {})
        self.url = url


def test_link_header_parsing():
    header = (
        '<https://ca.test/cert/1/1>;rel="alternate", <https://ca.test/dir>;rel="index", '
        '</cert/1/2>; title="x, y"; rel=alternate, <https://ca.test/cert/1/3>; rel="up alternate"'
    )
    links = parse_links(header, "https://ca.test/cert/1")
    assert links == [
        ("https://ca.test/cert/1/1", {"alternate"}),
        ("https://ca.test/dir", {"index"}),
        ("https://ca.test/cert/1/2", {"alternate"}),
        ("https://ca.test/cert/1/3", {"up", "alternate"}),
    ]
    assert alternate_urls(Response(header)) == [
        "https://ca.test/cert/1/1",
        "https://ca.test/cert/1/2",
        "https://ca.test/cert/1/3",
    ]
    assert alternate_urls(Response(None)) == []
    assert alternate_urls(Response('<https://ca.test/dir>;rel="index"')) == []
    assert parse_links("", None) == [] and parse_links(None) == []


def test_topmost_names(chains):
    assert topmost_names(chains["default"]) == ("Root A", "Int A")
    assert chain_issuer(chains["https://ca.test/cert/1/2"]) == "Root C"
    assert topmost_names([]) == (None, None)
    assert chain_matches(chains["default"], "Root A")
    assert chain_matches(chains["default"], "Int A")  # the topmost certificate's own name
    assert not chain_matches(chains["default"], "Root B")
    assert not chain_matches(chains["default"], "root a")  # exact names only


def fetcher(chains, fetched):
    def fetch(url):
        fetched.append(url)
        value = chains[url]
        if isinstance(value, Exception):
            raise value
        return value

    return fetch


ALTERNATES = ["https://ca.test/cert/1/1", "https://ca.test/cert/1/2"]


def test_no_preference_or_a_matching_default_fetches_nothing(chains):
    fetched = []
    for preferred in (None, "", "  ", "Root A", " Root A "):
        chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(chains, fetched), preferred)
        assert chosen == chains["default"] and warnings == []
    assert fetched == []


def test_first_matching_alternate_wins(chains):
    fetched = []
    chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(chains, fetched), "Root B")
    assert chosen == chains["https://ca.test/cert/1/1"] and warnings == []
    assert fetched == ["https://ca.test/cert/1/1"]
    fetched.clear()
    chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(chains, fetched), "Root C")
    assert chosen == chains["https://ca.test/cert/1/2"] and warnings == []
    assert fetched == ALTERNATES


def test_no_match_keeps_the_default_with_a_warning(chains):
    chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(chains, []), "ISRG Root X1")
    assert chosen == chains["default"]
    assert len(warnings) == 1
    assert "'ISRG Root X1' matches none of the 3 chain(s)" in warnings[0]
    assert "'Root A', 'Root B', 'Root C'" in warnings[0] and "kept the default chain" in warnings[0]
    chosen, warnings = select_chain(chains["default"], [], fetcher(chains, []), "Root B")
    assert chosen == chains["default"] and "none of the 1 chain(s)" in warnings[0]


def test_an_unreadable_alternate_is_skipped(chains):
    broken = dict(chains)
    broken["https://ca.test/cert/1/1"] = OSError("connection reset")
    chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(broken, []), "Root C")
    assert chosen == chains["https://ca.test/cert/1/2"] and warnings == []
    chosen, warnings = select_chain(chains["default"], ALTERNATES, fetcher(broken, []), "Root B")
    assert chosen == chains["default"]
    assert "could not be read: https://ca.test/cert/1/1 (connection reset)" in warnings[0]
