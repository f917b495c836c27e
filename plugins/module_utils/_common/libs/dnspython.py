# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnspython, for RFC 2136 updates, CNAME lookups and the propagation queries.

``dns`` is bound with every submodule the DNS stage uses already imported, so
callers write ``dns.query.udp`` without importing submodules themselves.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import traceback

# The names imported here are what this file offers to the rest of the collection.
# pylint: disable=unused-import

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.resolver
    import dns.tsig
    import dns.update
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR: str | None = traceback.format_exc()
    dns = None
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

DNSPYTHON = ("dnspython", HAS_DNSPYTHON, DNSPYTHON_IMPORT_ERROR)
