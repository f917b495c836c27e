# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small local ACME server (RFC 8555 subset) with ARI and profiles, for tests.

Pebble 2.4 offers neither ACME Renewal Information (RFC 9773) nor certificate
profiles (draft-ietf-acme-profiles), so this test double serves them over
HTTPS on loopback, with only the standard library and ``cryptography``:

* ``GET /dir``: the directory, with ``renewalInfo`` (unless
  ``renewal_info=False``) and ``meta.profiles`` (when ``profiles`` is given,
  e.g. ``DEFAULT_PROFILES``),
  ``meta.externalAccountRequired`` when ``external_account_required``.
* ``HEAD``/``GET /acme/new-nonce``: a fresh ``Replay-Nonce``.
* ``POST /acme/new-account``: JWS with ``jwk``; ``onlyReturnExisting``
  answers the existing account (200) or ``accountDoesNotExist``; otherwise
  an account is created (201, ``Location``). With ``eab_keys`` the
  ``externalAccountBinding`` JWS is verified (HS256/384/512, ``kid``,
  ``url``, payload = the account key); with ``external_account_required``
  an account without one is refused with ``externalAccountRequired``.
* ``POST /acme/new-order``: records what it got in ``new_orders`` (the
  ``identifiers``, ``profile`` and ``replaces`` fields as sent). A profile
  that is not offered gets ``invalidProfile``; a ``replaces`` that is not a
  well-formed ARI certificate id gets ``malformed``; a certificate already
  replaced by another order that is not invalid gets ``alreadyReplaced``
  (409), and so do the next N orders with ``replaces`` after
  ``answer_already_replaced(N)`` (or any problem, ``refuse_replaces``).
* ``POST`` (as GET) to orders, authorizations (one ``dns-01`` challenge
  each) and certificates; ``POST {}`` to a challenge marks it and its
  authorization valid at once (no DNS lookup: it is a test double);
  ``POST`` of a CSR to ``finalize`` issues a certificate from the fake's own
  issuer (the order's ``profile`` is kept on the order) and the order
  becomes ``valid``.
* ``GET /acme/renewal-info/<cert id>`` (no signature, RFC 9773 section 4.1):
  ``{"suggestedWindow": {"start", "end"}, "explanationURL"}`` with a
  ``Retry-After`` header, for windows set with ``set_renewal_info`` and for
  certificates the fake issued (the window then covers the last third of
  the lifetime up to its last sixth); unknown ids get 404.

Every POST is checked as RFC 8555 section 6.2 asks, minimally: a flattened
JWS whose protected header has ``alg``, a ``nonce`` the fake issued and not
yet seen (else ``badNonce``), the request's own ``url``, and either ``jwk``
(new-account only) or the ``kid`` of a known account (else
``accountDoesNotExist``); the signature is verified (ES256, ES384, RS256).
Errors are ``application/problem+json``; every answer to a POST carries a
fresh nonce.

Start it in-process (``AcmeAriFake(...).start()``, ``stop()``; the client
trusts ``ca_bundle``) or as a command: ``python tests/fakes/acme_ari_fake.py``
prints the directory URL and CA bundle path as JSON and serves until
interrupted.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, testca.py, also when loaded by path
from serving import Handler, HttpsLoopbackServer, add_address_arguments, address, serve_until_interrupted, url_at  # noqa: E402
from testca import make_ca, make_leaf, pem, server_auth, x509_name  # noqa: E402

ERROR = "urn:ietf:params:acme:error:"
ARI_ID = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
DEFAULT_PROFILES = {"classic": "The same profile as before", "shortlived": "Six-day certificates"}
LIFETIMES = {"shortlived": datetime.timedelta(days=6)}
DEFAULT_LIFETIME = datetime.timedelta(days=90)
HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


class Problem(Exception):
    """An ACME problem to answer with."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.type = code if ":" in code else ERROR + code
        self.detail = detail
        self.status = status


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not re.match(r"^[A-Za-z0-9_-]*$", text):
        raise Problem("malformed", "%r is not base64url" % (text,))
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ari_cert_id(cert: x509.Certificate) -> str:
    """base64url(AKI keyIdentifier) "." base64url(DER INTEGER octets of the serial) (RFC 9773 section 4.1)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number
    return b64url(aki) + "." + b64url(serial.to_bytes((serial.bit_length() + 8) // 8, "big"))


# --------------------------------------------------------------------------
# keys and signatures


def _public_key(jwk: dict):
    """The public key of a JWK (EC P-256/P-384 or RSA)."""
    if not isinstance(jwk, dict):
        raise Problem("malformed", "jwk is not an object")
    if jwk.get("kty") == "EC":
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
        curve = curves.get(jwk.get("crv"))
        if curve is None:
            raise Problem("badPublicKey", "unsupported curve %r" % jwk.get("crv"))
        x = int.from_bytes(b64url_decode(jwk.get("x", "")), "big")
        y = int.from_bytes(b64url_decode(jwk.get("y", "")), "big")
        try:
            return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        except ValueError as exc:
            raise Problem("badPublicKey", "bad EC key: %s" % exc) from exc
    if jwk.get("kty") == "RSA":
        n = int.from_bytes(b64url_decode(jwk.get("n", "")), "big")
        e = int.from_bytes(b64url_decode(jwk.get("e", "")), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise Problem("badPublicKey", "unsupported key type %r" % jwk.get("kty"))


def _verify(key, alg: str, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg in ("ES256", "ES384"):
            size = 32 if alg == "ES256" else 48
            if not isinstance(key, ec.EllipticCurvePublicKey) or len(signature) != 2 * size:
                raise Problem("badSignatureAlgorithm", "%s does not fit the account key" % alg)
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256() if alg == "ES256" else hashes.SHA384()))
        elif alg == "RS256":
            if not isinstance(key, rsa.RSAPublicKey):
                raise Problem("badSignatureAlgorithm", "RS256 does not fit the account key")
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise Problem("badSignatureAlgorithm", "alg %r is not supported" % alg)
    except InvalidSignature as exc:
        raise Problem("malformed", "JWS signature is invalid") from exc


def _thumbprint(jwk: dict) -> str:
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canonical = json.dumps({name: jwk[name] for name in members}, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _parse_jws(body: bytes) -> tuple[dict, bytes, bytes, bytes]:
    """(protected header, payload bytes, signing input, signature) of a flattened JWS."""
    try:
        jws = json.loads(body)
    except ValueError as exc:
        raise Problem("malformed", "the body is not JSON") from exc
    if not isinstance(jws, dict) or not all(isinstance(jws.get(k), str) for k in ("protected", "payload", "signature")):
        raise Problem("malformed", "the body is not a flattened JWS")
    try:
        protected = json.loads(b64url_decode(jws["protected"]))
    except ValueError as exc:
        raise Problem("malformed", "the protected header is not JSON") from exc
    if not isinstance(protected, dict):
        raise Problem("malformed", "the protected header is not an object")
    signing_input = (jws["protected"] + "." + jws["payload"]).encode("ascii")
    return protected, b64url_decode(jws["payload"]), signing_input, b64url_decode(jws["signature"])


# --------------------------------------------------------------------------
# TLS and the issuer


def _ca(common_name: str):
    now = _now()
    subject = x509_name(common_name, organization="certfleet ACME ARI fake")
    return make_ca(subject, now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650), ski=True)


def _leaf(ca_key, ca_cert, public_key, sans: list, not_before, not_after):
    """A certificate the fake's issuer signs: for TLS servers, with the issuer's key id."""
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    extensions = (
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False),
        server_auth(),
    )
    return make_leaf(ca_key, ca_cert.subject, public_key, sans, not_before, not_after, extensions=extensions)


# --------------------------------------------------------------------------
# the HTTP handler


class _Handler(Handler):
    server_version = "certfleet-acme-ari-fake"
    protocol_version = "HTTP/1.0"  # one request a connection, as the standard library answers by default
    fake: AcmeAriFake

    # -- answers

    def _send(self, status: int, body=None, headers: dict | None = None, content_type="application/json"):
        headers = dict(headers or {}, **{"Cache-Control": "no-store"})
        if isinstance(body, str):
            self.send_answer(status, body.encode("utf-8"), headers, content_type)
        else:
            self.send_json(status, body, headers, content_type, indent=1)

    def _problem(self, problem: Problem, nonce: bool = True) -> None:
        headers = {"Replay-Nonce": self.fake.new_nonce()} if nonce else {}
        body = {"type": problem.type, "detail": problem.detail, "status": problem.status}
        self._send(problem.status, body, headers, "application/problem+json")

    # -- methods

    def do_HEAD(self):  # pylint: disable=invalid-name
        if self.path == "/acme/new-nonce":
            self._send(200, None, {"Replay-Nonce": self.fake.new_nonce()})
        else:
            self._send(404)

    def do_GET(self):  # pylint: disable=invalid-name
        try:
            self.fake.count("GET", self.path)
            if self.path == "/dir":
                self._send(200, self.fake.directory())
            elif self.path == "/acme/new-nonce":
                self._send(204, None, {"Replay-Nonce": self.fake.new_nonce()})
            elif self.path.startswith("/acme/renewal-info/") and self.fake.renewal_info:
                body, retry_after = self.fake.renewal_info_for(self.path[len("/acme/renewal-info/") :])
                self._send(200, body, {"Retry-After": str(retry_after)})
            else:
                raise Problem(
                    "malformed", "nothing at %s (ACME resources are fetched with POST-as-GET)" % self.path, 404
                )
        except Problem as problem:
            self._problem(problem, nonce=False)

    def do_POST(self):  # pylint: disable=invalid-name
        try:
            self.fake.count("POST", self.path)
            body = self.read_body()
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/jose+json":
                raise Problem("malformed", "Content-Type must be application/jose+json", 415)
            status, answer, headers = self.fake.handle_post(self.path, body)
            headers = dict(headers or {})
            headers["Replay-Nonce"] = self.fake.new_nonce()
            if isinstance(answer, str):
                self._send(status, answer, headers, "application/pem-certificate-chain")
            else:
                self._send(status, answer, headers)
        except Problem as problem:
            self._problem(problem)


# --------------------------------------------------------------------------
# the fake


class AcmeAriFake(HttpsLoopbackServer):
    """A loopback ACME server with ARI and profiles, and a record of what it was asked."""

    def __init__(
        self,
        profiles: dict | None = None,
        renewal_info: bool = True,
        external_account_required: bool = False,
        eab_keys: dict | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_dir: str | None = None,
        retry_after: int = 21600,
    ) -> None:
        #: Offered profiles (name: description); None gives a directory without meta.profiles.
        self.profiles = dict(profiles) if profiles is not None else None
        self.renewal_info = renewal_info
        self.external_account_required = external_account_required
        #: EAB MAC keys by key id, base64url as a CA hands them out.
        self.eab_keys = dict(eab_keys or {})
        super().__init__(host, port, tls_dir)
        self.retry_after = retry_after
        self.lock = threading.RLock()
        self.nonces: set = set()
        self.accounts: dict = {}
        self.orders: dict = {}
        self.authzs: dict = {}
        self.challenges: dict = {}
        #: Certificates issued, by ARI certificate id.
        self.issued: dict = {}
        self.downloads: dict = {}
        #: Every newOrder payload received (also refused ones), with the account URL: dicts
        #: {"account", "identifiers", "profile", "replaces", "answer"} ("answer": the status code).
        self.new_orders: list = []
        #: Every renewalInfo GET: the certificate ids asked for.
        self.renewal_info_requests: list = []
        #: Request counts by "METHOD path".
        self.requests: dict = {}
        self._windows: dict = {}
        self._replaced: dict = {}
        self._refuse_replaces = (0, "alreadyReplaced", 409, None)
        self._counter = 0
        self.issuer_key, self.issuer_cert = _ca("certfleet fake ARI issuer %s" % secrets.token_hex(3))

    handler = _Handler
    thread_name = "acme-ari-fake"
    ca_common_name = "certfleet fake ACME listener CA"
    ca_organization = "certfleet ACME ARI fake"

    # -- addresses

    directory_url = url_at("/dir")
    renewal_info_url = url_at("/acme/renewal-info")

    def info(self) -> dict:
        return {
            "acme_directory": self.directory_url,
            "ca_bundle": self.ca_bundle,
            "renewal_info": self.renewal_info_url if self.renewal_info else None,
            "profiles": self.profiles,
        }

    def issuerpem(self) -> str:
        """The certificate of the fake's issuing CA (what issued certificates chain to)."""
        return pem(self.issuer_cert)

    # -- behaviour the tests set

    def answer_already_replaced(self, times: int = 1) -> None:
        """Refuse the next ``times`` new orders that carry ``replaces`` with ``alreadyReplaced`` (409)."""
        self.refuse_replaces(times)

    def refuse_replaces(
        self, times: int = 1, code: str = "alreadyReplaced", status: int = 409, detail: str | None = None
    ) -> None:
        """Refuse the next ``times`` new orders that carry ``replaces`` with the problem ``code``."""
        with self.lock:
            self._refuse_replaces = (times, code, status, detail)

    def set_renewal_info(
        self,
        cert_id: str,
        start: datetime.datetime,
        end: datetime.datetime,
        explanation_url: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer ``GET renewalInfo/<cert_id>`` with this window (and Retry-After in seconds)."""
        with self.lock:
            self._windows[cert_id] = (start, end, explanation_url, retry_after)

    def issue_certificate(self, names: list, key=None, lifetime: datetime.timedelta = DEFAULT_LIFETIME) -> tuple:
        """Issue a certificate for ``names`` directly (no order): ``(leaf PEM, ARI id)``.

        The fake then knows it: its renewalInfo has a default window for it.
        """
        key = key or ec.generate_private_key(ec.SECP256R1())
        cert, cert_id = self._sign(key.public_key(), names, lifetime)
        return pem(cert), cert_id

    def _sign(self, public_key, names: list, lifetime: datetime.timedelta) -> tuple:
        now = _now()
        sans = [x509.DNSName(name) for name in names]
        cert = _leaf(
            self.issuer_key, self.issuer_cert, public_key, sans, now - datetime.timedelta(minutes=1), now + lifetime
        )
        cert_id = ari_cert_id(cert)
        with self.lock:
            self.issued[cert_id] = cert
        return cert, cert_id

    # -- bookkeeping

    def count(self, method: str, path: str) -> None:
        with self.lock:
            key = "%s %s" % (method, path)
            self.requests[key] = self.requests.get(key, 0) + 1

    def new_nonce(self) -> str:
        nonce = b64url(secrets.token_bytes(16))
        with self.lock:
            self.nonces.add(nonce)
        return nonce

    def _next_id(self) -> str:
        with self.lock:
            self._counter += 1
            return "%d%s" % (self._counter, secrets.token_hex(4))

    def directory(self) -> dict:
        base = self.url + "/acme/"
        directory = {
            "newNonce": base + "new-nonce",
            "newAccount": base + "new-account",
            "newOrder": base + "new-order",
            "revokeCert": base + "revoke-cert",
            "keyChange": base + "key-change",
        }
        if self.renewal_info:
            directory["renewalInfo"] = self.renewal_info_url
        meta = {"termsOfService": self.url + "/terms"}
        if self.profiles is not None:
            meta["profiles"] = dict(self.profiles)
        if self.external_account_required:
            meta["externalAccountRequired"] = True
        directory["meta"] = meta
        return directory

    # -- renewal information

    def renewal_info_for(self, cert_id: str) -> tuple[dict, int]:
        with self.lock:
            self.renewal_info_requests.append(cert_id)
            if not ARI_ID.match(cert_id):
                raise Problem("malformed", "%r is not an ARI certificate id" % cert_id)
            window = self._windows.get(cert_id)
            cert = self.issued.get(cert_id)
        if window:
            start, end, explanation, retry_after = window
        elif cert is not None:
            lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
            start = cert.not_valid_before_utc + lifetime * 2 / 3
            end = cert.not_valid_after_utc - lifetime / 6
            explanation, retry_after = None, None
        else:
            raise Problem("malformed", "no certificate with ARI id %s is known here" % cert_id, 404)
        body = {"suggestedWindow": {"start": _stamp(start), "end": _stamp(end)}}
        if explanation:
            body["explanationURL"] = explanation
        return body, self.retry_after if retry_after is None else retry_after

    # -- POST

    def handle_post(self, path: str, body: bytes) -> tuple:
        """Check the JWS and dispatch: returns (status, body, headers)."""
        url = self.url + path
        protected, payload, signing_input, signature = _parse_jws(body)
        nonce = protected.get("nonce")
        with self.lock:
            if nonce not in self.nonces:
                raise Problem("badNonce", "JWS has an invalid anti-replay nonce: %r" % nonce)
            self.nonces.discard(nonce)
        if protected.get("url") != url:
            raise Problem("unauthorized", "the JWS url %r is not the request URL %s" % (protected.get("url"), url), 401)
        alg = protected.get("alg")
        if path == "/acme/new-account":
            if "kid" in protected or "jwk" not in protected:
                raise Problem("malformed", "newAccount must be signed with jwk, not kid")
            jwk = protected["jwk"]
            _verify(_public_key(jwk), alg, signing_input, signature)
            return self._new_account(jwk, payload)
        if "jwk" in protected or not isinstance(protected.get("kid"), str):
            raise Problem("malformed", "requests other than newAccount must be signed with kid")
        with self.lock:
            account = self.accounts.get(protected["kid"])
        if account is None:
            raise Problem("accountDoesNotExist", "no account %r" % protected["kid"])
        _verify(_public_key(account["jwk"]), alg, signing_input, signature)
        request = None
        if payload:
            try:
                request = json.loads(payload)
            except ValueError as exc:
                raise Problem("malformed", "the payload is not JSON") from exc
        parts = path.strip("/").split("/")
        if path == "/acme/new-order":
            return self._new_order(protected["kid"], request)
        if len(parts) == 3 and parts[0] == "acme":
            kind, ident = parts[1], parts[2]
            if kind == "acct" and self.url + path == protected["kid"]:
                return 200, self._account_json(account), {}
            if kind == "order":
                return 200, self._order_json(self._owned(self.orders, ident, protected["kid"])), {}
            if kind == "authz":
                return 200, self._authz_json(self._owned(self.authzs, ident, protected["kid"])), {}
            if kind == "chall":
                return self._challenge(ident, protected["kid"])
            if kind == "finalize":
                return self._finalize(ident, protected["kid"], request)
            if kind == "cert":
                download = self._owned(self.downloads, ident, protected["kid"])
                return 200, download["pem"], {}
        raise Problem("malformed", "nothing to POST to at %s" % path, 404)

    def _owned(self, table: dict, ident: str, account: str):
        with self.lock:
            item = table.get(ident)
        if item is None or not isinstance(item, dict) or item.get("account") != account:
            raise Problem("malformed", "no such resource", 404)
        return item

    # -- accounts

    def _account_json(self, account: dict) -> dict:
        return {"status": "valid", "contact": account["contact"], "orders": account["url"] + "/orders"}

    def _check_eab(self, binding, jwk: dict) -> str:
        protected, payload, signing_input, signature = _parse_jws(json.dumps(binding).encode("utf-8"))
        digest = HMAC_HASHES.get(protected.get("alg"))
        if digest is None:
            raise Problem("malformed", "externalAccountBinding alg %r is not HS256/384/512" % protected.get("alg"))
        if "nonce" in protected:
            raise Problem("malformed", "externalAccountBinding must not have a nonce")
        if protected.get("url") != self.url + "/acme/new-account":
            raise Problem("malformed", "externalAccountBinding url %r is not newAccount" % protected.get("url"))
        kid = protected.get("kid")
        if kid not in self.eab_keys:
            raise Problem("unauthorized", "unknown external account %r" % kid, 403)
        try:
            bound = json.loads(payload)
        except ValueError as exc:
            raise Problem("malformed", "externalAccountBinding payload is not JSON") from exc
        if not isinstance(bound, dict) or _thumbprint(bound) != _thumbprint(jwk):
            raise Problem("unauthorized", "externalAccountBinding is not for the account key", 403)
        expected = hmac.new(b64url_decode(self.eab_keys[kid]), signing_input, digest).digest()
        if not hmac.compare_digest(expected, signature):
            raise Problem("unauthorized", "externalAccountBinding signature is invalid", 403)
        return kid

    def _new_account(self, jwk: dict, payload: bytes) -> tuple:
        try:
            request = json.loads(payload) if payload else {}
        except ValueError as exc:
            raise Problem("malformed", "the payload is not JSON") from exc
        thumbprint = _thumbprint(jwk)
        with self.lock:
            existing = [account for account in self.accounts.values() if account["thumbprint"] == thumbprint]
        if existing:
            return 200, self._account_json(existing[0]), {"Location": existing[0]["url"]}
        if request.get("onlyReturnExisting"):
            raise Problem("accountDoesNotExist", "no account for this key")
        binding = request.get("externalAccountBinding")
        if binding is None and self.external_account_required:
            raise Problem("externalAccountRequired", "this CA requires an external account binding")
        eab_kid = self._check_eab(binding, jwk) if binding is not None and self.eab_keys else None
        if request.get("termsOfServiceAgreed") is not True:
            raise Problem("malformed", "termsOfServiceAgreed must be true")
        url = self.url + "/acme/acct/" + self._next_id()
        account = {
            "url": url,
            "jwk": jwk,
            "thumbprint": thumbprint,
            "contact": list(request.get("contact") or []),
            "eab_kid": eab_kid,
            "external_account_binding": binding,
        }
        with self.lock:
            self.accounts[url] = account
        return 201, self._account_json(account), {"Location": url}

    # -- orders

    def _order_json(self, order: dict) -> dict:
        self._update_order(order)
        body = {
            "status": order["status"],
            "expires": order["expires"],
            "identifiers": order["identifiers"],
            "authorizations": [self.url + "/acme/authz/" + ident for ident in order["authzs"]],
            "finalize": self.url + "/acme/finalize/" + order["id"],
        }
        if order.get("profile"):
            body["profile"] = order["profile"]
        if order.get("replaces"):
            body["replaces"] = order["replaces"]
        if order.get("certificate"):
            body["certificate"] = self.url + "/acme/cert/" + order["certificate"]
        return body

    def _update_order(self, order: dict) -> None:
        with self.lock:
            statuses = [self.authzs[ident]["status"] for ident in order["authzs"]]
            if order["status"] == "pending":
                if "invalid" in statuses:
                    order["status"] = "invalid"
                elif all(status == "valid" for status in statuses):
                    order["status"] = "ready"

    def _check_identifiers(self, identifiers) -> list:
        if not isinstance(identifiers, list) or not identifiers:
            raise Problem("malformed", "identifiers must be a non-empty list")
        for identifier in identifiers:
            if not isinstance(identifier, dict) or identifier.get("type") != "dns":
                raise Problem("unsupportedIdentifier", "only dns identifiers: %r" % (identifier,))
            if not isinstance(identifier.get("value"), str) or not identifier["value"]:
                raise Problem("malformed", "identifier without value: %r" % (identifier,))
        return [{"type": "dns", "value": identifier["value"].lower()} for identifier in identifiers]

    def _new_order(self, account: str, request) -> tuple:
        if not isinstance(request, dict):
            raise Problem("malformed", "newOrder needs a JSON object")
        record = {
            "account": account,
            "identifiers": request.get("identifiers"),
            "profile": request.get("profile"),
            "replaces": request.get("replaces"),
            "has_replaces": "replaces" in request,
            "has_profile": "profile" in request,
            "answer": None,
        }
        with self.lock:
            self.new_orders.append(record)
        try:
            result = self._create_order(account, request)
        except Problem as problem:
            record["answer"] = problem.status
            record["problem"] = problem.type
            raise
        record["answer"] = result[0]
        return result

    def _create_order(self, account: str, request: dict) -> tuple:
        identifiers = self._check_identifiers(request.get("identifiers"))
        profile = request.get("profile")
        if profile is not None:
            if not isinstance(profile, str):
                raise Problem("malformed", "profile must be a string")
            if self.profiles is not None and profile not in self.profiles:
                raise Problem("invalidProfile", "profile %r is not one of %s" % (profile, ", ".join(self.profiles)))
        replaces = request.get("replaces")
        if replaces is not None:
            if not isinstance(replaces, str) or not ARI_ID.match(replaces):
                raise Problem("malformed", "replaces %r is not an ARI certificate id" % (replaces,))
            with self.lock:
                times, code, status, detail = self._refuse_replaces
                if times > 0:
                    self._refuse_replaces = (times - 1, code, status, detail)
                    raise Problem(code, detail or "certificate %s has already been replaced" % replaces, status)
                earlier = self.orders.get(self._replaced.get(replaces, ""))
                if earlier is not None and earlier["status"] != "invalid":
                    raise Problem(
                        "alreadyReplaced",
                        "certificate %s is already replaced by order %s" % (replaces, earlier["id"]),
                        409,
                    )
        order_id = self._next_id()
        expires = _stamp(_now() + datetime.timedelta(days=7))
        authz_ids = []
        for identifier in identifiers:
            authz_id = self._next_id()
            chall_id = self._next_id()
            value = identifier["value"]
            wildcard = value.startswith("*.")
            authz = {
                "id": authz_id,
                "account": account,
                "status": "pending",
                "expires": expires,
                "identifier": {"type": "dns", "value": value[2:] if wildcard else value},
                "wildcard": wildcard,
                "challenge": chall_id,
            }
            challenge = {
                "id": chall_id,
                "account": account,
                "authz": authz_id,
                "status": "pending",
                "token": b64url(secrets.token_bytes(24)),
            }
            with self.lock:
                self.authzs[authz_id] = authz
                self.challenges[chall_id] = challenge
            authz_ids.append(authz_id)
        order = {
            "id": order_id,
            "account": account,
            "status": "pending",
            "expires": expires,
            "identifiers": identifiers,
            "authzs": authz_ids,
            "profile": profile,
            "replaces": replaces,
            "certificate": None,
        }
        with self.lock:
            self.orders[order_id] = order
            if replaces:
                self._replaced[replaces] = order_id
        return 201, self._order_json(order), {"Location": self.url + "/acme/order/" + order_id}

    def _authz_json(self, authz: dict) -> dict:
        with self.lock:
            challenge = self.challenges[authz["challenge"]]
        body = {
            "status": authz["status"],
            "expires": authz["expires"],
            "identifier": authz["identifier"],
            "challenges": [
                {
                    "type": "dns-01",
                    "url": self.url + "/acme/chall/" + challenge["id"],
                    "status": challenge["status"],
                    "token": challenge["token"],
                }
            ],
        }
        if authz["wildcard"]:
            body["wildcard"] = True
        return body

    def _challenge(self, ident: str, account: str) -> tuple:
        challenge = self._owned(self.challenges, ident, account)
        with self.lock:
            authz = self.authzs[challenge["authz"]]
            if challenge["status"] == "pending":
                challenge["status"] = "valid"
                challenge["validated"] = _stamp(_now())
                authz["status"] = "valid"
        body = {
            "type": "dns-01",
            "url": self.url + "/acme/chall/" + ident,
            "status": challenge["status"],
            "token": challenge["token"],
        }
        up = '<%s/acme/authz/%s>;rel="up"' % (self.url, authz["id"])
        return 200, body, {"Link": up}

    def _finalize(self, ident: str, account: str, request) -> tuple:
        order = self._owned(self.orders, ident, account)
        self._update_order(order)
        if order["status"] != "ready":
            raise Problem("orderNotReady", "order %s is %s, not ready" % (ident, order["status"]), 403)
        if not isinstance(request, dict) or not isinstance(request.get("csr"), str):
            raise Problem("malformed", "finalize needs a csr")
        try:
            csr = x509.load_der_x509_csr(b64url_decode(request["csr"]))
        except ValueError as exc:
            raise Problem("badCSR", "the CSR cannot be parsed: %s" % exc) from exc
        if not csr.is_signature_valid:
            raise Problem("badCSR", "the CSR signature is invalid")
        try:
            sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = sorted(name.lower() for name in sans.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            names = []
        wanted = sorted(identifier["value"] for identifier in order["identifiers"])
        if names != wanted:
            raise Problem("badCSR", "the CSR names %s, the order %s" % (names, wanted))
        lifetime = LIFETIMES.get(order.get("profile") or "", DEFAULT_LIFETIME)
        cert, cert_id = self._sign(csr.public_key(), names, lifetime)
        with self.lock:
            self.downloads[order["id"]] = {
                "account": account,
                "pem": pem(cert) + self.issuerpem(),
                "cert_id": cert_id,
            }
            order["certificate"] = order["id"]
            order["status"] = "valid"
            order["cert_id"] = cert_id
        return 200, self._order_json(order), {"Location": self.url + "/acme/order/" + ident}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a small fake ACME CA with ARI and profiles on loopback.")
    add_address_arguments(parser)
    parser.add_argument("--profile", action="append", default=[], help="NAME=DESCRIPTION; repeat for more")
    parser.add_argument("--default-profiles", action="store_true", help="offer %s" % ", ".join(DEFAULT_PROFILES))
    parser.add_argument("--no-renewal-info", action="store_true", help="a directory without renewalInfo")
    args = parser.parse_args(argv)
    profiles = dict(item.split("=", 1) if "=" in item else (item, item) for item in args.profile)
    if args.default_profiles:
        profiles = dict(DEFAULT_PROFILES, **profiles)
    fake = AcmeAriFake(
        profiles=profiles or None,
        renewal_info=not args.no_renewal_info,
        **address(args),
    )
    return serve_until_interrupted(fake, lambda: json.dumps(fake.info()))


if __name__ == "__main__":
    sys.exit(main())
