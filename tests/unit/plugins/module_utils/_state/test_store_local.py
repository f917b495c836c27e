# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local store: the state directory by key, with content versions and conditional writes that hold under races."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StoreConflict,
    StoreError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_put_get_and_version_are_the_content_and_its_sha256(tmp_path):
    store = LocalStore(str(tmp_path / "state"))
    version = store.put("www/cert.pem", b"CERT", expect=ABSENT)
    assert version == hashlib.sha256(b"CERT").hexdigest()
    item = store.get("www/cert.pem")
    assert (item.key, item.data, item.version) == ("www/cert.pem", b"CERT", version)
    assert store.version("www/cert.pem") == version
    assert (tmp_path / "state" / "www" / "cert.pem").read_bytes() == b"CERT"
    assert store.get("www/chain.pem") is None and store.version("www/chain.pem") is None
    assert store.kind == "local" and store.describe() == str(tmp_path / "state")


def test_conditions_refuse_a_write_over_another_version_and_a_create_over_an_existing_key(tmp_path):
    store = LocalStore(str(tmp_path))
    first = store.put("www/cert.json", b"{}", expect=ABSENT)
    with pytest.raises(StoreConflict, match=r"www/cert.json in .* changed meanwhile: expected no file, found version"):
        store.put("www/cert.json", b"{1}", expect=ABSENT)
    second = store.put("www/cert.json", b"{2}", expect=first)
    with pytest.raises(StoreConflict, match="expected version %s, found version %s" % (first, second)):
        store.put("www/cert.json", b"{3}", expect=first)
    with pytest.raises(StoreConflict, match="expected version %s, found none" % first):
        store.put("www/order.json", b"{}", expect=first)
    assert store.put("www/cert.json", b"{4}", expect=ANY) == hashlib.sha256(b"{4}").hexdigest()
    assert store.get("www/cert.json").data == b"{4}"


def test_private_keys_are_0600_and_other_files_0644(tmp_path):
    store = LocalStore(str(tmp_path / "state"))
    store.put(".acme/account.key", b"KEY", expect=ABSENT)
    store.put("www/privkey.pem", b"KEY", expect=ABSENT)
    store.put("www/fullchain.pem", b"PEM", expect=ABSENT)
    assert mode(tmp_path / "state" / ".acme" / "account.key") == 0o600
    assert mode(tmp_path / "state" / "www" / "privkey.pem") == 0o600
    assert mode(tmp_path / "state" / "www" / "fullchain.pem") == 0o644
    assert mode(tmp_path / "state" / ".acme") == 0o700


def test_delete_checks_the_version_and_a_missing_key_is_no_error(tmp_path):
    store = LocalStore(str(tmp_path))
    version = store.put("www/order.json", b"{}", expect=ABSENT)
    with pytest.raises(StoreConflict):
        store.delete("www/order.json", expect="0" * 64)
    assert store.get("www/order.json") is not None
    store.delete("www/order.json", expect=version)
    assert store.get("www/order.json") is None
    store.delete("www/order.json", expect=version)
    store.put("www/order.json", b"{}", expect=ABSENT)
    store.delete("www/order.json", expect=ANY)
    assert not (tmp_path / "www" / "order.json").exists()


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "www/../../x", "", "www//cert.pem", "./x"])
def test_keys_that_could_leave_the_directory_are_refused(tmp_path, key):
    store = LocalStore(str(tmp_path / "state"))
    with pytest.raises(StoreError, match="is not a relative path below the state's root"):
        store.put(key, b"x", expect=ANY)
    with pytest.raises(StoreError, match="is not a relative path"):
        store.get(key)
    assert not (tmp_path / "outside").exists()


def test_list_gives_state_files_and_skips_switches_in_progress_temp_files_and_symlinks(tmp_path):
    state = tmp_path / "state"
    store = LocalStore(str(state))
    for key in (
        ".acme/account.key",
        ".acme/account.json",
        ".lock",
        ".txt-journal.json",
        ".report.json",
        "www/cert.pem",
        "www/cert.json",
        "www/.commit.json",
        "api/privkey.pem",
    ):
        store.put(key, key.encode(), expect=ABSENT)
    (state / "www" / ".staging").mkdir()
    (state / "www" / ".staging" / "cert.pem").write_text("new")
    (state / "www" / ".commit").mkdir()
    (state / "www" / ".commit" / "cert.pem").write_text("new")
    (state / ".api.old").mkdir()
    (state / ".api.old" / "cert.pem").write_text("old")
    (state / "www" / ".cert.pem.k2j4_9zq").write_text("half written")
    (state / "www" / "link.pem").symlink_to(state / "www" / "cert.pem")
    (state / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    listed = store.list()
    assert sorted(listed) == [
        ".acme/account.json",
        ".acme/account.key",
        ".lock",
        ".report.json",
        ".txt-journal.json",
        "api/privkey.pem",
        "www/.commit.json",
        "www/cert.json",
        "www/cert.pem",
    ]
    assert listed["www/cert.pem"] == hashlib.sha256(b"www/cert.pem").hexdigest()
    assert sorted(store.list("www/")) == ["www/.commit.json", "www/cert.json", "www/cert.pem"]
    assert (state / ".store.lock").exists() and ".store.lock" not in listed
    assert LocalStore(str(tmp_path / "missing")).list() == {}


def test_get_many_returns_the_keys_that_exist(tmp_path):
    store = LocalStore(str(tmp_path))
    store.put("a/cert.pem", b"A", expect=ABSENT)
    store.put("b/cert.pem", b"B", expect=ABSENT)
    found = store.get_many(["a/cert.pem", "b/cert.pem", "c/cert.pem"])
    assert {key: item.data for key, item in found.items()} == {"a/cert.pem": b"A", "b/cert.pem": b"B"}


def test_two_writers_racing_to_create_one_key_exactly_one_wins(tmp_path):
    store = LocalStore(str(tmp_path))
    start = threading.Barrier(8)
    results = []

    def create(number: int) -> None:
        start.wait()
        try:
            results.append(("won", store.put("www/order.json", b"writer %d" % number, expect=ABSENT)))
        except StoreConflict:
            results.append(("lost", None))

    threads = [threading.Thread(target=create, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome for outcome, _version in results) == ["lost"] * 7 + ["won"]
    winner = [version for outcome, version in results if outcome == "won"][0]
    assert store.version("www/order.json") == winner


def test_an_unreadable_directory_is_a_store_error_naming_the_key(tmp_path):
    store = LocalStore(str(tmp_path))
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "cert.pem").mkdir()
    with pytest.raises(StoreError, match=r"cannot read www/cert.pem in .*: Is a directory"):
        store.get("www/cert.pem")
