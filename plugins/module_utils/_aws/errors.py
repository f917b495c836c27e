# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an AWS failure means: its code, and words that are safe to show.

Route 53 and the AWS deploy targets meet the same botocore errors; one reading
of them keeps the messages the same for both. Which errors are tried again is
botocore's decision (see session.py), not ours.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import HAS_BOTO3, ParamValidationError
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import tls_error_hint

#: Said after a missing-credentials error: the ways our modules and providers take credentials.
CREDENTIALS_HINT = "set access_key and secret_key, or profile, or the AWS_* variables"

#: Said after a failed certificate verification of an AWS endpoint (botocore also reads AWS_CA_BUNDLE).
CA_BUNDLE_OPTION = "aws_ca_bundle (or the AWS_CA_BUNDLE environment variable)"


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (or anything shaped like one)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code else None
    return None


def describe_error(exc: BaseException, hide_parameters: bool = False) -> str:
    """AWS's own words for a failure (``Operation: Code: message``).

    ``hide_parameters``: a request that may carry a private key never has its
    parameter values shown, which botocore's validation message would quote.
    """
    if hide_parameters and HAS_BOTO3 and isinstance(exc, ParamValidationError):
        return "invalid request parameters (details not shown: they may hold the private key)"
    hint = tls_error_hint(None, exc, CA_BUNDLE_OPTION)
    if hint:
        return hint
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        details = response.get("Error") or {}
        operation = getattr(exc, "operation_name", None) or "request"
        return "%s: %s: %s" % (operation, details.get("Code") or "error", details.get("Message") or "no message")
    message = "%s: %s" % (type(exc).__name__, exc)
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        message += " (%s)" % CREDENTIALS_HINT
    return message
