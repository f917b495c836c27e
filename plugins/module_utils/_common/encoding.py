# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""base64url without padding, the encoding of JWS (RFC 7515) and of ARI certificate identifiers (RFC 9773).

The External Account Binding and the ARI identifier both need it; one copy
keeps the alphabet and the padding rule the same in both.
"""

from __future__ import annotations

import base64


def b64url(data: bytes) -> str:
    """base64url without ``=`` padding (RFC 4648 section 5, RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
