# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commit step of a certificate's file set, and finishing one that a killed run left.

``_acme.cert_files`` (which describes the whole write protocol) stages the files
and renames ``.staging`` to ``.commit``; the functions here move the files out
of ``.commit`` into place. They live apart, with nothing but the standard
library, because ``state_lock`` finishes leftover commits every time it takes the
lock: importing the certificate-writing code (and the cryptography it loads)
there made taking and releasing the lock cost a second on a large fleet.
"""

from __future__ import annotations

import os

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import fsync_dir
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    COMMIT_DIR,
    COMMIT_ORDER,
    cert_dir,
    cert_file,
    is_cert_dir_name,
)


def move_into_place(directory: str, commit: str) -> None:
    """Rename every file of ``commit`` into ``directory`` in COMMIT_ORDER, then remove ``commit``."""
    for filename in COMMIT_ORDER:
        source = os.path.join(commit, filename)
        if os.path.exists(source):
            os.replace(source, os.path.join(directory, filename))
    fsync_dir(directory)
    os.rmdir(commit)
    fsync_dir(directory)


def finish_interrupted_commit(state_dir: str, name: str) -> bool:
    """Move what a killed commit left in ``.commit`` into place; True when there was such a commit."""
    commit = cert_file(state_dir, name, COMMIT_DIR)
    if not os.path.isdir(commit):
        return False
    move_into_place(cert_dir(state_dir, name), commit)
    return True


def finish_interrupted_commits(state_dir: str) -> list[str]:
    """:func:`finish_interrupted_commit` for every certificate directory; the names that had one."""
    try:
        names = sorted(os.listdir(state_dir))
    except FileNotFoundError:
        return []
    return [name for name in names if is_cert_dir_name(name) and finish_interrupted_commit(state_dir, name)]
