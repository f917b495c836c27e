# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTP receiver for webhook tests: records every POST and answers with a chosen status.

``with WebhookSink() as sink: ... sink.url ... sink.requests`` where each
request has ``path``, ``headers`` (a dict) and ``body`` (parsed JSON, or the
raw text when it is not JSON). ``sink.status = 500`` makes it fail.
As a command: ``python tests/fakes/webhook_sink.py --port 8099`` prints every
request until interrupted.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: object


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the sink keeps its own request list."""

    def _receive(self):
        sink: WebhookSink = self.server.sink
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, MAX_BODY)) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        sink.record(Request(self.command, self.path, dict(self.headers.items()), body))
        answer = json.dumps({"ok": 200 <= sink.status < 300}).encode()
        self.send_response(sink.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = _receive  # pylint: disable=invalid-name
    do_PUT = _receive  # pylint: disable=invalid-name


class WebhookSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, status: int = 200):
        self.status = status
        self.requests: list[Request] = []
        self.on_request = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sink = self
        self._thread = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return "http://%s:%d/hooks/certfleet" % (self._server.server_address[0], self.port)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
        if self.on_request:
            self.on_request(request)

    def start(self) -> WebhookSink:
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args(argv)
    sink = WebhookSink(args.host, args.port, args.status)
    sink.on_request = lambda request: print(
        "%s %s\n%s\n" % (request.method, request.path, json.dumps(request.body, indent=2)), flush=True
    )
    print("webhook sink on %s" % sink.url, flush=True)
    try:
        sink._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
