# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hvac, the HashiCorp Vault client community.hashi_vault uses too, for the Vault (and OpenBao) KV v2 state store.

``requests`` comes with hvac (it is hvac's transport); its exceptions are
bound here so the store tells an unreachable server from a refusal.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import traceback

# The names imported here are what this file offers to the rest of the collection.
# pylint: disable=unused-import

try:
    import hvac
    import hvac.exceptions
    import requests
    import requests.adapters
    import requests.exceptions
except ImportError:
    HAS_HVAC = False
    HVAC_IMPORT_ERROR: str | None = traceback.format_exc()
    hvac = requests = None
else:
    HAS_HVAC = True
    HVAC_IMPORT_ERROR = None

HVAC = ("hvac", HAS_HVAC, HVAC_IMPORT_ERROR)
