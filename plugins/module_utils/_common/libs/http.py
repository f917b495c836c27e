# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""requests, for the HTTP APIs (DNS providers, ARI), imported on first use.

Importing requests costs about a quarter of a second; most tasks of a run never
send an HTTP request of their own, so availability is checked without importing
it and :func:`load_requests` imports it when a session is first made.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import importlib
import importlib.util

HAS_REQUESTS = importlib.util.find_spec("requests") is not None
REQUESTS_IMPORT_ERROR = None if HAS_REQUESTS else "ImportError: No module named 'requests'"
REQUESTS = ("requests", HAS_REQUESTS, REQUESTS_IMPORT_ERROR)


def load_requests():
    """The requests module, imported now (ImportError when it is not installed)."""
    return importlib.import_module("requests")
