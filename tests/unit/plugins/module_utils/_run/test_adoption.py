# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""letsencrypt_dns_adopt: refused when it names no certificate, and joined with its certificate entry."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.adoption import adopt_certificates, adopt_errors

CERTIFICATES = [
    {"name": "www", "names": ["example.test", "www.example.test"], "key_type": "rsa2048"},
    {"name": "api", "names": ["api.example.test"], "key_type": "ec256"},
]


def test_unknown_and_twice_adopted_certificates_are_named():
    adopt = [
        {"cert": "www", "from": "certbot", "path": "/etc/letsencrypt"},
        {"cert": "wwww", "from": "certbot", "path": "/etc/letsencrypt"},
        {"cert": "www", "from": "dehydrated", "path": "/etc/dehydrated"},
    ]
    assert adopt_errors(adopt, CERTIFICATES) == [
        "letsencrypt_dns_adopt[1]: cert 'wwww' is the name of no entry of letsencrypt_dns_certificates (www, api)",
        "letsencrypt_dns_adopt[2]: cert 'www' is adopted twice",
    ]
    assert adopt_errors([], CERTIFICATES) == []
    assert adopt_errors([{"cert": "x", "from": "certbot", "path": "/p"}], []) == [
        "letsencrypt_dns_adopt[0]: cert 'x' is the name of no entry of letsencrypt_dns_certificates (it is empty)"
    ]


def test_adoptions_take_names_and_key_type_from_their_entry():
    adopt = [
        {"cert": "www", "from": "certbot", "path": "/etc/letsencrypt", "source_name": "example.test"},
        {"cert": "api", "from": "dnscontrol", "path": "/srv/certs"},
        {"cert": "left-out", "from": "dehydrated", "path": "/etc/dehydrated"},
    ]
    assert adopt_certificates(adopt, CERTIFICATES) == [
        {
            "name": "www",
            "names": ["example.test", "www.example.test"],
            "key_type": "rsa2048",
            "from": "certbot",
            "path": "/etc/letsencrypt",
            "source_name": "example.test",
        },
        {
            "name": "api",
            "names": ["api.example.test"],
            "key_type": "ec256",
            "from": "dnscontrol",
            "path": "/srv/certs",
            "source_name": "api",
        },
    ]
