#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take certificates another ACME client issued into the state, so moving here costs no re-issue."""

from __future__ import annotations

DOCUMENTATION = r"""
module: certificate_adopt
short_description: Adopt certificates issued by certbot, dehydrated or dnscontrol into the state, without re-issuing
version_added: 0.2.0
description:
  - Reads each certificate where another ACME client keeps it, checks it, and writes it into
    C(<state_dir>/<name>/) exactly as M(certfleet.acme.acme_finalize) writes an issued one (C(privkey.pem) mode 0600,
    C(cert.pem), C(chain.pem), C(fullchain.pem) and C(cert.json), staged and switched in as one set). From then on
    M(certfleet.acme.cert_expiry_facts) reads it like an issued certificate, and it is renewed by its own expiry.
  - "Layouts (O(certificates[].from)): V(certbot) reads C(<path>/live/<source_name>/privkey.pem), C(cert.pem),
    C(chain.pem) and C(fullchain.pem), where O(certificates[].path) is certbot's configuration directory (for example
    C(/etc/letsencrypt)); V(dehydrated) reads the same four files in C(<path>/certs/<source_name>/), where
    O(certificates[].path) is dehydrated's C(BASEDIR); V(dnscontrol) reads what C(dnscontrol get-certs) writes:
    C(<path>/certificates/<source_name>/<source_name>.crt) (the certificate followed by its chain),
    C(<source_name>.key) and C(<source_name>.json) (the ACME certificate resource), where O(certificates[].path) is
    the directory given to C(get-certs -dir); a O(certificates[].path) that holds those three files directly is
    read too."
  - "The symlinks certbot (into C(archive/)) and dehydrated (to C(cert-<timestamp>.pem) files) keep are followed: what
    they point to is read. The state directory receives plain files; the source is only read."
  - "Each certificate is checked: the private key must be unencrypted and match the certificate, the chain must parse
    and start with the certificate's issuer, and the certificate must cover every name of O(certificates[].names).
    Names the certificate has beyond those, or a key type other than O(certificates[].key_type), are warnings: the
    certificate is adopted, and the next run renews it for what the entry asks for."
  - Every source is checked before anything is written. When one fails its checks, the module fails with one message
    naming each such certificate, its source path and the problem, and adopts none.
  - A certificate the state already has is never replaced. When it is the very same certificate (same SHA-256
    fingerprint) the result is V(unchanged); when it is another one, it is left alone and the result is V(skipped)
    with the serial the state has in RV(certificates[].reason). Adoption is for a first run; a second run with the
    same list changes nothing.
  - The private key is re-encoded as unencrypted PKCS#8 PEM, as the collection writes its own keys. No key material
    is ever returned.
author:
  - certfleet contributors (@certfleet)
attributes:
  check_mode:
    description: Reads and checks every source and the state, writes nothing; a certificate it would adopt is
      returned as V(would_adopt).
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  state_dir:
    description:
      - The state directory (role variable C(letsencrypt_dns_dir)); each certificate goes to C(<state_dir>/<name>/).
      - It is made (mode 0700) when it does not exist. A state directory that another user owns or can write is
        refused, as by every module of the collection.
    type: path
    required: true
  certificates:
    description:
      - The certificates to adopt.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The name of the certificate in the state (the C(name) of its C(letsencrypt_dns_certificates) entry).
        type: str
        required: true
      names:
        description:
          - The DNS names the entry asks for; the certificate must cover each of them.
        type: list
        elements: str
        required: true
      key_type:
        description:
          - The key type the entry asks for. A certificate with another key type is adopted with a warning, and the
            next run renews it (C(key_type_changed)). Not set means no key type is asked for.
        type: str
        choices: [ec256, ec384, rsa2048, rsa3072, rsa4096]
      from:
        description:
          - The layout of the source.
        type: str
        required: true
        choices: [certbot, dehydrated, dnscontrol]
      path:
        description:
          - The source's base directory - certbot's configuration directory, dehydrated's C(BASEDIR), or the directory
            of C(dnscontrol get-certs -dir).
        type: path
        required: true
      source_name:
        description:
          - The certificate's name in the source (certbot's lineage name, dehydrated's directory, dnscontrol's
            certificate name). Defaults to O(certificates[].name).
        type: str
notes:
  - Adoption does not contact the CA. The certificate keeps the account that ordered it at the CA; renewals are made
    with this collection's account.
seealso:
  - module: certfleet.acme.cert_expiry_facts
  - module: certfleet.acme.acme_finalize
"""

EXAMPLES = r"""
- name: Take over the certificates certbot keeps on this controller
  certfleet.acme.certificate_adopt:
    state_dir: /var/lib/certfleet
    certificates:
      - name: www
        names: [example.com, www.example.com]
        key_type: rsa2048
        from: certbot
        path: /etc/letsencrypt
        source_name: example.com

- name: From dehydrated and from dnscontrol get-certs
  certfleet.acme.certificate_adopt:
    state_dir: /var/lib/certfleet
    certificates:
      - name: api
        names: [api.example.com]
        from: dehydrated
        path: /etc/dehydrated
      - name: mail
        names: [mail.example.com]
        from: dnscontrol
        path: /srv/dnscontrol/certs
"""

RETURN = r"""
certificates:
  description: One entry per certificate of O(certificates), in their order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The certificate's name in the state.
      type: str
      sample: www
    result:
      description:
        - V(adopted) (written into the state), V(would_adopt) (check mode), V(unchanged) (the state holds this very
          certificate) or V(skipped) (the state holds another certificate for this name, left as it is).
      type: str
      sample: adopted
    serial:
      description: The serial of the source's certificate, as C(openssl x509 -serial) prints it.
      type: str
      sample: 04A1B2C3D4E5F60718293A4B5C6D7E8F9A0B
    not_after:
      description: When the source's certificate expires (ISO 8601, UTC).
      type: str
      sample: "2026-03-01T12:00:00Z"
    source:
      description: The directory the certificate was read from.
      type: str
      sample: /etc/letsencrypt/live/example.com
    layout:
      description: The layout it was read in (O(certificates[].from)).
      type: str
      sample: certbot
    reason:
      description: Why a V(skipped) certificate was left alone; null otherwise.
      type: str
      sample: "the state already has a certificate for www, serial 0A1B; adoption is for a first run"
    warnings:
      description: What the next run will change about it (names beyond the entry's, another key type).
      type: list
      elements: str
      sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.apply import (
    ADOPTED,
    AdoptionRefused,
    adopt_all,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.sources import LAYOUTS
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import KEY_TYPES
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import certificate_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import StateTrustError, check_state_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.workspace import sync_or_fail


def main():
    module = AnsibleModule(
        argument_spec={
            "state_dir": {"type": "path", "required": True},
            "certificates": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "names": {"type": "list", "elements": "str", "required": True},
                    "key_type": {"type": "str", "choices": list(KEY_TYPES)},
                    "from": {"type": "str", "required": True, "choices": list(LAYOUTS)},
                    "path": {"type": "path", "required": True},
                    "source_name": {"type": "str"},
                },
            },
        },
        supports_check_mode=True,
    )
    require(module, CRYPTOGRAPHY)
    state_dir, certificates = module.params["state_dir"], module.params["certificates"]
    seen = set()
    for index, item in enumerate(certificates):
        problem = certificate_name_error(item["name"])
        if problem:
            module.fail_json(msg="certificates[%d]: name %r %s" % (index, item["name"], problem))
        if item["name"] in seen:
            module.fail_json(msg="certificates[%d]: certificate %r is adopted twice" % (index, item["name"]))
        seen.add(item["name"])
    try:
        check_state_dir(state_dir)
        results = adopt_all(state_dir, certificates, check_mode=module.check_mode)
    except StateTrustError as exc:
        module.fail_json(msg=str(exc))
    except AdoptionRefused as exc:
        module.fail_json(msg="%d certificate(s) not adopted: %s" % (len(exc.problems), exc))
    except OSError as exc:
        module.fail_json(msg="writing an adopted certificate into %s failed: %s" % (state_dir, exc))
    for result in results:
        for warning in result["warnings"]:
            module.warn("certificate %r: %s" % (result["name"], warning))
    changed = any(result["result"] == ADOPTED for result in results)
    sync_or_fail(module, state_dir, changed=changed, certificates=results)
    module.exit_json(changed=changed, certificates=results)


if __name__ == "__main__":
    main()
