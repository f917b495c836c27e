# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a newly issued certificate and its key so no reader gets a mismatched pair.

Each file on its own is replaced atomically (files.atomic_write), but a key
and a certificate are two files, and no POSIX call swaps two names at once.
The layout ``<name>/privkey.pem`` etc. is a public contract (server configs
name those paths), so the set is not moved behind a symlinked generation
directory; instead the commit is made **redoable**:

1. All five files (privkey.pem 0600, fullchain.pem, chain.pem, cert.json,
   cert.pem) are written completely, fsynced, into ``<name>/.staging/`` on
   the same file system. Anything that can fail slowly (disk full, a
   permission problem) fails here, while the live files are untouched; the
   staging directory is then removed and the old set stays as it was.
2. ``.staging`` is renamed to ``.commit`` in one ``rename(2)``: the commit
   point. Before it the old set is the certificate, after it the new one.
3. The files are renamed from ``.commit`` into place (renames on one file
   system need no free space) and ``.commit`` is removed. ``cert.pem`` goes
   last, so a reader that comes between two renames still finds the old
   certificate, the one that was due, and never takes the set for finished.

If the process dies during step 3, ``.commit`` still holds the files not
yet moved. :func:`finish_interrupted_commit` (in ``_state.commit``, which has no
cryptography to load) moves them into place, which
turns the half-replaced set into the complete new set. It runs before every
write here and when a run takes the state directory lock (``state_lock``),
so a killed run's half-committed set never survives into the next run, even
when that run finds nothing due. A killed run in step 1 leaves only
``.staging``, which is discarded.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    atomic_write,
    atomic_write_json,
    fsync_dir,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state import layout
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import (
    finish_interrupted_commit,
    move_into_place,
)

KEY_MODE = 0o600
PUBLIC_MODE = 0o644


def discard_staging(state_dir: str, name: str) -> None:
    """Finish a committed set a killed run left, and remove what an interrupted staging left."""
    finish_interrupted_commit(state_dir, name)
    shutil.rmtree(layout.cert_file(state_dir, name, layout.STAGING_DIR), ignore_errors=True)


def write_certificate_files(
    state_dir: str, name: str, key_pem: bytes, leaf_pem: str, chain_pems: list, info: dict
) -> dict:
    """Stage and commit key, leaf, chain, full chain and ``cert.json``; returns the PEM paths."""
    directory = layout.cert_dir(state_dir, name)
    staging = layout.cert_file(state_dir, name, layout.STAGING_DIR)
    discard_staging(state_dir, name)
    os.makedirs(staging, mode=0o700)
    try:
        chain = "".join(chain_pems)
        atomic_write(os.path.join(staging, layout.PRIVKEY), key_pem, mode=KEY_MODE)
        atomic_write(os.path.join(staging, layout.FULLCHAIN), leaf_pem + chain, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, layout.CHAIN), chain, mode=PUBLIC_MODE)
        atomic_write_json(os.path.join(staging, layout.CERT_INFO), info, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, layout.CERT), leaf_pem, mode=PUBLIC_MODE)
        commit = layout.cert_file(state_dir, name, layout.COMMIT_DIR)
        os.rename(staging, commit)
    except BaseException:
        discard_staging(state_dir, name)
        raise
    fsync_dir(directory)
    move_into_place(directory, commit)
    return layout.certificate_paths(state_dir, name)
