# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of every AWS task: names, which are secret, and their module argument spec.

Kept apart from the session (which imports boto3) so that the role's input
check, a filter on the controller, knows these names without loading the AWS
SDK. The options are documented once, in doc_fragments/aws.py.
"""

from __future__ import annotations

#: Option name -> argument spec, except the region's environment fallback (see connection_argument_spec).
_SPEC = {
    "region": {"type": "str"},
    "endpoint_url": {"type": "str"},
    "aws_access_key_id": {"type": "str", "no_log": True},
    "aws_secret_access_key": {"type": "str", "no_log": True},
    "aws_session_token": {"type": "str", "no_log": True},
    "aws_profile": {"type": "str"},
}
CONNECTION_OPTIONS = tuple(_SPEC)
#: Connection options whose values are never shown.
SECRET_OPTIONS = tuple(name for name, spec in _SPEC.items() if spec.get("no_log"))
#: The environment variables a missing region is read from.
REGION_VARIABLES = ["AWS_REGION", "AWS_DEFAULT_REGION"]


def connection_argument_spec() -> dict:
    """The connection options as a module argument spec (a fresh copy: AnsibleModule may change it)."""
    from ansible.module_utils.basic import env_fallback  # only modules need it, not the role's filters

    spec = {name: dict(option) for name, option in _SPEC.items()}
    spec["region"]["fallback"] = (env_fallback, list(REGION_VARIABLES))
    return spec
