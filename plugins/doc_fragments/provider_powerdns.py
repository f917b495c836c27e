# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(powerdns), the PowerDNS HTTP API (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(powerdns) (PowerDNS Authoritative Server HTTP API) takes the
    options C(api_url) (required, V(https://), no credentials in it) for example V(https://pdns.example.org);
    C(api_key) (required, secret);
    C(server_id) (default V(localhost));
    C(timeout) (seconds, default V(30));
    C(validate_certs) (default V(true));
    C(allow_plain_http) (default V(false); V(true) lets C(api_url) be a plain V(http://) URL, for a test server
    on a trusted network only, since the API key then travels in clear text; without it an V(http://) URL is
    refused).
    Each zone is changed with one PATCH carrying the merged value set of every changed name.
"""
