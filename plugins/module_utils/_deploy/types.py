# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every deploy type and the options that belong to it: the one list the modules, the role and its checks read.

``cert_deploy`` takes the web-server types, ``aws_certificate_deploy`` the AWS
types; the role's entry check (a filter on the controller, before anything
changes) refuses an entry with the same rules, and selects which entries go
to which module, from these names. No third-party import here: the check runs
where boto3 may be missing.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import CONNECTION_NAMES, SECRET_OPTIONS

#: Web-server types (cert_deploy, on the host that serves the certificate).
SERVER_TYPES = ("nginx", "apache", "haproxy", "files")
#: AWS types (aws_certificate_deploy, on the controller).
AWS_TYPES = ("aws_acm", "aws_iam_elb", "aws_alb", "aws_secretsmanager")
TYPES = SERVER_TYPES + AWS_TYPES
#: The families the role deploys separately, by name.
FAMILIES = {"server": SERVER_TYPES, "aws": AWS_TYPES}

#: The field each type cannot do without (for AWS types the module's required_if).
REQUIRED = {
    "nginx": "dest",
    "apache": "dest",
    "haproxy": "dest",
    "files": "dest",
    "aws_iam_elb": "load_balancer_name",
    "aws_alb": "listener_arn",
    "aws_secretsmanager": "secret_name",
}
#: Options of the web-server types (cert_deploy), meaningless for an AWS entry.
SERVER_OPTIONS = (
    "dest",
    "verify",
    "verify_retries",
    "verify_delay",
    "validate_command",
    "reload_command",
    "owner",
    "group",
    "mode",
    "key_mode",
)
#: Options that belong to some AWS types only (options with defaults are not checked: they are always set).
AWS_TYPE_OPTIONS = {
    "certificate_arn": ("aws_acm", "aws_alb"),
    "load_balancer_name": ("aws_iam_elb",),
    "name_prefix": ("aws_iam_elb",),
    "listener_arn": ("aws_alb",),
    "secret_name": ("aws_secretsmanager",),
    "secret_kms_key_id": ("aws_secretsmanager",),
}
#: Options of the AWS types (aws_certificate_deploy), meaningless for a web-server entry; the connection
#: options under each of their names (amazon.aws's, and the aliases that include our former names).
AWS_OPTIONS = CONNECTION_NAMES + (
    "certificate_arn",
    "load_balancer_name",
    "listener_port",
    "name_prefix",
    "iam_path",
    "cleanup",
    "listener_arn",
    "role",
    "secret_name",
    "secret_kms_key_id",
    "wait_timeout",
)
#: Values never shown, in messages or loop items (under every name of a secret option).
AWS_SECRET_OPTIONS = SECRET_OPTIONS
#: How an aws_alb certificate is attached to its listener.
ALB_ROLES = ("default", "sni")
DEFAULT_IAM_PATH = "/certfleet/"
