# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection options are documented once (doc_fragments/aws.py) exactly as the argument spec takes them."""

from __future__ import annotations

import yaml

from ansible_collections.certfleet.acme.plugins.doc_fragments.aws import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    ALIASES,
    CONNECTION_NAMES,
    CONNECTION_OPTIONS,
    REGION_VARIABLES,
    SECRET_OPTIONS,
    connection_argument_spec,
    connection_settings,
    partner_name,
)

#: Our names before amazon.aws's: they must keep working.
FORMER_NAMES = {
    "aws_access_key_id": "access_key",
    "aws_secret_access_key": "secret_key",
    "aws_session_token": "session_token",
    "aws_profile": "profile",
    "region": "region",
    "endpoint_url": "endpoint_url",
}


def test_fragment_documents_every_option_of_the_spec_with_its_type_and_aliases():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection_argument_spec()
    assert list(documented) == list(spec) == list(CONNECTION_OPTIONS)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"]
        assert documented[name].get("default") == option.get("default")
        assert documented[name].get("required", False) == option.get("required", False)
        assert documented[name].get("aliases", []) == option.get("aliases", [])
    assert "E(AWS_REGION), E(AWS_DEFAULT_REGION)" in " ".join(documented["region"]["description"])


def test_names_are_amazon_aws_and_the_former_ones_stay_as_aliases():
    assert CONNECTION_OPTIONS == (
        "access_key",
        "secret_key",
        "session_token",
        "profile",
        "region",
        "endpoint_url",
        "aws_ca_bundle",
        "validate_certs",
        "aws_config",
    )
    for former, option in FORMER_NAMES.items():
        assert former == option or ALIASES[former] == option
    assert set(CONNECTION_NAMES) == set(CONNECTION_OPTIONS) | set(ALIASES)
    assert partner_name("aws_access_key_id") == "aws_secret_access_key" and partner_name("secret_key") == "access_key"


def test_secrets_and_their_aliases_are_no_log_and_the_region_falls_back_to_the_environment():
    spec = connection_argument_spec()
    assert set(SECRET_OPTIONS) == {
        "access_key",
        "secret_key",
        "session_token",
        "aws_access_key_id",
        "aws_access_key",
        "aws_secret_access_key",
        "aws_secret_key",
        "aws_session_token",
    }
    assert all(spec[ALIASES.get(name, name)]["no_log"] for name in SECRET_OPTIONS)
    assert spec["region"]["fallback"][1] == REGION_VARIABLES
    spec["region"]["fallback"][1].append("CHANGED")
    spec["access_key"]["aliases"].append("CHANGED")
    assert connection_argument_spec()["region"]["fallback"][1] == ["AWS_REGION", "AWS_DEFAULT_REGION"]
    assert "CHANGED" not in connection_argument_spec()["access_key"]["aliases"]


def test_settings_by_any_name_and_two_names_of_one_option_conflict():
    settings, conflicts = connection_settings({"aws_profile": "ops", "aws_region": "eu-west-1", "other": 1})
    assert settings == {"profile": "ops", "region": "eu-west-1"} and conflicts == []
    settings, conflicts = connection_settings({"access_key": "A", "aws_access_key_id": "B", "region": None})
    assert settings == {"access_key": "A"}
    assert conflicts == [
        (
            "aws_access_key_id",
            "is another name of access_key, which is also given as access_key: "
            "set only one of access_key, aws_access_key_id, aws_access_key",
        )
    ]
