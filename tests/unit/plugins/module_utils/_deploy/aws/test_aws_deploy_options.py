# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_certificate_deploy: the input check names the option and the value before AWS is asked."""

from __future__ import annotations

import pytest
from aws_world import LISTENER, acm_arn, iam_arn, params

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.options import check_options


@pytest.mark.parametrize(
    "extra, message",
    [
        (dict(type="aws_acm", listener_arn=LISTENER), "listener_arn is only used with type aws_alb"),
        (dict(type="aws_acm", secret_name="x"), "secret_name is only used with type aws_secretsmanager"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", certificate_arn=acm_arn(1)), "certificate_arn is only"),
        (dict(type="aws_acm", certificate_arn=iam_arn("x")), "not an ACM certificate ARN"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", name_prefix="bad prefix"), "name_prefix 'bad prefix'"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", name_prefix="x" * 114), "name_prefix"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", iam_path="certfleet"), "iam_path 'certfleet'"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", listener_port=0), "listener_port 0"),
        (dict(type="aws_alb", listener_arn="arn:aws:acm:x"), "is not an ELBv2 listener ARN"),
        (dict(type="aws_secretsmanager", secret_name="bad name!"), "secret_name 'bad name!'"),
        (dict(type="aws_acm", endpoint_url="localhost:5000"), "endpoint_url 'localhost:5000'"),
        (dict(type="aws_acm", cert_name="../etc"), "cert_name '../etc'"),
        (dict(type="gcp"), "type 'gcp'"),
    ],
)
def test_bad_options_name_the_field_and_value(extra, message):
    with pytest.raises(DeployError, match=None) as caught:
        check_options(params(**extra))
    assert message in str(caught.value)


def test_good_options_pass():
    check_options(params(type="aws_acm"))
    check_options(params(type="aws_iam_elb", load_balancer_name="lb", name_prefix="www+1"))
    check_options(params(type="aws_alb", listener_arn=LISTENER, role="sni"))
    check_options(params(type="aws_secretsmanager", secret_name="tls/www"))
