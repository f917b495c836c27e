# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The letsencrypt_dns role's run selection as filters: the certificates of one run (letsencrypt_dns_only).

Internal to the role: no compatibility promise covers these filters. Each is documented in the file of its
name next to this one (only_certificates.yml, unknown_certificates.yml).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._plan.selection import (
    only_certificates,
    unknown_certificates,
)


class FilterModule:
    """certfleet.acme run selection filters."""

    def filters(self):
        return {
            "only_certificates": only_certificates,
            "unknown_certificates": unknown_certificates,
        }
