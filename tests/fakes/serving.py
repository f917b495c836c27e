# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The serving part every loopback fake shares, so each fake holds only the API it imitates.

A fake subclasses :class:`LoopbackServer` (a threaded server on a free loopback port, started and stopped the
same way, usable with ``with``) and :class:`Handler` (quiet, reads a request body, answers bytes or JSON); an
HTTPS fake returns an ``ssl.SSLContext`` from :meth:`LoopbackServer.tls_context`. :func:`serve_until_interrupted`
is the body of every fake's command mode.

The fakes import this file as a sibling module (each puts its own folder on ``sys.path``), which works when a
fake is imported, loaded by path with importlib, or run as a command.
"""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # testca.py, also when this file is loaded by path
from testca import server_context, write_listener_tls, x509_name  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler that reaches its fake as ``self.fake``."""

    protocol_version = "HTTP/1.1"
    fake: Any  # set on the subclass that LoopbackServer.start makes

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: every fake keeps its own request log."""

    def read_body(self, limit: int | None = None) -> bytes:
        """The request body (at most ``limit`` bytes), empty when there is none."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return b""
        return self.rfile.read(length if limit is None else min(length, limit))

    def send_answer(self, status: int, data: bytes = b"", headers=(), content_type: str | None = None) -> None:
        """Answer ``status`` with ``data``; ``headers`` are pairs or a dict, a list value repeats the header."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, item)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status: int, body, headers=(), content_type: str = "application/json", indent=None) -> None:
        """Answer ``body`` as JSON (``None``: an empty body without a Content-Type)."""
        if body is None:
            self.send_answer(status, b"", headers)
        else:
            self.send_answer(status, json.dumps(body, indent=indent).encode("utf-8"), headers, content_type)


def url_at(path: str) -> property:
    """A read-only attribute of a fake: its base URL followed by ``path``."""
    return property(lambda self: self.url + path, doc="The fake's URL of %s." % path)


class ApiHandler(Handler):
    """Hands every request of the usual methods to ``fake.handle(handler, method)``."""

    def _to_fake(self) -> None:
        self.fake.handle(self, self.command)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _to_fake  # pylint: disable=invalid-name


class ReusableTCPServer(socketserver.ThreadingTCPServer):
    """A plain threaded TCP server (for fakes that are not HTTP, like the SMTP sink)."""

    allow_reuse_address = True
    daemon_threads = True


class LoopbackServer:
    """A fake's server on ``host`` (loopback) and a free port unless ``port`` is given, in a daemon thread."""

    handler: type = Handler
    server_class: type = ThreadingHTTPServer
    thread_name = "loopback-fake"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    scheme = "http"

    @property
    def url(self) -> str:
        """The server's base URL (``port`` is the real one once bound)."""
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    def tls_context(self) -> ssl.SSLContext | None:
        """The listener's TLS context for an HTTPS fake; None serves plain text."""
        return None

    def bind(self) -> socketserver.BaseServer:
        """Open the listening socket (``port`` then holds the real port); :meth:`start` serves it."""
        if self.server is None:
            handler = type(type(self).__name__ + "Handler", (self.handler,), {"fake": self})
            self.server = self.server_class((self.host, self.port), handler)
            self.server.daemon_threads = True
            context = self.tls_context()
            if context is not None:
                self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.port = self.server.server_address[1]
        return self.server

    def start(self):
        """Serve in a daemon thread; returns the fake."""
        server = self.bind()
        self._thread = threading.Thread(target=server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class HttpsLoopbackServer(LoopbackServer):
    """A loopback server behind TLS, with a listener CA of its own that clients trust (``ca_bundle``).

    The CA and listener files go to ``tls_dir``, or to a temporary folder that :meth:`stop` removes.
    """

    scheme = "https"
    ca_common_name = "certfleet fake listener CA"
    ca_organization: str | None = None

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls_dir: str | None = None) -> None:
        super().__init__(host, port)
        self.tls_dir = tls_dir
        self.ca_bundle = ""
        self._own_tls_dir: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        if self.tls_dir is None:
            self._own_tls_dir = self.tls_dir = tempfile.mkdtemp(prefix=self.thread_name + "-")
        subject = x509_name(self.ca_common_name, self.ca_organization)
        self.ca_bundle, cert_path, key_path = write_listener_tls(self.tls_dir, self.host, subject)
        return server_context(cert_path, key_path)

    def stop(self) -> None:
        super().stop()
        if self._own_tls_dir:
            shutil.rmtree(self._own_tls_dir, ignore_errors=True)
            self._own_tls_dir = self.tls_dir = None


class JsonApiFake(LoopbackServer):
    """A fake of a JSON API: each request is dispatched under one lock, logged, and answered as JSON.

    A subclass implements ``_dispatch(method, path, query, raw, handler, extra_headers) -> (status, body)``
    and ``internal_error(exc)`` (the body of a 500 when dispatching raises).
    """

    handler = ApiHandler

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.lock = threading.RLock()
        #: Every request: {"time", "method", "path", "query", "status"} and what :meth:`describe` adds.
        self.requests: list[dict] = []
        self._current: dict = {}

    def describe(self, method: str, path: str) -> dict:
        """What the request log keeps of a request besides time, method, path, query and status."""
        return {}

    def internal_error(self, exc: Exception):
        raise NotImplementedError

    def _dispatch(self, method, path, query, raw, handler, extra_headers):
        raise NotImplementedError

    def handle(self, handler: Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        raw = handler.read_body()
        extra_headers: dict[str, str] = {}
        with self.lock:
            now = time.monotonic()
            self._current = {"method": method, "path": parts.path, "query": parts.query}
            try:
                status, body = self._dispatch(method, parts.path, parse_qs(parts.query), raw, handler, extra_headers)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                status, body = 500, self.internal_error(exc)
            self.requests.append(dict(self._current, time=now, status=status, **self.describe(method, parts.path)))
        handler.send_json(status, body, extra_headers)


def add_address_arguments(parser, default_port: int = 0) -> None:
    """The --host and --port options of a fake's command."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")


def address(args) -> dict:
    """The host and port a fake's command was given, as keyword arguments for the fake."""
    return {"host": args.host, "port": args.port}


def serve_until_interrupted(fake: LoopbackServer, announce: Callable[[], str]) -> int:
    """A fake's command mode: start it, print the line ``announce()`` makes, serve until Ctrl-C, stop it."""
    fake.start()
    sys.stdout.write(announce() + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0
