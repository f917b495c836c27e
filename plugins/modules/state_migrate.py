#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module certfleet.acme.state_migrate: copy a whole state between backends (logic in _state.migrate)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: state_migrate
short_description: Move the whole state of certfleet.acme between a directory, S3 and Vault
version_added: 0.2.0
description:
  - Copies every piece of state - the ACME account (key and URL per CA), each certificate's key, certificate,
    chain, full chain, C(cert.json) and pending order, the TXT journal and the last report - from O(source) to
    O(target), for example from a local directory to S3 before moving the renewals to AWX, or back.
  - Each object keeps its layout name (C(.acme/account.key), C(www/fullchain.pem) ...) and is written with a
    create-only conditional write (S3 C(If-None-Match), Vault check-and-set C(0)), every S3 object with SSE-KMS.
    An object already at the target with the same content is left as it is; one with other content stops the
    migration before anything is copied, unless O(overwrite=true).
  - Every key is then read back from the target and compared byte for byte; a missing or different one fails
    the task, naming it.
  - The source is not changed; it stays the way back until you remove it. Afterwards point
    C(letsencrypt_dns_state) (or C(letsencrypt_dns_dir)) at the target; the next run finds the account (no new
    registration) and renews each certificate by its own expiry.
  - Neither side may be in use. A lease that has not expired, or a lock file in a directory, stops the migration
    naming the run that holds it.
  - A certificate whose files were being written to the source when its run stopped (its marker
    C(<name>/.commit.json) is still there) stops the migration, naming it; run the role on the source once (it
    issues that certificate again), then migrate.
author:
  - certfleet.acme contributors (@certfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Lists what would be copied and what conflicts; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  source:
    description:
      - Where the state is now, with the fields of O(certfleet.acme.state_workspace#module:state_backend).
      - "For a directory: V({type: local, path: /var/lib/certfleet.acme})."
    type: dict
    required: true
  target:
    description: Where the state goes, with the same fields as O(source).
    type: dict
    required: true
  overwrite:
    description: Replace objects at the target whose content differs from the source's (a failed earlier attempt).
    type: bool
    default: false
requirements:
  - boto3 (for S3)
  - hvac (for Vault)
seealso:
  - module: certfleet.acme.state_workspace
"""

EXAMPLES = r"""
- name: Move the state of this controller to S3, encrypted with a KMS key
  certfleet.acme.state_migrate:
    source:
      type: local
      path: /var/lib/certfleet.acme
    target:
      type: s3
      bucket: acme-state
      prefix: prod
      kms_key_id: alias/acme-state
      region: eu-west-1

- name: And from S3 to Vault
  certfleet.acme.state_migrate:
    source: "{{ old_state }}"
    target:
      type: vault
      url: https://vault.example.com:8200
      mount: secret
      path: certfleet/prod
      auth: approle
      role_id: "{{ vault_role_id }}"
      secret_id: "{{ vault_secret_id }}"
"""

RETURN = r"""
key_count:
  description: How many pieces of state the source holds.
  returned: success
  type: int
  sample: 27
copied:
  description: The keys written to the target (in check mode, that would be written).
  returned: success
  type: list
  elements: str
  sample: [.acme/account.key, .acme/account.json, www/cert.pem]
unchanged:
  description: The keys the target already held with the same content.
  returned: success
  type: list
  elements: str
  sample: []
accounts:
  description: 1 when the source holds an ACME account key, else 0.
  returned: success
  type: int
  sample: 1
certificates:
  description: Names of the certificates in the source.
  returned: success
  type: list
  elements: str
  sample: [www, api]
verified_at:
  description: When the target was read back and found whole, ISO 8601 UTC; V(null) in check mode.
  returned: success
  type: str
  sample: "2026-12-03T19:30:00Z"
source:
  description: The source, without credentials.
  returned: always
  type: str
  sample: /var/lib/certfleet.acme
target:
  description: The target, without credentials.
  returned: always
  type: str
  sample: s3://acme-state/prod
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._state.migrate import MigrationError, migrate
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import (
    SECRET_FIELDS,
    backend_problems,
    describe_backend,
    open_store,
)


def main():
    module = AnsibleModule(
        argument_spec={
            # Plain dicts, checked by backend_problems with each message naming its side: the suboptions are
            # documented once, in the state_backend option of state_workspace.
            "source": {"type": "dict", "required": True},
            "target": {"type": "dict", "required": True},
            "overwrite": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    for side in ("source", "target"):
        module.no_log_values.update(
            str(value) for name, value in params[side].items() if name in SECRET_FIELDS and value not in (None, "")
        )
    where = {"source": describe_backend(params["source"]), "target": describe_backend(params["target"])}
    problems = [
        "%s: %s" % (side, problem) for side in ("source", "target") for problem in backend_problems(params[side])
    ]
    if problems:
        module.fail_json(msg="; ".join(problems), **where)
    if where["source"] == where["target"]:
        module.fail_json(msg="source and target are the same state (%s)" % where["source"], **where)
    try:
        source, target = open_store(params["source"]), open_store(params["target"])
        outcome = migrate(source, target, overwrite=params["overwrite"], check_mode=module.check_mode)
    except (MigrationError, StoreError) as exc:
        module.fail_json(msg=str(exc), **where)
    module.exit_json(changed=bool(outcome["copied"]), **outcome, **where)


if __name__ == "__main__":
    main()
