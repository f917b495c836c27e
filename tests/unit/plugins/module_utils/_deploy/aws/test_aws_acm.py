# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_acm: import, re-import under the same ARN, tags and refusals, against the in-memory AWS."""

from __future__ import annotations

import pytest
from aws_world import World, acm_arn, pem, run

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import TAG_KEY, DeployError


def test_acm_first_import_is_tagged_and_a_second_run_changes_nothing(files):
    world = World()
    result, _warnings = run(world, files, type="aws_acm")
    assert result["changed"] and result["arn"] == acm_arn(1) and result["previous"] is None
    assert world.acm[acm_arn(1)]["tags"] == {TAG_KEY: "www"}
    world.calls.clear()
    again, _warnings = run(world, files, type="aws_acm")
    assert not again["changed"] and again["arn"] == acm_arn(1) and world.writes() == []


def test_acm_renewal_reimports_under_the_same_arn_and_restores_a_lost_tag(files):
    world = World()
    world.acm[acm_arn(7)] = {"pem": pem(0x111), "tags": {}, "type": "IMPORTED"}
    world.acm[acm_arn(8)] = {"pem": pem(0x222), "tags": {TAG_KEY: "other"}, "type": "IMPORTED"}
    result, _warnings = run(world, files, type="aws_acm", certificate_arn=acm_arn(7))
    assert result["changed"] and result["arn"] == acm_arn(7)
    assert result["previous"]["serial"] == "0111" and result["previous"]["arn"] == acm_arn(7)
    assert world.writes() == [("acm", "import_certificate"), ("acm", "add_tags_to_certificate")]
    imported = [params for service, op, params in world.calls if op == "import_certificate"][0]
    assert imported["CertificateArn"] == acm_arn(7) and "Tags" not in imported
    assert world.acm[acm_arn(7)]["tags"] == {TAG_KEY: "www"} and len(world.acm) == 2


def test_acm_found_by_tag_and_check_mode_writes_nothing(files):
    world = World()
    world.acm[acm_arn(3)] = {"pem": pem(0x999), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    world.acm[acm_arn(4)] = {"pem": pem(0x998), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    result, _warnings = run(world, files, check_mode=True, type="aws_acm")
    assert result["changed"] and result["arn"] == acm_arn(3) and world.writes() == []
    assert result["actions"] == ["would re-import www into %s (serial 0999 -> 0ABC)" % acm_arn(3)]


def test_acm_refuses_a_key_type_change_and_foreign_or_issued_certificates(files):
    world = World()
    world.acm[acm_arn(1)] = {"pem": pem(0x1, key_type="ec384"), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    with pytest.raises(DeployError, match="holds a ec384 key and the new certificate a ec256 key"):
        run(world, files, type="aws_acm")
    world.acm[acm_arn(2)] = {"pem": pem(0x2), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    with pytest.raises(DeployError, match="tagged certfleet:name=api"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(2))
    world.acm[acm_arn(3)] = {"pem": pem(0x3), "tags": {}, "type": "AMAZON_ISSUED"}
    with pytest.raises(DeployError, match="AMAZON_ISSUED certificate"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(3))
    with pytest.raises(DeployError, match="ResourceNotFoundException: Certificate .* not found"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(99))
    assert world.writes() == []
