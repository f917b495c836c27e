# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real nginx, apache2 and haproxy on loopback ports, and the certificates they serve, for the deploy tests.

Each server runs from its own configuration in a temporary directory (never
the system configuration, never port 80 or 443) on a free 127.0.0.1 port and
is stopped by its process id. The configuration names the files the
``cert_deploy`` module writes (``<dest>/<cert>/...`` or ``<dest>/<cert>.pem``),
and the server starts with an "old" certificate already in those files, as a
host that was deployed to before. Every server offers the commands the module
is given: its configuration test, and a reload that also appends a line to
``reloads.log`` so a test can count reloads. ``break_config`` makes the
configuration invalid without touching the running server.

The certificates: a test CA, and two leaves for ``SNI`` with their own keys
and different serial numbers ("old" and "new"), plus an unrelated one for a
decoy endpoint that serves something else.

For the role tests (renew.yml issues on the rig, then deploys): ``running``
starts one server per type, each with its own certificate name and SNI in a
rig zone, ``Server.role_entry`` is the server as an entry of
``letsencrypt_dns_deploy``, and ``Leaf.issued`` reads back what the role
issued, to compare with what is served and on disk.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import (
    ServedCertError,
    fetch_served_certificate,
)

SNI = "www.deploy.test"
CERT = "www"
# The role tests issue on the rig: their names must be in one of its zones.
ROLE_DOMAIN = "deploy.example.test"
APACHE_MODULES = Path("/usr/lib/apache2/modules")
START_TIMEOUT = 15
FILE_KINDS = ("privkey", "cert", "chain", "fullchain")


# ------------------------------------------------------------------ certificates
@dataclass
class Leaf:
    """A leaf certificate with its key and chain, as the role passes them to the module."""

    privkey: str
    cert: str
    chain: str
    serial: str

    @property
    def fullchain(self) -> str:
        return self.cert + self.chain

    @classmethod
    def issued(cls, state: Path, cert: str) -> Leaf:
        """What the role keeps for ``cert`` in its state directory ``state``."""
        directory = state / cert
        texts = [(directory / ("%s.pem" % kind)).read_text() for kind in ("privkey", "cert", "chain")]
        serial = x509.load_pem_x509_certificate(texts[1].encode("ascii")).serial_number
        return cls(*texts, format_serial(serial))

    def module_args(self) -> dict:
        return {
            "privkey": self.privkey,
            "cert_pem": self.cert,
            "chain_pem": self.chain,
            "fullchain_pem": self.fullchain,
        }


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


class DeployCA:
    """A CA that signs leaves for the tests; every leaf gets a fresh key and a random serial."""

    def __init__(self, name: str = "certfleet deploy test CA"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def leaf(self, names=(SNI,)) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        privkey = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        return Leaf(privkey, _pem(cert), _pem(self.cert), format_serial(cert.serial_number))


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def served_serial(port: int, sni: str = SNI, timeout: float = 3) -> str | None:
    """Serial (hex) served on 127.0.0.1:port for ``sni``, None when nothing can be read."""
    try:
        return format_serial(fetch_served_certificate("127.0.0.1", port, sni, timeout).serial_number)
    except ServedCertError:
        return None


def wait_for_serial(port: int, serial: str | None, timeout: float = START_TIMEOUT, sni: str = SNI) -> str | None:
    """Wait until the port serves ``serial`` (any certificate when None); the last serial seen."""
    deadline = time.monotonic() + timeout
    seen = served_serial(port, sni)
    while time.monotonic() < deadline and (seen is None or (serial is not None and seen != serial)):
        time.sleep(0.1)
        seen = served_serial(port, sni)
    return seen


def key_body(leaf: Leaf) -> list[str]:
    """The base64 lines of a private key that hold private bytes: none of them may show up in any output.

    The last line of an EC key is its public point only, which the certificate (shown in the module's
    arguments) holds too; such lines are left out.
    """
    public = "".join(line for line in leaf.fullchain.splitlines() if not line.startswith("-----"))
    return [line for line in leaf.privkey.splitlines() if line and not line.startswith("-----") and line not in public]


def assert_no_key(text: str, *leaves: Leaf) -> None:
    for leaf in leaves:
        assert key_body(leaf)
        for line in key_body(leaf):
            at = text.find(line)
            assert at < 0, "key line %r in output: ...%s..." % (line, text[max(0, at - 300) : at + 300])


def port_closed(port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return True
        time.sleep(0.1)
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_pid(pid: int, sig: int = signal.SIGTERM) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def write_deployed(dest: Path, cert: str, leaf: Leaf, bundle: bool = False) -> None:
    """Files as a previous deploy left them, so a server can start on the old certificate."""
    if bundle:
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / ("%s.pem" % cert)
        path.write_text(expected_files(leaf, bundle=True)["bundle"])
        path.chmod(0o600)
        return
    directory = dest / cert
    directory.mkdir(parents=True, exist_ok=True)
    for kind, text in expected_files(leaf).items():
        (directory / ("%s.pem" % kind)).write_text(text)
        (directory / ("%s.pem" % kind)).chmod(0o600 if kind == "privkey" else 0o644)


def expected_files(leaf: Leaf, bundle: bool = False) -> dict[str, str]:
    """What a deploy of ``leaf`` writes, by kind, as ``Server.files`` reads it back."""
    if bundle:
        return {"bundle": leaf.privkey + leaf.fullchain}
    return {"privkey": leaf.privkey, "cert": leaf.cert, "chain": leaf.chain, "fullchain": leaf.fullchain}


# ------------------------------------------------------------------ servers
class Server:
    """What the tests use of every server: port, dest, commands, reload count, start/stop, breaking the config."""

    kind = ""
    bundle = False

    def __init__(self, root: Path, old: Leaf, cert: str = CERT, sni: str = SNI):
        self.root = root
        self.dest = root / "tls"
        self.port = free_port()
        self.old = old
        self.cert = cert
        self.sni = sni
        self.marker = root / "reloads.log"
        self.config = root / "server.conf"
        root.mkdir(parents=True, exist_ok=True)
        write_deployed(self.dest, cert, old, bundle=self.bundle)
        self.configure()

    def configure(self) -> None:
        """Write the configuration (naming the deployed files) and set the commands."""
        raise NotImplementedError

    # what the module is given
    validate_command = ""
    reload_command = ""

    def role_entry(self, **extra) -> dict:
        """This server as an entry of the role's ``letsencrypt_dns_deploy``."""
        entry = {
            "cert": self.cert,
            "type": self.kind,
            "dest": str(self.dest),
            "validate_command": self.validate_command,
            "reload_command": self.reload_command,
            "verify": {"host": "127.0.0.1", "port": self.port, "sni": self.sni, "timeout": 3},
            "verify_retries": 20,
            "verify_delay": 0.25,
        }
        entry.update(extra)
        return entry

    def deploy_args(self, leaf: Leaf, **extra) -> dict:
        """The module's arguments to deploy ``leaf`` to this server."""
        args = self.role_entry(command_timeout=30)
        args.update(leaf.module_args())
        args.update(extra)
        return args

    def files(self) -> dict[str, str]:
        """What the deployed files of this server's certificate hold, by kind (``bundle`` for haproxy)."""
        if self.bundle:
            return {"bundle": (self.dest / ("%s.pem" % self.cert)).read_text()}
        return {kind: (self.dest / self.cert / ("%s.pem" % kind)).read_text() for kind in FILE_KINDS}

    def key_path(self) -> Path:
        return self.dest / ("%s.pem" % self.cert) if self.bundle else self.dest / self.cert / "privkey.pem"

    def served(self) -> str | None:
        """Serial (hex) this server serves for its SNI now."""
        return served_serial(self.port, self.sni)

    def reloads(self) -> int:
        return len(self.marker.read_text().splitlines()) if self.marker.exists() else 0

    def _marked(self, command: str) -> str:
        return "%s && echo reload >> %s" % (command, self.marker)

    def break_config(self) -> None:
        """Make the configuration test fail (the running server is not told)."""
        self._good_config = self.config.read_text()
        self.config.write_text(self._good_config + "\n" + self.broken_line + "\n")

    def repair_config(self) -> None:
        self.config.write_text(self._good_config)

    broken_line = ""

    def start(self) -> Server:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def spawn(self, argv: list[str], env: dict | None = None) -> Server:
        """Start the server in the foreground as a child process (its output dropped), then wait for it."""
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        return self.started()

    #: How long a spawned server may take to end after SIGTERM.
    stop_seconds = 10

    def stop_spawned(self) -> None:
        """Stop the child of :meth:`spawn` (SIGTERM, then SIGKILL), and wait until its port is closed."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        port_closed(self.port)

    def started(self) -> Server:
        seen = wait_for_serial(self.port, self.old.serial, sni=self.sni)
        if seen != self.old.serial:
            self.stop()
            raise RuntimeError(
                "%s on port %d did not come up with the old certificate: %s" % (self.kind, self.port, self.log())
            )
        return self

    def log(self) -> str:
        path = self.root / "error.log"
        return path.read_text()[-3000:] if path.exists() else "(no error log)"


class Nginx(Server):
    kind = "nginx"
    broken_line = "certfleet_no_such_directive on;"

    def configure(self) -> None:
        root = self.prefix = self.root
        (root / "temp").mkdir(exist_ok=True)
        directory = self.dest / self.cert
        self.config.write_text(
            "daemon off;\n"
            "master_process on;\n"
            "worker_processes 1;\n"
            "pid %(root)s/nginx.pid;\n"
            "error_log %(root)s/error.log notice;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log off;\n"
            "  client_body_temp_path %(root)s/temp/body;\n"
            "  proxy_temp_path %(root)s/temp/proxy;\n"
            "  fastcgi_temp_path %(root)s/temp/fastcgi;\n"
            "  uwsgi_temp_path %(root)s/temp/uwsgi;\n"
            "  scgi_temp_path %(root)s/temp/scgi;\n"
            "  server {\n"
            "    listen 127.0.0.1:%(port)d ssl;\n"
            "    server_name %(sni)s;\n"
            "    ssl_certificate %(dir)s/fullchain.pem;\n"
            "    ssl_certificate_key %(dir)s/privkey.pem;\n"
            '    return 200 "ok\\n";\n'
            "  }\n"
            "}\n" % {"root": root, "port": self.port, "sni": self.sni, "dir": directory}
        )
        where = "-c %s -p %s/" % (self.config, self.prefix)
        self.validate_command = "nginx -t %s" % where
        self.reload_command = self._marked("nginx -s reload %s" % where)
        self.proc = None

    def start(self) -> Nginx:
        return self.spawn(["nginx", "-c", str(self.config), "-p", "%s/" % self.prefix])

    stop = Server.stop_spawned


class Apache(Server):
    kind = "apache"
    broken_line = "CertfleetNoSuchDirective on"

    def configure(self) -> None:
        root = self.root
        directory = self.dest / self.cert
        modules = ["mpm_event", "authz_core", "socache_shmcb", "ssl"]
        lines = ["LoadModule %s_module %s/mod_%s.so" % (name, APACHE_MODULES, name) for name in modules]
        self.config.write_text(
            "\n".join(
                [
                    "ServerRoot %s" % root,
                    "PidFile %s/apache2.pid" % root,
                    "ErrorLog %s/error.log" % root,
                    "DefaultRuntimeDir %s" % root,
                    "Mutex file:%s default" % root,
                    *lines,
                    "User www-data",
                    "Group www-data",
                    "ServerName %s" % self.sni,
                    "Listen 127.0.0.1:%d" % self.port,
                    "SSLSessionCache shmcb:%s/ssl_scache(512000)" % root,
                    "<VirtualHost 127.0.0.1:%d>" % self.port,
                    "  ServerName %s" % self.sni,
                    "  SSLEngine on",
                    "  SSLCertificateFile %s/fullchain.pem" % directory,
                    "  SSLCertificateKeyFile %s/privkey.pem" % directory,
                    "</VirtualHost>",
                    "",
                ]
            )
        )
        self.env = dict(os.environ)
        self.env.update(
            {
                "APACHE_RUN_DIR": str(root),
                "APACHE_LOCK_DIR": str(root),
                "APACHE_LOG_DIR": str(root),
                "APACHE_PID_FILE": "%s/apache2.pid" % root,
                "APACHE_RUN_USER": "www-data",
                "APACHE_RUN_GROUP": "www-data",
            }
        )
        where = "-f %s -d %s" % (self.config, root)
        self.validate_command = "apache2 -t %s" % where
        self.reload_command = self._marked("apache2 -k graceful %s" % where)
        self.proc = None

    stop_seconds = 15

    def start(self) -> Apache:
        return self.spawn(["apache2", "-f", str(self.config), "-d", str(self.root), "-D", "FOREGROUND"], self.env)

    stop = Server.stop_spawned


class HAProxy(Server):
    kind = "haproxy"
    bundle = True
    broken_line = "  certfleet-no-such-keyword on"

    def configure(self) -> None:
        self.pidfile = self.root / "haproxy.pid"
        self.config.write_text(
            "global\n"
            "  log stderr format raw local0 warning\n"
            "defaults\n"
            "  mode http\n"
            "  timeout connect 5s\n"
            "  timeout client 5s\n"
            "  timeout server 5s\n"
            "frontend tls\n"
            "  bind 127.0.0.1:%d ssl crt %s/%s.pem\n"
            "  http-request return status 200 content-type text/plain string ok\n" % (self.port, self.dest, self.cert)
        )
        self.start_command = "haproxy -f %s -D -p %s" % (self.config, self.pidfile)
        self.validate_command = "haproxy -c -f %s" % self.config
        # A reload of an haproxy not run by systemd: a new process takes over from the old one (-sf).
        self.reload_command = self._marked("%s -sf $(cat %s)" % (self.start_command, self.pidfile))
        self.pids: set[int] = set()

    def current_pids(self) -> set[int]:
        if not self.pidfile.exists():
            return set()
        return {int(word) for word in self.pidfile.read_text().split() if word.isdigit()}

    def start(self) -> HAProxy:
        subprocess.run(["/bin/sh", "-c", self.start_command], check=True, timeout=30, capture_output=True)
        self.pids |= self.current_pids()
        return self.started()

    def stop(self) -> None:
        for pid in self.pids | self.current_pids():
            _kill_pid(pid)
        port_closed(self.port)
        deadline = time.monotonic() + 5
        for pid in self.pids | self.current_pids():
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid) and not _is_zombie(pid):
                _kill_pid(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


SERVERS = {"nginx": Nginx, "apache": Apache, "haproxy": HAProxy}


def available(kind: str) -> bool:
    return shutil.which({"nginx": "nginx", "apache": "apache2", "haproxy": "haproxy"}[kind]) is not None


# ------------------------------------------------------------------ the role tests
def role_cert(kind: str) -> dict:
    """The certificate of ``kind`` in the role tests: its own name, and an SNI in a rig zone."""
    return {"name": "www-%s" % kind, "names": ["%s.%s" % (kind, ROLE_DOMAIN)]}


@contextlib.contextmanager
def running(root: Path, kinds) -> Iterator[dict[str, Server]]:
    """One server of each kind, serving an old certificate under its ``role_cert``; all stopped at the end.

    Skips the test when a server is not installed.
    """
    missing = [kind for kind in kinds if not available(kind)]
    if missing:
        pytest.skip("not installed: %s (bash scripts/install-system-deps.sh)" % ", ".join(missing))
    ca = DeployCA()
    started: dict[str, Server] = {}
    try:
        for kind in kinds:
            cert = role_cert(kind)
            server = SERVERS[kind](root / kind, ca.leaf(tuple(cert["names"])), cert["name"], cert["names"][0])
            started[kind] = server.start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def deploy_results(run) -> dict[str, dict]:
    """The role's deploy task results of a renew.yml run, by certificate name."""
    deployed = run.task_results("Deploy certificates to the web servers of this host")
    return {item["item"]["cert"]: item for host in deployed for item in host["results"]}


def failure_message(run) -> str:
    """The message the role fails a renew.yml run with, naming what was not issued or deployed."""
    return run.task_results("Fail naming every certificate that was not issued")[0]["msg"]


# ------------------------------------------------------------------ a decoy endpoint
class DecoyTLS:
    """A TLS server on a free loopback port that serves some other certificate (a verify target that is wrong)."""

    def __init__(self, leaf: Leaf, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        certfile = workdir / "decoy-fullchain.pem"
        keyfile = workdir / "decoy-privkey.pem"
        certfile.write_text(leaf.fullchain)
        keyfile.write_text(leaf.privkey)
        keyfile.chmod(0o600)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(certfile), str(keyfile))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.serial = leaf.serial
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = self.listener.accept()
            except OSError:
                continue
            conn.settimeout(3)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.unwrap()
            except (OSError, ssl.SSLError):
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
