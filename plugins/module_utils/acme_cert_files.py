# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a newly issued certificate and its key so no reader gets a mismatched pair.

Each file on its own is replaced atomically (files.atomic_write), but a key
and a certificate are two files, and no POSIX call swaps two names at once.
The choice made here is **stage everything, then rename in a fixed order,
certificate last**:

1. All five files (privkey.pem 0600, fullchain.pem, chain.pem, cert.json,
   cert.pem) are first written completely, fsynced, into ``<name>/.staging/``
   on the same file system. Anything that can fail slowly (disk full, a
   permission problem, a bad chain) fails here, while the live files are
   untouched; the staging directory is then simply removed.
2. Only then are they renamed into place, each with one ``rename(2)``, in
   the order privkey, fullchain, chain, cert.json, cert.pem. The window in
   which a concurrent reader could pair an old and a new file is a handful
   of renames, not the time it takes to write and fsync the data.
3. ``cert.pem`` is renamed last on purpose. If the process dies between two
   renames, ``cert.pem`` still holds the old certificate, and that
   certificate is exactly the one ``cert_expiry_facts`` found due (missing,
   expiring, other names or another key type) before this run. The next
   run therefore reports it due again and re-issues, which rewrites all
   files as one consistent set; a half-committed set is never taken for a
   finished one.

A symlinked version directory would close the window completely, but the
layout ``<name>/privkey.pem`` is a public contract that server configs name
directly, so it is kept as plain files.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.certfleet.acme.plugins.module_utils.acme_specs import cert_dir
from ansible_collections.certfleet.acme.plugins.module_utils.files import atomic_write, atomic_write_json

STAGING_DIR = ".staging"
KEY_MODE = 0o600
PUBLIC_MODE = 0o644

# cert.pem last: see the module docstring.
COMMIT_ORDER = ("privkey.pem", "fullchain.pem", "chain.pem", "cert.json", "cert.pem")


def certificate_paths(state_dir: str, name: str) -> dict:
    """The paths of a certificate's PEM files, as returned to the user."""
    directory = cert_dir(state_dir, name)
    return {
        "privkey": os.path.join(directory, "privkey.pem"),
        "cert": os.path.join(directory, "cert.pem"),
        "chain": os.path.join(directory, "chain.pem"),
        "fullchain": os.path.join(directory, "fullchain.pem"),
    }


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard_staging(state_dir: str, name: str) -> None:
    """Remove what an earlier, interrupted write may have left in ``.staging``."""
    shutil.rmtree(os.path.join(cert_dir(state_dir, name), STAGING_DIR), ignore_errors=True)


def write_certificate_files(
    state_dir: str, name: str, key_pem: bytes, leaf_pem: str, chain_pems: list, info: dict
) -> dict:
    """Stage and commit key, leaf, chain, full chain and ``cert.json``; returns the PEM paths."""
    directory = cert_dir(state_dir, name)
    staging = os.path.join(directory, STAGING_DIR)
    discard_staging(state_dir, name)
    os.makedirs(staging, mode=0o700)
    try:
        chain = "".join(chain_pems)
        atomic_write(os.path.join(staging, "privkey.pem"), key_pem, mode=KEY_MODE)
        atomic_write(os.path.join(staging, "fullchain.pem"), leaf_pem + chain, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, "chain.pem"), chain, mode=PUBLIC_MODE)
        atomic_write_json(os.path.join(staging, "cert.json"), info, mode=PUBLIC_MODE)
        atomic_write(os.path.join(staging, "cert.pem"), leaf_pem, mode=PUBLIC_MODE)
    except BaseException:
        discard_staging(state_dir, name)
        raise
    for filename in COMMIT_ORDER:
        os.replace(os.path.join(staging, filename), os.path.join(directory, filename))
    _fsync_dir(directory)
    os.rmdir(staging)
    return certificate_paths(state_dir, name)
