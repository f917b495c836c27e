# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The optional third-party libraries, each imported under one guard in one file of this package.

Ansible imports module code where a library may be missing (ansible-test's
import check, a controller without boto3), so every library is imported inside
``try`` and a module reports what to install. One file per library keeps the
cost where it is paid: a task that needs no AWS never loads boto3.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib


def require(module, *libraries: tuple[str, bool, str | None]) -> None:
    """``fail_json`` naming the first missing library of ``(pip name, HAS_X, X_IMPORT_ERROR)`` triples."""
    for name, available, error in libraries:
        if not available:
            module.fail_json(msg=missing_required_lib(name), exception=error)
