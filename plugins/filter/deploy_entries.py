# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the role's letsencrypt_dns_deploy entries: the input check, the split by module, loop items.

Each filter is documented in the file of its name next to this one (deploy_entry_errors.yml,
deploy_entries_of.yml, deploy_items.yml).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.entries import (
    deploy_entries_of,
    deploy_entry_errors,
    deploy_items,
)


class FilterModule:
    """certfleet.acme deploy entry filters."""

    def filters(self):
        return {
            "deploy_entry_errors": deploy_entry_errors,
            "deploy_entries_of": deploy_entries_of,
            "deploy_items": deploy_items,
        }
