# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account keys in the forms other ACME clients write them, and the JWS algorithm each one signs with.

An account made by dehydrated (PKCS#1 ``RSA PRIVATE KEY``), certbot
(``private_key.json``, an RSA JWK), acme.sh or openssl (SEC1 ``EC PRIVATE
KEY``, PKCS#8) must be usable as it is, so that a fleet moving to this
collection keeps its account at the CA instead of registering a new one.
Only the key types RFC 8555 CAs accept and the collection can sign with are
taken; anything else (RSA 1024, P-521, Ed25519, an encrypted PEM) is refused
with one message naming where the key came from and what it is, never the key.
"""

from __future__ import annotations

import json

from ansible_collections.certfleet.acme.plugins.module_utils._common.encoding import b64url
from ansible_collections.certfleet.acme.plugins.module_utils._common.key_types import key_type_of
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import jose
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import ec, rsa, serialization

#: The account key types accepted, in the ``key_type`` names certificates use.
ACCOUNT_KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ec256", "ec384")
SUPPORTED = (
    "RSA 2048, 3072 or 4096 bits or EC P-256 or P-384, as unencrypted PEM (PKCS#1 RSA PRIVATE KEY, SEC1 EC PRIVATE "
    "KEY or PKCS#8 PRIVATE KEY) or as a JWK (JSON, as certbot's private_key.json)"
)


class AccountKeyError(ValueError):
    """The key cannot be an account key; the message names its source and what was found, never the key."""


def _refuse(source: str, found: str) -> AccountKeyError:
    return AccountKeyError("%s: %s is not a usable ACME account key; expected %s" % (source, found, SUPPORTED))


def _describe(key) -> str:
    """What a private key (or josepy's wrapper of one) is, in words, for a refusal."""
    if isinstance(key, ec.EllipticCurvePrivateKey) or hasattr(key, "curve"):
        return "an EC key on curve %s" % key.curve.name
    if isinstance(key, rsa.RSAPrivateKey) or hasattr(key, "key_size"):
        return "an RSA %d-bit key" % key.key_size
    return "a key of type %s" % type(key).__name__.replace("PrivateKey", "").lstrip("_")


def _from_pem(data: bytes, source: str):
    text = data.decode("ascii", errors="replace")
    if "ENCRYPTED" in text:
        raise _refuse(source, "an encrypted PEM private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        raise _refuse(source, "an encrypted PEM private key") from None
    except (ValueError, AttributeError) as exc:
        kind = text.split("-----BEGIN ", 1)[1].split("-----", 1)[0] if "-----BEGIN " in text else "PEM"
        raise _refuse(source, "a PEM block %r that cannot be read (%s)" % (kind, str(exc).splitlines()[0])) from None


def _from_jwk(data: bytes, source: str):
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(source, "text that is neither PEM nor JSON") from None
    if not isinstance(document, dict):
        raise _refuse(source, "JSON that is no JWK object")
    kty = document.get("kty")
    if kty not in ("RSA", "EC"):
        raise _refuse(source, "a JWK with kty %r" % (kty,))
    if "d" not in document:
        raise _refuse(source, "a public JWK (no private member 'd')")
    if kty == "EC" and document.get("crv") not in ("P-256", "P-384"):
        raise _refuse(source, "an EC JWK on curve %r" % (document.get("crv"),))
    try:
        return jose.JWK.from_json(document)
    except (jose.DeserializationError, ValueError, TypeError, KeyError) as exc:
        raise _refuse(source, "a %s JWK that cannot be read (%s)" % (kty, exc)) from None


def parse_account_key(data: bytes | str, source: str):
    """The account key in ``data`` (PEM or JWK) as a josepy JWK; AccountKeyError names ``source`` otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    stripped = data.strip()
    if not stripped:
        raise _refuse(source, "an empty value")
    if stripped[:1] in (b"{", b"["):
        jwk = _from_jwk(stripped, source)
    elif b"-----BEGIN" in stripped:
        key = _from_pem(stripped, source)
        if key_type_of(key) not in ACCOUNT_KEY_TYPES:
            raise _refuse(source, _describe(key))
        jwk = jose.JWKRSA(key=key) if isinstance(key, rsa.RSAPrivateKey) else jose.JWKEC(key=key)
    else:
        raise _refuse(source, "text that is neither PEM nor JSON")
    if account_key_type(jwk) not in ACCOUNT_KEY_TYPES:
        raise _refuse(source, _describe(jwk.key))
    return jwk


def account_key_type(jwk) -> str | None:
    """The ``key_type`` name of an account key (``rsa2048`` ... ``ec384``), None for any other size or curve."""
    if isinstance(jwk, jose.JWKRSA):
        return "rsa%d" % jwk.key.key_size
    if isinstance(jwk, jose.JWKEC):
        return {"secp256r1": "ec256", "secp384r1": "ec384"}.get(jwk.key.curve.name)
    return None


def signing_algorithm(jwk):
    """The JWS algorithm an account key signs with (RFC 8555 section 6.2): RS256, ES256 or ES384."""
    if jwk is None:
        return jose.ES256
    key_type = account_key_type(jwk)
    if key_type == "ec384":
        return jose.ES384
    if key_type == "ec256":
        return jose.ES256
    return jose.RS256


def thumbprint(jwk) -> str:
    """The key's JWK thumbprint (RFC 7638, SHA-256, base64url): what names it in messages, never the key."""
    return b64url(jwk.thumbprint())


def key_pem(jwk) -> bytes:
    """The private key as unencrypted PKCS#8 PEM: the one form the state keeps."""
    return jwk.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def same_key(first, second) -> bool:
    """Whether two account keys are the same key (same public key, whatever form each came in)."""
    return thumbprint(first) == thumbprint(second)
