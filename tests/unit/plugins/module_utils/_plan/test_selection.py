# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._plan import selection as sel

CERTS = [{"name": "www", "names": ["a.test"]}, {"name": "api", "names": ["b.test"]}, {"name": "mail", "names": ["c"]}]


def test_empty_only_keeps_everything():
    assert sel.only_certificates(CERTS, []) == CERTS
    assert sel.only_certificates(CERTS, None) == CERTS
    assert sel.only_certificates(CERTS, "") == CERTS


def test_only_keeps_the_input_order():
    assert [cert["name"] for cert in sel.only_certificates(CERTS, ["mail", "www"])] == ["www", "mail"]


def test_only_as_a_comma_string():
    assert sel.only_names(" mail, www  api,,www") == ["mail", "www", "api"]
    assert [cert["name"] for cert in sel.only_certificates(CERTS, "api,mail")] == ["api", "mail"]


def test_unknown_names_are_named():
    assert sel.unknown_certificates(CERTS, ["www", "wwww", "nope"]) == [
        "letsencrypt_dns_only: 'wwww' is not the name of a certificate in letsencrypt_dns_certificates",
        "letsencrypt_dns_only: 'nope' is not the name of a certificate in letsencrypt_dns_certificates",
    ]
    assert sel.unknown_certificates(CERTS, []) == []
    assert sel.unknown_certificates(["junk"], "x") == [
        "letsencrypt_dns_only: 'x' is not the name of a certificate in letsencrypt_dns_certificates"
    ]
