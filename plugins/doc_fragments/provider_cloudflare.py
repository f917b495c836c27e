# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(cloudflare), Cloudflare (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(cloudflare) (Cloudflare API v4) takes the
    options C(api_token) (required, secret, needs Zone:Read and DNS:Edit);
    C(api_url) (default V(https://api.cloudflare.com/client/v4), V(https://), no credentials in it);
    C(timeout) (seconds, default V(30));
    C(allow_plain_http) (default V(false); V(true) lets C(api_url) be a plain V(http://) URL, for a test server
    on a trusted network only, since the token then travels in clear text; without it an V(http://) URL is
    refused).
    TTL V(1) means automatic; other TTLs are moved into 60..86400.
"""
