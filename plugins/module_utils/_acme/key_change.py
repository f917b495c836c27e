# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account key rollover (RFC 8555 section 7.3.5): a new key for the same account URL.

A key that was copied around (brought from another client, kept in a vault,
seen by a departed admin) is replaced without losing the account: the CA is
asked to switch, and the account URL, its orders and its rate-limit history
stay. The ``acme`` library has no key change, so the request is built here:
an inner JWS signed by the new key (``jwk`` and ``url`` in its protected
header, no nonce) whose payload names the account and the old key, carried as
the payload of an ordinary request signed by the old key with the account URL
as ``kid``.

The new key must never be lost once the CA may have switched to it: it is
written (0600) next to the account key before the request is sent, and moved
over the account key only once the CA accepted it. A refusal by the CA removes
it again; a failure without an answer keeps it and says where it is.
"""

from __future__ import annotations

import json
import os

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import (
    key_pem,
    signing_algorithm,
    thumbprint,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSettings,
    directory_field,
    make_network,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write, fsync_dir
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import acme_jws, messages
from ansible_collections.certfleet.acme.plugins.module_utils._state import workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    ACCOUNT_NEXT_KEY,
    account_dir,
    account_key_path,
)


class KeyChangeError(Exception):
    """The key could not be changed; the message says what happened to the account and where each key is."""


def next_key_path(state_dir: str) -> str:
    """``<state_dir>/.acme/account.key.next``: a key change that may not have finished."""
    return os.path.join(account_dir(state_dir), ACCOUNT_NEXT_KEY)


def interrupted_key_change(state_dir: str) -> str | None:
    """The message for a key change whose outcome is unknown (its new key is still waiting), else None."""
    path = next_key_path(state_dir)
    if not os.path.exists(path):
        return None
    return (
        "a key change was interrupted: %s holds the new account key, which the CA may or may not use now. "
        "If the key in %s no longer works at the CA, move %s over it; otherwise remove %s; then run again"
        % (path, account_key_path(state_dir), path, path)
    )


def key_change_request(key_change_url: str, account_url: str, old_key, new_key):
    """The inner JWS of RFC 8555 section 7.3.5: signed by ``new_key``, naming the account and ``old_key``."""
    payload = {"account": account_url, "oldKey": old_key.public_key().to_partial_json()}
    return acme_jws.JWS.sign(
        json.dumps(payload, sort_keys=True).encode("utf-8"),
        key=new_key,
        alg=signing_algorithm(new_key),
        nonce=None,
        url=key_change_url,
    )


def roll_over(settings: AcmeSettings, directory, old_key, account_url: str, new_key) -> None:
    """Ask the CA to switch ``account_url`` from ``old_key`` to ``new_key``, then make ``new_key`` the account key."""
    url = directory_field(directory, "keyChange")
    if not url:
        raise KeyChangeError(
            "the CA at %s offers no key change (no keyChange in its directory)" % settings.directory_url
        )
    waiting = next_key_path(settings.state_dir)
    atomic_write(waiting, key_pem(new_key), mode=0o600)
    try:  # a remote state keeps the waiting key before the CA is asked, so no runner loses it
        workspace.sync(settings.state_dir)
    except workspace.WorkspaceError as exc:
        os.unlink(waiting)
        raise KeyChangeError(
            "the new account key could not be saved to the state store, so the key was not changed: %s" % exc
        ) from None
    network = make_network(settings, old_key, account_url)
    try:
        network.post(url, key_change_request(url, account_url, old_key, new_key), new_nonce_url=directory["newNonce"])
    except messages.Error as error:  # the CA answered: the account still has the old key
        os.unlink(waiting)
        raise KeyChangeError(
            "the CA at %s refused the key change of account %s: %s; the account key is unchanged"
            % (settings.directory_url, account_url, error.detail or error.typ)
        ) from None
    except Exception as exc:
        raise KeyChangeError(
            "the key change of account %s got no answer from the CA at %s (%s): the new key (thumbprint %s) is "
            "kept in %s. %s"
            % (
                account_url,
                settings.directory_url,
                exc,
                thumbprint(new_key),
                waiting,
                interrupted_key_change(settings.state_dir),
            )
        ) from exc
    os.replace(waiting, account_key_path(settings.state_dir))
    fsync_dir(account_dir(settings.state_dir))
