# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``acme`` library (certbot's RFC 8555 client) and josepy, for the ACME stage.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import traceback

# The names imported here are what this file offers to the rest of the collection.
# pylint: disable=unused-import

try:
    import josepy as jose
    from acme import client as acme_lib
    from acme import errors as acme_errors
    from acme import jws as acme_jws
    from acme import messages
except ImportError:
    HAS_ACME = False
    ACME_IMPORT_ERROR: str | None = traceback.format_exc()
    jose = acme_lib = acme_errors = acme_jws = messages = None
else:
    HAS_ACME = True
    ACME_IMPORT_ERROR = None

ACME = ("acme", HAS_ACME, ACME_IMPORT_ERROR)
