# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_aws errors: one reading of botocore failures for Route 53 and the deploy targets."""

from __future__ import annotations

from botocore.exceptions import ClientError, NoCredentialsError, ParamValidationError

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import (
    describe_error,
    error_code,
    is_retryable,
)


def client_error(code, message="it went wrong", operation="DescribeSecret"):
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_codes_and_which_are_retried():
    assert error_code(client_error("Throttling")) == "Throttling" and error_code(ValueError("x")) is None
    assert error_code(ClientError({"Error": {}}, "Op")) is None
    assert is_retryable(client_error("PriorRequestNotComplete")) and is_retryable(client_error("ThrottlingException"))
    assert not is_retryable(client_error("AccessDenied")) and not is_retryable(ValueError("x"))


def test_descriptions_use_aws_words():
    assert describe_error(client_error("AccessDenied", "not allowed")) == "DescribeSecret: AccessDenied: not allowed"
    assert describe_error(ClientError({"Error": {}}, "Op")) == "Op: error: no message"
    missing = describe_error(NoCredentialsError())
    assert missing.startswith("NoCredentialsError: ") and "aws_profile, or the AWS_* variables" in missing


def test_parameter_values_are_hidden_when_they_may_hold_a_key():
    error = ParamValidationError(report="Invalid type for parameter PrivateKey, value: SECRETKEYMATERIAL")
    assert "SECRETKEYMATERIAL" not in describe_error(error, hide_parameters=True)
    assert "SECRETKEYMATERIAL" in describe_error(error)
