# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.encoding import b64url


def test_b64url_is_url_safe_and_unpadded():
    assert b64url(b"\xfb\xff") == "-_8"  # url-safe alphabet, no "="
    assert b64url(b"") == ""
    assert b64url(b"abc") == "YWJj"
