# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options, documented once for every module that talks to AWS.

Their argument spec is ``connection_argument_spec()`` in
``module_utils/_aws/options.py``; a unit test keeps the two the same.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region. Without it the environment (E(AWS_REGION), E(AWS_DEFAULT_REGION)) or the profile decides.
    type: str
  endpoint_url:
    description:
      - An AWS-compatible endpoint used for every service instead of AWS's own (for example a test server).
    type: str
  aws_access_key_id:
    description:
      - Access key id. Without it (and O(aws_profile)) the usual boto3 credential chain is used.
    type: str
  aws_secret_access_key:
    description:
      - Secret access key; required together with O(aws_access_key_id).
    type: str
  aws_session_token:
    description:
      - Session token of temporary credentials; needs O(aws_access_key_id).
    type: str
  aws_profile:
    description:
      - A profile of the AWS configuration files. Mutually exclusive with O(aws_access_key_id).
    type: str
requirements:
  - boto3
"""
