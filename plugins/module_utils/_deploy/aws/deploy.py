# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_certificate_deploy's run: check the input, read the files, pick the target by type and deploy.

The private key only ever goes to AWS in the request that stores it; it is
never part of a result or an error message, and the module adds its lines to
``no_log_values`` as a second line of defence.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import AwsSession, AwsSetupError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs import require
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import BOTO3
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import CRYPTOGRAPHY
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.acm import AcmDeployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.alb import AlbDeployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import (
    CertificateFiles,
    load_certificate_files,
    private_key_fragments,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.iam_elb import IamElbDeployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.options import check_options
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.secretsmanager import SecretDeployer

DEPLOYERS = {
    "aws_acm": AcmDeployer,
    "aws_iam_elb": IamElbDeployer,
    "aws_alb": AlbDeployer,
    "aws_secretsmanager": SecretDeployer,
}


def deploy(
    params: dict, files: CertificateFiles, check_mode: bool = False, session: AwsSession | None = None, **kwargs
):
    """Deploy ``files`` as ``params['type']`` says; returns ``(result, warnings)`` or raises DeployError."""
    deployer = DEPLOYERS[params["type"]](params, files, session or AwsSession(params), check_mode=check_mode, **kwargs)
    try:
        result = deployer.run()
    except AwsSetupError as exc:
        raise DeployError(str(exc), dict(deployer.result)) from None
    except DeployError as exc:
        if not exc.result:
            exc.result = dict(deployer.result)
        raise
    return result, deployer.warnings


def run_module(module) -> None:
    """The module's work once its arguments are parsed: fail_json or exit_json."""
    require(module, BOTO3, CRYPTOGRAPHY)
    try:
        check_options(module.params)
        files = load_certificate_files(module.params["cert_name"], module.params["cert_dir"])
    except DeployError as exc:
        module.fail_json(msg=str(exc), changed=False)
    # The key goes to AWS, never into output: mask it (and each of its lines) everywhere.
    module.no_log_values.update(private_key_fragments(files.privkey))

    try:
        result, warnings = deploy(module.params, files, check_mode=module.check_mode)
    except DeployError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)
