# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring an account key from elsewhere into the state, find its account at the CA, roll its key on request.

A fleet moving here from certbot or dehydrated, or a runner that gets its key
from a vault, must keep its account: registering a new one loses the CA's
history and spends rate limits. The key given is written into the state only
when the state has none; a different key already there is never overwritten
(it may be the only way into another account), and the message names both by
thumbprint. The account is then looked up with ``onlyReturnExisting``
(RFC 8555 section 7.3.1) and its URL cached for this directory; a key the CA
does not know is registered only with ``terms_agreed``. Check mode asks the
CA the same read-only questions and writes, registers and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import (
    AccountError,
    _eab_required_error,
    _lookup,
    _register,
    forget_account_key,
    load_account_key,
    new_account_key,
    remember_account_url,
    store_account_key,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import (
    AccountKeyError,
    account_key_type,
    parse_account_key,
    same_key,
    thumbprint,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSettings,
    external_account_required,
    fetch_directory,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.eab import EabError, check_eab_options
from ansible_collections.certfleet.acme.plugins.module_utils._acme.key_change import (
    KeyChangeError,
    interrupted_key_change,
    roll_over,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import account_key_path


@dataclass(frozen=True)
class AccountKeyInput:
    """The key the task was given: its text (PEM or JWK) and where it came from, for messages."""

    data: bytes
    source: str


def read_key_input(src: str | None, content: str | None) -> AccountKeyInput | None:
    """The key from ``account_key_src`` or ``account_key_content`` (at most one), or None when neither is set."""
    if src and content:
        raise AccountError("account_key_src and account_key_content are both set: give the account key once")
    if content:
        return AccountKeyInput(content.encode("utf-8"), "account_key_content")
    if not src:
        return None
    try:
        with open(src, "rb") as handle:
            return AccountKeyInput(handle.read(), "account_key_src %s" % src)
    except OSError as exc:
        raise AccountError("account_key_src: cannot read %s: %s" % (src, exc.strerror or exc)) from None


def _different_keys(given, given_source: str, stored, state_dir: str) -> AccountError:
    path = account_key_path(state_dir)
    return AccountError(
        "the account key from %s (thumbprint %s) differs from the account key already in %s (thumbprint %s); an "
        "account key is never overwritten, as it may be the only way into its account. To use the new key, move %s "
        "away (keep it while its account matters), then run again"
        % (given_source, thumbprint(given), path, thumbprint(stored), path)
    )


def _unknown_key_error(settings: AcmeSettings, key, source: str) -> AccountError:
    return AccountError(
        "the CA at %s has no account for the account key from %s (thumbprint %s), and registering one means "
        "agreeing to the CA's terms of service: set terms_agreed: true (role variable letsencrypt_dns_terms_agreed) "
        "after reading them, or give the key of an existing account" % (settings.directory_url, source, thumbprint(key))
    )


def _choose_key(settings: AcmeSettings, given: AccountKeyInput | None, rollover: bool):
    """``(key, source, imported)``: the key given, or the one in the state; refuses two different keys."""
    stored = load_account_key(settings.state_dir)
    if given is None:
        if stored is None:
            what = "roll over" if rollover else "look up"
            raise AccountError(
                "no account key to %s: %s does not exist and neither account_key_src nor account_key_content is "
                "set" % (what, account_key_path(settings.state_dir))
            )
        return stored, account_key_path(settings.state_dir), False
    try:
        key = parse_account_key(given.data, given.source)
    except AccountKeyError as exc:
        raise AccountError(str(exc)) from None
    if stored is not None and not same_key(key, stored):
        raise _different_keys(key, given.source, stored, settings.state_dir)
    return key, given.source, stored is None


def _find_or_register(settings: AcmeSettings, directory, key, source: str, imported: bool, check_mode: bool):
    """``(account_url or None in check mode, registered)``; the imported key is written before a registration."""
    url = _lookup(settings, directory, key)
    if url is not None:
        if imported and not check_mode:
            store_account_key(settings.state_dir, key)
        return url, False
    if not settings.terms_agreed:
        raise _unknown_key_error(settings, key, source)
    if external_account_required(directory) and not settings.eab_kid:
        raise _eab_required_error(settings)
    if check_mode:
        return None, True
    made_directory = store_account_key(settings.state_dir, key) if imported else False
    try:
        return _register(settings, directory, key), True
    except Exception:
        if imported:  # the CA answered or not: the state is as it was, the key stays with its owner
            forget_account_key(settings.state_dir, made_directory)
        raise


def manage_account(settings: AcmeSettings, given: AccountKeyInput | None, rollover: bool, check_mode: bool) -> dict:
    """Import, look up (or register) and optionally roll over the account; the module's result without ``changed``."""
    interrupted = interrupted_key_change(settings.state_dir)
    if interrupted:
        raise AccountError(interrupted)
    try:
        check_eab_options(settings.eab_kid, settings.eab_hmac_key)
    except EabError as exc:
        raise AccountError(str(exc)) from None
    key, source, imported = _choose_key(settings, given, rollover)
    directory = fetch_directory(settings)
    url, registered = _find_or_register(settings, directory, key, source, imported, check_mode)
    result = {
        "account_url": url,
        "key_type": account_key_type(key),
        "thumbprint": thumbprint(key),
        "imported": imported,
        "registered": registered,
        "rolled_over": False,
        "previous_thumbprint": None,
    }
    if not check_mode:
        remember_account_url(settings.state_dir, settings.directory_url, url)
    if rollover:
        result["rolled_over"] = True
        result["previous_thumbprint"] = result["thumbprint"]
        if not check_mode:
            new_key = new_account_key()
            try:
                roll_over(settings, directory, key, url, new_key)
            except KeyChangeError as exc:
                raise AccountError(str(exc)) from None
            result["key_type"] = account_key_type(new_key)
            result["thumbprint"] = thumbprint(new_key)
    result["msg"] = _summary(settings, result, source, check_mode)
    return result


def _summary(settings: AcmeSettings, result: dict, source: str, check_mode: bool) -> str:
    """One sentence of what was done (or, in check mode, would be done)."""
    verb = (lambda done, would: would) if check_mode else (lambda done, would: done)
    parts = []
    if result["imported"]:
        parts.append(verb("imported", "would import") + " the %s account key from %s" % (result["key_type"], source))
    if result["registered"]:
        parts.append(verb("registered it as a new account", "would register it as a new account"))
    elif result["account_url"]:
        parts.append("the CA knows it as %s" % result["account_url"])
    if result["rolled_over"]:
        parts.append(verb("rolled the key over to", "would roll the key over to") + " a new EC P-256 key")
    if not parts:
        parts.append("account key %s unchanged" % result["thumbprint"])
    return "%s: %s" % (settings.directory_url, "; ".join(parts))
