# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ACME account: its key on disk, its URL cached per directory.

Registering means agreeing to a CA's terms on the user's behalf, so it only
happens with ``terms_agreed: true``, and it is decided before a single byte
is sent. The account URL is cached in ``.acme/account.json`` per directory
URL, so normal runs only look the account up and never register again.

A CA whose directory says ``meta.externalAccountRequired`` registers only
with an External Account Binding (``eab_kid`` and ``eab_hmac_key``, see
``_acme.eab``); without them the run fails before the registration is sent.

Check mode asks the same questions read-only (:func:`probe_account`), so a
``--check`` run fails with the message the real run would fail with.

A new account key is made in memory and written to ``.acme/account.key`` only
once the CA has answered the directory request and the run may register
(terms agreed, EAB given where required), right before the registration is
sent: a run with an unreachable CA or a wrong directory URL leaves no key and
no ``.acme`` directory behind. It is written before the request, not after, so
an account the CA creates is never lost with its key; when the CA refuses the
registration (it answered, so no account exists) the key is removed again.
An existing key is loaded and kept as before.
"""

from __future__ import annotations

import os

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import (
    AccountKeyError,
    key_pem,
    parse_account_key,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSession,
    AcmeSettings,
    external_account_required,
    fetch_directory,
    make_network,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.eab import EabError, check_eab_options, eab_binding
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import exception_problem, problem_text
from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import NoDirectoryError
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    PRIVATE_DIR_MODE,
    atomic_write,
    atomic_write_json,
    make_dirs,
    read_json,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import (
    acme_errors,
    acme_lib,
    jose,
    messages,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import ec
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    account_cache_path,
    account_dir,
    account_key_path,
)


class AccountError(Exception):
    """The account cannot be used or created; the message says what the user must do."""


def load_account_key(state_dir: str):
    """The account key as a JWK (any type :mod:`account_keys` accepts), or None when there is none yet."""
    path = account_key_path(state_dir)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        return parse_account_key(data, path)
    except AccountKeyError as exc:
        raise AccountError("%s; move it away to create a new account" % exc) from None


def new_account_key():
    """A new EC P-256 account key as a JWK, in memory only (see :func:`store_account_key`)."""
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def store_account_key(state_dir: str, key) -> bool:
    """Write ``key`` 0600 into the 0700 ``.acme``; True when this made the directory (so a rollback removes it)."""
    directory = account_dir(state_dir)
    made = not os.path.isdir(directory)
    make_dirs(directory)
    os.chmod(directory, PRIVATE_DIR_MODE)
    atomic_write(account_key_path(state_dir), key_pem(key), mode=0o600)
    return made


def forget_account_key(state_dir: str, made_directory: bool) -> None:
    """Remove a key :func:`store_account_key` wrote for a registration the CA refused, and the directory it made."""
    try:
        os.unlink(account_key_path(state_dir))
    except FileNotFoundError:
        pass
    if made_directory:
        try:
            os.rmdir(account_dir(state_dir))
        except OSError:  # not empty: something else lives there now, keep it
            pass


def create_account_key(state_dir: str):
    """Generate an EC P-256 account key and write it 0600 into a 0700 directory."""
    key = new_account_key()
    store_account_key(state_dir, key)
    return key


def cached_account_url(state_dir: str, directory_url: str) -> str | None:
    """The account URL remembered for this directory, if any."""
    cache = read_json(account_cache_path(state_dir)) or {}
    entry = (cache.get("accounts") or {}).get(directory_url) or {}
    return entry.get("url")


def remember_account_url(state_dir: str, directory_url: str, url: str | None) -> None:
    """Store (or with ``url=None`` drop) the account URL for this directory."""
    cache = read_json(account_cache_path(state_dir)) or {}
    accounts = cache.setdefault("accounts", {})
    if url is None:
        accounts.pop(directory_url, None)
    elif (accounts.get(directory_url) or {}).get("url") != url:
        accounts[directory_url] = {"url": url, "cached_at": iso_utc(utc_now())}
    else:
        return
    atomic_write_json(account_cache_path(state_dir), cache, mode=0o600)


def _terms_error(settings: AcmeSettings, why: str) -> AccountError:
    return AccountError(
        "%s for ACME directory %s, and registering one means agreeing to the CA's terms of service: "
        "set terms_agreed: true (role variable letsencrypt_dns_terms_agreed) after reading them"
        % (why, settings.directory_url)
    )


def check_can_start(settings: AcmeSettings) -> None:
    """Fail before any request on unusable EAB options, or when a registration
    would be needed but the terms are not agreed."""
    try:
        check_eab_options(settings.eab_kid, settings.eab_hmac_key)
    except EabError as exc:
        raise AccountError(str(exc)) from None
    if settings.terms_agreed:
        return
    if not os.path.exists(account_key_path(settings.state_dir)):
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


def _eab_required_error(settings: AcmeSettings) -> AccountError:
    return AccountError(
        "the CA at %s requires an External Account Binding to register an account "
        "(its directory has meta.externalAccountRequired): set eab_kid and eab_hmac_key "
        "(role variables letsencrypt_dns_eab_kid and letsencrypt_dns_eab_hmac_key) to the key id and MAC key "
        "your account at the CA gives you" % settings.directory_url
    )


def _eab_problem(error) -> bool:
    """Whether the CA refused a registration because of the external account binding."""
    text = "%s %s" % (error.typ or "", error.detail or "")
    return "externalAccount" in text or "external account" in text.lower()


def _register(settings: AcmeSettings, directory, key) -> str:
    """Register the key as a new account (the terms were agreed) and return its URL.

    With ``eab_kid`` set, the request carries the External Account Binding
    (RFC 8555 section 7.3.4) over the account's public key.
    """
    client = acme_lib.ClientV2(directory, make_network(settings, key))
    fields = {"terms_of_service_agreed": True}
    if settings.account_email:
        fields["email"] = settings.account_email
    if settings.eab_kid:
        fields["external_account_binding"] = eab_binding(
            key.public_key().to_partial_json(), settings.eab_kid, settings.eab_hmac_key, directory["newAccount"]
        )
    registration = messages.NewRegistration.from_data(**fields)
    try:
        return client.new_account(registration).uri
    except acme_errors.ConflictError as conflict:
        # The key is already registered: the server answers with its URL.
        return conflict.location
    except messages.Error as error:
        if not _eab_problem(error):
            raise
        if not settings.eab_kid:
            raise _eab_required_error(settings) from None
        raise AccountError(
            "the CA at %s refused the External Account Binding with eab_kid %r: %s"
            % (settings.directory_url, settings.eab_kid, error.detail or error.typ)
        ) from None


def _existing_account(settings: AcmeSettings, directory, key) -> str | None:
    """The URL of ``key``'s account at the CA, or None when one may be registered; AccountError when it may not.

    Without a key (check mode before the first run) nothing is looked up: a new key has no account.
    """
    url = _lookup(settings, directory, key) if key is not None else None
    if url is None:
        if not settings.terms_agreed:
            cached = cached_account_url(settings.state_dir, settings.directory_url)
            why = "the cached account %s is unknown to the server" % cached if cached else "no ACME account exists"
            raise _terms_error(settings, why)
        if external_account_required(directory) and not settings.eab_kid:
            raise _eab_required_error(settings)
    return url


def _register_new_key(settings: AcmeSettings, directory) -> tuple[str, object]:
    """Register a new key (the CA answered and registering is allowed); the key is on disk before it is sent.

    A refusal by the CA means no account was made, so the key is removed; a
    network failure keeps it, as the CA may have created the account.
    """
    key = new_account_key()
    made_directory = store_account_key(settings.state_dir, key)
    try:
        return _register(settings, directory, key), key
    except (AccountError, messages.Error):
        forget_account_key(settings.state_dir, made_directory)
        raise


def open_session(settings: AcmeSettings) -> AcmeSession:
    """Load or create the account and return a session signed by it.

    With a cached URL the account is looked up (one request, no
    registration); if the server no longer knows it, a new one is registered
    only when the terms are agreed.
    """
    check_can_start(settings)
    key = load_account_key(settings.state_dir)
    directory = fetch_directory(settings)
    url = _existing_account(settings, directory, key)
    if url is None and key is None:
        url, key = _register_new_key(settings, directory)
    elif url is None:
        url = _register(settings, directory, key)
    remember_account_url(settings.state_dir, settings.directory_url, url)
    return AcmeSession(settings, directory, key, url)


def probe_account(settings: AcmeSettings) -> dict:
    """What :func:`open_session` would find, asked read-only: nothing is written, registered or created.

    The directory is fetched and an existing account key is looked up with
    ``onlyReturnExisting`` (RFC 8555 section 7.3.1); the same AccountError
    and network errors as a real run are raised. Returns ``{"directory",
    "account": "exists" or "would_register", "account_url"}``.
    """
    check_can_start(settings)
    key = load_account_key(settings.state_dir)
    directory = fetch_directory(settings)
    url = _existing_account(settings, directory, key)
    return {
        "directory": settings.directory_url,
        "account": "exists" if url else "would_register",
        "account_url": url,
    }


def account_failure(settings: AcmeSettings, exc: BaseException) -> str:
    """The message of a run whose account cannot be used or reached (the same in check mode and a real run)."""
    if isinstance(exc, (AccountError, NoDirectoryError)):  # each names the directory URL already
        return str(exc)
    return "cannot use the ACME account at %s: %s" % (settings.directory_url, problem_text(exception_problem(exc)))
