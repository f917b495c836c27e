# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_deploy's run: every parameter checked and turned into a Deployment before anything changes.

A bad field (a mode, an owner, a verify port) fails here with its name, so
no file is written for a task that could not have finished.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import (
    DeployError,
    parse_mode,
    pem_material,
    plan_targets,
    resolve_owner,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.server import (
    Deployment,
    Runner,
    default_commands,
    pick_command,
    shell_runner,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import dns_names, load_certificate
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import sni_for


def verify_settings(params: dict, names) -> dict | None:
    """The verify endpoint with its SNI filled in; raises DeployError for a bad field."""
    verify = params["verify"]
    if not verify:
        return None
    if not verify["host"]:
        raise DeployError("verify.host is empty")
    if not 0 < verify["port"] < 65536:
        raise DeployError("verify.port value %r is not a TCP port" % verify["port"])
    if verify["timeout"] <= 0:
        raise DeployError("verify.timeout must be more than 0, not %r" % verify["timeout"])
    return dict(verify, sni=verify["sni"] or sni_for(names))


def deployment(params: dict, runner: Runner) -> Deployment:
    """Everything checked and worked out before any change; raises DeployError naming the bad field.

    ``runner`` runs the validate and reload commands (the module's, through :func:`shell_runner`).
    """
    if params["verify_retries"] < 0:
        raise DeployError("verify_retries must be 0 or more, not %r" % params["verify_retries"])
    if params["verify_delay"] < 0:
        raise DeployError("verify_delay must be 0 or more, not %r" % params["verify_delay"])
    if params["command_timeout"] <= 0:
        raise DeployError("command_timeout must be more than 0, not %r" % params["command_timeout"])
    material = pem_material(params["privkey"], params["cert_pem"], params["chain_pem"], params["fullchain_pem"])
    owner = resolve_owner(params["owner"], params["group"])
    modes = parse_mode("mode", params["mode"]), parse_mode("key_mode", params["key_mode"])
    targets = plan_targets(params["cert"], params["type"], params["dest"], material, modes, owner)
    default_validate, default_reload = default_commands(params["type"])
    return Deployment(
        params["cert"],
        params["type"],
        targets,
        material.identity,
        validate_command=pick_command(params["validate_command"], default_validate),
        reload_command=pick_command(params["reload_command"], default_reload),
        verify=verify_settings(params, dns_names(load_certificate(material.cert))),
        verify_retries=params["verify_retries"],
        verify_delay=params["verify_delay"],
        command_timeout=params["command_timeout"],
        runner=runner,
    )


def run_module(module) -> None:
    """The module's work once its arguments are parsed: fail_json or exit_json."""
    require(module, CRYPTOGRAPHY)
    try:
        planned = deployment(module.params, shell_runner(module.run_command))
    except DeployError as exc:
        module.fail_json(msg="cert %r: %s" % (module.params["cert"], exc))
    result = planned.run(check_mode=module.check_mode, diff=module._diff)
    for warning in planned.warnings:
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
