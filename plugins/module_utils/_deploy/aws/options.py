# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input check of aws_certificate_deploy: one clear error naming the option and value, before AWS is asked.

A wrong listener ARN or a name IAM would refuse is cheaper to report here
than as an AWS error after some of the work has been done.
"""

from __future__ import annotations

import re

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import certificate_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError, is_acm_arn
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import ALB_ROLES, AWS_TYPE_OPTIONS, AWS_TYPES

# IAM: names of [\w+=,.@-], at most 128 characters; a dated name adds 15.
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,113}$")
# IAM paths: "/" or "/.../" of printable ASCII, at most 512 characters.
_IAM_PATH = re.compile(r"^/(?:[\x21-\x7e]{0,510}/)?$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_ENDPOINT = re.compile(r"^https?://[^/\s]+")


def check_options(params: dict) -> None:
    """Raise DeployError for the first bad option of ``params`` (the module's parameters)."""
    kind = params.get("type")
    if kind not in AWS_TYPES:
        raise DeployError("type %r must be one of %s" % (kind, ", ".join(AWS_TYPES)))
    name = params.get("cert_name")
    problem = certificate_name_error(name)
    if problem:
        raise DeployError("cert_name %r %s" % (name, problem))
    for option, types in AWS_TYPE_OPTIONS.items():
        if params.get(option) is not None and kind not in types:
            raise DeployError("%s is only used with type %s, not with type %s" % (option, " or ".join(types), kind))
    endpoint = params.get("endpoint_url")
    if endpoint and not _ENDPOINT.match(endpoint):
        raise DeployError("endpoint_url %r must be an http:// or https:// URL" % endpoint)
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise DeployError("wait_timeout %r must not be negative" % params["wait_timeout"])
    arn = params.get("certificate_arn")
    if arn is not None and not is_acm_arn(arn):
        raise DeployError("certificate_arn %r is not an ACM certificate ARN (arn:aws:acm:...:certificate/...)" % arn)
    if kind == "aws_iam_elb":
        _check_iam_elb(params, name)
    if kind == "aws_alb":
        listener = params.get("listener_arn") or ""
        if ":elasticloadbalancing:" not in listener or ":listener/" not in listener:
            raise DeployError("listener_arn %r is not an ELBv2 listener ARN" % listener)
        if params.get("role") not in ALB_ROLES:
            raise DeployError("role %r must be one of %s" % (params.get("role"), ", ".join(ALB_ROLES)))
    if kind == "aws_secretsmanager":
        secret = params.get("secret_name") or ""
        if not secret.startswith("arn:") and not _SECRET_NAME.match(secret):
            raise DeployError(
                "secret_name %r must be 1 to 512 characters of letters, digits and /_+=.@- (or a secret ARN)" % secret
            )


def _check_iam_elb(params: dict, name: str) -> None:
    prefix = params.get("name_prefix") or name
    if not _IAM_NAME.match(prefix):
        raise DeployError(
            "name_prefix %r must be 1 to 113 characters of letters, digits and _+=,.@- "
            "(IAM allows 128 for the whole dated name)" % prefix
        )
    path = params.get("iam_path")
    if not isinstance(path, str) or not _IAM_PATH.match(path):
        raise DeployError("iam_path %r must be / or start and end with / (for example /certfleet/)" % path)
    port = params.get("listener_port")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise DeployError("listener_port %r must be a port number (1-65535)" % port)
