# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS deploy types and the options that belong to each.

Kept apart from aws_deploy (which needs boto3) so that the role's input check,
a filter running on the controller before anything changes, can refuse an entry
with the same rules the module applies without importing the AWS SDK.
"""

from __future__ import annotations

DEPLOY_TYPES = ("aws_acm", "aws_iam_elb", "aws_alb", "aws_secretsmanager")

#: Options that belong to some types only (options with defaults are not checked: they are always set).
TYPE_OPTIONS = {
    "certificate_arn": ("aws_acm", "aws_alb"),
    "load_balancer_name": ("aws_iam_elb",),
    "name_prefix": ("aws_iam_elb",),
    "listener_arn": ("aws_alb",),
    "secret_name": ("aws_secretsmanager",),
    "secret_kms_key_id": ("aws_secretsmanager",),
}
