# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(rfc2136), dynamic updates signed with TSIG (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(rfc2136) (dynamic updates signed with TSIG, through dnspython) takes the
    options C(server) (required) address or host name of the primary server;
    C(port) (default V(53));
    C(key_name) name of the TSIG key;
    C(key_secret) (secret) base64 TSIG secret, required with C(key_name);
    C(key_algorithm) (default V(hmac-sha256); also V(hmac-md5), V(hmac-sha1), V(hmac-sha224), V(hmac-sha384),
    V(hmac-sha512));
    C(timeout) (seconds, default V(10)).
"""
