# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fail a module early, and clearly, when a Python library it needs is missing.

The module_utils import their third-party libraries optionally (so Ansible
can load them anywhere); the modules call :func:`require_libraries` first so
a missing library is one "install X" message instead of a NameError later.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import ACME_IMPORT_ERROR, HAS_ACME
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
)


def require_libraries(module, acme: bool = True) -> None:
    """``fail_json`` naming the missing library (cryptography, and acme unless ``acme=False``)."""
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    if acme and not HAS_ACME:
        module.fail_json(msg=missing_required_lib("acme"), exception=ACME_IMPORT_ERROR)
