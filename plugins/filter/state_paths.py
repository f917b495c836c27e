# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory layout for the role's tasks, from the one place that defines it (``_state.layout``)."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import state_paths


class FilterModule:
    """certfleet.acme state directory layout filter."""

    def filters(self):
        return {"state_paths": state_paths}
