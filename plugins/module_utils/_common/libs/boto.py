# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""boto3 and botocore, for Route53 and the AWS deploy targets (through ``_aws``).

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""

from __future__ import annotations

import traceback

# The names imported here are what this file offers to the rest of the collection.
# pylint: disable=unused-import

try:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR: str | None = traceback.format_exc()
    boto3 = botocore = BotoCoreError = ClientError = ParamValidationError = None
    AWS_ERRORS: tuple = ()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
    AWS_ERRORS = (ClientError, BotoCoreError)

BOTO3 = ("boto3", HAS_BOTO3, BOTO3_IMPORT_ERROR)
