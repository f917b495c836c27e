# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ACME modules do the same way: start, check their input, open the account, report failures.

``acme_dns01_order`` and ``acme_finalize`` share their options (the
``certfleet.acme.acme`` doc fragment), the order in which they check things
before the first request, the message when the account cannot be used, and
how a batch with failed certificates fails the task while returning every
result. Written once here, the two modules cannot drift apart.
"""

from __future__ import annotations

from typing import Callable

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import account_failure, open_session
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSession,
    AcmeSettings,
    acme_argument_spec,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import problem_text
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec, SpecError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import ACME
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import check_state_dir


def acme_module(options: dict) -> AnsibleModule:
    """The module with the shared ACME options and ``options``; fails at once when cryptography or acme is missing."""
    argument_spec = acme_argument_spec()
    argument_spec.update(options)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require(module, CRYPTOGRAPHY, ACME)
    return module


def read_input(module: AnsibleModule, option: str, parse: Callable[[list], list]) -> tuple[list, AcmeSettings]:
    """``(specs, settings)`` from the list option ``option`` and the shared options; the first problem fails."""
    try:
        specs: list[CertSpec] = parse(module.params[option])
    except SpecError as exc:
        module.fail_json(msg=str(exc))
    try:
        settings = AcmeSettings.from_params(module.params)
        check_state_dir(settings.state_dir)  # before anything is read from it or written to it
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return specs, settings


def session_or_fail(module: AnsibleModule, settings: AcmeSettings) -> AcmeSession:
    """The run's session with the account; the task fails when the account cannot be used or reached."""
    try:
        return open_session(settings)
    except Exception as exc:  # noqa: BLE001 - the account, network, TLS and CA errors before any order
        module.fail_json(msg=account_failure(settings, exc))
    raise AssertionError("unreachable")  # pragma: no cover


def fail_on_failures(module: AnsibleModule, results: list[dict], what: str, **returned) -> None:
    """Fail the task naming every result with status failed (``N of M certificate(s) <what>: ...``).

    ``returned`` goes back with the failure, so the caller still gets every result.
    """
    failed = [result for result in results if result["status"] == FAILED]
    if failed:
        reasons = "; ".join("%s (%s)" % (result["name"], problem_text(result.get("error"))) for result in failed)
        module.fail_json(msg="%d of %d certificate(s) %s: %s" % (len(failed), len(results), what, reasons), **returned)
