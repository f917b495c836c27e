# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection to the ACME server, shared by all worker threads of a run.

The ``acme`` library's ClientNetwork keeps a nonce pool, a requests session
and the account on the instance and mutates them per request, so it is not
safe to share between threads. A run therefore shares only what is immutable
(directory, account key, account URL) in :class:`AcmeSession`, and every
worker thread gets its own network and client on first use.
"""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass, field

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account_keys import signing_algorithm
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import RateLimited
from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import (
    directory_document,
    directory_url_error,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import HAS_ACME, acme_lib, jose, messages
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import parse_retry_after
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import TlsVerifyError, tls_error_hint

_NetworkBase = acme_lib.ClientNetwork if HAS_ACME else object

USER_AGENT = "certfleet.acme (acme-python)"

# One first try plus nine retries. A CA answers badNonce before it acts on
# a request, so another try is always safe. Pebble rejects 5% of good nonces
# on purpose (the fault tests make it 30%), and a batch of a thousand orders
# makes thousands of requests: with six tries, 30% failed about one request
# in 1,400.
NONCE_ATTEMPTS = 10

# HTTP 429 (RFC 8555 section 6.6): a Retry-After up to rate_limit_wait seconds is waited out, at most this many
# times per request; a longer one (or none) fails the request at once with the time to retry.
DEFAULT_RATE_LIMIT_WAIT = 60
RATE_LIMIT_RETRIES = 3

JOSE_CONTENT_TYPE = "application/jose+json"
PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain"

#: The option (and role variable) that gives the CA certificate of a private ACME server.
CA_BUNDLE_OPTION = "acme_ca_bundle (role: letsencrypt_dns_acme_ca_bundle)"


def ca_bundle_option(ca_bundle: str | None) -> str:
    """What a TLS failure names to fix it: the option, and the bundle in use when one is set."""
    if ca_bundle:
        return "%s, now %s" % (CA_BUNDLE_OPTION, ca_bundle)
    return CA_BUNDLE_OPTION


@dataclass(frozen=True)
class AcmeSettings:
    """The shared ACME options of the modules (see the ``certfleet.acme.acme`` doc fragment)."""

    directory_url: str
    state_dir: str
    ca_bundle: str | None = None
    account_email: str | None = None
    terms_agreed: bool = False
    request_timeout: int = 30
    rate_limit_wait: int = DEFAULT_RATE_LIMIT_WAIT
    eab_kid: str | None = None
    # The MAC key is a secret: never in a repr, a log line or a message.
    eab_hmac_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_params(cls, params: dict) -> AcmeSettings:
        """Build the settings from a module's validated parameters; ValueError names a bad value."""
        wait = params.get("rate_limit_wait")
        if wait is not None and wait < 0:
            raise ValueError("rate_limit_wait: must be 0 or more seconds, got %r" % wait)
        problem = directory_url_error(params["acme_directory"], bool(params.get("acme_allow_plain_http")))
        if problem:
            raise ValueError(problem)
        return cls(
            directory_url=params["acme_directory"],
            state_dir=params["state_dir"],
            ca_bundle=params.get("acme_ca_bundle"),
            account_email=params.get("account_email"),
            terms_agreed=bool(params.get("terms_agreed")),
            request_timeout=params.get("request_timeout") or 30,
            rate_limit_wait=DEFAULT_RATE_LIMIT_WAIT
            if params.get("rate_limit_wait") is None
            else params["rate_limit_wait"],
            eab_kid=params.get("eab_kid") or None,
            eab_hmac_key=params.get("eab_hmac_key") or None,
        )

    @property
    def verify(self):
        """What requests' ``verify`` gets: the CA bundle path, or True for the system store."""
        return self.ca_bundle or True


class RetryingNetwork(_NetworkBase):
    """A ClientNetwork that retries ``badNonce`` more than once, and waits out short rate limits.

    The library retries a rejected nonce once; under load or against Pebble
    two rejections in a row are common enough to fail a fleet run. Each retry
    signs with a fresh nonce: the rejected one is gone from the pool, so the
    next attempt takes another or asks ``newNonce``.

    A ``429`` answer becomes :class:`RateLimited`. When its ``Retry-After``
    is at most ``rate_limit_wait`` seconds the request is sent again after
    exactly that long (never sooner), at most ``RATE_LIMIT_RETRIES`` times;
    a longer one, or none, is raised at once with the time to retry, so a
    run neither hammers the CA nor sits out an hour-long limit.
    """

    rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT
    ca_bundle: str | None = None

    def _send_request(self, method, url, *args, **kwargs):
        """Every request; a certificate the client does not trust becomes :class:`TlsVerifyError` saying the fix."""
        try:
            return super()._send_request(method, url, *args, **kwargs)
        except Exception as exc:
            hint = tls_error_hint(url, exc, ca_bundle_option(self.ca_bundle))
            if hint is None:
                raise
            raise TlsVerifyError(hint) from exc

    @classmethod
    def _check_response(cls, response, content_type=None):
        """Raise a 409 answer that carries a problem document as that problem.

        The library turns every 409 into a bare ``ConflictError`` and drops
        the body, but RFC 9773 answers a ``replaces`` naming an already
        replaced certificate with 409 and ``alreadyReplaced``, and the client
        must see that type to order again without it. A 409 without a
        problem document still becomes ``ConflictError``.
        """
        if response.status_code == 429:
            raise rate_limited(response)
        if response.status_code == 409:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("type"), str):
                try:
                    problem = messages.Error.from_json(body)
                except jose.DeserializationError:
                    problem = None
                if problem is not None:
                    raise problem
        return super()._check_response(response, content_type=content_type)

    def _waiting_out_rate_limits(self, call, *args, **kwargs):
        """``call(...)``, sent again after a short Retry-After; see the class docstring."""
        waited = 0
        while True:
            try:
                return call(*args, **kwargs)
            except RateLimited as limited:
                limited.waited = waited
                if limited.retry_after is None or limited.retry_after > self.rate_limit_wait:
                    raise
                if waited >= RATE_LIMIT_RETRIES:
                    raise
                time.sleep(limited.retry_after)
                waited += 1

    def _post_retrying_nonces(self, *args, **kwargs):
        for attempt in range(NONCE_ATTEMPTS):
            try:
                return self._post_once(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce" or attempt == NONCE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def post(self, *args, **kwargs):
        return self._waiting_out_rate_limits(self._post_retrying_nonces, *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._waiting_out_rate_limits(super().get, *args, **kwargs)

    def get_unchecked(self, url: str):
        """GET ``url`` with rate limits waited out, any other status left to the caller (the directory's check)."""

        def once():
            response = self._send_request("GET", url)
            if response.status_code == 429:
                raise rate_limited(response)
            return response

        return self._waiting_out_rate_limits(once)


def rate_limited(response) -> RateLimited:
    """The 429 answer ``response`` as :class:`RateLimited`, with the CA's detail when it sent a problem."""
    detail = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        detail = body["detail"]
    return RateLimited(response.url or "?", detail, retry_after_seconds(response, None))


def make_network(settings: AcmeSettings, key=None, account_url: str | None = None) -> RetryingNetwork:
    """A network for one thread, signing with ``key`` (in the algorithm its type needs) and the account URL as ``kid``."""
    network = RetryingNetwork(
        key=key,
        alg=signing_algorithm(key),
        verify_ssl=settings.verify,
        user_agent=USER_AGENT,
        timeout=settings.request_timeout,
    )
    network.rate_limit_wait = settings.rate_limit_wait
    network.ca_bundle = settings.ca_bundle
    if account_url:
        network.account = account_resource(account_url)
    return network


def account_resource(url: str):
    """The minimal account object ClientNetwork needs to sign with ``kid``."""
    return messages.RegistrationResource(uri=url, body=messages.Registration())


def fetch_directory(settings: AcmeSettings):
    """GET the directory once per run; it is immutable and shared by all threads.

    Read without the library's response check, which turns a wrong URL into ``ClientError: <Response [404]>``:
    anything but a directory is NoDirectoryError, ``no ACME directory at URL (HTTP 404)``, as the ARI lookup says it.
    """
    url = settings.directory_url
    response = make_network(settings).get_unchecked(url)
    return messages.Directory.from_json(directory_document(url, response.status_code, response.json))


def directory_field(directory, name: str):
    """A top-level field of the directory, or None when the CA does not list it."""
    try:
        return directory[name]
    except (KeyError, TypeError):
        return None


def directory_meta(directory, name: str):
    """A field of the directory's ``meta`` object, or None."""
    meta = directory_field(directory, "meta")
    if meta is None:
        return None
    if isinstance(meta, dict):
        return meta.get(name)
    return getattr(meta, name, None)


def offered_profiles(directory) -> dict | None:
    """``meta.profiles`` (profile name: description), or None when the CA lists no profiles."""
    profiles = directory_meta(directory, "profiles")
    if not profiles:
        return None
    return {str(name): str(description) for name, description in dict(profiles).items()}


def renewal_info_url(directory) -> str | None:
    """The ``renewalInfo`` URL (RFC 9773), or None when the CA does not offer ARI."""
    url = directory_field(directory, "renewalInfo")
    return url if isinstance(url, str) and url else None


def external_account_required(directory) -> bool:
    """Whether ``meta.externalAccountRequired`` is true (RFC 8555 section 7.1.1)."""
    return directory_meta(directory, "external_account_required") is True or (
        directory_meta(directory, "externalAccountRequired") is True
    )


class AcmeSession:
    """What a run's worker threads share, and a per-thread client factory."""

    def __init__(self, settings: AcmeSettings, directory, account_key, account_url: str | None = None) -> None:
        self.settings = settings
        self.directory = directory
        self.account_key = account_key
        self.account_url = account_url
        self._local = threading.local()

    def client(self):
        """This thread's ClientV2, created on first use with the session's account."""
        client = getattr(self._local, "client", None)
        if client is None or getattr(self._local, "account_url", None) != self.account_url:
            network = make_network(self.settings, self.account_key, self.account_url)
            client = acme_lib.ClientV2(self.directory, network)
            self._local.client = client
            self._local.account_url = self.account_url
        return client

    def post(self, url: str, obj, headers: dict | None = None):
        """A signed POST through this thread's client (``obj=None`` makes it a POST-as-GET)."""
        client = self.client()
        kwargs = {"new_nonce_url": self.directory["newNonce"]}
        if headers:
            kwargs["headers"] = dict(headers)
        return client.net.post(url, obj, **kwargs)

    def post_as_get(self, url: str, accept: str | None = None):
        """Fetch an order, authorization or certificate (RFC 8555 section 6.3)."""
        headers = None
        if accept:
            headers = {"Content-Type": JOSE_CONTENT_TYPE, "Accept": accept}
        return self.post(url, None, headers=headers)


def retry_after_seconds(response, default: float | None, now: datetime.datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: delta or HTTP date), else ``default``."""
    value = (response.headers or {}).get("Retry-After") if response is not None else None
    clock = now.timestamp if now is not None else time.time
    seconds = parse_retry_after(value, clock, http_only=True)
    return default if seconds is None else seconds


def poll_interval(response, attempt: int) -> float:
    """How long to wait before the next poll: Retry-After if given, else 0.5 s growing to 5 s.

    A CA often validates or issues within a second; a first poll at half a second saves most of a second per
    wait (authorizations, then issuance) when it does, and the growth keeps a slow CA from being hammered.
    """
    return retry_after_seconds(response, min(5.0, 0.5 * (1.5**attempt)))


def acme_argument_spec() -> dict:
    """The argument spec of the shared options (documented in the ``certfleet.acme.acme`` fragment)."""
    return {
        "acme_directory": {"type": "str", "required": True},
        "acme_ca_bundle": {"type": "path"},
        "acme_allow_plain_http": {"type": "bool", "default": False},
        "state_dir": {"type": "path", "required": True},
        "account_email": {"type": "str"},
        "terms_agreed": {"type": "bool", "default": False},
        "request_timeout": {"type": "int", "default": 30},
        "rate_limit_wait": {"type": "int", "default": DEFAULT_RATE_LIMIT_WAIT},
        "eab_kid": {"type": "str"},
        "eab_hmac_key": {"type": "str", "no_log": True},
    }
