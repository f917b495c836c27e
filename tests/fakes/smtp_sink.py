# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal SMTP receiver for tests (``smtpd`` is gone from Python 3.12).

It speaks enough of RFC 5321 for smtplib: the greeting, ``EHLO``/``HELO``,
``AUTH PLAIN`` and ``AUTH LOGIN`` (RFC 4954, with or without an initial
response), ``MAIL FROM``, ``RCPT TO``, ``DATA`` (with dot-unstuffing),
``RSET``, ``NOOP`` and ``QUIT``. Every accepted message is recorded with its
envelope and the credentials it logged in with; nothing is relayed.

``users`` (name to password) makes logins checked and required; without it
no login is needed and any login is accepted. Every connection has a
deadline and every line a length limit, so a stuck client cannot hang a test.

In-process: ``with SmtpSink() as sink: ... sink.port ... sink.messages``.
As a command: ``python tests/fakes/smtp_sink.py --port 2525`` prints every
message it receives until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import email
import email.policy
import os
import socketserver
import sys
import threading
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serving.py, also when loaded by path
from serving import LoopbackServer, ReusableTCPServer, add_address_arguments, serve_until_interrupted  # noqa: E402

MAX_LINE = 8192
MAX_MESSAGE = 10 * 1024 * 1024
CONNECTION_TIMEOUT = 30


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    username: str | None = None
    password: str | None = None
    helo: str | None = None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content()


@dataclass
class _Session:
    helo: str | None = None
    username: str | None = None
    password: str | None = None
    mail_from: str | None = None
    rcpt_to: list[str] = field(default_factory=list)


def _address(argument: str, keyword: str) -> str | None:
    """'FROM:<a@b> SIZE=10' -> 'a@b' (keyword FROM or TO); None when malformed."""
    head, sep, rest = argument.partition(":")
    if not sep or head.strip().upper() != keyword:
        return None
    rest = rest.strip()
    if rest.startswith("<"):
        end = rest.find(">")
        return rest[1:end] if end >= 0 else None
    return rest.split(" ", 1)[0] or None


class _Handler(socketserver.StreamRequestHandler):
    timeout = CONNECTION_TIMEOUT
    fake: SmtpSink  # set on the subclass that LoopbackServer.bind makes

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def read_line(self) -> str | None:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        return line.decode("utf-8", errors="replace").rstrip("\r\n")

    def handle(self):
        sink = self.fake
        session = _Session()
        self.reply("220 %s certfleet SMTP sink ready" % sink.name)
        while True:
            line = self.read_line()
            if line is None:
                return
            verb, _sep, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                session = _Session(helo=argument.strip())
                self.reply("250-%s greets %s" % (sink.name, argument.strip()))
                self.reply("250-AUTH PLAIN LOGIN")
                self.reply("250-8BITMIME")
                self.reply("250 SIZE %d" % MAX_MESSAGE)
            elif verb == "HELO":
                session = _Session(helo=argument.strip())
                self.reply("250 %s" % sink.name)
            elif verb == "AUTH":
                self.auth(sink, session, argument)
            elif verb == "MAIL":
                address = _address(argument, "FROM")
                if address is None:
                    self.reply("501 syntax: MAIL FROM:<address>")
                elif sink.users and session.username is None:
                    self.reply("530 authentication required")
                elif sink.refuse_mail:
                    self.reply("451 %s" % sink.refuse_mail)
                else:
                    session.mail_from = address
                    session.rcpt_to = []
                    self.reply("250 OK")
            elif verb == "RCPT":
                address = _address(argument, "TO")
                if session.mail_from is None:
                    self.reply("503 need MAIL first")
                elif address is None:
                    self.reply("501 syntax: RCPT TO:<address>")
                else:
                    session.rcpt_to.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                if session.mail_from is None or not session.rcpt_to:
                    self.reply("503 need MAIL and RCPT first")
                    continue
                self.reply("354 end data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if data is None:
                    return
                sink.record(
                    Received(
                        session.mail_from,
                        list(session.rcpt_to),
                        data,
                        session.username,
                        session.password,
                        session.helo,
                    )
                )
                session.mail_from, session.rcpt_to = None, []
                self.reply("250 OK queued")
            elif verb == "RSET":
                session.mail_from, session.rcpt_to = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")

    def read_data(self) -> bytes | None:
        lines = []
        size = 0
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if not raw:
                return None
            line = raw.rstrip(b"\r\n")
            if line == b".":
                return b"\r\n".join(lines) + b"\r\n"
            if line.startswith(b".."):
                line = line[1:]
            size += len(line) + 2
            if size <= MAX_MESSAGE:
                lines.append(line)

    def auth(self, sink, session, argument: str) -> None:
        mechanism, _sep, initial = argument.strip().partition(" ")
        mechanism = mechanism.upper()
        try:
            if mechanism == "PLAIN":
                if not initial:
                    self.reply("334 ")
                    initial = self.read_line() or ""
                parts = base64.b64decode(initial, validate=True).decode("utf-8").split("\0")
                if len(parts) != 3:
                    raise ValueError("bad PLAIN response")
                username, password = parts[1], parts[2]
            elif mechanism == "LOGIN":
                if initial:
                    username = base64.b64decode(initial, validate=True).decode("utf-8")
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    username = base64.b64decode(self.read_line() or "", validate=True).decode("utf-8")
                self.reply("334 UGFzc3dvcmQ6")
                password = base64.b64decode(self.read_line() or "", validate=True).decode("utf-8")
            else:
                self.reply("504 unrecognized authentication type")
                return
        except (ValueError, binascii.Error):
            self.reply("501 cannot decode the response")
            return
        if sink.users and sink.users.get(username) != password:
            self.reply("535 5.7.8 authentication credentials invalid")
            return
        session.username, session.password = username, password
        self.reply("235 2.7.0 authentication successful")


class SmtpSink(LoopbackServer):
    """The receiver, on ``host`` (loopback) and a free port unless ``port`` is given."""

    handler = _Handler
    server_class = ReusableTCPServer
    thread_name = "smtp-sink"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, users: dict | None = None, name: str = "sink.test"):
        super().__init__(host, port)
        self.name = name
        self.users = dict(users or {})
        self.refuse_mail = None  # set to a text to answer MAIL with 451 and that text
        self.on_message = None  # called with every Received message
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self.bind()

    def record(self, message: Received) -> None:
        with self._lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_address_arguments(parser, default_port=2525)
    args = parser.parse_args(argv)
    sink = SmtpSink(args.host, args.port)

    def show(message: Received) -> None:
        print(
            "From %s to %s\n%s\n" % (message.mail_from, ", ".join(message.rcpt_to), message.data.decode()), flush=True
        )

    sink.on_message = show
    return serve_until_interrupted(sink, lambda: "SMTP sink on %s:%d" % (sink.host, sink.port))


if __name__ == "__main__":
    raise SystemExit(main())
