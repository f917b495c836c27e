# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""External Account Binding (RFC 8555 section 7.3.4).

Some CAs (ZeroSSL, Google Trust Services, commercial and private ACME CAs)
only register an ACME account that is bound to an account the user already
has with them. The CA hands out a key identifier and a MAC key; the newAccount
request then carries ``externalAccountBinding``: a JWS, in flattened JSON
serialization, whose payload is the ACME account's public key (as a JWK),
whose protected header holds ``alg`` (an HMAC algorithm, HS256 here), ``kid``
(the CA's key identifier) and ``url`` (the newAccount URL), and which is MACed
with the CA's key. It has no nonce: it is not a request on its own.

The binding is only needed to register; an existing account is used without
it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from ansible_collections.certfleet.acme.plugins.module_utils._common.encoding import b64url

EAB_ALGORITHM = "HS256"
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class EabError(ValueError):
    """The EAB options are unusable; the message never contains the MAC key."""


def decode_hmac_key(text: str) -> bytes:
    """The MAC key from its base64url form (padding optional), as CAs hand it out."""
    if not isinstance(text, str):
        raise EabError("eab_hmac_key must be a string")
    value = text.strip()
    if not value or not _BASE64URL.match(value):
        raise EabError(
            "eab_hmac_key is not base64url (only letters, digits, '-' and '_', as the CA hands it out); "
            "the value is not shown"
        )
    unpadded = value.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise EabError("eab_hmac_key is not base64url: its length is impossible; the value is not shown")
    try:
        key = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EabError("eab_hmac_key is not base64url; the value is not shown") from exc
    if not key:
        raise EabError("eab_hmac_key decodes to an empty key")
    return key


def check_eab_options(kid: str | None, hmac_key: str | None) -> None:
    """Both or neither; a usable MAC key. Raises EabError before anything is sent."""
    if bool(kid) != bool(hmac_key):
        given, missing = ("eab_kid", "eab_hmac_key") if kid else ("eab_hmac_key", "eab_kid")
        raise EabError(
            "%s is set but %s is not: External Account Binding needs both (role variables "
            "letsencrypt_dns_eab_kid and letsencrypt_dns_eab_hmac_key)" % (given, missing)
        )
    if hmac_key:
        decode_hmac_key(hmac_key)


def _json_b64(value: dict) -> str:
    return b64url(json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def eab_binding(account_public_jwk: dict, kid: str, hmac_key: str, new_account_url: str) -> dict:
    """The ``externalAccountBinding`` object for a newAccount request.

    ``account_public_jwk`` is the account's public key as a JWK dict (the
    same key that signs the outer request, passed as its ``jwk``).
    """
    key = decode_hmac_key(hmac_key)
    protected = _json_b64({"alg": EAB_ALGORITHM, "kid": kid, "url": new_account_url})
    payload = _json_b64(account_public_jwk)
    signing_input = ("%s.%s" % (protected, payload)).encode("ascii")
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return {"protected": protected, "payload": payload, "signature": b64url(signature)}
