# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme.order_state import (
    can_resume_status,
    delete_saved_order,
    load_saved_order,
    order_document,
    order_path,
    resumable_url,
    save_order,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import planned_orders
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec

DIRECTORY = "https://ca.test/dir"
SPEC = CertSpec(name="www", names=("example.org", "*.example.org"), key_type="ec256")


def saved(**changes):
    document = {
        "order_url": "https://ca.test/order/1",
        "names": ["*.example.org", "example.org"],
        "key_type": "ec256",
        "profile": None,
        "directory": DIRECTORY,
        "created": "2025-01-01T00:00:00Z",
    }
    document.update(changes)
    return document


def test_same_names_in_any_order_resume():
    assert resumable_url(saved(), SPEC, DIRECTORY) == "https://ca.test/order/1"


@pytest.mark.parametrize(
    "changes",
    [
        {"names": ["example.org"]},
        {"names": ["example.org", "*.example.org", "www.example.org"]},
        {"key_type": "rsa2048"},
        {"profile": "shortlived"},
        {"directory": "https://other.test/dir"},
        {"order_url": None},
    ],
)
def test_changed_certificate_starts_a_new_order(changes):
    assert resumable_url(saved(**changes), SPEC, DIRECTORY) is None


def test_no_saved_order_starts_a_new_order():
    assert resumable_url(None, SPEC, DIRECTORY) is None


@pytest.mark.parametrize(
    "status, expected",
    [("pending", True), ("ready", True), ("processing", False), ("valid", False), ("invalid", False)],
)
def test_only_pending_or_ready_orders_resume(status, expected):
    assert can_resume_status(status) is expected


def test_save_load_delete(tmp_path):
    state_dir = str(tmp_path)
    save_order(state_dir, SPEC.name, order_document(SPEC, "https://ca.test/order/9", DIRECTORY))
    document = load_saved_order(state_dir, "www")
    assert document["order_url"] == "https://ca.test/order/9"
    assert document["names"] == ["example.org", "*.example.org"]
    assert document["key_type"] == "ec256"
    assert document["created"].endswith("Z")
    assert stat.S_IMODE(os.stat(order_path(state_dir, "www")).st_mode) == 0o600
    assert resumable_url(document, SPEC, DIRECTORY) == "https://ca.test/order/9"
    delete_saved_order(state_dir, "www")
    delete_saved_order(state_dir, "www")
    assert load_saved_order(state_dir, "www") is None


def test_corrupt_order_file_is_ignored(tmp_path):
    os.makedirs(tmp_path / "www")
    (tmp_path / "www" / "order.json").write_text("{not json")
    assert load_saved_order(str(tmp_path), "www") is None


def test_check_mode_plan_reports_what_would_be_resumed(tmp_path):
    state_dir = str(tmp_path)
    other = CertSpec(name="api", names=("api.example.org",))
    save_order(state_dir, SPEC.name, order_document(SPEC, "https://ca.test/order/9", DIRECTORY))
    plans = planned_orders([SPEC, other], state_dir, DIRECTORY)
    assert [(p["name"], p["status"], p["resumed"], p["order_url"]) for p in plans] == [
        ("www", "would_order", True, "https://ca.test/order/9"),
        ("api", "would_order", False, None),
    ]
    assert not os.path.exists(tmp_path / "api")
