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
    C(dns_url);
    C(timeout) (seconds, default V(30));
    C(job_timeout) (seconds, default V(120)).
    TTLs below 300 are raised to 300.
"""
