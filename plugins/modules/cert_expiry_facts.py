#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report expiry, names and key type of many certificates, and which are due for renewal or deployment."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_expiry_facts
short_description: Decide which certificates need renewal, for a whole fleet in one call
version_added: 0.1.0
description:
  - Reads every certificate file given (by default C(<state_dir>/<name>/cert.pem)) and reports its expiry, names,
    issuer, serial and key type as the fact C(cert_expiry), keyed by certificate name, with the decision whether
    it needs renewal and why.
  - "The reason is the first that applies of: V(missing) (no readable certificate), V(force) (O(force) or
    O(certificates[].force)), V(names_changed), V(key_type_changed), V(ari_window) (the time chosen in the CA's
    ACME Renewal Information window has come), V(expiring) (the renewal time by remaining lifetime has come),
    V(not_deployed) (nothing to renew, but O(certificates[].endpoint) serves an older certificate than the one on
    disk)."
  - "ACME Renewal Information (ARI, RFC 9773): when O(acme_directory) is given and the CA's directory has
    C(renewalInfo), the CA's suggested window decides instead of the remaining lifetime. One random time inside the
    window is chosen once and kept, with the window and the time the CA may next be asked (its C(Retry-After)),
    under the key C(ari) of C(<state_dir>/<name>/cert.json). The CA is asked again only after that time; the time is
    chosen again only when the CA moved the window. A window that lies in the past means renew now. When the CA
    cannot be asked, the module warns and decides by remaining lifetime. When O(acme_directory) answers with no
    directory (a wrong URL, HTTP 404), it decides by remaining lifetime too and warns C(no ACME directory at <URL>),
    with the HTTP status, only when no certificate is due: ordering a due one fails with that very message."
  - "Without ARI: with O(renew_days) set, renew when fewer days remain; by default renew when a third of the
    lifetime is left, or half of it for lifetimes of 10 days or less (a 90-day certificate with 30 days left,
    a 6-day certificate with 3 days left)."
  - Everything that waits on the network (renewal information, endpoints) runs concurrently for all certificates.
  - Changes nothing that it manages. Keeping the ARI choice in C(cert.json) is bookkeeping, done atomically and
    never in check mode, and does not make the task changed.
author:
  - certfleet contributors (@certfleet)
attributes:
  check_mode:
    description: Reads, asks and decides as in a normal run, but keeps no ARI choice in C(cert.json).
    support: full
  diff_mode:
    description: Not supported.
    support: none
  facts:
    description: Sets the fact C(cert_expiry), unless O(set_facts=false).
    support: full
options:
  certificates:
    description:
      - The certificates to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the certificate; the key of its entry in the results.
          - It names the directory C(<state_dir>/<name>), so it follows the rule of the role's certificate names
            (a letter or digit first, then letters, digits, C(.), C(_) and C(-), without C(..), at most 128
            characters). Any other name fails the task before anything is read or written.
        type: str
        required: true
      path:
        description:
          - The PEM certificate file (the leaf first, a full chain is fine).
          - Defaults to C(<state_dir>/<name>/cert.pem).
        type: path
      names:
        description:
          - The DNS names the certificate should have. When given, a certificate whose set of SAN names differs
            (ignoring order, case and a trailing dot) needs renewal with reason V(names_changed).
        type: list
        elements: str
      key_type:
        description:
          - The key type the certificate should have (V(ec256), V(ec384), V(rsa2048), V(rsa3072), V(rsa4096)).
            When given and different, the certificate needs renewal with reason V(key_type_changed).
        type: str
      profile:
        description:
          - Ignored. Accepted so the same certificate list can be given to this module and to
            M(certfleet.acme.acme_dns01_order).
        type: str
      force:
        description:
          - Renew this certificate now (reason V(force)), whatever its state.
        type: bool
        default: false
      endpoint:
        description:
          - A TLS endpoint that should serve this certificate. The module makes a TLS handshake (with SNI, without
            verifying anything, since it compares and does not trust) and reads the served leaf certificate.
          - When the certificate on disk is valid, newer than the served one and nothing else is due, the reason is
            V(not_deployed). A connection error is a warning and RV(certificates.served.error), never a failure.
        type: dict
        suboptions:
          host:
            description:
              - Host name or address to connect to.
            type: str
            required: true
          port:
            description:
              - TCP port.
            type: int
            default: 443
          sni:
            description:
              - Server name to send. Defaults to the first of O(certificates[].names) (the first name of the
                certificate on disk when not given), without the C(*.) of a wildcard.
            type: str
  state_dir:
    description:
      - The directory holding the certificates (role variable C(letsencrypt_dns_dir)).
      - Required when a certificate has no O(certificates[].path).
      - The ARI choice is kept only when it is given; without it the time is drawn again on every run.
      - Refused, before anything is read from it, when it or anything in it belongs to another user, is writable by
        group or others, or (below it) is a symbolic link.
    type: path
  renew_days:
    description:
      - Renew when fewer than this many days of validity remain, when the CA gives no renewal information.
      - When not set, renew when a third of the lifetime is left, or half of it for lifetimes of 10 days or less.
    type: int
  force:
    description:
      - Renew every certificate now (reason V(force)).
    type: bool
    default: false
  acme_directory:
    description:
      - URL of the CA's ACME directory. When given and the directory has C(renewalInfo), ACME Renewal Information
        decides when existing certificates are renewed (see the description), and RV(certificates.replaces) is set.
      - Not given, no request is sent to any CA.
      - Must be an C(https://) URL (RFC 8555 requires HTTPS); a plain C(http://) URL fails the task before anything is
        sent, unless O(acme_allow_plain_http=true).
    type: str
  acme_allow_plain_http:
    description:
      - Accept a plain C(http://) URL as O(acme_directory), for a local test ACME server only.
    type: bool
    default: false
  acme_ca_bundle:
    description:
      - CA certificate file (PEM) to trust for the HTTPS connections to O(acme_directory), for a private or test
        ACME server. When not set, the system trust store is used.
    type: path
  request_timeout:
    description:
      - Timeout in seconds for each request to the CA and for each TLS handshake with an endpoint.
    type: int
    default: 10
  set_facts:
    description:
      - Set the fact C(cert_expiry). The same data is always returned as RV(certificates).
      - Ansible copies a host's facts for every later task of the play, so for thousands of certificates a
        playbook that reads only the registered result saves time at each task by turning this off (the role
        C(certfleet.acme.letsencrypt_dns) does).
    type: bool
    default: true
requirements:
  - cryptography >= 41
  - requests (only with O(acme_directory))
seealso:
  - module: certfleet.acme.acme_dns01_order
  - name: RFC 9773, ACME Renewal Information (ARI) Extension
    description: How a CA suggests when to renew, and the certificate identifier used by C(replaces).
    link: https://www.rfc-editor.org/rfc/rfc9773.html
"""

EXAMPLES = r"""
- name: Find the certificates that are due
  certfleet.acme.cert_expiry_facts:
    state_dir: /srv/certificates
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    certificates:
      - name: www
        names: [example.com, www.example.com]
        key_type: ec256
        endpoint: {host: 192.0.2.10, port: 443}
      - name: legacy
        path: /etc/ssl/legacy.pem
        force: true
  register: expiry

- name: Show why
  ansible.builtin.debug:
    msg: "{{ item }}: {{ ansible_facts.cert_expiry[item].reason }}, renew at {{ ansible_facts.cert_expiry[item].renew_at }}"
  loop: "{{ expiry.due }}"

- name: Without a CA to ask, renew with fewer than 20 days left
  certfleet.acme.cert_expiry_facts:
    state_dir: /srv/certificates
    renew_days: 20
    certificates: [{name: www}]
"""

RETURN = r"""
ansible_facts:
  description: The facts set by this module (empty with O(set_facts=false)).
  returned: always
  type: dict
  contains:
    cert_expiry:
      description: The same dictionary as RV(certificates).
      returned: when O(set_facts=true)
      type: dict
certificates:
  description: One entry per certificate, keyed by certificate name.
  returned: always
  type: dict
  sample:
    www:
      exists: true
      not_after: "2025-06-01T12:00:00Z"
      days_left: 12
      lifetime_days: 90
      names: [example.com, www.example.com]
      issuer: CN=R11,O=Let's Encrypt,C=US
      serial: "4A3F0C9D1E2B"
      key_type: ec256
      needs_renewal: true
      needs_deploy: false
      reason: ari_window
      renew_at: "2025-05-02T07:13:44Z"
      renew_source: ari
      ari:
        cert_id: aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE
        window_start: "2025-05-01T12:00:00Z"
        window_end: "2025-05-03T12:00:00Z"
        selected_time: "2025-05-02T07:13:44Z"
        next_check: "2025-05-02T18:00:00Z"
        explanation_url: null
      replaces: aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE
      served: {serial: "4A3F0C9D1E2B", not_after: "2025-06-01T12:00:00Z", matches: true}
  contains:
    exists:
      description: Whether a readable certificate was found.
      type: bool
      returned: always
    not_after:
      description: End of validity, ISO 8601 in UTC; V(null) when missing.
      type: str
      returned: always
    days_left:
      description: Whole days until RV(certificates.not_after) (negative once expired); V(null) when missing.
      type: int
      returned: always
    lifetime_days:
      description: Length of the validity period in days; V(null) when missing.
      type: int
      returned: always
    names:
      description: The DNS names (SAN) of the certificate, normalized; empty when missing.
      type: list
      elements: str
      returned: always
    issuer:
      description: The issuer distinguished name (RFC 4514); V(null) when missing.
      type: str
      returned: always
    serial:
      description:
        - The serial number as C(openssl x509 -noout -serial) prints it, in upper-case hexadecimal with two digits
          per byte (a leading zero is kept); V(null) when missing.
      type: str
      returned: always
    key_type:
      description:
        - Key type of the certificate's public key (V(ec256) ... V(rsa4096)); V(null) when missing or for a key
          type without a name here.
      type: str
      returned: always
    needs_renewal:
      description: Whether the certificate should be renewed now (every reason but V(not_deployed)).
      type: bool
      returned: always
    needs_deploy:
      description:
        - Whether the certificate on disk is fine but the endpoint serves an older one (reason V(not_deployed)),
          so it needs deploying, not renewing.
      type: bool
      returned: always
    reason:
      description:
        - Why it needs renewal or deployment; V(null) when it needs neither.
        - The first that applies of V(missing), V(force), V(names_changed), V(key_type_changed), V(ari_window),
          V(expiring), V(not_deployed).
      type: str
      returned: always
    renew_at:
      description:
        - When the certificate is (or was) due by ARI or remaining lifetime, ISO 8601 in UTC; V(null) when missing.
      type: str
      returned: always
    renew_source:
      description:
        - What RV(certificates.renew_at) comes from; V(ari) (the CA's window), V(renew_days) or V(lifetime) (the
          share of the lifetime); V(null) when missing.
      type: str
      returned: always
    ari:
      description:
        - The ACME Renewal Information in use for this certificate, V(null) when there is none (no O(acme_directory),
          no C(renewalInfo) at the CA, no Authority Key Identifier in the certificate, or the CA could not be asked).
      type: dict
      returned: always
      contains:
        cert_id:
          description: The certificate's ARI identifier (RFC 9773 section 4.1).
          type: str
        window_start:
          description: Start of the CA's suggested window, ISO 8601 in UTC.
          type: str
        window_end:
          description: End of the CA's suggested window, ISO 8601 in UTC.
          type: str
        selected_time:
          description: The random time chosen inside the window, kept until the CA moves the window.
          type: str
        next_check:
          description: When the CA may be asked again (its C(Retry-After), between one minute and one day).
          type: str
        explanation_url:
          description: A page of the CA explaining the window (for example an incident), or V(null).
          type: str
    replaces:
      description:
        - The ARI identifier of the certificate on disk, for the C(replaces) field of its next order; V(null) when
          the CA does not offer ARI, the certificate is missing or has no Authority Key Identifier, or it has no
          name in common with O(certificates[].names).
      type: str
      returned: always
    served:
      description:
        - What O(certificates[].endpoint) serves; only for certificates with an endpoint.
        - Either RV(certificates.served.serial), RV(certificates.served.not_after) and RV(certificates.served.matches),
          or RV(certificates.served.error).
      type: dict
      returned: when O(certificates[].endpoint) is given
      contains:
        serial:
          description:
            - Serial number of the served leaf certificate, as C(openssl x509 -noout -serial) prints it, in
              upper-case hexadecimal with two digits per byte (a leading zero is kept).
          type: str
        not_after:
          description: End of validity of the served certificate, ISO 8601 in UTC.
          type: str
        matches:
          description: Whether the served certificate is the one on disk (same serial number).
          type: bool
        error:
          description: Why the served certificate could not be read.
          type: str
due:
  description: The names of the certificates that need renewal, in the order of O(certificates).
  returned: always
  type: list
  elements: str
  sample: [www]
undeployed:
  description: The names of the certificates with reason V(not_deployed), in the order of O(certificates).
  returned: always
  type: list
  elements: str
  sample: []
renewal_info_url:
  description: The CA's C(renewalInfo) URL when ARI is in use, else V(null).
  returned: always
  type: str
  sample: https://acme-v02.api.letsencrypt.org/draft-ietf-acme-ari-03/renewalInfo
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import NoDirectoryError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.http import REQUESTS
from ansible_collections.certfleet.acme.plugins.module_utils._plan.ari_state import open_ari
from ansible_collections.certfleet.acme.plugins.module_utils._plan.checks import (
    certificates_option,
    expiry_input_problem,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.expiry import (
    due_names,
    expiry_facts,
    undeployed_names,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import endpoint_argument_spec
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import StateTrustError, check_state_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.workspace import sync_or_fail


def main():
    argument_spec = {
        "certificates": certificates_option(
            path={"type": "path"},
            names={"type": "list", "elements": "str"},
            key_type={"type": "str"},
            profile={"type": "str"},
            force={"type": "bool", "default": False},
            endpoint=endpoint_argument_spec(),
        ),
        "state_dir": {"type": "path"},
        "renew_days": {"type": "int"},
        "force": {"type": "bool", "default": False},
        "acme_directory": {"type": "str"},
        "acme_ca_bundle": {"type": "path"},
        "acme_allow_plain_http": {"type": "bool", "default": False},
        "request_timeout": {"type": "int", "default": 10},
        "set_facts": {"type": "bool", "default": True},
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require(module, CRYPTOGRAPHY)
    params = module.params
    if params["acme_directory"]:
        require(module, REQUESTS)
    problem = expiry_input_problem(params)
    if problem:
        module.fail_json(msg=problem)
    try:
        if params["state_dir"]:
            check_state_dir(params["state_dir"])  # before a certificate or cert.json is read from it
    except StateTrustError as exc:
        module.fail_json(msg=str(exc))

    timeout = params["request_timeout"]
    wrong_directory = None
    try:
        ari, warning = open_ari(params["acme_directory"], params["acme_ca_bundle"], timeout)
    except NoDirectoryError as exc:
        ari, warning, wrong_directory = None, None, str(exc)
    if warning:
        module.warn(warning)
    facts, warnings = expiry_facts(
        params["certificates"],
        params["state_dir"],
        params["renew_days"],
        force=params["force"],
        ari=ari,
        check_mode=module.check_mode,
        timeout=timeout,
    )
    for message in warnings:
        module.warn(message)
    sync_or_fail(module, params["state_dir"])
    due = due_names(facts)
    if wrong_directory and not due:  # with a due certificate, ordering it fails with this very message
        module.warn("%s; renewal is decided by remaining lifetime" % wrong_directory)
    module.exit_json(
        changed=False,
        ansible_facts={"cert_expiry": facts} if params["set_facts"] else {},
        certificates=facts,
        due=due,
        undeployed=undeployed_names(facts),
        renewal_info_url=ari.renewal_info_url if ari else None,
    )


if __name__ == "__main__":
    main()
