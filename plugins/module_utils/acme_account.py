# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ACME account: its key on disk, its URL cached per directory.

Registering means agreeing to a CA's terms on the user's behalf, so it only
happens with ``terms_agreed: true``, and it is decided before a single byte
is sent. The account URL is cached in ``.acme/account.json`` per directory
URL, so normal runs only look the account up and never register again.
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.certfleet.acme.plugins.module_utils.acme_client import (
    AcmeSession,
    AcmeSettings,
    fetch_directory,
    make_network,
)
from ansible_collections.certfleet.acme.plugins.module_utils.cert_info import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils.files import atomic_write, atomic_write_json, read_json

try:
    import josepy as jose
    from acme import client as acme_lib
    from acme import errors as acme_errors
    from acme import messages
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    HAS_ACME = True
    ACME_IMPORT_ERROR = None
except ImportError:
    HAS_ACME = False
    ACME_IMPORT_ERROR = traceback.format_exc()

ACCOUNT_DIR = ".acme"
KEY_FILE = "account.key"
CACHE_FILE = "account.json"


class AccountError(Exception):
    """The account cannot be used or created; the message says what the user must do."""


def account_dir(state_dir: str) -> str:
    """``<state_dir>/.acme``: private to the controller user (0700)."""
    return os.path.join(state_dir, ACCOUNT_DIR)


def key_path(state_dir: str) -> str:
    """``<state_dir>/.acme/account.key``."""
    return os.path.join(account_dir(state_dir), KEY_FILE)


def cache_path(state_dir: str) -> str:
    """``<state_dir>/.acme/account.json``."""
    return os.path.join(account_dir(state_dir), CACHE_FILE)


def load_account_key(state_dir: str):
    """The account key as a JWK, or None when there is none yet."""
    try:
        with open(key_path(state_dir), "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise AccountError("%s is not an EC P-256 key; move it away to create a new account" % key_path(state_dir))
    return jose.JWKEC(key=key)


def create_account_key(state_dir: str):
    """Generate an EC P-256 account key and write it 0600 into a 0700 directory."""
    directory = account_dir(state_dir)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    atomic_write(key_path(state_dir), pem, mode=0o600)
    return jose.JWKEC(key=key)


def cached_account_url(state_dir: str, directory_url: str) -> str | None:
    """The account URL remembered for this directory, if any."""
    cache = read_json(cache_path(state_dir)) or {}
    entry = (cache.get("accounts") or {}).get(directory_url) or {}
    return entry.get("url")


def remember_account_url(state_dir: str, directory_url: str, url: str | None) -> None:
    """Store (or with ``url=None`` drop) the account URL for this directory."""
    cache = read_json(cache_path(state_dir)) or {}
    accounts = cache.setdefault("accounts", {})
    if url is None:
        accounts.pop(directory_url, None)
    elif (accounts.get(directory_url) or {}).get("url") != url:
        accounts[directory_url] = {"url": url, "cached_at": iso_utc(utc_now())}
    else:
        return
    atomic_write_json(cache_path(state_dir), cache, mode=0o600)


def _terms_error(settings: AcmeSettings, why: str) -> AccountError:
    return AccountError(
        "%s for ACME directory %s, and registering one means agreeing to the CA's terms of service: "
        "set terms_agreed: true (role variable letsencrypt_dns_terms_agreed) after reading them"
        % (why, settings.directory_url)
    )


def check_can_start(settings: AcmeSettings) -> None:
    """Fail before any request when a registration would be needed but the terms are not agreed."""
    if settings.terms_agreed:
        return
    if not os.path.exists(key_path(settings.state_dir)):
        raise _terms_error(settings, "no ACME account exists in %s" % account_dir(settings.state_dir))


def _lookup(settings: AcmeSettings, directory, key) -> str | None:
    """The URL of the account this key already has at the CA, or None (RFC 8555 7.3.1 onlyReturnExisting)."""
    client = acme_lib.ClientV2(directory, make_network(settings, key))
    query = messages.NewRegistration(only_return_existing=True)
    try:
        response = client.net.post(directory["newAccount"], query, new_nonce_url=directory["newNonce"])
    except messages.Error as error:
        if error.code in ("accountDoesNotExist",):
            return None
        raise
    return response.headers.get("Location")


def _register(settings: AcmeSettings, directory, key) -> str:
    """Register the key as a new account (the terms were agreed) and return its URL."""
    client = acme_lib.ClientV2(directory, make_network(settings, key))
    if settings.account_email:
        registration = messages.NewRegistration.from_data(email=settings.account_email, terms_of_service_agreed=True)
    else:
        registration = messages.NewRegistration.from_data(terms_of_service_agreed=True)
    try:
        return client.new_account(registration).uri
    except acme_errors.ConflictError as conflict:
        # The key is already registered: the server answers with its URL.
        return conflict.location


def open_session(settings: AcmeSettings) -> AcmeSession:
    """Load or create the account and return a session signed by it.

    With a cached URL the account is looked up (one request, no
    registration); if the server no longer knows it, a new one is registered
    only when the terms are agreed.
    """
    check_can_start(settings)
    key = load_account_key(settings.state_dir)
    if key is None:
        key = create_account_key(settings.state_dir)
    directory = fetch_directory(settings)
    url = _lookup(settings, directory, key)
    if url is None:
        if not settings.terms_agreed:
            cached = cached_account_url(settings.state_dir, settings.directory_url)
            why = "the cached account %s is unknown to the server" % cached if cached else "no ACME account exists"
            raise _terms_error(settings, why)
        url = _register(settings, directory, key)
    remember_account_url(settings.state_dir, settings.directory_url, url)
    return AcmeSession(settings, directory, key, url)
