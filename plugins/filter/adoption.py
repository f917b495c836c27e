# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The letsencrypt_dns role's certificate adoption (letsencrypt_dns_adopt) as filters.

Internal to the role: no compatibility promise covers these filters. Each is documented in the file of its
name next to this one (adopt_errors.yml, adopt_certificates.yml).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.adoption import adopt_certificates, adopt_errors


class FilterModule:
    """certfleet.acme certificate adoption filters."""

    def filters(self):
        return {
            "adopt_errors": adopt_errors,
            "adopt_certificates": adopt_certificates,
        }
