# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every path under the state directory, named once.

The layout is a public contract: server configurations name
``<state_dir>/<name>/fullchain.pem``, the role reads the PEM files to deploy
them, and a run finds what an earlier (or killed) run left by these names.
The modules, the role (through the ``state_paths`` filter) and the docs all
take the names from here, so they cannot drift apart::

    <state_dir>/
        .acme/account.key         the ACME account key (EC P-256, 0600, in a 0700 directory)
        .acme/account.json        the account URL per ACME directory
        .acme/account.key.next    a new account key while a key change is under way (0600)
        .lock                     held by the run that works on this directory
        .txt-journal.json         TXT values published and not yet confirmed removed
        .report.json              the last run's report, in a remote backend (``letsencrypt_dns_state``)
        <name>/privkey.pem        the certificate's key (0600)
        <name>/cert.pem           the leaf certificate
        <name>/chain.pem          the intermediates
        <name>/fullchain.pem      leaf and intermediates
        <name>/cert.json          facts about the certificate, and the ARI renewal time
        <name>/order.json         the pending order a later run may resume
        <name>/.staging/          a new <name> directory being written
        <name>/.commit/           a complete new <name> directory, about to be switched in
        .<name>.old/              the previous <name> while the switch replaces it (``_state.commit``)

Only the standard library: the lock and the filters import this without
paying for cryptography.
"""

from __future__ import annotations

import os

ACCOUNT_DIR = ".acme"
ACCOUNT_KEY = "account.key"
ACCOUNT_CACHE = "account.json"
#: A new account key while the CA is asked to switch to it (RFC 8555 key change, ``_acme.key_change``).
ACCOUNT_NEXT_KEY = "account.key.next"
LOCK_FILE = ".lock"
JOURNAL_FILE = ".txt-journal.json"
REPORT_FILE = ".report.json"

PRIVKEY = "privkey.pem"
CERT = "cert.pem"
CHAIN = "chain.pem"
FULLCHAIN = "fullchain.pem"
CERT_INFO = "cert.json"
ORDER = "order.json"
STAGING_DIR = ".staging"
COMMIT_DIR = ".commit"

#: The PEM files of a certificate by the key its paths are returned under.
PEM_FILES = {"privkey": PRIVKEY, "cert": CERT, "chain": CHAIN, "fullchain": FULLCHAIN}
#: A committed file set, in the order it is moved into place: cert.pem last, so a reader that finds the new
#: cert.pem finds the rest of the new set too (see ``_acme.cert_files``).
COMMIT_ORDER = (PRIVKEY, FULLCHAIN, CHAIN, CERT_INFO, CERT)
#: The files of a certificate directory that are state, kept by a state backend (``_state.store``); anything
#: else there (``.staging/``, temporary files) is one run's scratch.
CERT_STATE_FILES = COMMIT_ORDER + (ORDER,)
#: The state keys outside certificate directories, as relative paths (the lock is the backend's own business).
TOP_STATE_KEYS = (
    ACCOUNT_DIR + "/" + ACCOUNT_KEY,
    ACCOUNT_DIR + "/" + ACCOUNT_CACHE,
    ACCOUNT_DIR + "/" + ACCOUNT_NEXT_KEY,
    JOURNAL_FILE,
    REPORT_FILE,
)


def state_key_of(relative: str) -> bool:
    """Whether a path relative to the state directory is a piece of state a backend keeps."""
    if relative in TOP_STATE_KEYS:
        return True
    head, tail = relative.split("/", 1) if "/" in relative else (relative, "")
    return bool(tail) and "/" not in tail and is_cert_dir_name(head) and tail in CERT_STATE_FILES


def cert_key(name: str, filename: str) -> str:
    """The state key of a certificate's file: ``<name>/<filename>``."""
    return name + "/" + filename


def account_dir(state_dir: str) -> str:
    """``<state_dir>/.acme``: private to the controller user (0700)."""
    return os.path.join(state_dir, ACCOUNT_DIR)


def account_key_path(state_dir: str) -> str:
    """``<state_dir>/.acme/account.key``."""
    return os.path.join(account_dir(state_dir), ACCOUNT_KEY)


def account_cache_path(state_dir: str) -> str:
    """``<state_dir>/.acme/account.json``."""
    return os.path.join(account_dir(state_dir), ACCOUNT_CACHE)


def lock_path(state_dir: str) -> str:
    """``<state_dir>/.lock``."""
    return os.path.join(state_dir, LOCK_FILE)


def journal_path(state_dir: str) -> str:
    """``<state_dir>/.txt-journal.json``: where the role keeps the TXT journal."""
    return os.path.join(state_dir, JOURNAL_FILE)


def is_cert_dir_name(entry: str) -> bool:
    """Whether a name listed in the state directory can be a certificate's directory (not ``.acme``, ``.lock`` ...)."""
    return not entry.startswith(".")


def cert_dir(state_dir: str, name: str) -> str:
    """``<state_dir>/<name>``: where a certificate's files and pending order live."""
    return os.path.join(state_dir, name)


def cert_file(state_dir: str, name: str, filename: str) -> str:
    """``<state_dir>/<name>/<filename>``, for one of the file names above."""
    return os.path.join(cert_dir(state_dir, name), filename)


def certificate_paths(state_dir: str, name: str) -> dict:
    """The paths of a certificate's PEM files, as the modules return them (``privkey``, ``cert`` ...)."""
    return {key: cert_file(state_dir, name, filename) for key, filename in PEM_FILES.items()}


def state_paths(state_dir: str, name: str | None = None) -> dict:
    """Every path of the layout: the directory-wide ones, or with ``name`` those of that certificate."""
    if name is None:
        return {
            "dir": state_dir,
            "account_dir": account_dir(state_dir),
            "account_key": account_key_path(state_dir),
            "account_cache": account_cache_path(state_dir),
            "lock": lock_path(state_dir),
            "txt_journal": journal_path(state_dir),
            "report": os.path.join(state_dir, REPORT_FILE),
        }
    paths = certificate_paths(state_dir, name)
    paths.update(
        dir=cert_dir(state_dir, name),
        cert_info=cert_file(state_dir, name, CERT_INFO),
        order=cert_file(state_dir, name, ORDER),
        staging=cert_file(state_dir, name, STAGING_DIR),
        commit=cert_file(state_dir, name, COMMIT_DIR),
    )
    return paths
