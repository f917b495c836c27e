# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy types are listed once (_deploy/types.py); the role's declared choices must be that list."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import (
    CONNECTION_OPTIONS,
    connection_argument_spec,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy import types
from ansible_collections.certfleet.acme.plugins.modules import aws_certificate_deploy, cert_deploy

ROLE = Path(__file__).resolve().parents[5] / "roles" / "letsencrypt_dns"


def test_role_argument_spec_choices_are_the_deploy_types():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["variables"]["options"]["letsencrypt_dns_deploy"]["options"]
    assert options["type"]["choices"] == list(types.TYPES)


def test_module_documentation_choices_are_the_deploy_types():
    assert yaml.safe_load(cert_deploy.DOCUMENTATION)["options"]["type"]["choices"] == list(types.SERVER_TYPES)
    documented = yaml.safe_load(aws_certificate_deploy.DOCUMENTATION)["options"]
    assert documented["type"]["choices"] == list(types.AWS_TYPES)
    assert documented["role"]["choices"] == list(types.ALB_ROLES)
    assert documented["iam_path"]["default"] == types.DEFAULT_IAM_PATH


def test_the_vocabulary_is_consistent():
    assert set(types.TYPES) == set(types.SERVER_TYPES) | set(types.AWS_TYPES)
    assert set(types.REQUIRED) <= set(types.TYPES)
    assert all(set(kinds) <= set(types.AWS_TYPES) for kinds in types.AWS_TYPE_OPTIONS.values())
    assert set(types.AWS_TYPE_OPTIONS) <= set(types.AWS_OPTIONS)
    assert not set(types.SERVER_OPTIONS) & set(types.AWS_OPTIONS)
    assert not (ROLE / "vars" / "main.yml").read_text().count("aws_secretsmanager"), "the role derives its type lists"


def module_arguments(monkeypatch, module) -> dict:
    """The keyword arguments ``module.main()`` gives AnsibleModule (it stops there)."""
    captured = {}

    def fake_module(**kwargs):
        captured.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(module, "AnsibleModule", fake_module)
    with pytest.raises(SystemExit):
        module.main()
    return captured


def test_required_fields_match_the_module(monkeypatch):
    """The role refuses before issuance exactly what aws_certificate_deploy's required_if would refuse after it."""
    arguments = module_arguments(monkeypatch, aws_certificate_deploy)
    required_if = {kind: fields for _field, kind, fields in arguments["required_if"]}
    for kind in types.AWS_TYPES:
        assert required_if.get(kind) == ((types.REQUIRED[kind],) if kind in types.REQUIRED else None)
    assert arguments["argument_spec"]["type"]["choices"] == list(types.AWS_TYPES)
    assert module_arguments(monkeypatch, cert_deploy)["argument_spec"]["type"]["choices"] == list(types.SERVER_TYPES)


def test_the_aws_module_takes_the_connection_options_from_aws(monkeypatch):
    spec = module_arguments(monkeypatch, aws_certificate_deploy)["argument_spec"]
    for name, option in connection_argument_spec().items():
        assert {key: value for key, value in spec[name].items() if key != "fallback"} == {
            key: value for key, value in option.items() if key != "fallback"
        }
    assert "certfleet.acme.aws" in aws_certificate_deploy.DOCUMENTATION
    module_options = yaml.safe_load(aws_certificate_deploy.DOCUMENTATION)["options"]
    assert not set(module_options) & set(CONNECTION_OPTIONS), "documented in the fragment, not again in the module"
    aliases = {alias for option in spec.values() for alias in option.get("aliases", ())}
    assert set(types.AWS_OPTIONS) == (set(spec) | aliases) - {"type", "cert_name", "cert_dir"}


def test_the_role_declares_every_deploy_option(monkeypatch):
    """The role's entry check and its argument spec read the same vocabulary; cert_deploy takes every server option."""
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    declared = set(specs["argument_specs"]["variables"]["options"]["letsencrypt_dns_deploy"]["options"])
    assert declared == {"cert", "type"} | set(types.SERVER_OPTIONS) | set(types.AWS_OPTIONS)
    spec = module_arguments(monkeypatch, cert_deploy)["argument_spec"]
    assert set(types.SERVER_OPTIONS) <= set(spec)
    assert "key_mode" in types.SERVER_OPTIONS
    task = (ROLE / "tasks" / "deploy.yml").read_text()
    for option in types.SERVER_OPTIONS:
        assert "item.%s " % option in task, "tasks/deploy.yml passes %s to cert_deploy" % option
