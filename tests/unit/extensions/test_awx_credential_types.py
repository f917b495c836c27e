# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential types in extensions/awx/credential_types/ inject only what the role accepts.

A credential type is data that AWX renders at job launch, far from any test of the role: an injector that
names an input that does not exist renders an empty string, and one that names a variable the role does not
know is silently ignored. So each type is checked here the way AWX takes it (the fields' schema, required
inputs, secrets), rendered the way AWX renders it (every injector key and value a Jinja2 template in a
sandbox, the inputs as variables, an unset boolean False), and its output is fed to the role's argument
check (meta/argument_specs.yml) and, for provider entries, to the provider checks the role runs first.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import (
    PROVIDER_TYPES,
    build_provider,
    check_configs,
)
from ansible_collections.certfleet.acme.plugins.module_utils._run.credentials import credential_providers
from ansible_collections.certfleet.acme.plugins.module_utils._run.input_checks import (
    certificate_errors,
    provider_errors,
)

ROOT = Path(__file__).resolve().parents[3]
TYPES_DIR = ROOT / "extensions" / "awx" / "credential_types"
ROLE = ROOT / "roles" / "letsencrypt_dns"
TYPE_FILES = sorted(TYPES_DIR.glob("*.yml"))
OPTIONS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["variables"]["options"]
# The variables the role gathers provider entries from, as vars/main.yml selects them.
PROVIDER_VAR = re.compile(re.search(r"varnames', '([^']+)'", (ROLE / "vars" / "main.yml").read_text()).group(1))

# What AWX's credential type schema allows (awx/main/fields.py, CredentialTypeInputField and InjectorField).
FIELD_KEYS = {"id", "label", "type", "help_text", "secret", "multiline", "format", "choices", "ask_at_runtime"}
INJECTOR_KEYS = {"extra_vars", "env", "file"}
FIELD_ID = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")

SAMPLES = {
    "provider_name": "awx-sample",
    "zones": "example.com, example.net",
    "server": "192.0.2.53",
    "port": "5353",
    "key_name": "tsig-key",
    "key_secret": "c2FtcGxlLXRzaWctc2VjcmV0",
    "timeout": "20",
    "job_timeout": "60",
    "wait_timeout": "60",
    "region": "us-east-1",
    "server_id": "localhost",
    "username": "user",
    "sender": "certfleet@example.com",
    "recipients": "ops@example.com, dev@example.com",
    "host": "smtp.example.com",
    "subject_prefix": "[acme]",
    "environment": "API_TOKEN=sample-token\n\nOTHER=x=y",
    "eab_kid": "kid-1",
    "eab_hmac_key": "c2FtcGxlLWhtYWM",
    "header_name": "Authorization",
    "header_value": "Bearer sample",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def sample_inputs(credential_type: dict, tmp_path: Path, everything: bool) -> dict:
    """Inputs as a user fills them in: every field, or only the required ones."""
    required = set(credential_type["inputs"].get("required", []))
    inputs = {}
    for field in credential_type["inputs"]["fields"]:
        if not everything and field["id"] not in required:
            continue
        if field.get("type") == "boolean":
            inputs[field["id"]] = True
        elif field.get("choices"):
            inputs[field["id"]] = field["choices"][0]
        elif field["id"].endswith("url"):
            inputs[field["id"]] = "https://api.example.test:8081/"
        elif field["id"] == "hook":
            inputs[field["id"]] = shutil.which("true")
        elif field["id"] == "path":
            inputs[field["id"]] = str(tmp_path / "records.txt")
        else:
            inputs[field["id"]] = SAMPLES.get(field["id"], "sample-%s" % field["id"])
    return inputs


def render(credential_type: dict, inputs: dict) -> dict:
    """The extra vars AWX injects (CredentialType.inject_credential): keys and leaves rendered as templates."""
    env = ImmutableSandboxedEnvironment()
    namespace = dict(inputs)
    for field in credential_type["inputs"]["fields"]:
        if field.get("type") == "boolean":
            namespace.setdefault(field["id"], False)

    def build(node):
        if isinstance(node, dict):
            return {build(key): build(value) for key, value in node.items()}
        if isinstance(node, list):
            return [build(item) for item in node]
        return env.from_string(node).render(**namespace)

    return build(credential_type["injectors"].get("extra_vars", {}))


def templates(node, path=(), values_only=False):
    """Every (path, template) of an injector tree; keys are templates too (a key's path is its mapping's)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not values_only:
                yield path, key
            yield from templates(value, path + (key,), values_only)
    elif isinstance(node, list):
        for item in node:
            yield from templates(item, path, values_only)
    else:
        yield path, node


def referenced(template: str) -> set[str]:
    return meta.find_undeclared_variables(ImmutableSandboxedEnvironment().parse(template))


def role_errors(extra_vars: dict) -> list[str]:
    """What the role's argument check says about these variables (unknown ones included)."""
    return [str(error) for error in ArgumentSpecValidator(OPTIONS).validate(extra_vars).errors]


def provider_entries(extra_vars: dict) -> list:
    """The provider entries the role takes from these variables (vars/main.yml, letsencrypt_dns_providers_all)."""
    return credential_providers([extra_vars[name] for name in sorted(extra_vars) if PROVIDER_VAR.match(name)])


def is_secret(path: tuple) -> bool:
    """Whether a value injected at ``path`` lands in an option the collection treats as a secret."""
    variable = path[0]
    if PROVIDER_VAR.match(variable):
        kind = variable.rsplit("_", 1)[-1]
        return len(path) > 1 and path[1] in PROVIDER_TYPES[kind].SECRET_OPTIONS
    spec = OPTIONS.get(variable, {})
    for key in path[1:]:
        if spec.get("no_log") or not spec.get("options"):
            break
        spec = spec["options"].get(key, {})
    return bool(spec.get("no_log"))


@pytest.fixture(params=TYPE_FILES, ids=[path.stem for path in TYPE_FILES])
def credential_type(request) -> dict:
    return load(request.param)


def test_every_kind_of_credential_has_a_type():
    stems = {path.stem for path in TYPE_FILES}
    assert {"dns_%s" % kind for kind in PROVIDER_TYPES} | {"acme_eab", "notify_email", "notify_webhook"} <= stems


def test_the_type_is_well_formed(credential_type):
    assert set(credential_type) == {"name", "description", "kind", "inputs", "injectors"}
    assert credential_type["kind"] == "cloud"
    assert set(credential_type["injectors"]) <= INJECTOR_KEYS
    fields = credential_type["inputs"]["fields"]
    ids = [field["id"] for field in fields]
    assert len(ids) == len(set(ids)), "field ids are not unique: %s" % ids
    for field in fields:
        assert set(field) <= FIELD_KEYS, field
        assert FIELD_ID.match(field["id"]) and field["id"] != "tower"
        assert field.get("type", "string") in ("string", "boolean") and field["label"]
        assert all(isinstance(choice, str) for choice in field.get("choices", []))
    assert set(credential_type["inputs"].get("required", [])) <= set(ids)


def test_injectors_use_declared_inputs_and_every_input_is_used(credential_type):
    ids = {field["id"] for field in credential_type["inputs"]["fields"]}
    used = set()
    for path, template in templates(credential_type["injectors"]):
        names = referenced(template)
        assert names <= ids, "%s at %s refers to undeclared inputs %s" % (template, "/".join(path), names - ids)
        used |= names
    assert used == ids, "inputs never injected: %s" % (ids - used)


def test_secret_inputs_are_marked_secret(credential_type):
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    # Names (a header's) are no secrets, the values under them are.
    for path, template in templates(credential_type["injectors"]["extra_vars"], values_only=True):
        if is_secret(path):
            for name in referenced(template):
                assert fields[name].get("secret") is True, "input %s lands in %s" % (name, "/".join(path))


def test_names_and_injected_variables_are_unique_across_types():
    # AWX attaches at most one credential per type to a job template; types that injected the same variable
    # would overwrite each other's, so each type has its own.
    types = [load(path) for path in TYPE_FILES]
    names = [credential_type["name"] for credential_type in types]
    variables = [name for credential_type in types for name in credential_type["injectors"]["extra_vars"]]
    assert len(names) == len(set(names))
    assert len(variables) == len(set(variables))


@pytest.mark.parametrize("everything", [True, False], ids=["all-inputs", "required-inputs"])
def test_rendered_injectors_pass_the_role_checks(credential_type, tmp_path, everything):
    extra_vars = render(credential_type, sample_inputs(credential_type, tmp_path, everything))
    assert role_errors(extra_vars) == []
    entries = provider_entries(extra_vars)
    if not any(PROVIDER_VAR.match(name) for name in extra_vars):
        assert entries == []
        return
    [entry] = entries
    check_configs(entries)
    build_provider(entry)
    certificates = [{"name": "www", "names": ["www.example.com", "*.example.net"]}]
    assert certificate_errors(certificates, entries) == []


def test_all_types_attached_together(tmp_path):
    # One job template with every credential: AWX passes each one's extra vars; none overwrites another's.
    extra_vars = {}
    for path in TYPE_FILES:
        credential_type = load(path)
        rendered = render(credential_type, sample_inputs(credential_type, tmp_path, True))
        assert not set(rendered) & set(extra_vars)
        extra_vars.update(rendered)
    assert role_errors(extra_vars) == []
    entries = provider_entries(extra_vars)
    assert sorted(entry["type"] for entry in entries) == sorted(PROVIDER_TYPES)
    check_configs([dict(entry, name=entry["type"]) for entry in entries])


def test_rendered_values_are_what_the_role_expects(tmp_path):
    hook = load(TYPES_DIR / "dns_hook.yml")
    [entry] = provider_entries(render(hook, sample_inputs(hook, tmp_path, True)))
    assert entry["zones"] == ["example.com", "example.net"]
    assert entry["environment"] == {"API_TOKEN": "sample-token", "OTHER": "x=y"}
    rfc2136 = load(TYPES_DIR / "dns_rfc2136.yml")
    [entry] = provider_entries(render(rfc2136, sample_inputs(rfc2136, tmp_path, False)))
    assert entry == {
        "name": "awx-rfc2136",
        "type": "rfc2136",
        "zones": ["example.com", "example.net"],
        "server": "192.0.2.53",
    }
    email = load(TYPES_DIR / "notify_email.yml")
    settings = render(email, sample_inputs(email, tmp_path, False))["letsencrypt_dns_notify_email"]
    assert settings["port"] == "25" and settings["to"] == "ops@example.com,dev@example.com"
    # Unchecked boxes: STARTTLS, and no login in plain text.
    assert (settings["starttls"], settings["ssl"], settings["allow_plain_text_login"]) == ("True", "False", "False")
    everything = render(email, sample_inputs(email, tmp_path, True))["letsencrypt_dns_notify_email"]
    assert (everything["starttls"], everything["ssl"]) == ("False", "True")
    webhook = load(TYPES_DIR / "notify_webhook.yml")
    settings = render(webhook, sample_inputs(webhook, tmp_path, False))["letsencrypt_dns_notify_webhook"]
    # An unchecked "do not verify" box leaves verification on.
    assert settings["validate_certs"] == "True" and settings["headers"] == {"": ""}


def test_the_checks_catch_a_variable_the_role_does_not_know(tmp_path):
    rfc2136 = load(TYPES_DIR / "dns_rfc2136.yml")
    rfc2136["injectors"]["extra_vars"]["letsencrypt_dns_provider_rfc2136"] = {"server": "{{ server }}"}
    errors = role_errors(render(rfc2136, sample_inputs(rfc2136, tmp_path, True)))
    assert any("letsencrypt_dns_provider_rfc2136" in error for error in errors)
    rfc2136["injectors"]["extra_vars"]["letsencrypt_dns_credential_provider_rfc2136"]["keyname"] = "{{ key_name }}"
    rendered = render(rfc2136, sample_inputs(rfc2136, tmp_path, True))
    with pytest.raises(ValueError, match="keyname"):
        build_provider(provider_entries(rendered)[0])


@pytest.mark.parametrize("name", ["dns_powerdns", "dns_cloudflare", "dns_rackspace", "dns_route53"])
def test_a_plain_http_api_url_needs_the_box_checked(name, tmp_path):
    credential_type = load(TYPES_DIR / (name + ".yml"))
    inputs = sample_inputs(credential_type, tmp_path, True)
    inputs = {
        key: value.replace("https://", "http://") if isinstance(value, str) else value for key, value in inputs.items()
    }
    inputs["allow_plain_http"] = False
    refused = provider_errors(provider_entries(render(credential_type, inputs)))
    assert refused and all("plain http:// URL" in error for error in refused), refused
    inputs["allow_plain_http"] = True
    assert provider_errors(provider_entries(render(credential_type, inputs))) == []
