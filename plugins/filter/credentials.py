# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the letsencrypt_dns role takes from AWX credentials, as a filter: injected strings become provider entries.

Internal to the role: no compatibility promise covers this filter. It is documented in credential_providers.yml
next to this file.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.credentials import credential_providers


class FilterModule:
    """certfleet.acme credential filters."""

    def filters(self):
        return {"credential_providers": credential_providers}
