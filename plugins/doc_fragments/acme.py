# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ACME connection and account options shared by the ACME modules.

They are the same for every ACME task of a run, which is why the modules are
in the action group C(certfleet.acme.acme): a play sets them once through
C(module_defaults) instead of repeating them on each task.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/certfleet.acme.acme) in C(module_defaults) to set the shared ACME options once.
    support: full
    membership:
      - certfleet.acme.acme
options:
  acme_directory:
    description:
      - URL of the ACME directory of the CA, for example
        V(https://acme-v02.api.letsencrypt.org/directory) or V(https://acme-staging-v02.api.letsencrypt.org/directory).
      - The account URL is cached per directory URL.
      - Must be an C(https://) URL (RFC 8555 requires HTTPS); a plain C(http://) URL fails the task before anything is
        sent, unless O(acme_allow_plain_http=true).
    type: str
    required: true
  acme_allow_plain_http:
    description:
      - Accept a plain C(http://) URL as O(acme_directory), for a local test ACME server only (role variable
        C(letsencrypt_dns_acme_allow_plain_http)).
      - Over plain HTTP the CA's answers (directory, orders, certificates) can be read and changed on the way.
    type: bool
    default: false
  acme_ca_bundle:
    description:
      - CA certificate file (PEM) to trust for the HTTPS connection to O(acme_directory), for a private or test
        ACME server such as Pebble.
      - When not set, the system trust store is used.
    type: path
  state_dir:
    description:
      - The directory holding the on-disk state on the controller (role variable C(letsencrypt_dns_dir)).
      - The account lives in C(<state_dir>/.acme/account.key) (mode 0600; EC P-256 when the collection made it, or
        an RSA or EC key brought from another client with M(certfleet.acme.acme_account)) and
        C(<state_dir>/.acme/account.json); certificate V(name) lives in C(<state_dir>/<name>/).
    type: path
    required: true
  account_email:
    description:
      - Contact e-mail address given to the CA when a new account is registered.
    type: str
  terms_agreed:
    description:
      - Whether you agree to the terms of service of the CA.
      - Needed only to register a new account; without it the module fails before anything is sent to the CA
        when no account exists yet (or the CA no longer knows the cached one).
    type: bool
    default: false
  request_timeout:
    description:
      - Timeout in seconds for each single HTTP request to the ACME server.
    type: int
    default: 30
  rate_limit_wait:
    description:
      - Longest C(Retry-After) in seconds that is waited out when the CA answers HTTP 429 (C(rateLimited)), role
        variable C(letsencrypt_dns_rate_limit_wait).
      - A request answered 429 with a C(Retry-After) up to this value is sent again after exactly that long, never
        sooner, at most 3 times. A longer C(Retry-After), or none, fails that certificate at once with a problem of
        type C(urn:ietf:params:acme:error:rateLimited) whose detail says C(rate limited) and gives the time to retry
        (ISO 8601 in UTC and seconds), also as the problem members C(retry_after) and C(retry_after_seconds).
      - V(0) fails at once on every rate limit with a C(Retry-After) above 0.
    type: int
    default: 60
  eab_kid:
    description:
      - Key identifier of the External Account Binding (RFC 8555 section 7.3.4), for CAs that register an ACME
        account only when it is bound to an account you have with them (ZeroSSL, Google Trust Services, many
        commercial and private CAs). The CA shows it next to the MAC key (role variable C(letsencrypt_dns_eab_kid)).
      - Used only when a new ACME account is registered; an existing account is used without it.
      - Must be given together with O(eab_hmac_key).
      - When the directory says C(meta.externalAccountRequired) and no account exists yet, the module fails
        before registering if this is not set.
    type: str
  eab_hmac_key:
    description:
      - MAC key of the External Account Binding, base64url-encoded exactly as the CA hands it out (padding
        optional) (role variable C(letsencrypt_dns_eab_hmac_key), keep it in a vault).
      - The binding is a JWS over the account's public key, signed with this key using HS256.
      - Must be given together with O(eab_kid). Never logged or returned.
    type: str
requirements:
  - acme >= 2.0 (the Python library of certbot)
  - cryptography >= 41
"""
