# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The letsencrypt_dns role's input checks as filters: refuse a bad certificate list before anything changes.

Each filter is documented in the file of its name next to this one (certificate_errors.yml,
input_problems.yml, certificate_defaults.yml).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._run.input_checks import (
    certificate_errors,
    input_problems,
    with_defaults,
)


class FilterModule:
    """certfleet.acme input check filters."""

    def filters(self):
        return {
            "certificate_errors": certificate_errors,
            "input_problems": input_problems,
            "certificate_defaults": with_defaults,
        }
