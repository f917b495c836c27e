# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a newly issued certificate and its key so no reader gets a mismatched pair.

Each file on its own is replaced atomically (files.atomic_write), but a key
and a certificate are two files, and no POSIX call swaps two names at once.
The layout ``<name>/privkey.pem`` etc. is a public contract (server configs
name those paths), and nothing under the state directory may be a symlink, so
the set is not moved behind a link to a generation directory; instead the
whole ``<name>`` directory is replaced:

1. A complete new ``<name>`` is written, fsynced, into ``<name>/.staging/``
   on the same file system: the five files (privkey.pem 0600, fullchain.pem,
   chain.pem, cert.json, cert.pem) and a copy of everything else ``<name>``
   holds (``order.json``; hidden entries are not carried), with the mode and
   group of the live directory. Anything that can fail slowly (disk full, a
   permission problem) fails here, while the live files are untouched; the
   staging directory is then removed and the old set stays as it was.
2. ``.staging`` is renamed to ``.commit`` in one ``rename(2)``: the commit
   point. Before it the old set is the certificate, after it the new one.
3. ``_state.commit.switch_in`` puts ``.commit`` in the place of ``<name>``
   with two directory renames and removes the old set: a reader finds the
   old set or the new set, never files of both (and for the instant between
   the two renames, no directory).

If the process dies after step 2, :func:`finish_interrupted_commit` (in
``_state.commit``, which has no cryptography to load) finishes the switch.
It runs before every write here and when a run takes the state directory
lock (``state_lock``), so a killed run's half-switched set never survives
into the next run, even when that run finds nothing due. A killed run in
step 1 leaves only ``.staging``, which is discarded.
"""

from __future__ import annotations

import os
import shutil
import stat

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    atomic_write,
    atomic_write_json,
    fsync_dir,
    make_dirs,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state import layout
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import (
    finish_interrupted_commit,
    switch_in,
)

KEY_MODE = 0o600
PUBLIC_MODE = 0o644


def discard_staging(state_dir: str, name: str) -> None:
    """Finish a committed set a killed run left, and remove what an interrupted staging left."""
    finish_interrupted_commit(state_dir, name)
    shutil.rmtree(layout.cert_file(state_dir, name, layout.STAGING_DIR), ignore_errors=True)


def _carry_over(directory: str, staging: str) -> None:
    """Copy what ``directory`` holds besides the certificate set (``order.json`` ...) into the new directory."""
    replaced = set(layout.COMMIT_ORDER)
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.name in replaced:
                continue
            target = os.path.join(staging, entry.name)
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target, symlinks=True)
            else:
                shutil.copy2(entry.path, target, follow_symlinks=False)


def _make_staging(directory: str, staging: str) -> None:
    """The staging directory, with the live directory's mode and group (it becomes ``<name>``)."""
    live = os.lstat(directory)
    os.mkdir(staging, 0o700)
    try:
        os.chown(staging, -1, live.st_gid)
    except PermissionError:  # a group this user is not in: the new directory keeps the user's group
        pass
    os.chmod(staging, stat.S_IMODE(live.st_mode) & ~0o022)


def write_certificate_files(
    state_dir: str, name: str, key_pem: bytes, leaf_pem: str, chain_pems: list, info: dict
) -> dict:
    """Stage a new ``<name>`` with key, leaf, chain, full chain and ``cert.json``, and switch it in; the PEM paths."""
    directory = layout.cert_dir(state_dir, name)
    staging = layout.cert_file(state_dir, name, layout.STAGING_DIR)
    discard_staging(state_dir, name)
    make_dirs(directory)
    try:
        _make_staging(directory, staging)
        chain = "".join(chain_pems)
        atomic_write(os.path.join(staging, layout.PRIVKEY), key_pem, mode=KEY_MODE)
        atomic_write(os.path.join(staging, layout.FULLCHAIN), leaf_pem + chain, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, layout.CHAIN), chain, mode=PUBLIC_MODE)
        atomic_write_json(os.path.join(staging, layout.CERT_INFO), info, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, layout.CERT), leaf_pem, mode=PUBLIC_MODE)
        _carry_over(directory, staging)
        fsync_dir(staging)
        os.rename(staging, layout.cert_file(state_dir, name, layout.COMMIT_DIR))
    except BaseException:
        discard_staging(state_dir, name)
        raise
    fsync_dir(directory)
    switch_in(state_dir, name)
    return layout.certificate_paths(state_dir, name)
