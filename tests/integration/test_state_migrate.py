# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""state_migrate end to end: a state issued on the rig moved local -> S3 (moto, SSE-KMS) -> Vault (OpenBao) -> local.

A migration that lost the account or a certificate would show on the next run as a new registration or a
re-issue, straight into the CA's rate limits; so after each hop the role runs on the target and must find nothing
due, change nothing and keep the account URL. The refusals (a target holding other content, a held lease, a
half-written certificate) and check mode must leave the target as it was.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from playbook_runner import role_vars, run_module, run_renew
from test_role import issue
from test_state_remote import (  # noqa: F401  # pylint: disable=unused-import
    guardian_pids,
    key_files,
    on_runner,
    runner,
    wait_until,
    workspaces,
)

from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import ABSENT
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore

CERTIFICATES = [
    {"name": "migrate-one", "names": ["migrate-one.example.test"]},
    {"name": "migrate-rsa", "names": ["migrate-rsa.example.test"], "key_type": "rsa2048"},
]
MODULE = "certfleet.acme.state_migrate"


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    """Two certificates issued by the role into a local state directory."""
    return issue(rig, tmp_path_factory.mktemp("migrate-issued"), CERTIFICATES)


def local(path) -> dict:
    return {"type": "local", "path": str(path)}


def s3_options(s3_server, bucket: str) -> dict:
    return dict(s3_server.connection(), type="s3", bucket=bucket, prefix="migrated", kms_key_id=s3_server.other_key)


def vault_options(openbao_module, openbao_server) -> dict:
    return {
        "type": "vault",
        "url": openbao_server.url,
        "mount": "secret",
        "path": "%s/migrated-%s" % (openbao_module.STORE_PATH, uuid.uuid4().hex[:6]),
        "auth": "approle",
        "role_id": openbao_server.role_id,
        "secret_id": openbao_server.secret_id,
    }


def local_files(folder: Path) -> dict[str, bytes]:
    """The state keys of a directory with their content."""
    store = LocalStore(str(folder))
    return {key: store.get(key).data for key in store.list("")}


def migrate(source: dict, target: dict, check: bool = False, **extra) -> dict:
    return run_module(MODULE, dict({"source": source, "target": target}, **extra), check=check)


def assert_nothing_due(run) -> None:
    assert run.rc == 0, run.text()[-4000:]
    assert run.stats["changed"] == 0, run.text()[-4000:]
    [expiry] = run.task_results("Decide which certificates are due")
    assert expiry["due"] == [] and sorted(expiry["certificates"]) == sorted(c["name"] for c in CERTIFICATES)
    [ordered] = run.task_results("Create one ACME order per due certificate")
    assert ordered.get("skipped"), "nothing is ordered"


def test_local_s3_vault_local_nothing_due_after_each_hop(
    rig,
    issued,
    s3_server,
    s3_bucket,
    openbao_module,
    openbao_server,
    tmp_path,
    on_runner,  # noqa: F811
):
    source_files = local_files(issued["state"])
    account_json = source_files[".acme/account.json"]
    assert {".acme/account.key", "migrate-one/privkey.pem", "migrate-rsa/cert.pem"} <= set(source_files)
    s3 = s3_options(s3_server, s3_bucket)

    dry = migrate(local(issued["state"]), s3, check=True)
    assert dry["failed"] is False and dry["changed"] is True, dry
    assert sorted(dry["copied"]) == sorted(source_files) and dry["verified_at"] is None
    assert s3_server.encryption_of_every_object(s3_bucket) == {}, "check mode writes nothing"

    to_s3 = migrate(local(issued["state"]), s3)
    assert to_s3["failed"] is False and to_s3["changed"] is True, to_s3
    assert sorted(to_s3["copied"]) == sorted(source_files) and to_s3["unchanged"] == []
    assert to_s3["accounts"] == 1 and to_s3["certificates"] == sorted(c["name"] for c in CERTIFICATES)
    assert to_s3["source"] == str(issued["state"]) and to_s3["target"] == "s3://%s/migrated" % s3_bucket
    encryption = s3_server.encryption_of_every_object(s3_bucket)
    assert sorted(encryption) == sorted("migrated/" + key for key in source_files)
    assert all(kind == "aws:kms" and key_id.endswith(s3_server.other_key) for kind, key_id in encryption.values()), (
        encryption
    )
    assert local_files(issued["state"]) == source_files, "the source is left as it was"

    again = migrate(local(issued["state"]), s3)
    assert again["failed"] is False and again["changed"] is False, again
    assert again["copied"] == [] and sorted(again["unchanged"]) == sorted(source_files)

    place = runner(tmp_path, "r")
    on_runner(place)
    on_s3 = run_renew(role_vars(rig, place["state"], CERTIFICATES, letsencrypt_dns_state=s3), place["home"])
    assert_nothing_due(on_s3)
    s3_client = s3_server.client("s3")
    stored = s3_client.get_object(Bucket=s3_bucket, Key="migrated/.acme/account.json")["Body"].read()
    assert stored == account_json, "no new registration: the account URL is the one migrated"
    wait_until(lambda: not guardian_pids(place["tmp"]), 15, "the guardian ends with the run")
    assert key_files(place) == [] and workspaces(place["tmp"]) == []

    vault = vault_options(openbao_module, openbao_server)
    to_vault = migrate(s3, vault)
    assert to_vault["failed"] is False and to_vault["changed"] is True, to_vault
    assert set(source_files) <= set(to_vault["copied"])
    assert openbao_server.secret_id not in json.dumps(to_vault)

    back = tmp_path / "back" / "state"
    to_local = migrate(vault, local(back))
    assert to_local["failed"] is False and to_local["changed"] is True, to_local
    files_back = local_files(back)
    for key, data in source_files.items():
        assert files_back[key] == data, key
    assert (back / "migrate-one" / "privkey.pem").stat().st_mode & 0o777 == 0o600
    assert (back / ".acme" / "account.key").stat().st_mode & 0o777 == 0o600

    home = tmp_path / "back"
    on_local = run_renew(role_vars(rig, back, CERTIFICATES), home)
    assert_nothing_due(on_local)
    assert (back / ".acme" / "account.json").read_bytes() == account_json
    assert migrate(vault, local(back))["changed"] is False, "a second migration into the same target changes nothing"


def test_a_target_with_other_content_is_refused_naming_the_key_and_nothing_is_written(issued, tmp_path):
    target = tmp_path / "target"
    other = LocalStore(str(target))
    other.put(".acme/account.key", b"another account's key", expect=ABSENT)
    before = local_files(target)
    refused = migrate(local(issued["state"]), local(target))
    assert refused["failed"] is True and refused.get("changed") is False, refused
    assert ".acme/account.key" in refused["msg"] and "nothing was copied" in refused["msg"]
    assert local_files(target) == before, "nothing was written"

    forced = migrate(local(issued["state"]), local(target), overwrite=True)
    assert forced["failed"] is False and ".acme/account.key" in forced["copied"], forced
    assert local_files(target) == local_files(issued["state"])


def test_a_held_lease_on_the_source_refuses_the_migration(issued, s3_server, s3_bucket, tmp_path):
    s3 = s3_options(s3_server, s3_bucket)
    assert migrate(local(issued["state"]), s3)["failed"] is False
    lease = {"run_id": "run-busy", "host": "runner-7", "pid": 4242, "expires_at": "2999-01-01T00:00:00Z"}
    s3_server.client("s3").put_object(
        Bucket=s3_bucket, Key="migrated/.lock", Body=json.dumps(lease).encode(), ServerSideEncryption="aws:kms"
    )
    target = tmp_path / "target"
    refused = migrate(s3, local(target))
    assert refused["failed"] is True, refused
    assert "in use by run run-busy on host runner-7 until 2999-01-01T00:00:00Z" in refused["msg"]
    assert not target.exists() or local_files(target) == {}, "nothing was written"

    s3_server.client("s3").delete_object(Bucket=s3_bucket, Key="migrated/.lock")
    assert migrate(s3, local(target))["failed"] is False, "free once the lease is gone"


def test_a_certificate_left_half_written_is_not_migrated(issued, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(issued["state"], source, symlinks=True)
    (source / ".lock").unlink(missing_ok=True)
    (source / "migrate-one" / ".commit.json").write_text('{"writing": ["migrate-one/cert.pem"]}')
    target = tmp_path / "target"
    refused = migrate(local(source), local(target))
    assert refused["failed"] is True and "migrate-one" in refused["msg"] and "run the role" in refused["msg"]
    assert not target.exists() or local_files(target) == {}
