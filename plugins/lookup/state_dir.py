# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The default of letsencrypt_dns_dir: a per-user data folder on the controller that no upgrade deletes.

A role default cannot ask the controller for its user or environment, and the
earlier default (``{{ playbook_dir }}/certificates``) lay inside the installed
collection when the collection's own playbook ran. The rules live in
``_state.location``, shared with the modules that refuse a state directory
inside a collection.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: state_dir
author:
  - certfleet.acme contributors (@certfleet)
version_added: 0.1.0
short_description: The default state directory of the letsencrypt_dns role, a per-user data folder on the controller
description:
  - Returns the folder where the role C(certfleet.acme.letsencrypt_dns) keeps its state (the ACME account key,
    every certificate's private key and files, pending orders) when C(letsencrypt_dns_dir) is not set. It is the
    role's default of C(letsencrypt_dns_dir).
  - The folder is C($XDG_DATA_HOME/certfleet.acme) when the environment variable C(XDG_DATA_HOME) is set to an
    absolute path; otherwise C(/var/lib/certfleet.acme) when the controller runs as root (effective uid 0), and
    C(~/.local/share/certfleet.acme) for any other user. It is computed on the controller, where lookups run, and
    not created here (the role's lock creates it).
  - Earlier releases kept the state in C(<playbook_dir>/certificates). When that folder holds an ACME account key
    (C(.acme/account.key)) and the new default does not, the lookup fails, naming both folders, instead of letting
    the run start afresh (which would register a new account and issue every certificate again). Set
    C(letsencrypt_dns_dir) to the old folder, or move the old folder to the new default. An old folder inside an
    installed collection can only be moved, since a state directory inside a collection is refused.
  - Takes no terms and no options.
notes:
  - In AWX, Automation Controller or ansible-navigator each job runs in a new container, whose data folder is
    thrown away with it. Set C(letsencrypt_dns_dir) to persistent storage there instead of using this default.
  - The modules M(certfleet.acme.state_lock) and M(certfleet.acme.preflight) refuse a state directory that lies
    inside any installed collection (a path with an C(ansible_collections/<namespace>/<name>) folder above it),
    because an upgrade of that collection replaces the folder.
seealso:
  - module: certfleet.acme.state_lock
  - name: XDG Base Directory Specification
    description: Where C(XDG_DATA_HOME) comes from.
    link: https://specifications.freedesktop.org/basedir-spec/latest/
"""

EXAMPLES = r"""
- name: Show where the role keeps its state when letsencrypt_dns_dir is not set
  ansible.builtin.debug:
    msg: "{{ lookup('certfleet.acme.state_dir') }}"

- name: Back up the state directory of the default location
  ansible.builtin.archive:
    path: "{{ lookup('certfleet.acme.state_dir') }}"
    dest: /backup/certfleet-state.tar.gz
    mode: "0600"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_raw:
  description:
    - One element, the absolute path of the default state directory, for example
      C(/home/ops/.local/share/certfleet.acme).
  type: list
  elements: str
"""

# Below the documentation, as ansible-test's validate-modules requires of plugins too.
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.certfleet.acme.plugins.module_utils._state.location import (  # noqa: E402
    StateLocationError,
    state_dir_default,
)


class LookupModule(LookupBase):
    """certfleet.acme.state_dir lookup."""

    def run(self, terms, variables=None, **kwargs):
        if terms or kwargs:
            raise AnsibleLookupError(
                "certfleet.acme.state_dir takes no terms and no options, got %s: it returns the default state "
                "directory" % ", ".join([repr(term) for term in terms] + sorted("%s=" % name for name in kwargs))
            )
        playbook_dir = (variables or {}).get("playbook_dir")
        try:
            return [state_dir_default(str(playbook_dir) if playbook_dir else None)]
        except StateLocationError as exc:
            raise AnsibleLookupError(str(exc)) from None
