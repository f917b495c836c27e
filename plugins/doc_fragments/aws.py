# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options, documented once for every module that talks to AWS.

The names and aliases are amazon.aws's, so its habits and ``module_defaults``
apply; our former names are aliases. Their argument spec is
``connection_argument_spec()`` in ``module_utils/_aws/options.py``; a unit
test keeps the two the same.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - The AWS access key id; needs O(secret_key).
      - Without it and without O(profile), boto3 finds credentials as it always does - E(AWS_ACCESS_KEY_ID) and
        E(AWS_SECRET_ACCESS_KEY), E(AWS_PROFILE), the shared files, then a container or instance role.
      - Not together with O(profile).
      - The names used before amazon.aws's (C(aws_access_key_id), C(aws_secret_access_key), C(aws_session_token),
        C(aws_profile)) keep working as aliases.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - The AWS secret access key; required together with O(access_key).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - The session token of temporary credentials; needs O(access_key).
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - A profile of the AWS configuration files (E(AWS_CONFIG_FILE), E(AWS_SHARED_CREDENTIALS_FILE)).
      - A profile that assumes a role (C(role_arn) with C(source_profile) or C(credential_source)) works - boto3
        assumes the role.
      - Not together with O(access_key).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - The AWS region. Without it the environment (E(AWS_REGION), E(AWS_DEFAULT_REGION)) or the profile decides.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - An AWS-compatible endpoint used for every service instead of AWS's own (for example a test server).
    type: str
    aliases: [aws_endpoint_url]
  aws_ca_bundle:
    description:
      - A CA bundle to verify the AWS endpoints with, instead of botocore's own (E(AWS_CA_BUNDLE) works too).
    type: path
  validate_certs:
    description:
      - V(false) turns off the verification of the AWS endpoints' certificates. Prefer O(aws_ca_bundle).
    type: bool
    default: true
  aws_config:
    description:
      - "Settings merged into the botocore C(Config) of every client, for example C({retries: {mode: adaptive}}) or
        C({read_timeout: 120})."
      - Retries are botocore's only (standard mode, 6 attempts in all); C(retries) given here is merged key by key.
    type: dict
requirements:
  - boto3
"""
