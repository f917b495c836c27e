# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HTTPS proxy in front of an ACME server that answers chosen requests with ``429 rateLimited``.

Pebble never rate-limits, but a real CA does (Let's Encrypt: too many new
orders, too many certificates for a name...), and then answers ``429 Too Many
Requests`` with a ``urn:ietf:params:acme:error:rateLimited`` problem document
and a ``Retry-After`` header. This proxy puts that answer where a test wants
it, and forwards everything else to the real server:

* It listens with TLS on loopback; its listener certificate is signed by a
  CA made at start (``ca_bundle``, what the client must trust). It connects
  to the upstream server trusting ``upstream_ca``.
* The client's ``Host`` header is forwarded unchanged. Pebble builds every
  URL it returns (directory, orders, authorizations, ``Location``, ``Link``)
  from that header, so every URL the client gets points at the proxy, and
  the JWS ``url`` the client signs matches what Pebble expects.
* ``add_fault(endpoint, times, retry_after, names=None)`` makes the next
  ``times`` requests to ``endpoint`` (``newOrder``, ``finalize``,
  ``newNonce``, ``newAccount``) answer 429 instead of being forwarded;
  with ``names``, only requests for an order with exactly those DNS names
  (newOrder: the identifiers in the JWS payload; finalize: the identifiers
  of the order whose ``finalize`` URL it is, learnt from the order objects
  that passed through). Each 429 carries a fresh ``Replay-Nonce`` fetched
  from upstream, as a real server's error answers do. ``clear_faults()``
  forwards everything again.
* Every request is recorded in ``requests`` (monotonic time, method, path,
  endpoint, names, status answered, problem type of an error), so a test
  can count retries and measure the time between them (``seen``).

In-process only: ``AcmeFaultProxy(upstream_directory, upstream_ca).start()``,
``stop()`` (or ``with``).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, testca.py, also when loaded by path
from serving import Handler, HttpsLoopbackServer  # noqa: E402

RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited"
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1), plus the ones rebuilt here.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
DIRECTORY_ENDPOINTS = ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange")


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with ``status`` and this problem."""

    endpoint: str
    times: int
    retry_after: str | None
    names: frozenset | None = None
    status: int = 429
    detail: str = "too many requests (certfleet fault proxy)"
    answered: int = 0

    def matches(self, endpoint: str, names: frozenset | None) -> bool:
        if self.answered >= self.times or endpoint != self.endpoint:
            return False
        return self.names is None or self.names == names


@dataclass
class Seen:
    """One request the proxy got."""

    at: float
    method: str
    path: str
    endpoint: str
    names: frozenset | None
    status: int = 0
    faulted: bool = False
    #: The problem ``type`` of an error answer (from upstream or a fault), else None.
    problem: str | None = None


def _b64url_json(text: str):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def payload_identifiers(body: bytes) -> frozenset | None:
    """The DNS names in a newOrder JWS payload, or None when the body is not one."""
    try:
        payload = _b64url_json(json.loads(body)["payload"])
        return frozenset(item["value"] for item in payload["identifiers"])
    except (ValueError, KeyError, TypeError):
        return None


class _Handler(Handler):
    fake: AcmeFaultProxy

    def do_GET(self):  # pylint: disable=invalid-name
        self._handle()

    def do_HEAD(self):  # pylint: disable=invalid-name
        self._handle()

    def do_POST(self):  # pylint: disable=invalid-name
        self._handle()

    def _handle(self) -> None:
        status, headers, data = self.fake.handle(self.command, self.path, dict(self.headers.items()), self.read_body())
        self.send_answer(status, data, headers)


class AcmeFaultProxy(HttpsLoopbackServer):
    """A loopback HTTPS proxy to an ACME server with injectable 429 answers and a request log."""

    def __init__(self, upstream_directory: str, upstream_ca: str, host: str = "127.0.0.1", port: int = 0) -> None:
        parsed = urllib.parse.urlsplit(upstream_directory)
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port or 443
        self.directory_path = parsed.path or "/"
        self.upstream_ca = upstream_ca
        super().__init__(host, port)
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        #: Path of each newOrder/finalize/... endpoint, learnt from the directory as it passes through.
        self.endpoints: dict[str, str] = {}
        #: The DNS names of the order each finalize path belongs to.
        self.finalize_names: dict[str, frozenset] = {}
        self._upstream_context = ssl.create_default_context(cafile=upstream_ca)

    handler = _Handler
    thread_name = "acme-fault-proxy"
    ca_common_name = "certfleet ACME fault proxy CA"

    # -- life cycle

    def start(self) -> AcmeFaultProxy:
        super().start()
        # Learn the endpoint paths now, so faults match from the very first request.
        self.handle("GET", self.directory_path, {"Host": self.netloc}, b"", record=False)
        return self

    @property
    def netloc(self) -> str:
        return "%s:%d" % (self.host, self.port)

    @property
    def directory_url(self) -> str:
        return "https://%s%s" % (self.netloc, self.directory_path)

    # -- what tests set and read

    def add_fault(self, endpoint: str, times: int, retry_after, names=None, detail: str | None = None) -> Fault:
        """Answer the next ``times`` requests to ``endpoint`` (for ``names`` only, if given) with 429."""
        fault = Fault(
            endpoint=endpoint,
            times=times,
            retry_after=None if retry_after is None else str(retry_after),
            names=frozenset(names) if names else None,
        )
        if detail:
            fault.detail = detail
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Forward everything from now on."""
        with self.lock:
            self.faults.clear()

    def seen(self, endpoint: str, names=None) -> list[Seen]:
        """The requests to ``endpoint`` (for exactly ``names``, if given), in arrival order."""
        wanted = frozenset(names) if names else None
        with self.lock:
            return [
                seen for seen in self.requests if seen.endpoint == endpoint and (wanted is None or seen.names == wanted)
            ]

    # -- the proxying

    def _classify(self, method: str, path: str, body: bytes) -> tuple[str, frozenset | None]:
        if path == self.directory_path:
            return "directory", None
        for name, endpoint_path in self.endpoints.items():
            if path == endpoint_path:
                return name, payload_identifiers(body) if name == "newOrder" else None
        if path in self.finalize_names:
            return "finalize", self.finalize_names[path]
        return "other", None

    def _upstream(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPSConnection(
            self.upstream_host, self.upstream_port, context=self._upstream_context, timeout=30
        )
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            data = response.read()
            return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS], data
        finally:
            connection.close()

    def _learn(self, path: str, data: bytes) -> None:
        """Remember endpoint paths (directory) and which order each finalize URL belongs to (order objects)."""
        try:
            document = json.loads(data)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        if path == self.directory_path:
            for name in DIRECTORY_ENDPOINTS:
                if isinstance(document.get(name), str):
                    self.endpoints[name] = urllib.parse.urlsplit(document[name]).path
        finalize = document.get("finalize")
        identifiers = document.get("identifiers")
        if isinstance(finalize, str) and isinstance(identifiers, list):
            names = frozenset(item.get("value") for item in identifiers if isinstance(item, dict))
            self.finalize_names[urllib.parse.urlsplit(finalize).path] = names

    def _fresh_nonce(self, headers: dict) -> str | None:
        nonce_path = self.endpoints.get("newNonce")
        if not nonce_path:
            return None
        _status, answer, _data = self._upstream("HEAD", nonce_path, {"Host": headers.get("Host", self.netloc)}, b"")
        return dict((k.lower(), v) for k, v in answer).get("replay-nonce")

    def _fault_answer(self, fault: Fault, headers: dict) -> tuple[int, list, bytes]:
        problem = {"type": RATE_LIMITED, "detail": fault.detail, "status": fault.status}
        answer = [("Content-Type", "application/problem+json"), ("Cache-Control", "no-store")]
        if fault.retry_after is not None:
            answer.append(("Retry-After", fault.retry_after))
        nonce = self._fresh_nonce(headers)
        if nonce:
            answer.append(("Replay-Nonce", nonce))
        return fault.status, answer, json.dumps(problem).encode("utf-8")

    def handle(self, method: str, path: str, headers: dict, body: bytes, record: bool = True):
        """Answer one request: a fault if one matches, else whatever upstream answers."""
        with self.lock:
            endpoint, names = self._classify(method, path, body)
            seen = Seen(at=time.monotonic(), method=method, path=path, endpoint=endpoint, names=names)
            fault = next((f for f in self.faults if f.matches(endpoint, names)), None)
            if fault is not None:
                fault.answered += 1
            if record:
                self.requests.append(seen)
        if fault is not None:
            status, answer, data = self._fault_answer(fault, headers)
            seen.faulted = True
        else:
            try:
                status, answer, data = self._upstream(method, path, headers, body)
            except OSError as exc:
                status, answer = 502, [("Content-Type", "text/plain")]
                data = ("upstream %s:%s failed: %s" % (self.upstream_host, self.upstream_port, exc)).encode()
            if status < 400:
                with self.lock:
                    self._learn(path, data)
        seen.status = status
        if status >= 400:
            try:
                seen.problem = json.loads(data).get("type")
            except (ValueError, AttributeError):
                seen.problem = None
        return status, answer, data
