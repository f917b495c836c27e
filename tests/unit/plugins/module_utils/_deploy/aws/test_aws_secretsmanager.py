# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_secretsmanager: one JSON secret, created, updated by serial, tagged, never another certificate's."""

from __future__ import annotations

import json

import pytest
from aws_world import World, run, write_files
from certgen import cached_key

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import load_certificate_files
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import TAG_KEY, DeployError


def test_secret_create_update_and_idempotence(files, tmp_path):
    world = World()
    first, _warnings = run(
        world, files, type="aws_secretsmanager", secret_name="tls/www", secret_kms_key_id="alias/tls"
    )
    assert first["changed"] and first["arn"].endswith("tls/www-AbCdEf") and first["previous"] is None
    create = [params for service, op, params in world.calls if op == "create_secret"][0]
    assert create["KmsKeyId"] == "alias/tls" and create["Tags"] == [{"Key": TAG_KEY, "Value": "www"}]
    assert "privkey" not in json.dumps(first) and "PRIVATE" not in json.dumps(first)
    world.calls.clear()
    assert not run(world, files, type="aws_secretsmanager", secret_name="tls/www")[0]["changed"]
    assert world.writes() == []
    # A secret written by an older release holds the serial in lower case without its leading zero: still unchanged.
    stored = json.loads(world.secrets["tls/www"]["string"])
    assert stored["serial"] == "0ABC"
    world.secrets["tls/www"]["string"] = json.dumps(dict(stored, serial="abc"))
    assert not run(world, files, type="aws_secretsmanager", secret_name="tls/www")[0]["changed"]
    assert world.writes() == []
    renewed = load_certificate_files(
        "www", write_files(tmp_path / "renewed", 0xDEF, key=cached_key("ec384"), key_type="ec384")
    )
    planned, _warnings = run(world, renewed, check_mode=True, type="aws_secretsmanager", secret_name="tls/www")
    assert planned["changed"] and world.writes() == []
    result, _warnings = run(world, renewed, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and result["previous"]["serial"] == "0ABC"
    assert json.loads(world.secrets["tls/www"]["string"])["serial"] == "0DEF"
    assert "PRIVATE" not in json.dumps(result)


def test_secret_untagged_gets_tagged_and_foreign_or_missing_arn_fails(files):
    world = World()
    world.secrets["tls/www"] = {"arn": "arn:aws:secretsmanager:us-east-1:1:secret:tls/www-x", "string": "", "tags": {}}
    result, _warnings = run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and world.secrets["tls/www"]["tags"] == {TAG_KEY: "www"}
    world.secrets["tls/api"] = {"arn": "arn:x", "string": "{}", "tags": {TAG_KEY: "api"}}
    with pytest.raises(DeployError, match="tagged certfleet:name=api"):
        run(world, files, type="aws_secretsmanager", secret_name="tls/api")
    with pytest.raises(DeployError, match="a new secret needs a name"):
        run(world, files, type="aws_secretsmanager", secret_name="arn:aws:secretsmanager:us-east-1:1:secret:gone")
