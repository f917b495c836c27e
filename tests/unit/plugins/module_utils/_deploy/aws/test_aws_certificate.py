# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS targets: the certificate files are read and checked once, and the key stays out of every output."""

from __future__ import annotations

import json

import pytest
from aws_world import write_files

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import (
    load_certificate_files,
    private_key_fragments,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError


def test_files_are_read_checked_and_the_key_stays_out_of_repr(files):
    assert files.serial == "0ABC" and files.key_type == "ec256" and files.not_after.endswith("Z")
    assert "PRIVATE KEY" in files.privkey and "PRIVATE" not in repr(files)
    document = json.loads(files.secret_document())
    assert sorted(document) == ["cert", "chain", "fullchain", "not_after", "privkey", "serial"]
    fragments = private_key_fragments(files.privkey)
    body = [line for line in files.privkey.splitlines() if not line.startswith("-----")]
    assert set(body) <= fragments and "-----BEGIN PRIVATE KEY-----" not in fragments


def test_missing_or_mismatched_files_fail_clearly(tmp_path):
    directory = write_files(tmp_path / "www", 1)
    (tmp_path / "www" / "chain.pem").unlink()
    with pytest.raises(DeployError, match="has no chain.pem"):
        load_certificate_files("www", directory)
    with pytest.raises(DeployError, match="'%s' has no such directory" % (tmp_path / "none")):
        load_certificate_files("none", str(tmp_path / "none"))
    other = write_files(tmp_path / "other", 2, key_type="ec384")
    (tmp_path / "www" / "chain.pem").write_text((tmp_path / "other" / "chain.pem").read_text())
    (tmp_path / "www" / "privkey.pem").write_text((tmp_path / "other" / "privkey.pem").read_text())
    with pytest.raises(DeployError, match="does not belong to cert.pem") as caught:
        load_certificate_files("www", directory)
    assert "PRIVATE" not in str(caught.value) and other
    (tmp_path / "www" / "privkey.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DeployError, match="not an unencrypted PEM private key") as caught:
        load_certificate_files("www", directory)
    assert "not a key" not in str(caught.value)
