# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import errno
import json
import os
import shutil
import stat

import pytest
from certgen import make_cert
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.certfleet.acme.plugins.module_utils._acme import cert_files as acme_cert_files
from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_files import (
    discard_staging,
    write_certificate_files,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import (
    generate_private_key,
    private_key_pem,
    public_key_der,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write
from ansible_collections.certfleet.acme.plugins.module_utils._state import commit as commit_module
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import (
    finish_interrupted_commits,
    read_file_set,
    retired_dir,
)
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


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even the except clauses that catch Exception."""


def pair(seed: str):
    key = generate_private_key("ec256")
    return private_key_pem(key), make_cert(["%s.test" % seed], key=key).decode(), [make_cert(["ca.test"]).decode()]


def matching(directory) -> str:
    """Which set ``directory`` holds ("old"/"new" from cert.json), after checking that every file belongs to it."""
    files = read_file_set(str(directory), FILE_SET)
    key = serialization.load_pem_private_key(files["privkey.pem"], password=None)
    leaf = x509.load_pem_x509_certificate(files["cert.pem"])
    assert public_key_der(key) == public_key_der(leaf.public_key()), "mismatched pair in %s" % directory
    assert files["fullchain.pem"] == files["cert.pem"] + files["chain.pem"]
    info = json.loads(files["cert.json"])
    assert info["serial"] == leaf.serial_number
    return info["set"]


def write(state_dir, name, which, material):
    key_pem, leaf, chain = material
    serial = x509.load_pem_x509_certificate(leaf.encode()).serial_number
    return write_certificate_files(state_dir, name, key_pem, leaf, chain, {"set": which, "serial": serial})


# Each step of the switch a kill can stop at: after the commit point, after each rename, before the clean-up.
KILL_POINTS = ["commit", "rename-1", "rename-2", "rmtree"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_each_step_of_the_switch_leaves_one_whole_set_and_is_finished_later(tmp_path, monkeypatch, point):
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    (tmp_path / "www" / "order.json").write_text('{"url": "kept"}')
    real_rename, real_rmtree, real_fsync_dir = os.rename, shutil.rmtree, acme_cert_files.fsync_dir
    renames = []

    def rename(src, dst):
        renames.append(dst)
        real_rename(src, dst)
        if point == "rename-%d" % (len(renames) - 1):
            raise Killed()

    def rmtree(path, *args, **kwargs):
        if point == "rmtree" and path == retired_dir(state_dir, "www"):
            raise Killed()
        real_rmtree(path, *args, **kwargs)

    def fsync_dir(path):
        # The first call after the commit point, outside the clean-up of a failed staging.
        if point == "commit" and path == str(tmp_path / "www"):
            raise Killed()
        real_fsync_dir(path)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    monkeypatch.setattr(acme_cert_files, "fsync_dir", fsync_dir)
    with pytest.raises(Killed):
        write(state_dir, "www", "new", pair("new"))
    monkeypatch.undo()
    # What a reader sees now: the whole old set, the whole new set, or (killed between the renames) no directory.
    expected = {"commit": "old", "rename-1": None, "rename-2": "new", "rmtree": "new"}[point]
    if expected is None:
        assert not (tmp_path / "www").exists()
    else:
        assert matching(tmp_path / "www") == expected

    # What the next run does when it takes the lock: the complete new set, nothing left over.
    assert finish_interrupted_commits(state_dir) == ["www"]
    assert matching(tmp_path / "www") == "new"
    assert mode(tmp_path / "www" / "privkey.pem") == 0o600
    assert sorted(os.listdir(tmp_path / "www")) == sorted(FILE_SET + ["order.json"])
    assert (tmp_path / "www" / "order.json").read_text() == '{"url": "kept"}'
    assert sorted(os.listdir(tmp_path)) == ["www"]
    assert finish_interrupted_commits(state_dir) == []


def test_a_directory_that_is_a_mount_point_gets_its_files_moved_in_cert_pem_last(tmp_path, monkeypatch):
    """rename(2) of a mount point fails with EBUSY: the entries are moved one by one instead, cert.pem last."""
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    (tmp_path / "www" / "order.json").write_text("{}")
    real_rename, real_replace = os.rename, os.replace
    moved = []

    def rename(src, dst):
        if src == str(tmp_path / "www"):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), src)
        real_rename(src, dst)

    def replace(src, dst):
        if COMMIT_DIR in src:
            moved.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    write(state_dir, "www", "new", pair("new"))
    monkeypatch.undo()
    assert moved[0] == "order.json" and moved[-1] == "cert.pem"
    assert matching(tmp_path / "www") == "new"
    assert sorted(os.listdir(tmp_path / "www")) == sorted(FILE_SET + ["order.json"])
    assert sorted(os.listdir(tmp_path)) == ["www"]


def test_a_retired_set_without_a_commit_comes_back(tmp_path):
    """Not a state a switch leaves, but the only copy of a set is never removed: it is put back."""
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    os.rename(tmp_path / "www", retired_dir(state_dir, "www"))
    assert finish_interrupted_commits(state_dir) == ["www"]
    assert matching(tmp_path / "www") == "old"
    assert sorted(os.listdir(tmp_path)) == ["www"]


def test_the_new_directory_keeps_the_mode_of_the_live_one(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    os.chmod(tmp_path / "www", 0o750)
    write(state_dir, "www", "new", pair("new"))
    assert mode(tmp_path / "www") == 0o750
    assert matching(tmp_path / "www") == "new"


def test_a_reader_across_a_switch_gets_one_set(tmp_path, monkeypatch):
    """The switch happens after the reader took the key: it still gets the certificate of that key."""
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    real_read_at = commit_module._read_at
    new = pair("new")
    switched = []

    def read_then_switch(directory_fd, filename):
        data = real_read_at(directory_fd, filename)
        if not switched:
            switched.append(filename)
            monkeypatch.setattr(commit_module, "_read_at", real_read_at)
            write(state_dir, "www", "new", new)
        return data

    monkeypatch.setattr(commit_module, "_read_at", read_then_switch)
    files = read_file_set(str(tmp_path / "www"), FILE_SET)
    assert switched
    key = serialization.load_pem_private_key(files["privkey.pem"], password=None)
    leaf = x509.load_pem_x509_certificate(files["cert.pem"])
    assert public_key_der(key) == public_key_der(leaf.public_key())
    assert json.loads(files["cert.json"])["set"] == "new"


def test_a_missing_file_is_named(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    os.unlink(tmp_path / "www" / "chain.pem")
    with pytest.raises(FileNotFoundError, match="www/chain.pem"):
        read_file_set(str(tmp_path / "www"), FILE_SET)


def test_a_write_finishes_an_interrupted_commit_first(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", "old", pair("old"))
    commit = tmp_path / "www" / COMMIT_DIR
    shutil.copytree(tmp_path / "www", tmp_path / "next")
    write(state_dir, "next", "new", pair("new"))
    os.rename(tmp_path / "next", commit)
    discard_staging(state_dir, "www")
    assert matching(tmp_path / "www") == "new"
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
    assert sorted(os.listdir(tmp_path)) == ["www"]
