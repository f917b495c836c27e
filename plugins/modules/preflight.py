#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask the ACME CA and every DNS provider, read-only, whether a run could work: what check mode needs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check, read-only, that the ACME CA and every DNS provider answer as a run needs
version_added: 0.1.0
description:
  - Asks the questions a run asks first, and nothing that changes anything, so that a C(--check) run fails where
    the real run would, with the same message. The role C(certfleet.acme.letsencrypt_dns) runs it in check mode
    only, also when no certificate is due.
  - At the CA it fetches the directory O(acme_directory) and, when an account key exists in O(state_dir), looks the
    account up with C(onlyReturnExisting) (RFC 8555 section 7.3.1). It never creates a key, registers an account or
    writes a file. When a run would have to register an account, the result says V(would_register); a
    registration that the run would refuse (terms not agreed, an External Account Binding missing) fails here with
    the run's message.
  - At each provider of O(providers) that is not in O(skip_providers) it reads the TXT values at
    C(_acme-challenge.<zone>) for the provider's first zone, through the provider's own authenticated read (a DNS
    query signed with the TSIG key for C(rfc2136), the API with its key or token for C(powerdns), C(route53),
    C(cloudflare) and C(rackspace)), as the run does before it publishes. A wrong secret, an unknown zone or an
    unreachable server fails here. Providers of type C(hook) and C(manual) cannot read and are not asked.
  - An O(state_dir) inside an installed collection (with an C(ansible_collections/<namespace>/<name>) folder above
    it) is refused before anything is asked, as M(certfleet.acme.state_lock) refuses it in a run, since an upgrade of
    that collection replaces the folder with every key in it.
  - The CA and the providers are asked at the same time. Every problem is named in one message; secret options
    of the provider entries are masked in all output.
author:
  - certfleet contributors (@certfleet)
requirements:
  - dnspython >= 2.4 (for providers of type C(rfc2136))
  - boto3 (for providers of type C(route53))
  - requests (for providers of type C(powerdns), C(rackspace) and C(cloudflare))
extends_documentation_fragment:
  - certfleet.acme.acme
  - certfleet.acme.provider_rfc2136
  - certfleet.acme.provider_route53
  - certfleet.acme.provider_powerdns
  - certfleet.acme.provider_rackspace
  - certfleet.acme.provider_cloudflare
attributes:
  check_mode:
    description: Runs fully; it only reads, in and out of check mode, and never reports a change.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  providers:
    description:
      - The DNS provider entries, as in the role variable C(letsencrypt_dns_providers) and the O(providers) option
        of M(certfleet.acme.dns_txt_record). Each needs C(name), C(type) and C(zones), plus the options of its type,
        which the notes below list for the types that are asked; entries of type C(hook) and C(manual) take the
        options M(certfleet.acme.dns_txt_record) documents, are checked, and are not asked.
      - An empty list asks only the CA.
    type: list
    elements: dict
    default: []
  skip_providers:
    description:
      - Names of providers that are not asked, as for M(certfleet.acme.dns_txt_record).
    type: list
    elements: str
    default: []
seealso:
  - module: certfleet.acme.acme_dns01_order
  - module: certfleet.acme.dns_txt_record
"""

EXAMPLES = r"""
- name: Check the CA and the DNS providers before a change window
  certfleet.acme.preflight:
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    state_dir: /srv/certificates
    terms_agreed: true
    providers:
      - name: bind
        type: rfc2136
        server: 192.0.2.53
        key_name: acme
        key_secret: "{{ vault_tsig_secret }}"
        zones: [example.org]
  register: preflight

- name: Show whether a run would register an account
  ansible.builtin.debug:
    msg: "account: {{ preflight.acme.account }}"
"""

RETURN = r"""
acme:
  description: What the CA said.
  returned: always
  type: dict
  contains:
    directory:
      description: The directory URL asked.
      type: str
      sample: https://acme-v02.api.letsencrypt.org/directory
    account:
      description:
        - V(exists) when the account key in O(state_dir) has an account at the CA; V(would_register) when a run
          would register one (no key yet, or the CA does not know the key); null when the CA could not be asked.
      type: str
      sample: exists
    account_url:
      description: The URL of the existing account, else null.
      type: str
      sample: https://acme-v02.api.letsencrypt.org/acme/acct/123456
providers:
  description: One entry per provider that is not skipped.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name of the provider entry.
      type: str
      sample: bind
    zone:
      description: The zone whose C(_acme-challenge) name was read; null for a provider that cannot read.
      type: str
      sample: example.org
    record:
      description: The name read; null for a provider that cannot read.
      type: str
      sample: _acme-challenge.example.org
    read:
      description: Whether the provider was asked (false for types C(hook) and C(manual)).
      type: bool
      sample: true
    error:
      description: Why the read failed, as a run's publishing would say it; null on success.
      type: str
      sample: null
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings, acme_argument_spec
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import ACME
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._dns.module import ProviderModule
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import missing_library
from ansible_collections.certfleet.acme.plugins.module_utils._run.preflight import preflight
from ansible_collections.certfleet.acme.plugins.module_utils._state.location import refuse_inside_collection
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import check_state_dir


def main():
    argument_spec = acme_argument_spec()
    argument_spec.update(
        providers=dict(type="list", elements="dict", default=[]),
        skip_providers=dict(type="list", elements="str", default=[]),
    )
    module = ProviderModule(argument_spec=argument_spec, supports_check_mode=True)
    require(module, CRYPTOGRAPHY, ACME)
    missing = missing_library(module.params["providers"])
    if missing is not None:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    try:
        settings = AcmeSettings.from_params(module.params)
        refuse_inside_collection(settings.state_dir)
        check_state_dir(settings.state_dir)
        result = preflight(settings, module.params["providers"], module.params["skip_providers"])
    except ValueError as exc:  # a bad option, state_dir, provider entry or skipped name: nothing was asked
        module.fail_json(msg=str(exc))
    if result["problems"]:
        module.fail_json(msg="; ".join(result["problems"]), acme=result["acme"], providers=result["providers"])
    module.exit_json(changed=False, acme=result["acme"], providers=result["providers"])


if __name__ == "__main__":
    main()
