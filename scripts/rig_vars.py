# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the role variables for the demo from the rig's description (rig.json).

The demo needs real addresses and the rig's freshly generated TSIG secret, so
its variables are made at run time rather than kept in the repository.
"""

from __future__ import annotations

import json
import sys

import yaml

DEMO_CERTIFICATES = [
    {"name": "www", "names": ["example.test", "www.example.test"]},
    {"name": "wild", "names": ["example2.test", "*.example2.test"]},
    {"name": "deep", "names": ["api.deep.sub.example2.test"], "key_type": "rsa2048"},
    {"name": "mail", "names": ["mail.example3.test"], "key_type": "ec384"},
]


def role_vars(rig: dict, state_dir: str, certificates: list[dict]) -> dict:
    """The letsencrypt_dns variables that point the role at the rig."""
    return {
        "letsencrypt_dns_acme_directory": rig["acme_directory"],
        "letsencrypt_dns_acme_ca_bundle": rig["ca_bundle"],
        "letsencrypt_dns_account_email": "ops@example.test",
        "letsencrypt_dns_terms_agreed": True,
        "letsencrypt_dns_dir": state_dir,
        "letsencrypt_dns_resolvers": [rig["resolver"]],
        "letsencrypt_dns_propagation_timeout": 60,
        "letsencrypt_dns_propagation_interval": 1,
        "letsencrypt_dns_providers": [rig["provider"]],
        "letsencrypt_dns_certificates": certificates,
    }


def main() -> None:
    with open(sys.argv[1]) as handle:
        rig = json.load(handle)
    yaml.safe_dump(role_vars(rig, sys.argv[2], DEMO_CERTIFICATES), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
