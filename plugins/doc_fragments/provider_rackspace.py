# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(rackspace), Rackspace Cloud DNS (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(rackspace) talks to Rackspace Cloud DNS and takes the
    options C(username) (required);
    C(api_key) (required, secret);
    C(identity_url) (default V(https://identity.api.rackspacecloud.com/v2.0/tokens));
    C(region);
    C(dns_url) (V(https://) like C(identity_url), no credentials in either);
    C(timeout) (seconds, default V(30));
    C(job_timeout) (seconds, default V(120));
    C(allow_plain_http) (default V(false); V(true) lets C(identity_url) or C(dns_url) be a plain V(http://) URL,
    for a test server on a trusted network only, since the API key then travels in clear text; without it an
    V(http://) URL is refused).
    TTLs below 300 are raised to 300.
"""
