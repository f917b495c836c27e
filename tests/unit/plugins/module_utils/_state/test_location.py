# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where state may live: the per-user default, no folder inside a collection, no earlier state left behind.

An upgrade of the collection deletes whatever lies inside it, the account key and every private key included;
these tests pin the rules that keep state out of it, and that the modules refuse such a folder before writing.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._state import location
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import account_key_path
from ansible_collections.certfleet.acme.plugins.module_utils._state.location import (
    StateLocationError,
    default_state_dir,
    installed_collection,
    legacy_state_dir,
    refuse_inside_collection,
    state_dir_default,
)
from ansible_collections.certfleet.acme.plugins.modules import preflight, state_lock


def write_account_key(state_dir) -> None:
    """What an earlier release left: an ACME account key under ``state_dir``."""
    key = account_key_path(str(state_dir))
    os.makedirs(os.path.dirname(key))
    with open(key, "w", encoding="ascii") as handle:
        handle.write("key")


def test_xdg_data_home_is_used_when_absolute():
    assert default_state_dir({"XDG_DATA_HOME": "/data/ops/", "HOME": "/home/ops"}, euid=1000) == (
        "/data/ops/certfleet.acme"
    )


def test_a_relative_xdg_data_home_is_ignored_as_the_specification_says():
    assert default_state_dir({"XDG_DATA_HOME": "data", "HOME": "/home/ops"}, euid=1000) == (
        "/home/ops/.local/share/certfleet.acme"
    )


def test_a_user_without_xdg_data_home_gets_local_share_under_home():
    assert default_state_dir({"HOME": "/home/ops"}, euid=1000) == "/home/ops/.local/share/certfleet.acme"


def test_root_gets_var_lib():
    assert default_state_dir({"HOME": "/root"}, euid=0) == "/var/lib/certfleet.acme"


def test_root_keeps_an_xdg_data_home_it_sets():
    assert default_state_dir({"XDG_DATA_HOME": "/srv/data", "HOME": "/root"}, euid=0) == "/srv/data/certfleet.acme"


def test_the_process_euid_and_environment_are_the_defaults(monkeypatch):
    monkeypatch.setattr(location.os, "geteuid", lambda: 0)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert default_state_dir() == "/var/lib/certfleet.acme"
    monkeypatch.setattr(location.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", "/home/someone")
    assert default_state_dir() == "/home/someone/.local/share/certfleet.acme"


@pytest.mark.parametrize(
    ("path", "collection"),
    [
        ("/usr/share/ansible/collections/ansible_collections/certfleet/acme", "/usr/share/ansible/collections/"
         "ansible_collections/certfleet/acme"),
        ("/home/ops/.ansible/collections/ansible_collections/certfleet/acme/playbooks/certificates",
         "/home/ops/.ansible/collections/ansible_collections/certfleet/acme"),
        ("/x/ansible_collections/other/coll/state", "/x/ansible_collections/other/coll"),
        ("/x/ansible_collections/certfleet/acme/tests/ansible_collections/ns/name/s", "/x/ansible_collections/"
         "certfleet/acme/tests/ansible_collections/ns/name"),
    ],
)  # fmt: skip
def test_a_folder_inside_an_installed_collection_is_found(path, collection):
    assert installed_collection(path) == collection


@pytest.mark.parametrize(
    "path",
    [
        "/srv/certificates",
        "/x/ansible_collections",
        "/x/ansible_collections/certfleet",
        "/x/ansible_collections_old/a/b",
    ],
)
def test_folders_outside_every_collection_are_not(path):
    assert installed_collection(path) is None


def test_a_symlink_into_a_collection_is_followed(tmp_path):
    inside = tmp_path / "ansible_collections" / "certfleet" / "acme" / "state"
    inside.mkdir(parents=True)
    (tmp_path / "state").symlink_to(inside)
    assert installed_collection(str(tmp_path / "state")) == str(tmp_path / "ansible_collections/certfleet/acme")


def test_a_relative_path_counts_from_the_working_directory(tmp_path, monkeypatch):
    collection = tmp_path / "ansible_collections" / "certfleet" / "acme"
    collection.mkdir(parents=True)
    monkeypatch.chdir(collection)
    assert installed_collection("playbooks/certificates") == str(collection)


def test_the_refusal_names_the_setting_the_folder_and_why():
    path = "/home/ops/.ansible/collections/ansible_collections/certfleet/acme/playbooks/certificates"
    with pytest.raises(StateLocationError) as raised:
        refuse_inside_collection(path)
    message = str(raised.value)
    assert message.startswith("letsencrypt_dns_dir (module option state_dir) is %s, inside the installed" % path)
    assert "/home/ops/.ansible/collections/ansible_collections/certfleet/acme: an upgrade" in message
    assert "deletes the ACME account key and every private key" in message


def test_a_folder_outside_every_collection_is_accepted(tmp_path):
    refuse_inside_collection(str(tmp_path / "state"))


def test_no_legacy_state_without_an_account_key(tmp_path):
    (tmp_path / "certificates" / "www").mkdir(parents=True)
    assert legacy_state_dir(str(tmp_path)) is None
    assert legacy_state_dir(None) is None


def test_the_default_is_returned_when_no_earlier_state_is_left(tmp_path):
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert state_dir_default(str(tmp_path), environ, euid=1000) == str(tmp_path / "data" / "certfleet.acme")
    assert state_dir_default(None, environ, euid=1000) == str(tmp_path / "data" / "certfleet.acme")


def test_earlier_state_beside_the_playbook_stops_the_run_naming_both_folders(tmp_path):
    write_account_key(tmp_path / "playbooks" / "certificates")
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    with pytest.raises(StateLocationError) as raised:
        state_dir_default(str(tmp_path / "playbooks"), environ, euid=1000)
    old, new = tmp_path / "playbooks" / "certificates", tmp_path / "data" / "certfleet.acme"
    message = str(raised.value)
    assert message.startswith("letsencrypt_dns_dir is not set, and its default has moved")
    assert "would register a new account and issue every certificate again" in message
    assert message.endswith("Set letsencrypt_dns_dir: %s to keep using it, or move it to %s" % (old, new))


def test_earlier_state_inside_a_collection_can_only_be_moved(tmp_path):
    collection = tmp_path / "ansible_collections" / "certfleet" / "acme"
    write_account_key(collection / "playbooks" / "certificates")
    with pytest.raises(StateLocationError) as raised:
        state_dir_default(str(collection / "playbooks"), {"HOME": str(tmp_path / "home")}, euid=1000)
    message = str(raised.value)
    assert (
        "lies inside the installed collection %s, which an upgrade replaces: move it to %s"
        % (
            collection,
            tmp_path / "home" / ".local" / "share" / "certfleet.acme",
        )
        in message
    )
    assert "to keep using it" not in message


def test_earlier_state_already_copied_to_the_new_default_is_no_longer_in_the_way(tmp_path):
    write_account_key(tmp_path / "certificates")
    write_account_key(tmp_path / "data" / "certfleet.acme")
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert state_dir_default(str(tmp_path), environ, euid=1000) == str(tmp_path / "data" / "certfleet.acme")


def test_root_with_earlier_state_is_told_about_var_lib(tmp_path):
    write_account_key(tmp_path / "certificates")
    with pytest.raises(StateLocationError, match="move it to /var/lib/certfleet.acme$"):
        state_dir_default(str(tmp_path), {"HOME": "/root"}, euid=0)


def test_state_lock_refuses_a_folder_inside_a_collection_and_writes_nothing(tmp_path, run_module):
    collection = tmp_path / "ansible_collections" / "certfleet" / "acme"
    collection.mkdir(parents=True)
    state_dir = collection / "playbooks" / "certificates"
    result = run_module(state_lock.main, {"state_dir": str(state_dir), "owner_pid": os.getpid()})
    assert result["failed"] is True and result["acquired"] is False
    assert result["msg"].startswith("letsencrypt_dns_dir (module option state_dir) is %s, inside" % state_dir)
    assert list(collection.iterdir()) == []


def test_state_lock_takes_the_lock_of_a_folder_outside_collections(tmp_path, run_module):
    state_dir = tmp_path / "state"
    result = run_module(state_lock.main, {"state_dir": str(state_dir), "owner_pid": os.getpid()})
    assert result.get("failed") is not True and result["acquired"] is True
    run_module(state_lock.main, {"state_dir": str(state_dir), "state": "absent", "run_id": result["run_id"]})


def test_preflight_refuses_a_folder_inside_a_collection_before_asking_anyone(tmp_path, run_module):
    state_dir = tmp_path / "ansible_collections" / "certfleet" / "acme" / "state"
    args = {"acme_directory": "https://acme.invalid/directory", "state_dir": str(state_dir), "terms_agreed": True}
    result = run_module(preflight.main, args)
    assert result["failed"] is True
    assert result["msg"].startswith("letsencrypt_dns_dir (module option state_dir) is %s, inside" % state_dir)
    assert "acme" not in result
    assert not (tmp_path / "ansible_collections").exists()
