# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The letsencrypt_dns role's check of letsencrypt_dns_state, as a filter: a typo in the backend is refused first.

The filter is documented in state_backend_problems.yml next to this one.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import backend_problems


class FilterModule:
    """certfleet.acme state backend filters."""

    def filters(self):
        return {"state_backend_problems": backend_problems}
