# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS targets: retries, errors that name type, target and the AWS message, and never a secret."""

from __future__ import annotations

import pytest
from aws_world import SECRET_KEY, World, aws_error, params, run
from botocore.exceptions import ParamValidationError

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import describe
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.deploy import deploy
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError


def test_throttling_is_retried_and_errors_name_type_target_and_aws_message(files):
    world = World()
    world.fail("secretsmanager", "describe_secret", aws_error("ThrottlingException"), aws_error("Throttling"))
    result, warnings = run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and not warnings
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
