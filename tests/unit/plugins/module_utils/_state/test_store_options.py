# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vocabulary of letsencrypt_dns_state: documented as specified, each bad field named once, secrets never shown."""

from __future__ import annotations

import sys
import types

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.doc_fragments.state_backend import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._state.store import options as so
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.s3 import S3Store

SECRET = "s3cr3t-Value-never-shown"
VAULT_MODULE = "ansible_collections.certfleet.acme.plugins.module_utils._state.store.vault"


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    for name in ("VAULT_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_fragment_documents_every_suboption_of_the_spec_with_its_type_default_choices_and_aliases():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["state_backend"]
    spec = so.state_backend_argument_spec()
    assert documented["type"] == spec["type"] == "dict"
    assert list(documented["suboptions"]) == list(spec["options"])
    for name, option in spec["options"].items():
        doc = documented["suboptions"][name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        assert doc.get("aliases", []) == option.get("aliases", []), name
    every_field = set(so.COMMON_FIELDS).union(*so.TYPE_FIELDS.values())
    assert every_field == set(spec["options"]) | {
        alias for o in spec["options"].values() for alias in o.get("aliases", ())
    }
    assert all(spec["options"][name]["no_log"] for name in ("token", "secret_id", "access_key", "secret_key"))


def test_the_module_option_fills_defaults_and_reads_the_token_from_the_environment(module_args, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", SECRET)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    module_args({"state_backend": {"type": "vault", "url": "https://vault.example:8200"}})
    module = AnsibleModule(argument_spec={"state_backend": so.state_backend_argument_spec()})
    params = module.params["state_backend"]
    assert (params["token"], params["mount"], params["auth"], params["lease_duration"]) == (
        SECRET,
        "secret",
        "token",
        900,
    )
    # Defaults and environment fallbacks of other types' fields are no "field of another type".
    assert so.backend_problems(params) == []
    module_args({"state_backend": {"type": "s3", "bucket": "certs", "kms_key_id": "alias/certs"}})
    params = AnsibleModule(argument_spec={"state_backend": so.state_backend_argument_spec()}).params["state_backend"]
    assert params["region"] == "eu-west-1" and so.backend_problems(params) == []


@pytest.mark.parametrize(
    "options, problems",
    [
        ({}, []),
        ({"type": "local", "path": "/var/lib/acme"}, []),
        ({"type": "s3", "bucket": "certs", "prefix": "prod/acme", "kms_key_id": "alias/x", "region": "us-east-1"}, []),
        ({"type": "vault", "url": "https://v:8200", "auth": "approle", "role_id": "r", "secret_id": SECRET}, []),
        ({"type": "vault", "url": "https://v:8200", "token": SECRET, "lease_duration": "600"}, []),
        (
            {"type": "Vualt"},
            ["letsencrypt_dns_state.type: unknown type 'Vualt' (did you mean vault?); one of local, s3, vault"],
        ),
        ({"type": "s3"}, ["letsencrypt_dns_state.bucket is required with type s3"]),
        (
            {"type": "vault", "token": SECRET},
            [
                "letsencrypt_dns_state.url is required with type vault "
                "(the server, for example https://vault.example:8200)"
            ],
        ),
        (
            {"type": "vault", "url": "vault.example:8200", "token": SECRET},
            ["letsencrypt_dns_state.url: 'vault.example:8200' is not an http(s) URL"],
        ),
        (
            {"type": "vault", "url": "https://v", "auth": "approle"},
            [
                "letsencrypt_dns_state.role_id is required with auth approle",
                "letsencrypt_dns_state.secret_id is required with auth approle",
            ],
        ),
        (
            {"type": "vault", "url": "https://v", "auth": "aprole", "token": SECRET},
            ["letsencrypt_dns_state.auth: unknown auth method 'aprole' (did you mean approle?); one of token, approle"],
        ),
        (
            {"type": "vault", "url": "https://v"},
            ["letsencrypt_dns_state.token is required with auth token (or set VAULT_TOKEN)"],
        ),
        (
            {"type": "vault", "url": "https://v", "token": SECRET, "bucket": "certs"},
            ["letsencrypt_dns_state.bucket: 'certs' is a field of type s3, not of type vault"],
        ),
        (
            {"type": "s3", "bucket": "certs", "token": SECRET, "path": "/srv/state"},
            [
                "letsencrypt_dns_state.token: (not shown) is a field of type vault, not of type s3",
                "letsencrypt_dns_state.path: '/srv/state' is a field of type local and vault, not of type s3",
            ],
        ),
        (
            {"type": "local", "path": "/x", "secret_key": SECRET, "validate_certs": False},
            [
                "letsencrypt_dns_state.secret_key: (not shown) is a field of type s3, not of type local",
                "letsencrypt_dns_state.validate_certs: False is a field of type s3 and vault, not of type local",
            ],
        ),
        (
            {"type": "s3", "bucket": "certs", "prefix": "/abs"},
            ["letsencrypt_dns_state.prefix: '/abs' must be a relative path without '..' (for example certfleet/prod)"],
        ),
        (
            {"type": "s3", "bucket": "certs", "prefix": "a/../b"},
            [
                "letsencrypt_dns_state.prefix: 'a/../b' must be a relative path without '..' (for example certfleet/prod)"
            ],
        ),
        (
            {"type": "s3", "bucekt": "certs"},
            [
                "letsencrypt_dns_state.bucekt: unknown field (did you mean bucket?)",
                "letsencrypt_dns_state.bucket is required with type s3",
            ],
        ),
        (
            {"type": "s3", "bucket": "b", "access_key": "A", "aws_access_key_id": "B"},
            [
                "letsencrypt_dns_state.aws_access_key_id is another name of access_key, which is also given as "
                "access_key: set only one of access_key, aws_access_key_id, aws_access_key"
            ],
        ),
        (
            {"lease_duration": 2, "path": "/x"},
            ["letsencrypt_dns_state.lease_duration: 2 is not a number of seconds of at least 5"],
        ),
        (
            {"lease_duration": "soon", "path": "/x"},
            ["letsencrypt_dns_state.lease_duration: 'soon' is not a number of seconds of at least 5"],
        ),
        ("s3", ["letsencrypt_dns_state must be a dictionary (type: local, s3 or vault, and its fields), got str"]),
    ],
)
def test_each_bad_field_gives_one_message_naming_it_and_its_value(options, problems):
    assert so.backend_problems(options) == problems
    assert SECRET not in " ".join(so.backend_problems(options))


def test_open_store_opens_the_backend_the_options_name(tmp_path):
    local = so.open_store({"type": "local", "path": str(tmp_path)})
    assert isinstance(local, LocalStore) and local.describe() == str(tmp_path)
    s3 = so.open_store(
        {"type": "s3", "bucket": "certs", "prefix": "/prod//acme/", "kms_key_id": "alias/x", "region": "us-east-1"}
        | {"prefix": "prod//acme/", "secret_key": SECRET, "access_key": "AKIA"}
    )
    assert isinstance(s3, S3Store) and s3.describe() == "s3://certs/prod/acme" and s3.kms_key_id == "alias/x"
    assert SECRET not in repr(s3.__dict__)
    with pytest.raises(StoreError, match="letsencrypt_dns_state.path is required with type local"):
        so.open_store({"type": "local"})
    with pytest.raises(StoreError) as caught:
        so.open_store({"type": "vault", "token": SECRET, "bucket": "x"})
    assert str(caught.value) == (
        "letsencrypt_dns_state.bucket: 'x' is a field of type s3, not of type vault; "
        "letsencrypt_dns_state.url is required with type vault (the server, for example https://vault.example:8200)"
    )


def test_open_store_builds_the_vault_store_with_its_agreed_constructor(monkeypatch):
    made = {}

    class VaultStore:
        def __init__(self, url, **kwargs):
            made.update(kwargs, url=url)

    monkeypatch.setitem(sys.modules, VAULT_MODULE, types.SimpleNamespace(VaultStore=VaultStore))
    monkeypatch.setenv("VAULT_TOKEN", SECRET)
    store = so.open_store({"type": "vault", "url": "https://v:8200", "namespace": "ops", "validate_certs": False})
    assert isinstance(store, VaultStore)
    assert made == {
        "url": "https://v:8200",
        "mount": "secret",
        "path": "certfleet.acme",
        "auth": "token",
        "token": SECRET,
        "role_id": None,
        "secret_id": None,
        "namespace": "ops",
        "ca_bundle": None,
        "validate_certs": False,
    }


def test_describe_backend_says_where_without_credentials():
    assert so.describe_backend({"type": "s3", "bucket": "certs", "prefix": "prod/", "secret_key": SECRET}) == (
        "s3://certs/prod"
    )
    assert so.describe_backend({"type": "vault", "url": "https://v:8200", "token": SECRET}) == (
        "vault https://v:8200 secret/certfleet.acme"
    )
    assert so.describe_backend({"type": "local", "path": "/srv/acme"}) == "/srv/acme"
    assert so.describe_backend(None) == "the local state directory"
    assert so.lease_duration({"lease_duration": "60"}) == 60 and so.lease_duration(None) == 900
