# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_aws errors: one reading of botocore failures for Route 53 and the deploy targets."""

from __future__ import annotations

from botocore.exceptions import ClientError, NoCredentialsError, ParamValidationError
from botocore.retries import standard

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import (
    describe_error,
    error_code,
)
from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import RETRY_MODE, client_config


def client_error(code, message="it went wrong", operation="DescribeSecret"):
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_codes_and_which_are_retried():
    assert error_code(client_error("Throttling")) == "Throttling" and error_code(ValueError("x")) is None
    assert error_code(ClientError({"Error": {}}, "Op")) is None
    # Which codes are tried again is botocore's decision now: its standard mode retries every "slow down" code
    # that our own retry loop used to retry, and not a refusal.
    assert client_config().retries["mode"] == RETRY_MODE == "standard"
    throttled = standard.ThrottledRetryableChecker()
    for code in ("Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled"):
        assert throttled.is_retryable(_context(code)), code
    for code in ("RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded"):
        assert throttled.is_retryable(_context(code)), code
    assert throttled.is_retryable(_context("PriorRequestNotComplete"))
    assert not throttled.is_retryable(_context("AccessDenied"))


def _context(code):
    return standard.RetryContext(
        attempt_number=1, parsed_response={"Error": {"Code": code, "Message": "m"}}, http_response=None
    )


def test_descriptions_use_aws_words():
    assert describe_error(client_error("AccessDenied", "not allowed")) == "DescribeSecret: AccessDenied: not allowed"
    assert describe_error(ClientError({"Error": {}}, "Op")) == "Op: error: no message"
    missing = describe_error(NoCredentialsError())
    assert missing.startswith("NoCredentialsError: ") and "or profile, or the AWS_* variables" in missing


def test_parameter_values_are_hidden_when_they_may_hold_a_key():
    error = ParamValidationError(report="Invalid type for parameter PrivateKey, value: SECRETKEYMATERIAL")
    assert "SECRETKEYMATERIAL" not in describe_error(error, hide_parameters=True)
    assert "SECRETKEYMATERIAL" in describe_error(error)
