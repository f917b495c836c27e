#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring an ACME account key from another client into the state, find its account, roll its key on request."""

from __future__ import annotations

DOCUMENTATION = r"""
module: acme_account
short_description: Import an ACME account key made by another client, find its account, and roll the key over
version_added: 0.2.0
description:
  - Makes an existing ACME account the account of O(state_dir), so that the collection uses it instead of
    registering a new one. The key may come from another client (dehydrated, certbot, acme.sh, openssl) in the form
    that client wrote it, from a file (O(account_key_src)) or from a variable (O(account_key_content)), for example
    encrypted with Ansible Vault in group variables.
  - Accepted keys are RSA with 2048, 3072 or 4096 bits and EC on the curves P-256 and P-384, as unencrypted PEM
    (PKCS#1 C(RSA PRIVATE KEY) as dehydrated and C(openssl genrsa -traditional) write it, SEC1 C(EC PRIVATE KEY), or
    PKCS#8 C(PRIVATE KEY)) or as a JWK (a JSON object with the private members, as certbot's C(private_key.json)).
    Anything else (RSA 1024, P-521, Ed25519, an encrypted PEM, a public key) fails the task with one message naming
    where the key came from and what it is. Requests are signed with the algorithm the key needs (RS256, ES256 or
    ES384).
  - When O(state_dir) has no account key yet, the key given is written to C(<state_dir>/.acme/account.key) as
    unencrypted PKCS#8 PEM, mode 0600, in the 0700 directory C(.acme), and the task reports a change. When the same
    key is there already, nothing is written and nothing changes. When a B(different) key is there, the task fails,
    naming both keys by their JWK thumbprint (RFC 7638, SHA-256, base64url); an account key is never overwritten.
    To use the new key, move the old C(account.key) away first.
  - The account is then looked up at the CA with C(onlyReturnExisting) (RFC 8555 section 7.3.1) and its URL cached
    for O(acme_directory) in C(<state_dir>/.acme/account.json), which maps each directory URL to one account URL.
    When the CA does not know the key, a new account is registered with it only when O(terms_agreed=true); otherwise
    the task fails before anything is written.
  - Without O(account_key_src) and O(account_key_content), the account key already in O(state_dir) is used (for a
    rollover of the current key).
  - With O(rollover=true), the account key is replaced by a new EC P-256 key with an RFC 8555 key change (section
    7.3.5). The request to the CA's C(keyChange) URL is signed by the old key and carries an inner request signed by
    the new key. The account URL stays the same, and the old key no longer works at the CA. The new key waits in
    C(<state_dir>/.acme/account.key.next) (mode 0600) while the CA is asked, and replaces C(account.key) only once
    the CA accepted it. When the CA refuses, it is removed and nothing changed; when the CA could not be reached, it
    is kept, the task says so, and every later run of this module fails with instructions until it is resolved.
  - The private key is never returned or logged; the result names keys by thumbprint only.
author:
  - certfleet contributors (@certfleet)
extends_documentation_fragment:
  - certfleet.acme.acme
attributes:
  check_mode:
    description:
      - Reads the key and asks the CA the same read-only questions (the directory, and the account with
        C(onlyReturnExisting)); writes nothing, registers nothing and changes no key. The result and RV(msg) say
        what a real run would do.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  account_key_src:
    description:
      - Path of a file on the host the module runs on (the controller in the role) that holds the account key, in
        one of the forms listed above (for example dehydrated's C(accounts/<hash>/account_key.pem) or certbot's
        C(accounts/<server>/directory/<id>/private_key.json)).
      - Mutually exclusive with O(account_key_content).
    type: path
  account_key_content:
    description:
      - The account key itself, as text, in one of the forms listed above (role variable
        C(letsencrypt_dns_account_key_content); keep it encrypted with Ansible Vault).
      - Mutually exclusive with O(account_key_src). Never logged or returned.
    type: str
  rollover:
    description:
      - Replace the account key by a new EC P-256 key at the CA (RFC 8555 key change) once the account is found.
      - Each run with V(true) changes the key again; set it for one run, then back to V(false).
    type: bool
    default: false
notes:
  - One O(state_dir) holds one account key; it has one account per CA directory, cached in C(account.json).
seealso:
  - module: certfleet.acme.acme_dns01_order
  - module: certfleet.acme.preflight
  - name: RFC 8555 section 7.3.5 (account key rollover)
    description: How the key change request is built.
    link: https://www.rfc-editor.org/rfc/rfc8555#section-7.3.5
"""

EXAMPLES = r"""
- name: Use the account dehydrated registered, without registering a new one
  certfleet.acme.acme_account:
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    state_dir: /srv/certificates
    account_key_src: /etc/dehydrated/accounts/aHR0cHM6Ly9hY21lLXYwMi5hcGkubGV0c2VuY3J5cHQub3JnL2RpcmVjdG9yeQo/account_key.pem

- name: Use certbot's account, kept in an Ansible Vault encrypted variable
  certfleet.acme.acme_account:
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    state_dir: /srv/certificates
    account_key_content: "{{ vault_certbot_private_key_json }}"
  no_log: true

- name: Replace the account key at the CA, keeping the account
  certfleet.acme.acme_account:
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    state_dir: /srv/certificates
    rollover: true
  register: account

- name: Show the new key's thumbprint
  ansible.builtin.debug:
    msg: "{{ account.account_url }} now uses key {{ account.thumbprint }}"
"""

RETURN = r"""
account_url:
  description:
    - The URL of the account at the CA (the same before and after a rollover).
    - Null in check mode when a real run would register a new account.
  returned: always
  type: str
  sample: https://acme-v02.api.letsencrypt.org/acme/acct/123456
key_type:
  description: The type of the account key in use after the task (the new key after a rollover).
  returned: always
  type: str
  choices: [rsa2048, rsa3072, rsa4096, ec256, ec384]
  sample: rsa2048
thumbprint:
  description:
    - The JWK thumbprint (RFC 7638, SHA-256, base64url) of the account key in use after the task (the new key
      after a rollover). The key itself is never returned.
  returned: always
  type: str
  sample: 5wmmdCxsfu2fnFhUkvxjeqLrRpU7z7xDVYsl6UBqpNY
previous_thumbprint:
  description: The thumbprint of the key before a rollover; null without one.
  returned: always
  type: str
  sample: null
imported:
  description: Whether the key given was written into O(state_dir) (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
registered:
  description:
    - Whether a new account was registered because the CA did not know the key (in check mode, whether it would be).
  returned: always
  type: bool
  sample: false
rolled_over:
  description: Whether the account key was changed at the CA (in check mode, whether it would be).
  returned: always
  type: bool
  sample: false
msg:
  description: What was done, or in check mode what would be done, in one sentence.
  returned: always
  type: str
  sample: "https://acme-v02.api.letsencrypt.org/directory: imported the rsa2048 account key from account_key_content;
    the CA knows it as https://acme-v02.api.letsencrypt.org/acme/acct/123456"
"""

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import account_failure
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_import import (
    manage_account,
    read_key_input,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings
from ansible_collections.certfleet.acme.plugins.module_utils._acme.module import acme_module
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import check_state_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.workspace import sync_or_fail


def main():
    module = acme_module(
        {
            "account_key_src": {"type": "path"},
            "account_key_content": {"type": "str", "no_log": True},
            "rollover": {"type": "bool", "default": False},
        }
    )
    try:
        settings = AcmeSettings.from_params(module.params)
        check_state_dir(settings.state_dir)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        given = read_key_input(module.params["account_key_src"], module.params["account_key_content"])
        result = manage_account(settings, given, module.params["rollover"], module.check_mode)
    except Exception as exc:  # noqa: BLE001 - the key, account, network, TLS and CA errors, each one message
        module.fail_json(msg=account_failure(settings, exc))
    changed = result["imported"] or result["registered"] or result["rolled_over"]
    sync_or_fail(module, settings.state_dir, changed=changed, **result)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
