# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real SMTP server (aiosmtpd) on loopback, with or without STARTTLS, that records how each login arrived.

smtp_sink.py is a hand-written receiver without TLS; the alert's security
(no login in clear, STARTTLS by default, the server's certificate verified)
is tested against a real implementation instead: aiosmtpd's ``SMTP``, with a
listener certificate of a test CA (tests/fakes/testca.py) when ``starttls``
is on. Every ``AUTH`` command is recorded as it arrives, before aiosmtpd
answers it, with whether the session was TLS at that moment, so a test can
assert from the server's side that no password came in clear.

``with AiosmtpdServer(users={"u": "p"}, starttls=True, tls_dir=...) as server:``
then ``server.port``, ``server.ca_bundle``, ``server.auth_commands`` and
``server.messages``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, syntax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # testca.py, also when loaded by path
from testca import server_context, write_listener_tls, x509_name  # noqa: E402


@dataclass
class AuthCommand:
    """One AUTH command as the server got it: the mechanism and whether the session was TLS then."""

    mechanism: str
    tls: bool


@dataclass
class Delivered:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    login: str | None
    tls: bool


class _RecordingSMTP(SMTP):
    """aiosmtpd's server, recording each AUTH command before it is handled."""

    recorder: AiosmtpdServer

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command naming
        self.recorder.record_auth(AuthCommand(arg.split(" ", 1)[0].upper(), self._tls_protocol is not None))
        await super().smtp_AUTH(arg)


class _Handler:
    def __init__(self, server: AiosmtpdServer):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook naming
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.server.record_message(
            Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login, session.ssl is not None)
        )
        return "250 OK"


class _Controller(Controller):
    """Binds port 0 and learns the port the system chose before aiosmtpd's readiness probe connects."""

    def __init__(self, server: AiosmtpdServer, **kwargs):
        super().__init__(_Handler(server), hostname=server.host, port=0, **kwargs)
        self.recorder = server

    def factory(self):
        smtp = _RecordingSMTP(self.handler, **self.SMTP_kwargs)
        smtp.recorder = self.recorder
        return smtp

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class AiosmtpdServer:
    """The server on ``host``; ``users`` (name to password) are checked; ``starttls`` offers STARTTLS."""

    def __init__(self, host: str = "127.0.0.1", users: dict | None = None, starttls: bool = False, tls_dir=None):
        self.host = host
        self.users = dict(users or {})
        self.starttls = starttls
        self.tls_dir = str(tls_dir) if tls_dir else None
        self.ca_bundle = ""
        self.auth_commands: list[AuthCommand] = []
        self.messages: list[Delivered] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None
        self._own_tls_dir: tempfile.TemporaryDirectory | None = None

    @property
    def port(self) -> int:
        assert self._controller is not None, "not started"
        return self._controller.port

    def record_auth(self, command: AuthCommand) -> None:
        with self._lock:
            self.auth_commands.append(command)

    def record_message(self, message: Delivered) -> None:
        with self._lock:
            self.messages.append(message)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> AiosmtpdServer:
        kwargs = {
            "authenticator": self._authenticate,
            # The client's choice is under test, not aiosmtpd's refusal: AUTH in clear is answered, and recorded.
            # A mail without a login is accepted too (each Delivered says whether it logged in).
            "auth_require_tls": False,
            "server_hostname": "aiosmtpd.test",
        }
        if self.starttls:
            if self.tls_dir is None:
                self._own_tls_dir = tempfile.TemporaryDirectory(prefix="aiosmtpd-")
                self.tls_dir = self._own_tls_dir.name
            subject = x509_name("certfleet aiosmtpd test CA", None)
            self.ca_bundle, cert_path, key_path = write_listener_tls(self.tls_dir, self.host, subject)
            kwargs["tls_context"] = server_context(cert_path, key_path)
        self._controller = _Controller(self, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        if self._own_tls_dir is not None:
            self._own_tls_dir.cleanup()
            self._own_tls_dir = None

    def __enter__(self) -> AiosmtpdServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
