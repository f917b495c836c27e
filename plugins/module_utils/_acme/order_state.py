# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``<state_dir>/<name>/order.json``: the pending order a later run may resume.

A run that dies between ordering and finalizing (DNS timeout, Ctrl-C) would
otherwise leave an order and its pending authorizations behind at the CA
and create a new one next time, which counts against the CA's rate limits.
The saved order is resumed only while it still asks for exactly the same
certificate and the CA still has it pending or ready.
"""

from __future__ import annotations

import os

from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write_json, read_json
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import ORDER, cert_file

# Statuses in which an order can still lead to a certificate with a key we
# will generate: "processing"/"valid" were finalized with a CSR whose key an
# earlier run did not keep, "invalid" is final.
RESUMABLE_STATUSES = ("pending", "ready")


def order_path(state_dir: str, name: str) -> str:
    """Where the pending order of certificate ``name`` is saved."""
    return cert_file(state_dir, name, ORDER)


def load_saved_order(state_dir: str, name: str) -> dict | None:
    """The saved order, or None when there is none or it is unreadable (then a new order is made)."""
    try:
        saved = read_json(order_path(state_dir, name))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def order_document(
    spec: CertSpec, order_url: str, directory_url: str, replaces: str | None = None, replaces_status: str | None = None
) -> dict:
    """The content of ``order.json`` for a freshly created order.

    ``replaces`` is the ARI certificate id the order was accepted with (None
    when none was sent), ``replaces_status`` what became of the one asked for
    (see ``_acme.orders``), so a resumed order reports the same.
    """
    return {
        "order_url": order_url,
        "names": list(spec.names),
        "key_type": spec.key_type,
        "profile": spec.profile,
        "replaces": replaces,
        "replaces_status": replaces_status,
        "directory": directory_url,
        "created": iso_utc(utc_now()),
    }


def save_order(state_dir: str, name: str, document: dict) -> None:
    """Remember a new order (its :func:`order_document`) so an interrupted run can resume it."""
    atomic_write_json(order_path(state_dir, name), document, mode=0o600)


def delete_saved_order(state_dir: str, name: str) -> None:
    """Forget the saved order (after issuance, or when it became invalid)."""
    try:
        os.unlink(order_path(state_dir, name))
    except FileNotFoundError:
        pass


def saved_order_matches(saved: dict | None, spec: CertSpec, directory_url: str) -> bool:
    """Whether ``saved`` asks for the same certificate from the same CA as ``spec``.

    Names compare as a set: the order's identifiers have no order, and the
    CSR made at finalize time uses the names as given then.
    """
    if not saved or not saved.get("order_url"):
        return False
    if saved.get("directory") and saved["directory"] != directory_url:
        return False
    if set(saved.get("names") or ()) != set(spec.names):
        return False
    if saved.get("key_type") != spec.key_type:
        return False
    return (saved.get("profile") or None) == spec.profile


def resumable_url(saved: dict | None, spec: CertSpec, directory_url: str) -> str | None:
    """The order URL worth re-fetching for ``spec``, or None when a new order is needed."""
    return saved["order_url"] if saved_order_matches(saved, spec, directory_url) else None


def can_resume_status(status: str) -> bool:
    """Whether an order fetched from the CA in ``status`` may be resumed."""
    return status in RESUMABLE_STATUSES
