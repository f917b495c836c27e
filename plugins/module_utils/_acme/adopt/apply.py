# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take checked certificates into the state, once: adoption is for a first run, never over a newer certificate.

Every source is checked before anything is written, so one bad source stops
the adoption as a whole with every problem named, and no half of a list is
taken in. A certificate already in the state is never replaced: the very same
one is ``unchanged`` (a second run), another one is ``skipped`` with the
serial it has, since this collection renewed it since or it was issued here.
"""

from __future__ import annotations

import os

from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.checks import Checked, check_source
from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.sources import SourceError, read_source
from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_document import certificate_document
from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_files import write_certificate_files
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import hashes
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import certificate_info, load_certificate
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import CERT, cert_file
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import make_state_dir

ADOPTED = "adopted"
WOULD_ADOPT = "would_adopt"
UNCHANGED = "unchanged"
SKIPPED = "skipped"


class AdoptionRefused(Exception):
    """One or more sources cannot be adopted; ``problems`` holds one message per certificate."""

    def __init__(self, problems: list) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def fingerprint(cert) -> str:
    """The SHA-256 fingerprint of a certificate, hex: what tells the very same certificate apart."""
    return cert.fingerprint(hashes.SHA256()).hex()


def _result(name: str, result: str, checked: Checked, **extra) -> dict:
    info = certificate_info(checked.leaf)
    entry = {
        "name": name,
        "result": result,
        "serial": info["serial"],
        "not_after": info["not_after"],
        "source": checked.source.path,
        "layout": checked.source.layout,
        "reason": None,
        "warnings": list(checked.warnings),
    }
    entry.update(extra)
    return entry


def check_all(certificates: list) -> list[tuple[dict, Checked]]:
    """Read and check every source first; AdoptionRefused naming each one that fails."""
    checked, problems = [], []
    for item in certificates:
        source_name = item.get("source_name") or item["name"]
        try:
            source = read_source(item["from"], item["path"], source_name)
            checked.append((item, check_source(source, item["names"], item.get("key_type"))))
        except SourceError as exc:
            problems.append("certificate %r (%s): %s" % (item["name"], item["from"], exc))
    if problems:
        raise AdoptionRefused(problems)
    return checked


def _in_state(state_dir: str, name: str):
    """The certificate the state holds for ``name``, None when there is none; ValueError when it is unreadable."""
    path = cert_file(state_dir, name, CERT)
    if not os.path.lexists(path):
        return None
    with open(path, "rb") as handle:
        return load_certificate(handle.read())


def _write(state_dir: str, name: str, checked: Checked) -> None:
    source = checked.source
    blocks = [source.leaf_pem] + list(source.chain_pems)
    document = certificate_document(
        name,
        checked.key_type,
        blocks,
        None,
        adopted_from={"layout": source.layout, "path": source.path},
        adopted_at=iso_utc(utc_now()),
    )
    document["issued_at"] = document["not_before"]
    write_certificate_files(
        state_dir, name, private_key_pem(checked.key), source.leaf_pem, list(source.chain_pems), document
    )


def adopt_one(state_dir: str, name: str, checked: Checked, check_mode: bool) -> dict:
    """Adopt one checked certificate unless the state has one for ``name``; its result entry."""
    try:
        current = _in_state(state_dir, name)
    except (OSError, ValueError) as exc:
        reason = "the state has a certificate for %s that cannot be read (%s); adoption is for a first run" % (
            name,
            exc,
        )
        return _result(name, SKIPPED, checked, reason=reason)
    if current is not None:
        if fingerprint(current) == fingerprint(checked.leaf):
            return _result(name, UNCHANGED, checked)
        serial = certificate_info(current)["serial"]
        reason = "the state already has a certificate for %s, serial %s; adoption is for a first run" % (name, serial)
        return _result(name, SKIPPED, checked, reason=reason)
    if check_mode:
        return _result(name, WOULD_ADOPT, checked)
    _write(state_dir, name, checked)
    return _result(name, ADOPTED, checked)


def adopt_all(state_dir: str, certificates: list, check_mode: bool = False) -> list[dict]:
    """Check every source, then adopt each certificate the state does not have yet; one result per entry."""
    checked = check_all(certificates)
    if not check_mode:
        make_state_dir(state_dir)
    return [adopt_one(state_dir, item["name"], source, check_mode) for item, source in checked]
