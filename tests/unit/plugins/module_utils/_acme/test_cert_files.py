# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import errno
import json
import os
import stat

import pytest
from certgen import make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme import cert_files as acme_cert_files
from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_files import (
    discard_staging,
    write_certificate_files,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key, private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import finish_interrupted_commits
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import COMMIT_DIR, COMMIT_ORDER, STAGING_DIR

# What a certificate directory holds after a commit, sorted.
FILE_SET = ["cert.json", "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_write_keeps_0600_when_replacing(tmp_path):
    path = str(tmp_path / "privkey.pem")
    atomic_write(path, b"old", mode=0o600)
    atomic_write(path, b"new", mode=0o600)
    assert mode(path) == 0o600
    assert open(path, "rb").read() == b"new"
    assert os.listdir(tmp_path) == ["privkey.pem"]


def test_files_are_written_with_modes(tmp_path):
    state_dir = str(tmp_path)
    key = generate_private_key("ec256")
    leaf = make_cert(["a.test"], key=key).decode()
    chain = [make_cert(["ca.test"]).decode()]
    paths = write_certificate_files(state_dir, "www", private_key_pem(key), leaf, chain, {"name": "www"})
    assert paths == {
        name: str(tmp_path / "www" / ("%s.pem" % name)) for name in ("privkey", "cert", "chain", "fullchain")
    }
    assert mode(paths["privkey"]) == 0o600
    assert mode(paths["cert"]) == 0o644
    assert open(paths["fullchain"]).read() == leaf + chain[0]
    assert open(paths["chain"]).read() == chain[0]
    assert json.load(open(tmp_path / "www" / "cert.json")) == {"name": "www"}
    assert sorted(os.listdir(tmp_path / "www")) == FILE_SET
    # A second issuance replaces everything and keeps the key private.
    write_certificate_files(state_dir, "www", b"KEY2", "LEAF2\n", [], {"name": "www"})
    assert mode(paths["privkey"]) == 0o600
    assert open(paths["privkey"], "rb").read() == b"KEY2"


def test_cert_pem_is_committed_last():
    assert COMMIT_ORDER[-1] == "cert.pem"
    assert COMMIT_ORDER[0] == "privkey.pem"


def test_failure_while_staging_leaves_live_files_alone(tmp_path, monkeypatch):
    state_dir = str(tmp_path)
    write_certificate_files(state_dir, "www", b"OLDKEY", "OLDLEAF\n", [], {"v": 1})
    real = acme_cert_files.atomic_write

    def failing(path, data, mode=0o644):
        if path.endswith("cert.pem") and ".staging" in path:
            raise OSError("disk full")
        real(path, data, mode)

    monkeypatch.setattr(acme_cert_files, "atomic_write", failing)
    with pytest.raises(OSError):
        write_certificate_files(state_dir, "www", b"NEWKEY", "NEWLEAF\n", [], {"v": 2})
    assert open(tmp_path / "www" / "privkey.pem", "rb").read() == b"OLDKEY"
    assert open(tmp_path / "www" / "cert.pem").read() == "OLDLEAF\n"
    assert not os.path.exists(tmp_path / "www" / ".staging")


def test_crash_between_renames_is_finished_by_the_next_run(tmp_path, monkeypatch):
    """A commit killed half-way keeps the old leaf until the end, and the rest is moved into place later."""
    state_dir = str(tmp_path)
    write_certificate_files(state_dir, "www", b"OLDKEY", "OLDLEAF\n", [], {"v": 1})
    real_replace = os.replace
    live_cert = str(tmp_path / "www" / "cert.pem")

    def crash_on_cert(src, dst):
        if dst == live_cert:
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(acme_cert_files.os, "replace", crash_on_cert)
    with pytest.raises(KeyboardInterrupt):
        write_certificate_files(state_dir, "www", b"NEWKEY", "NEWLEAF\n", [], {"v": 2})
    monkeypatch.setattr(acme_cert_files.os, "replace", real_replace)
    assert open(tmp_path / "www" / "cert.pem").read() == "OLDLEAF\n"
    assert open(tmp_path / "www" / "privkey.pem", "rb").read() == b"NEWKEY"
    assert os.listdir(tmp_path / "www" / COMMIT_DIR) == ["cert.pem"]

    # What the next run does when it takes the lock: the complete new set, nothing left over.
    assert finish_interrupted_commits(state_dir) == ["www"]
    assert open(tmp_path / "www" / "cert.pem").read() == "NEWLEAF\n"
    assert open(tmp_path / "www" / "privkey.pem", "rb").read() == b"NEWKEY"
    assert json.load(open(tmp_path / "www" / "cert.json")) == {"v": 2}
    assert mode(tmp_path / "www" / "privkey.pem") == 0o600
    assert sorted(os.listdir(tmp_path / "www")) == FILE_SET
    assert finish_interrupted_commits(state_dir) == []


def test_a_write_finishes_an_interrupted_commit_first(tmp_path):
    state_dir = str(tmp_path)
    write_certificate_files(state_dir, "www", b"OLDKEY", "OLDLEAF\n", [], {"v": 1})
    commit = tmp_path / "www" / COMMIT_DIR
    commit.mkdir()
    (commit / "cert.pem").write_text("NEWLEAF\n")
    discard_staging(state_dir, "www")
    assert open(tmp_path / "www" / "cert.pem").read() == "NEWLEAF\n"
    assert not commit.exists()


def test_killed_while_staging_leaves_the_old_set(tmp_path):
    """Before the commit point only .staging exists; it is dropped and the old set is the certificate."""
    state_dir = str(tmp_path)
    write_certificate_files(state_dir, "www", b"OLDKEY", "OLDLEAF\n", [], {"v": 1})
    staging = tmp_path / "www" / STAGING_DIR
    staging.mkdir()
    (staging / "privkey.pem").write_bytes(b"HALF")
    assert finish_interrupted_commits(state_dir) == []
    discard_staging(state_dir, "www")
    assert not staging.exists()
    assert open(tmp_path / "www" / "privkey.pem", "rb").read() == b"OLDKEY"


def test_no_space_while_staging_keeps_every_live_file(tmp_path, monkeypatch):
    state_dir = str(tmp_path)
    write_certificate_files(state_dir, "www", b"OLDKEY", "OLDLEAF\n", ["CHAIN\n"], {"v": 1})
    before = {name: (tmp_path / "www" / name).read_bytes() for name in COMMIT_ORDER}
    real = acme_cert_files.atomic_write

    def full_after_the_key(path, data, mode=0o644):
        if not path.endswith("privkey.pem"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        real(path, data, mode)

    monkeypatch.setattr(acme_cert_files, "atomic_write", full_after_the_key)
    with pytest.raises(OSError, match="No space left on device"):
        write_certificate_files(state_dir, "www", b"NEWKEY", "NEWLEAF\n", ["CHAIN2\n"], {"v": 2})
    assert {name: (tmp_path / "www" / name).read_bytes() for name in COMMIT_ORDER} == before
    assert sorted(os.listdir(tmp_path / "www")) == sorted(COMMIT_ORDER)
