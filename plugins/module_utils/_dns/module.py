# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AnsibleModule that masks DNS provider secrets from the first moment.

Provider entries are free-form dictionaries (each type has its own options),
so their secret options cannot be marked ``no_log`` in an argument spec, and
marking the whole entry ``no_log`` would hide every zone name in the output.
Instead the secret values are added to ``no_log_values`` right after the
parameters are loaded: before argument validation can fail with the
parameters in its result and before the invocation is logged to syslog.
"""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    build_provider,
    secret_values,
)

PROVIDER_PARAMS = ("provider", "providers")


def mask_provider_secrets(module: AnsibleModule) -> None:
    """Add every secret of the ``provider``/``providers`` parameters to ``module.no_log_values``."""
    for param in PROVIDER_PARAMS:
        value = (module.params or {}).get(param)
        if isinstance(value, str):
            # Not validated yet: an entry may still be the JSON text it will be parsed from.
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if value:
            module.no_log_values.update(secret_values(value))


class ProviderModule(AnsibleModule):
    """AnsibleModule for modules taking ``provider``/``providers`` entries."""

    def _load_params(self):
        super()._load_params()
        mask_provider_secrets(self)

    def build_provider(self, config: dict) -> DnsProvider:
        """The provider of one entry, running any program it needs (a hook) through this module's run_command."""
        return build_provider(config, run_command=self.run_command)
