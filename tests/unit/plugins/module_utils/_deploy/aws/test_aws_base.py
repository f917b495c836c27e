# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS targets: botocore's retries only, errors that name type, target and the AWS message, and never a secret."""

from __future__ import annotations

import pytest
from aws_world import SECRET_KEY, World, aws_error, params, run
from botocore.exceptions import ParamValidationError

from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import MAX_ATTEMPTS, AwsSession
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import describe
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.deploy import deploy
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError


def test_throttling_is_botocores_to_retry_and_errors_name_type_target_and_aws_message(files, monkeypatch):
    # The targets' clients retry throttling themselves (botocore's standard mode): the deployers do not again.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    client = AwsSession({"region": "us-east-1", "access_key": "AKIAXXX", "secret_key": SECRET_KEY}).client("acm")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    world = World()
    world.fail("secretsmanager", "describe_secret", aws_error("ThrottlingException", "DescribeSecret", "slow down"))
    with pytest.raises(DeployError, match="DescribeSecret: ThrottlingException: slow down"):
        run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    assert [op for _service, op, _params in world.calls] == ["describe_secret"], "a throttled call is not repeated"
    world = World()
    world.fail("secretsmanager", "describe_secret", aws_error("AccessDeniedException", "DescribeSecret", "not allowed"))
    with pytest.raises(DeployError) as caught:
        run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    text = str(caught.value)
    assert text.startswith("aws_secretsmanager secret tls/www: DescribeSecret: AccessDeniedException: not allowed")
    assert SECRET_KEY not in text


def test_parameter_errors_never_show_values():
    error = ParamValidationError(report="Invalid type for parameter PrivateKey, value: SECRETKEYMATERIAL")
    assert "SECRETKEYMATERIAL" not in describe(error)


def test_no_region_anywhere_is_one_clear_error(files, monkeypatch):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = params(type="aws_secretsmanager", secret_name="tls/www", aws_access_key_id="AKIAXXX")
    settings["aws_secret_access_key"] = SECRET_KEY
    with pytest.raises(DeployError) as caught:
        deploy(settings, files)
    assert str(caught.value).startswith("aws_secretsmanager secret tls/www: no AWS region: set region")
    assert SECRET_KEY not in str(caught.value)
