# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A state directory another user can steer is refused, and the state tree is made private whatever the umask."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    atomic_write,
    make_dirs,
    read_json,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.lock import acquire
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import (
    StateTrustError,
    check_commit_dir,
    check_state_dir,
    make_dir_under,
    make_state_dir,
)


@pytest.fixture
def umask_zero():
    """Run with umask 0, where a directory made with the default mode would be world-writable."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_state_tree_is_private_with_umask_zero(tmp_path, umask_zero):
    state = tmp_path / "state"
    acquire(str(state), os.getpid())
    atomic_write(str(state / "www" / "privkey.pem"), b"key", mode=0o600)
    assert mode(state) == 0o700
    assert mode(state / "www") == 0o700
    assert mode(state / "www" / "privkey.pem") == 0o600
    assert mode(state / ".lock") == 0o600


def test_group_read_makes_the_state_directory_and_its_directories_0750(tmp_path, umask_zero):
    state = tmp_path / "state"
    assert make_state_dir(str(state), group_read=True) is True
    make_dir_under(str(state), str(state / "www"))
    assert (mode(state), mode(state / "www")) == (0o750, 0o750)
    make_state_dir(str(state), group_read=False)  # the option is applied to an existing directory too
    assert mode(state) == 0o700


def test_a_new_directory_below_an_open_folder_is_private(tmp_path, umask_zero):
    os.chmod(tmp_path, 0o755)
    make_dirs(str(tmp_path / "a" / "b"))
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o700, 0o700)


@pytest.mark.parametrize(("bits", "who"), [(0o770, "its group"), (0o707, "others"), (0o777, "its group and others")])
def test_a_writable_state_directory_is_refused_naming_it(tmp_path, bits, who):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, bits)
    with pytest.raises(StateTrustError) as refused:
        check_state_dir(str(state))
    assert "%s is writable by %s (mode %04o)" % (state, who, bits) in str(refused.value)


def test_a_writable_file_inside_is_refused_naming_it(tmp_path):
    (tmp_path / "www").mkdir(mode=0o700)
    key = tmp_path / "www" / "privkey.pem"
    key.write_bytes(b"key")
    os.chmod(key, 0o666)
    with pytest.raises(StateTrustError, match="%s is writable by its group and others" % key):
        check_state_dir(str(tmp_path))


def test_a_file_of_another_user_is_refused(tmp_path):
    (tmp_path / "cert.pem").write_text("x")
    os.chmod(tmp_path, 0o700)
    other = os.geteuid() + 4242
    with pytest.raises(StateTrustError) as refused:
        check_state_dir(str(tmp_path), euid=other)
    assert "%s is owned by uid %d, not by this user (uid %d)" % (tmp_path, os.geteuid(), other) in str(refused.value)


def test_a_certificate_directory_that_is_a_symlink_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "www").symlink_to(elsewhere)
    with pytest.raises(StateTrustError, match="www is a symbolic link \\(to %s\\)" % elsewhere):
        check_state_dir(str(state))


def test_the_state_directory_may_be_named_through_a_symlink(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (real / "www").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    check_state_dir(str(tmp_path / "link"))


def test_a_missing_state_directory_passes(tmp_path):
    check_state_dir(str(tmp_path / "missing"))


def test_taking_the_lock_refuses_an_untrusted_directory_and_writes_nothing(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    with pytest.raises(StateTrustError):
        acquire(str(state), os.getpid())
    assert os.listdir(state) == []


def test_a_planted_commit_folder_is_refused(tmp_path):
    directory = tmp_path / "www"
    commit = directory / ".commit"
    commit.mkdir(parents=True)
    os.chmod(directory, 0o700)
    os.chmod(commit, 0o777)
    (commit / "privkey.pem").write_bytes(b"planted")
    with pytest.raises(StateTrustError, match="%s is writable by its group and others" % commit):
        check_commit_dir(str(commit))
    os.chmod(commit, 0o700)
    check_commit_dir(str(commit))


def test_reading_json_does_not_follow_a_symlink(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("{}")
    (tmp_path / "link.json").symlink_to(target)
    with pytest.raises(OSError) as refused:
        read_json(str(tmp_path / "link.json"))
    assert refused.value.errno == errno.ELOOP


def test_an_atomic_write_replaces_a_planted_symlink_without_writing_through_it(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"theirs")
    (tmp_path / "privkey.pem").symlink_to(target)
    atomic_write(str(tmp_path / "privkey.pem"), b"mine", mode=0o600)
    assert target.read_bytes() == b"theirs"
    assert not os.path.islink(tmp_path / "privkey.pem")
    assert (tmp_path / "privkey.pem").read_bytes() == b"mine"
