# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options are documented once (doc_fragments/aws.py) exactly as the argument spec takes them."""

from __future__ import annotations

import yaml

from ansible_collections.certfleet.acme.plugins.doc_fragments.aws import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    CONNECTION_OPTIONS,
    REGION_VARIABLES,
    SECRET_OPTIONS,
    connection_argument_spec,
)


def test_fragment_documents_every_option_of_the_spec_with_its_type():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection_argument_spec()
    assert list(documented) == list(spec) == list(CONNECTION_OPTIONS)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"]
        assert documented[name].get("default") == option.get("default")
        assert documented[name].get("required", False) == option.get("required", False)
    assert "E(AWS_REGION), E(AWS_DEFAULT_REGION)" in " ".join(documented["region"]["description"])


def test_secrets_are_no_log_and_the_region_falls_back_to_the_environment():
    spec = connection_argument_spec()
    assert SECRET_OPTIONS == ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
    assert all(spec[name]["no_log"] for name in SECRET_OPTIONS)
    assert spec["region"]["fallback"][1] == REGION_VARIABLES
    spec["region"]["fallback"][1].append("CHANGED")
    assert connection_argument_spec()["region"]["fallback"][1] == ["AWS_REGION", "AWS_DEFAULT_REGION"]
