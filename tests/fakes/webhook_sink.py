# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTP receiver for webhook tests: records every POST and answers with a chosen status.

``with WebhookSink() as sink: ... sink.url ... sink.requests`` where each
request has ``path``, ``headers`` (a dict) and ``body`` (parsed JSON, or the
raw text when it is not JSON). ``sink.status = 500`` makes it fail;
``sink.redirect = (302, "http://elsewhere/x")`` answers every request with
that redirect instead. Every method is recorded (a followed 302 arrives as a GET).
As a command: ``python tests/fakes/webhook_sink.py --port 8099`` prints every
request until interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, also when loaded by path
from serving import Handler, LoopbackServer, add_address_arguments, serve_until_interrupted  # noqa: E402

MAX_BODY = 10 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: object


class _Handler(Handler):
    timeout = 30
    fake: WebhookSink

    def _receive(self):
        raw = self.read_body(MAX_BODY)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        self.fake.record(Request(self.command, self.path, dict(self.headers.items()), body))
        if self.fake.redirect:
            status, location = self.fake.redirect
            self.send_answer(status, headers=[("Location", location)])
            return
        self.send_json(self.fake.status, {"ok": 200 <= self.fake.status < 300})

    do_POST = _receive  # pylint: disable=invalid-name
    do_PUT = _receive  # pylint: disable=invalid-name
    do_GET = _receive  # pylint: disable=invalid-name
    do_HEAD = _receive  # pylint: disable=invalid-name


class WebhookSink(LoopbackServer):
    handler = _Handler
    thread_name = "webhook-sink"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, status: int = 200):
        super().__init__(host, port)
        self.status = status
        self.redirect: tuple[int, str] | None = None
        self.requests: list[Request] = []
        self.on_request = None
        self._lock = threading.Lock()
        self.bind()

    @property
    def url(self) -> str:
        """Where the webhook is to be sent."""
        return super().url + "/hooks/certfleet"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
        if self.on_request:
            self.on_request(request)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_address_arguments(parser, default_port=8099)
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args(argv)
    sink = WebhookSink(args.host, args.port, args.status)
    sink.on_request = lambda request: print(
        "%s %s\n%s\n" % (request.method, request.path, json.dumps(request.body, indent=2)), flush=True
    )
    return serve_until_interrupted(sink, lambda: "webhook sink on %s" % sink.url)


if __name__ == "__main__":
    raise SystemExit(main())
