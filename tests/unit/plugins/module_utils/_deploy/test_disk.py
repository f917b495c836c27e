# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deployment follows no link from ``dest`` down, and a file has its owner and mode before it has its name."""

from __future__ import annotations

import grp
import os
import stat

import pytest
from certgen import make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key, private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._deploy import disk
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.disk import Backup, read_current
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import (
    DeployError,
    pem_material,
    plan_targets,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.server import Deployment
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.server_task import deployment


@pytest.fixture(scope="module")
def material():
    key = generate_private_key("ec256")
    return pem_material(private_key_pem(key).decode(), make_cert(["www.example.org"], key=key).decode(), None, None)


def other_gid() -> int:
    """A group the test may give files to that is not the process's own."""
    candidates = [gid for gid in os.getgroups() if gid != os.getgid()]
    if os.geteuid() == 0:
        candidates += [entry.gr_gid for entry in grp.getgrall() if entry.gr_gid != os.getgid()]
    assert candidates, "the test needs a second group"
    return candidates[0]


def listing(path) -> dict:
    return {name: os.lstat(os.path.join(path, name)).st_mode for name in sorted(os.listdir(path))}


def plan_of(targets, material) -> Deployment:
    return Deployment("www", "files", targets, material.identity, runner=lambda command, timeout: {})


@pytest.mark.parametrize("layout", ["files", "haproxy"])
def test_a_linked_dest_is_refused(tmp_path, material, layout):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "tls")
    targets = plan_targets("www", layout, str(tmp_path / "tls"), material, (0o644, 0o600))
    with pytest.raises(DeployError, match=r"tls is a symbolic link; a certificate directory must be a real directory"):
        plan_of(targets, material).plan()
    with pytest.raises(DeployError, match="symbolic link"):
        Backup([]).write(targets)
    assert listing(elsewhere) == {}


def test_a_linked_certificate_directory_is_refused(tmp_path, material):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "tls").mkdir()
    os.symlink(elsewhere, tmp_path / "tls" / "www")
    targets = plan_targets("www", "nginx", str(tmp_path / "tls"), material, (0o644, 0o600))
    result = Deployment("www", "nginx", targets, material.identity, runner=lambda command, timeout: {}).run()
    assert result["failed"] and "tls/www is a symbolic link" in result["msg"]
    assert listing(elsewhere) == {}


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, material):
    """The write opens each directory with O_NOFOLLOW: a link planted between plan and write is refused too."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    targets = plan_targets("www", "files", str(tmp_path / "tls"), material, (0o644, 0o600))
    currents = [read_current(target.path, target.root) for target in targets]
    (tmp_path / "tls").mkdir()
    os.symlink(elsewhere, tmp_path / "tls" / "www")
    backup = Backup(currents)
    with pytest.raises(DeployError, match="www is a symbolic link"):
        backup.write(targets)
    assert listing(elsewhere) == {}
    assert backup.restore() == []
    assert os.path.islink(tmp_path / "tls" / "www"), "restore removes no link it did not make"


def test_a_linked_key_file_is_not_read(tmp_path, material):
    (tmp_path / "www").mkdir()
    (tmp_path / "secret").write_text("not yours")
    os.symlink(tmp_path / "secret", tmp_path / "www" / "privkey.pem")
    (target,) = plan_targets("www", "files", str(tmp_path), material, (0o644, 0o600))[:1]
    with pytest.raises(DeployError, match="not a regular file"):
        read_current(target.path, target.root)


def test_owner_and_mode_are_set_before_the_rename(tmp_path, material, monkeypatch):
    """Each temporary file has its final owner and mode, and its content synced, when it is renamed into place."""
    gid = other_gid()
    targets = plan_targets("www", "files", str(tmp_path / "tls"), material, (0o644, 0o640), (None, gid))
    seen = {}
    real_rename = os.rename

    def inspecting_rename(source, destination, *, src_dir_fd=None, dst_dir_fd=None):
        info = os.stat(source, dir_fd=src_dir_fd, follow_symlinks=False)
        with open(os.open(source, os.O_RDONLY, dir_fd=src_dir_fd), "rb") as handle:
            seen[destination] = (source, stat.S_IMODE(info.st_mode), info.st_gid, handle.read())
        real_rename(source, destination, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    monkeypatch.setattr(disk.os, "rename", inspecting_rename)
    Backup([read_current(target.path, target.root) for target in targets]).write(targets)
    assert sorted(seen) == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]
    for target in targets:
        temporary, mode, group, content = seen[os.path.basename(target.path)]
        assert temporary.startswith("." + os.path.basename(target.path) + ".")
        assert (mode, group, content) == (target.mode, gid, target.content)
    assert listing(tmp_path / "tls" / "www").keys() == set(seen)  # no temporary file left behind
    assert seen["privkey.pem"][1] == 0o640


def test_rollback_puts_owner_and_mode_back(tmp_path, material):
    gid = other_gid()
    directory = tmp_path / "www"
    directory.mkdir()
    (directory / "privkey.pem").write_text("old key\n")
    os.chmod(directory / "privkey.pem", 0o600)
    targets = plan_targets("www", "files", str(tmp_path), material, (0o644, 0o640), (None, gid))
    backup = Backup([read_current(target.path, target.root) for target in targets])
    backup.write(targets)
    info = os.stat(directory / "privkey.pem")
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o640, gid)
    assert backup.restore() == []
    info = os.stat(directory / "privkey.pem")
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o600, os.getgid())
    assert (directory / "privkey.pem").read_text() == "old key\n"
    assert sorted(os.listdir(directory)) == ["privkey.pem"]


def test_group_and_key_mode_reach_the_key(tmp_path, material):
    """cert_deploy's group and key_mode: a group-readable key, as a service in that group needs it."""
    gid = other_gid()
    params = {
        "cert": "www",
        "type": "files",
        "dest": str(tmp_path),
        "privkey": material.privkey,
        "cert_pem": material.cert,
        "chain_pem": None,
        "fullchain_pem": None,
        "owner": None,
        "group": str(gid),
        "mode": "0644",
        "key_mode": "0640",
        "validate_command": None,
        "reload_command": None,
        "verify": None,
        "verify_retries": 0,
        "verify_delay": 0,
        "command_timeout": 5,
    }
    result = deployment(params, runner=lambda command, timeout: {}).run()
    assert "failed" not in result, result
    info = os.stat(tmp_path / "www" / "privkey.pem")
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o640, gid)
    assert {entry["kind"]: entry["mode"] for entry in result["files"]}["privkey"] == "0640"
