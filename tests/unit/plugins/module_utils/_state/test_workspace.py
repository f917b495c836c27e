# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's workspace against a real store (LocalStore in a temporary folder): what is pulled, what is pushed back.

The workspace is where a remote state's secrets touch the controller's disk and where a run's writes wait
before they reach the store, so these tests pin down that keys stay out of a base pull, that a push writes only
what changed and only over the version it read, and that a certificate's file set is fenced by its commit marker.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._state import layout, workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import ABSENT, ANY, StoreConflict
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.local import LocalStore

ACCOUNT_KEY = ".acme/account.key"
ACCOUNT_JSON = ".acme/account.json"
CERT_FILES = {
    "privkey.pem": b"KEY-www",
    "fullchain.pem": b"FULL-www",
    "chain.pem": b"CHAIN-www",
    "cert.json": b'{"not_after": "2099-01-01T00:00:00Z"}',
    "cert.pem": b"CERT-www",
}


class RecordingStore(LocalStore):
    """A LocalStore that records every write and removal, in order, with the condition it was given."""

    def __init__(self, state_dir: str):
        super().__init__(state_dir)
        self.calls: list[tuple[str, str, object]] = []

    def put(self, key, data, *, expect):
        self.calls.append(("put", key, expect))
        return super().put(key, data, expect=expect)

    def delete(self, key, *, expect):
        self.calls.append(("delete", key, expect))
        return super().delete(key, expect=expect)


def filled_store(folder) -> RecordingStore:
    """A store with an account, a journal, certificate ``www`` with a pending order, and certificate ``api``."""
    store = RecordingStore(str(folder))
    store.put(ACCOUNT_KEY, b"ACCOUNT-KEY", expect=ABSENT)
    store.put(ACCOUNT_JSON, b'{"https://ca/dir": "https://ca/acct/1"}', expect=ABSENT)
    store.put(layout.JOURNAL_FILE, b'{"entries": []}', expect=ABSENT)
    for filename, data in CERT_FILES.items():
        store.put("www/" + filename, data, expect=ABSENT)
    store.put("www/order.json", b'{"url": "https://ca/order/1"}', expect=ABSENT)
    store.put("api/cert.pem", b"CERT-api", expect=ABSENT)
    store.put("api/privkey.pem", b"KEY-api", expect=ABSENT)
    store.calls.clear()
    return store


@pytest.fixture
def store(tmp_path) -> RecordingStore:
    return filled_store(tmp_path / "store")


@pytest.fixture
def work_dir(tmp_path) -> str:
    return workspace.create("0123456789abcdef0123", str(tmp_path))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write(work_dir: str, key: str, data: bytes) -> None:
    path = os.path.join(work_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def test_create_makes_a_private_folder_named_after_the_run(tmp_path):
    directory = workspace.create("0123456789abcdef0123", str(tmp_path))
    assert os.path.basename(directory).startswith("certfleet-acme-0123456789ab-")
    assert mode(directory) == 0o700 and os.listdir(directory) == []


def test_a_base_pull_brings_account_journal_and_public_files_but_no_certificate_key(store, work_dir):
    outcome = workspace.pull(store, work_dir, workspace.base_keys(["www", "api", "absent"]))
    assert outcome == {"pulled": 7, "incomplete": []}
    assert sorted(workspace.local_state(work_dir)) == sorted(
        [ACCOUNT_KEY, ACCOUNT_JSON, layout.JOURNAL_FILE, "www/cert.pem", "www/cert.json", "www/order.json"]
        + ["api/cert.pem"]
    )
    for key in ("www/privkey.pem", "api/privkey.pem", "www/chain.pem", "www/fullchain.pem"):
        assert not os.path.exists(os.path.join(work_dir, key)), key
    manifest = workspace.load_manifest(work_dir)
    assert manifest["objects"]["www/cert.pem"]["version"] == store.version("www/cert.pem")
    assert store.calls == [], "a pull writes nothing to the store"


def test_the_deploy_pull_adds_keys_and_chains_with_key_files_0600(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    outcome = workspace.pull(store, work_dir, workspace.deploy_keys(["www"]))
    assert outcome["pulled"] == 3
    assert open(os.path.join(work_dir, "www/privkey.pem"), "rb").read() == b"KEY-www"
    assert mode(os.path.join(work_dir, "www/privkey.pem")) == 0o600
    assert mode(os.path.join(work_dir, ACCOUNT_KEY)) == 0o600
    assert mode(os.path.join(work_dir, "www/cert.pem")) == 0o644
    assert mode(os.path.join(work_dir, "www")) == 0o700 and mode(os.path.join(work_dir, ".acme")) == 0o700
    assert mode(os.path.join(work_dir, workspace.MANIFEST)) == 0o600


def test_a_push_after_no_change_writes_nothing(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www", "api"]))
    assert workspace.push(store, work_dir) == []
    assert store.calls == []


def test_a_push_writes_only_changed_keys_each_with_the_version_it_read(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    journal_version = store.version(layout.JOURNAL_FILE)
    write(work_dir, layout.JOURNAL_FILE, b'{"entries": [{"value": "x"}]}')
    assert workspace.push(store, work_dir) == [layout.JOURNAL_FILE]
    assert store.calls == [("put", layout.JOURNAL_FILE, journal_version)]
    assert store.get(layout.JOURNAL_FILE).data == b'{"entries": [{"value": "x"}]}'
    first_write = store.version(layout.JOURNAL_FILE)
    store.calls.clear()
    write(work_dir, layout.JOURNAL_FILE, b'{"entries": []}')
    assert workspace.push(store, work_dir) == [layout.JOURNAL_FILE]
    assert store.calls == [("put", layout.JOURNAL_FILE, first_write)], "the version the first push wrote"


def test_a_new_key_is_created_only_where_there_is_none(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys([]))
    write(work_dir, layout.REPORT_FILE, b'{"rows": []}')
    assert workspace.push(store, work_dir) == [layout.REPORT_FILE]
    assert store.calls == [("put", layout.REPORT_FILE, ABSENT)]


def test_a_key_changed_in_the_store_meanwhile_is_a_conflict_and_nothing_else_is_lost(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    store.put(ACCOUNT_JSON, b'{"other": "run"}', expect=ANY)  # another run wrote it after our pull
    write(work_dir, ACCOUNT_JSON, b'{"ours": "too"}')
    write(work_dir, layout.JOURNAL_FILE, b'{"entries": [{"value": "y"}]}')
    with pytest.raises(StoreConflict, match="account.json"):
        workspace.push(store, work_dir)
    assert store.get(ACCOUNT_JSON).data == b'{"other": "run"}', "the other run's write is kept"
    # What this run wrote is still in its workspace, and still marked as not yet saved.
    assert workspace.local_state(work_dir)[ACCOUNT_JSON] == b'{"ours": "too"}'
    assert workspace.local_state(work_dir)[layout.JOURNAL_FILE] == b'{"entries": [{"value": "y"}]}'
    store.put(ACCOUNT_JSON, store.get(ACCOUNT_JSON).data, expect=ANY)
    os.unlink(os.path.join(work_dir, ACCOUNT_JSON))
    os.unlink(os.path.join(work_dir, layout.JOURNAL_FILE))
    workspace.pull(store, work_dir, [ACCOUNT_JSON])
    write(work_dir, layout.JOURNAL_FILE, b'{"entries": [{"value": "y"}]}')
    written = workspace.push(store, work_dir)
    assert layout.JOURNAL_FILE in written
    assert store.get(layout.JOURNAL_FILE).data == b'{"entries": [{"value": "y"}]}'


def test_a_removed_order_is_removed_from_the_store_with_the_version_read(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    order_version = store.version("www/order.json")
    os.unlink(os.path.join(work_dir, "www/order.json"))
    assert workspace.push(store, work_dir) == ["www/order.json"]
    assert store.calls == [("delete", "www/order.json", order_version)]
    assert store.get("www/order.json") is None
    assert "www/order.json" not in workspace.load_manifest(work_dir)["objects"]
    assert workspace.push(store, work_dir) == [], "pushed once"


def test_a_certificate_is_written_between_its_marker_put_and_delete_cert_pem_last(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]) + workspace.deploy_keys(["www"]))
    for filename in CERT_FILES:
        write(work_dir, "www/" + filename, CERT_FILES[filename] + b"-renewed")
    os.unlink(os.path.join(work_dir, "www/order.json"))
    write(work_dir, layout.JOURNAL_FILE, b'{"entries": [1]}')
    written = workspace.push(store, work_dir)
    marker = "www/" + workspace.COMMIT_MARKER
    operations = [(operation, key) for operation, key, _expect in store.calls]
    assert operations[0] == ("put", marker) and operations[-1] == ("delete", marker)
    cert_writes = [key.partition("/")[2] for operation, key in operations[1:-1] if key.startswith("www/")]
    assert [name for name in cert_writes if name in layout.COMMIT_ORDER] == list(layout.COMMIT_ORDER)
    puts = [key for operation, key in operations if operation == "put" and key != marker]
    assert puts[-1] == "www/cert.pem", "cert.pem is the last object written"
    assert ("delete", "www/order.json") in operations[1:-1]
    assert set(written) == {"www/" + name for name in CERT_FILES} | {"www/order.json", layout.JOURNAL_FILE}
    assert store.get(marker) is None, "the marker is gone once the set is whole"
    assert store.get("www/cert.pem").data == b"CERT-www-renewed"
    assert workspace.load_manifest(work_dir)["markers"] == {}


def test_a_journal_write_alone_needs_no_marker(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    write(work_dir, "www/order.json", b'{"url": "https://ca/order/2"}')
    workspace.push(store, work_dir)
    assert [key for _op, key, _expect in store.calls] == ["www/order.json"], "an order is no file set"


def test_a_push_cut_off_half_way_leaves_the_marker_and_the_next_pull_skips_that_certificate(store, work_dir, tmp_path):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]) + workspace.deploy_keys(["www"]))
    for filename in CERT_FILES:
        write(work_dir, "www/" + filename, CERT_FILES[filename] + b"-new")
    store.put("www/chain.pem", b"CHAIN-changed-elsewhere", expect=ANY)
    with pytest.raises(StoreConflict):
        workspace.push(store, work_dir)
    marker = "www/" + workspace.COMMIT_MARKER
    assert json.loads(store.get(marker).data)["writing"] == sorted("www/" + name for name in CERT_FILES)
    assert store.get("www/privkey.pem").data == b"KEY-www-new" and store.get("www/cert.pem").data == b"CERT-www"

    other = workspace.create("fedcba9876543210", str(tmp_path))
    outcome = workspace.pull(store, other, workspace.base_keys(["www", "api"]))
    assert outcome == {"pulled": 4, "incomplete": ["www"]}, "account, journal and api/cert.pem; nothing of www"
    assert sorted(key for key in workspace.local_state(other) if key.startswith("www/")) == []
    assert "api/cert.pem" in workspace.local_state(other), "other certificates are pulled"
    assert workspace.load_manifest(other)["markers"] == {"www": store.version(marker)}


def test_a_run_that_found_a_marker_rewrites_the_certificate_and_removes_the_marker(store, work_dir, tmp_path):
    marker = "www/" + workspace.COMMIT_MARKER
    store.put(marker, b'{"writing": ["www/cert.pem"]}', expect=ABSENT)
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    for filename in CERT_FILES:
        write(work_dir, "www/" + filename, CERT_FILES[filename] + b"-reissued")
    workspace.push(store, work_dir)
    assert store.get(marker) is None
    assert store.get("www/cert.pem").data == b"CERT-www-reissued"
    assert (
        workspace.pull(store, workspace.create("next-run", str(tmp_path)), workspace.base_keys(["www"]))["incomplete"]
        == []
    )


def test_local_state_leaves_out_scratch_the_manifest_and_the_guardian_file(store, work_dir):
    workspace.pull(store, work_dir, workspace.base_keys(["www"]))
    write(work_dir, "www/.staging/cert.pem", b"half")
    write(work_dir, "www/.commit/cert.pem", b"about to switch")
    write(work_dir, ".www.old/cert.pem", b"retired")
    write(work_dir, "www/.cert.pem.abcd1234", b"temp")
    write(work_dir, ".acme/.account.key.abcd1234", b"temp")
    write(work_dir, "www/notes.txt", b"not state")
    write(work_dir, workspace.GUARDIAN_FILE, b'{"socket": "x"}')
    write(work_dir, layout.LOCK_FILE, b"{}")
    os.symlink("/etc/passwd", os.path.join(work_dir, "www", "chain.pem"))
    assert sorted(workspace.local_state(work_dir)) == sorted(
        [ACCOUNT_KEY, ACCOUNT_JSON, layout.JOURNAL_FILE, "www/cert.pem", "www/cert.json", "www/order.json"]
    )
    assert workspace.push(store, work_dir) == [], "scratch is never pushed"


def test_sync_of_a_local_state_directory_does_nothing(tmp_path):
    assert workspace.is_guarded(str(tmp_path)) is False
    assert workspace.sync(str(tmp_path)) == []


def test_a_request_to_a_guardian_that_is_gone_names_the_workspace(work_dir):
    write(work_dir, workspace.GUARDIAN_FILE, json.dumps({"socket": "certfleet.acme-guardian-gone"}).encode())
    assert workspace.is_guarded(work_dir)
    with pytest.raises(workspace.WorkspaceError, match="did not answer.*lease and workspace are gone") as caught:
        workspace.sync(work_dir)
    assert work_dir in str(caught.value)


class ReadCountingStore(RecordingStore):
    """A RecordingStore that also records which keys were read one by one."""

    def __init__(self, state_dir: str):
        super().__init__(state_dir)
        self.reads: list[str] = []

    def get(self, key):
        self.reads.append(key)
        return super().get(key)


def test_the_index_saves_the_reads_of_an_idle_run_and_is_only_trusted_where_the_versions_match(tmp_path):
    store = ReadCountingStore(str(tmp_path / "store"))
    for key, data in (("www/cert.pem", b"CERT-www"), ("www/cert.json", b"{}"), ("api/cert.pem", b"CERT-api")):
        store.put(key, data, expect=ABSENT)
    first = workspace.create("run-one-0123456789", str(tmp_path))
    workspace.pull(store, first, workspace.base_keys(["www", "api"]))
    assert workspace.save_index(store, first) is True, "the first run writes the index"
    assert sorted(json.loads(store.get(".index.json").data)["objects"]) == [
        "api/cert.pem",
        "www/cert.json",
        "www/cert.pem",
    ]

    store.put("api/cert.pem", b"CERT-api-renewed-by-hand", expect=store.version("api/cert.pem"))
    store.reads.clear()
    second = workspace.create("run-two-0123456789", str(tmp_path))
    pulled = workspace.pull(store, second, workspace.base_keys(["www", "api"]))
    assert pulled["pulled"] == 3
    assert sorted(store.reads) == [".index.json", "api/cert.pem"], "only the changed file is read, nothing absent"
    assert open(os.path.join(second, "api/cert.pem"), "rb").read() == b"CERT-api-renewed-by-hand"
    assert open(os.path.join(second, "www/cert.pem"), "rb").read() == b"CERT-www"
    assert workspace.save_index(store, second) is True, "the index follows the changed file"

    third = workspace.create("run-three-0123456789", str(tmp_path))
    store.reads.clear()
    workspace.pull(store, third, workspace.base_keys(["www", "api"]))
    assert store.reads == [".index.json"]
    assert workspace.save_index(store, third) is False, "an idle run does not write the index again"


def test_an_unreadable_index_costs_reads_not_a_wrong_answer(tmp_path):
    store = ReadCountingStore(str(tmp_path / "store"))
    store.put("www/cert.pem", b"CERT-www", expect=ABSENT)
    store.put(".index.json", b"not json", expect=ABSENT)
    work = workspace.create("run-0123456789", str(tmp_path))
    workspace.pull(store, work, workspace.base_keys(["www"]))
    assert open(os.path.join(work, "www/cert.pem"), "rb").read() == b"CERT-www"
    assert workspace.save_index(store, work) is True
    assert json.loads(store.get(".index.json").data)["objects"]["www/cert.pem"]["content"] == "CERT-www"
