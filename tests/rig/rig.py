# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local test rig: Pebble, BIND9 and PowerDNS on loopback addresses.

One rig lives in one state directory. Each part is its own process, started
here in the foreground mode of its program with its own configuration, its
output in ``<state dir>/<name>.log``:

* ``primary``  BIND9 hidden primary (``<net>.10``) of every rig zone. It
  accepts TSIG-signed RFC 2136 updates and is in no NS set.
* ``ns1``, ``ns2``  BIND9 secondaries (``<net>.11``, ``<net>.12``), the
  published NS set of every zone, kept current by NOTIFY and IXFR.
* ``relay``  (only when notify_delay > 0) receives the primary's NOTIFYs on
  ``<net>.13`` and passes them on to the secondaries notify_delay seconds
  later, so that propagation takes real seconds (see ``notify_relay``).
* ``pdns``  PowerDNS Authoritative Server (``<net>.30``, HTTP API on port
  8081 with a random API key) with the SQLite backend. It alone serves
  ``pdns.test``, and it serves its own copy of ``dual.test``, which BIND
  serves too: a dual-hosted zone, whose NS set lists both secondaries and
  ``ns.pdns.test``.
* ``resolver``  BIND9 recursive resolver (``<net>.20``) with static-stub zones
  that point at the secondaries (and at PowerDNS for ``pdns.test`` and
  ``dual.test``); it caches answers for one second at most.
* ``pebble``  the ACME test CA (``<net>.1``, ports 14000 and 15000) whose
  validation authority asks the resolver.

``<net>`` is ``127.0.0`` unless another loopback /24 is chosen, which lets a
second rig run next to the first. named listens only on addresses that an
interface has, so ``up`` adds the DNS addresses to ``lo`` (root is needed for
port 53 anyway) and ``down`` removes the ones it added.

Used as a module (``up``, ``down``, ``info``, ``pebble_root``, ``start_pebble``,
and for fault injection ``stop_part``/``start_part``, ``hold_notifies``/
``release_notifies``, ``override_txt``/``clear_overrides``) or a command:
``python tests/rig/rig.py up|down|status [--dir DIR] [--notify-delay N]``.
Needs only the standard library and ``cryptography``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))  # testca.py, the test tree's certificate builder
from testca import key_usage, make_ca, make_leaf, server_auth  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / ".build" / "rig"
DEFAULT_NET = "127.0.0"

KEY_NAME = "certfleet-rig"
KEY_ALGORITHM = "hmac-sha256"
# Zones on BIND (hidden primary and both secondaries).
ZONES = ["example.test", "example2.test", "deep.sub.example2.test", "example3.test", "validation.test", "dual.test"]
CHILD_ZONE = "deep.sub.example2.test"
# Zones on PowerDNS; DUAL_ZONE is on BIND as well, each with its own copy.
PDNS_ZONES = ["pdns.test", "dual.test"]
DUAL_ZONE = "dual.test"
PDNS_NS = "ns.pdns.test"
PDNS_API_PORT = 8081
PDNS_SERVER_ID = "localhost"
ACME_PORT = 14000
MANAGEMENT_PORT = 15000
NAMED = "/usr/sbin/named"
PEBBLE = "/usr/bin/pebble"
PDNS = "/usr/sbin/pdns_server"
PDNS_SCHEMAS = [
    "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
    "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
]
IP = shutil.which("ip") or "/usr/sbin/ip"
# The resolver's response-policy zone, present only while override_txt has set something.
OVERRIDE_ZONE = "overrides.rig"
# Parts that stop_part/start_part may stop and start again: the named processes, whose data is on disk.
RESTARTABLE = ("primary", "ns1", "ns2", "resolver")
# In <state>/relay: the secondaries the NOTIFY relay holds NOTIFYs back from (hold_notifies).
HOLD_FILE = "hold.json"

# Start order; down() stops them in the reverse order. The relay runs only
# when notify_delay > 0.
PROCESSES = ["relay", "primary", "pdns", "ns1", "ns2", "resolver", "pebble"]

_TYPE_A = 1
_TYPE_NS = 2
_TYPE_SOA = 6

# Popen objects of the processes this Python process started, by pid, so that
# down() in the same process can reap them instead of leaving zombies.
_CHILDREN: dict[int, subprocess.Popen] = {}


class RigError(RuntimeError):
    """The rig could not be started, stopped or read."""


class RigNotRunning(RigError):
    """No complete rig is running in the state directory."""


class RigAddressInUse(RigError):
    """Some address or port the rig needs is taken (often by another rig)."""


# --------------------------------------------------------------------------
# addresses and files


def _state_dir(state_dir: str | os.PathLike | None) -> Path:
    return Path(state_dir).resolve() if state_dir else DEFAULT_DIR


def _addresses(net: str) -> dict[str, str]:
    parts = net.split(".")
    try:
        valid = len(parts) == 3 and ipaddress.ip_address(net + ".1") in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        valid = False
    if not valid:
        raise RigError(f"net must be the first three octets of a loopback /24 such as 127.0.0, got {net!r}")
    return {
        "pebble": f"{net}.1",
        "primary": f"{net}.10",
        "ns1": f"{net}.11",
        "ns2": f"{net}.12",
        "relay": f"{net}.13",
        "resolver": f"{net}.20",
        "pdns": f"{net}.30",
    }


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _tsig_secret(state: Path) -> str:
    """Return the TSIG secret of this state directory, made once and then kept."""
    path = state / "tsig.secret"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    secret = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    _write(path, secret + "\n", 0o600)
    return secret


def _log_tail(state: Path, name: str, lines: int = 40) -> str:
    path = state / f"{name}.log"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return f"last lines of {path}:\n" + "\n".join(tail)


# --------------------------------------------------------------------------
# TLS for Pebble's listeners


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certfleet test rig"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _pebble_env() -> dict:
    """Pebble's environment: none of the caller's PEBBLE_ settings, and validations without random sleeps."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PEBBLE_")}
    env["PEBBLE_VA_NOSLEEP"] = "1"
    return env


def _pebble_info(state: Path, acme_directory: str, ca_bundle: Path, address: str, management_port: int) -> dict:
    """What every Pebble's info starts with: its folder, directory URL, listener CA and management URL."""
    return {
        "dir": str(state),
        "acme_directory": acme_directory,
        "ca_bundle": str(ca_bundle),
        "pebble_management": f"https://{address}:{management_port}",
    }


def _strict_ca(cert) -> bool:
    """Whether a kept CA has the keyUsage and subjectKeyIdentifier that Python 3.13's strict verification wants."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return usage.key_cert_sign


def _listener_tls(state: Path, pebble_ip: str) -> tuple[Path, Path, Path]:
    """Make (or keep) a CA and a leaf for localhost and the Pebble address.

    Returns the paths of the CA certificate (what clients trust), the leaf
    certificate and the leaf key.
    """
    tls = state / "tls"
    ca_path, cert_path, key_path = tls / "ca.pem", tls / "pebble-listener.pem", tls / "pebble-listener.key"
    wanted_ips = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address(pebble_ip)}
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        now = datetime.datetime.now(datetime.timezone.utc)
        if (
            wanted_ips <= set(san.get_values_for_type(x509.IPAddress))
            and leaf.not_valid_after_utc > now
            and _strict_ca(x509.load_pem_x509_certificate(ca_path.read_bytes()))
        ):
            return ca_path, cert_path, key_path

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_name = _name("certfleet rig listener CA")
    ca_key, ca_cert = make_ca(ca_name, start, end)  # with the RFC 5280 CA extensions strict verification wants
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("localhost")] + [x509.IPAddress(ip) for ip in sorted(wanted_ips)]
    extensions = (
        (x509.BasicConstraints(ca=False, path_length=None), True),
        key_usage(cert_sign=False),
        server_auth(),
        (x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False),
        (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False),
    )
    leaf_cert = make_leaf(
        ca_key,
        ca_name,
        leaf_key.public_key(),
        sans,
        start,
        end,
        _name("localhost"),
        extensions=extensions,
        san_critical=False,
    )

    _write(tls / "ca.key", _key_pem(ca_key), 0o600)
    _write(key_path, _key_pem(leaf_key), 0o600)
    _write(cert_path, leaf_cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return ca_path, cert_path, key_path


# --------------------------------------------------------------------------
# zone data and named configurations


def _zone_text(zone: str, addr: dict[str, str]) -> str:
    """Zone file of one BIND zone. Every zone is served by ns1/ns2.example.test
    (``dual.test`` by ns.pdns.test as well)."""
    lines = [
        "$TTL 60",
        # refresh, retry, expire, negative TTL: NOTIFY drives propagation, and
        # negative answers are cached for one second only.
        "@ IN SOA ns1.example.test. hostmaster.example.test. ( 1 3600 10 86400 1 )",
    ]
    if zone == CHILD_ZONE:
        # The child's own NS set: names inside the child, as published in the
        # parent's delegation (with glue there).
        lines += [
            "@ IN NS ns1",
            "@ IN NS ns2",
            f"ns1 IN A {addr['ns1']}",
            f"ns2 IN A {addr['ns2']}",
        ]
    else:
        lines += [f"@ IN NS {ns}." for ns in _ns_set(zone)]
    if zone == "example.test":
        lines += [f"ns1 IN A {addr['ns1']}", f"ns2 IN A {addr['ns2']}"]
        # CNAME-delegated challenge names: into validation.test, through a
        # chain, in a loop, and into a zone nobody manages.
        lines += [
            "_acme-challenge.delegated IN CNAME delegated.validation.test.",
            "_acme-challenge.chained IN CNAME hop.example2.test.",
            "_acme-challenge.loop IN CNAME loop-b.example.test.",
            "loop-b IN CNAME _acme-challenge.loop.example.test.",
            "_acme-challenge.dangling IN CNAME target.unmanaged.invalid.",
        ]
    if zone == "example2.test":
        lines += ["hop IN CNAME chained.validation.test."]
        # Delegation of deep.sub.example2.test with glue.
        lines += [
            "deep.sub IN NS ns1.deep.sub",
            "deep.sub IN NS ns2.deep.sub",
            f"ns1.deep.sub IN A {addr['ns1']}",
            f"ns2.deep.sub IN A {addr['ns2']}",
        ]
    return "\n".join(lines) + "\n"


def _ns_set(zone: str) -> list[str]:
    """The published NS names of a zone (the same in both copies of the dual-hosted zone)."""
    if zone == "pdns.test":
        return [PDNS_NS]
    if zone == DUAL_ZONE:
        return ["ns1.example.test", "ns2.example.test", PDNS_NS]
    return ["ns1.example.test", "ns2.example.test"]


def _root_zone_text(addr: dict[str, str]) -> str:
    """The resolver's own root zone: names outside the rig are NXDOMAIN at once."""
    return (
        "$TTL 60\n"
        ". IN SOA resolver.rig. hostmaster.rig. ( 1 3600 600 86400 1 )\n"
        ". IN NS resolver.rig.\n"
        f"resolver.rig. IN A {addr['resolver']}\n"
    )


def _options(workdir: Path, address: str, extra: list[str]) -> str:
    body = [
        f'directory "{workdir}";',
        "pid-file none;",
        f'lock-file "{workdir / "named.lock"}";',
        f'session-keyfile "{workdir / "session.key"}";',
        f'managed-keys-directory "{workdir}";',
        f'dump-file "{workdir / "named_dump.db"}";',
        f'statistics-file "{workdir / "named.stats"}";',
        f"listen-on port 53 {{ {address}; }};",
        "listen-on-v6 { none; };",
        f"query-source address {address};",
        f"notify-source {address};",
        f"transfer-source {address};",
        "dnssec-validation no;",
        "masterfile-format text;",
    ] + extra
    return "options {\n" + "".join(f"    {line}\n" for line in body) + "};\n\ncontrols { };\n"


def _primary_conf(workdir: Path, addr: dict[str, str], secret: str, notify_delay: int) -> str:
    secondaries = f"{addr['ns1']}; {addr['ns2']};"
    notify_to = f"{addr['relay']};" if notify_delay > 0 else secondaries
    text = _options(
        workdir,
        addr["primary"],
        [
            "recursion no;",
            "allow-query { any; };",
            "notify explicit;",
            f"also-notify {{ {notify_to} }};",
            f"notify-delay {notify_delay};",
            f"allow-transfer {{ {secondaries} key {KEY_NAME}; }};",
        ],
    )
    text += f'\nkey "{KEY_NAME}" {{\n    algorithm {KEY_ALGORITHM};\n    secret "{secret}";\n}};\n'
    for zone in ZONES:
        text += (
            f'\nzone "{zone}" {{\n'
            "    type primary;\n"
            f'    file "{zone}.db";\n'
            f"    update-policy {{ grant {KEY_NAME} zonesub ANY; }};\n"
            "};\n"
        )
    return text


def _secondary_conf(workdir: Path, address: str, addr: dict[str, str]) -> str:
    text = _options(
        workdir,
        address,
        [
            "recursion no;",
            "allow-query { any; };",
            "allow-transfer { 127.0.0.0/8; };",
            "notify no;",
            f"allow-notify {{ {addr['relay']}; }};",
            "request-ixfr yes;",
            # Recover quickly when the primary was not reachable yet.
            "min-retry-time 1;",
            "max-retry-time 5;",
        ],
    )
    for zone in ZONES:
        text += (
            f'\nzone "{zone}" {{\n'
            "    type secondary;\n"
            f"    primaries {{ {addr['primary']}; }};\n"
            f'    file "{zone}.db";\n'
            "};\n"
        )
    return text


def _resolver_conf(workdir: Path, addr: dict[str, str], overrides: bool = False) -> str:
    """The resolver's configuration; ``overrides`` adds the response-policy zone of ``override_txt``."""
    # min-update-interval 0: a changed policy applies at once, not up to 60 s later.
    policy = [f'response-policy {{ zone "{OVERRIDE_ZONE}" min-update-interval 0; }};'] if overrides else []
    text = _options(
        workdir,
        addr["resolver"],
        [
            "recursion yes;",
            "allow-query { 127.0.0.0/8; };",
            "allow-recursion { 127.0.0.0/8; };",
            "max-cache-ttl 1;",
            "max-ncache-ttl 1;",
            "servfail-ttl 0;",
            "lame-ttl 0;",
            "prefetch 0;",
        ]
        + policy,
    )
    text += '\nzone "." {\n    type primary;\n    file "root.db";\n};\n'
    if overrides:
        text += f'\nzone "{OVERRIDE_ZONE}" {{\n    type primary;\n    file "{OVERRIDE_ZONE}.db";\n}};\n'
    # Only the top zones: deep.sub.example2.test is reached through the
    # delegation published in example2.test. Never the hidden primary. The
    # dual-hosted zone goes to all three servers of its NS set.
    servers = {"pdns.test": [addr["pdns"]], DUAL_ZONE: [addr["ns1"], addr["ns2"], addr["pdns"]]}
    for zone in ZONES + [zone for zone in PDNS_ZONES if zone not in ZONES]:
        if zone == CHILD_ZONE:
            continue
        addresses = " ".join(f"{address};" for address in servers.get(zone, [addr["ns1"], addr["ns2"]]))
        text += f'\nzone "{zone}" {{\n    type static-stub;\n    server-addresses {{ {addresses} }};\n}};\n'
    return text


# --------------------------------------------------------------------------
# PowerDNS


def _pdns_records(zone: str, addr: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, type, content) of PowerDNS's copy of a zone; its SOA names PowerDNS as MNAME."""
    records = [(zone, "SOA", f"{PDNS_NS}. hostmaster.{zone}. 1 3600 10 86400 1")]
    records += [(zone, "NS", f"{ns}.") for ns in _ns_set(zone)]
    if zone == "pdns.test":
        records.append((PDNS_NS, "A", addr["pdns"]))
    return records


def _pdns_schema() -> str:
    for candidate in PDNS_SCHEMAS:
        if Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    raise RigError(
        f"the SQLite schema of PowerDNS is missing (looked for {', '.join(PDNS_SCHEMAS)}); "
        "run: bash scripts/install-system-deps.sh"
    )


def _pdns_database(path: Path, addr: dict[str, str]) -> None:
    """A fresh gsqlite3 database holding the PowerDNS zones, made with Python's sqlite3."""
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(str(path))) as db:
        db.executescript(_pdns_schema())
        for zone in PDNS_ZONES:
            cursor = db.execute("INSERT INTO domains (name, type) VALUES (?, 'NATIVE')", (zone,))
            domain_id = cursor.lastrowid
            # As for zones made through the API: API changes raise the serial.
            db.execute(
                "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (?, 'SOA-EDIT-API', 'DEFAULT')",
                (domain_id,),
            )
            db.executemany(
                "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)"
                " VALUES (?, ?, ?, ?, 60, 0, 0, 1)",
                [(domain_id, name, rtype, content) for name, rtype, content in _pdns_records(zone, addr)],
            )
        db.commit()


def _pdns_conf(workdir: Path, address: str, api_key: str) -> str:
    settings = [
        "launch=gsqlite3",
        f"gsqlite3-database={workdir / 'pdns.sqlite3'}",
        f"local-address={address}",
        "local-port=53",
        f"query-local-address={address}",
        "api=yes",
        f"api-key={api_key}",
        "webserver=yes",
        f"webserver-address={address}",
        f"webserver-port={PDNS_API_PORT}",
        "webserver-allow-from=127.0.0.0/8",
        "guardian=no",
        "daemon=no",
        "disable-syslog=yes",
        f"socket-dir={workdir}",
        # No security-status query to the internet, and no caches: an API
        # change is what the next query sees.
        "security-poll-suffix=",
        "cache-ttl=0",
        "query-cache-ttl=0",
        "negquery-cache-ttl=0",
        "receiver-threads=1",
        "distributor-threads=1",
    ]
    return "\n".join(settings) + "\n"


def _pdns_api_ready(api_url: str, api_key: str) -> bool:
    url = f"{api_url}/api/v1/servers/{PDNS_SERVER_ID}"
    request = urllib.request.Request(url, headers={"X-API-Key": api_key, "Accept": "application/json"})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=2) as response:
            return response.status == 200 and json.loads(response.read()).get("id") == PDNS_SERVER_ID
    except (OSError, ValueError):
        return False


def _pebble_conf(
    cert: Path,
    key: Path,
    pebble_ip: str,
    acme_port: int = ACME_PORT,
    management_port: int = MANAGEMENT_PORT,
    eab_keys: dict[str, str] | None = None,
    eab_required: bool = False,
) -> str:
    config = {
        "pebble": {
            "listenAddress": f"{pebble_ip}:{acme_port}",
            "managementListenAddress": f"{pebble_ip}:{management_port}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": 5002,
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": eab_required,
        }
    }
    if eab_keys:
        config["pebble"]["externalAccountMACKeys"] = dict(eab_keys)
    return json.dumps(config, indent=2) + "\n"


# --------------------------------------------------------------------------
# processes


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")[:-1]]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].startswith(("Z", "X"))


def _alive(entry: dict) -> bool:
    """True when the pid still runs the exact command line the rig started."""
    pid = entry["pid"]
    child = _CHILDREN.get(pid)
    if child is not None:
        # Started by this Python process: Popen knows (and reaps) it.
        return child.poll() is None
    return _cmdline(pid) == entry["argv"] and not _is_zombie(pid)


def _load_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _load_pids(state: Path) -> dict[str, dict]:
    return _load_json(state / "pids.json", {})


def _save_pids(state: Path, pids: dict[str, dict]) -> None:
    _write(state / "pids.json", json.dumps(pids, indent=2) + "\n")


def _start(state: Path, name: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    # The child keeps running after this returns (and after a CLI "up" exits);
    # its own session keeps a Ctrl-C in the terminal away from it.
    with open(state / f"{name}.log", "ab") as log:
        try:
            child = subprocess.Popen(  # pylint: disable=consider-using-with
                argv,
                cwd=str(cwd),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise RigError(f"cannot start {name} ({argv[0]}): {exc}") from exc
    _CHILDREN[child.pid] = child
    return {"pid": child.pid, "argv": argv}


def _loopback_addresses() -> set[str]:
    try:
        out = subprocess.run(
            [IP, "-4", "-o", "addr", "show", "dev", "lo"], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RigError(f"cannot list the loopback addresses with {IP}: {exc}") from exc
    found = set()
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            found.add(words[words.index("inet") + 1].split("/")[0])
    return found


def _add_addresses(state: Path, wanted: list[str]) -> None:
    """Put the DNS addresses on lo: named only listens on addresses an interface has.

    The addresses added here are recorded and removed again by down().
    """
    present = _loopback_addresses()
    added = _load_json(state / "addresses.json", [])
    for address in wanted:
        if address in present:
            continue
        command = [IP, "addr", "add", f"{address}/32", "dev", "lo"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RigError(f"cannot add {address} to lo (root needed): {result.stderr.strip()}")
        added.append(address)
        _write(state / "addresses.json", json.dumps(added) + "\n")


def _remove_addresses(state: Path) -> None:
    path = state / "addresses.json"
    for address in _load_json(path, []):
        subprocess.run([IP, "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True, check=False)
    path.unlink(missing_ok=True)


def _port_free(address: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # As the servers do: connections of a stopped rig still in TIME_WAIT do not make a port busy.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def _check_free(state: Path, addr: dict[str, str]) -> None:
    busy = []
    for name in ("primary", "ns1", "ns2", "resolver", "pdns"):
        for kind, label in ((socket.SOCK_STREAM, "tcp"), (socket.SOCK_DGRAM, "udp")):
            if not _port_free(addr[name], 53, kind):
                busy.append(f"{addr[name]}:53/{label}")
    if not _port_free(addr["relay"], 53, socket.SOCK_DGRAM):
        busy.append(f"{addr['relay']}:53/udp")
    for port in (ACME_PORT, MANAGEMENT_PORT):
        if not _port_free(addr["pebble"], port, socket.SOCK_STREAM):
            busy.append(f"{addr['pebble']}:{port}/tcp")
    if not _port_free(addr["pdns"], PDNS_API_PORT, socket.SOCK_STREAM):
        busy.append(f"{addr['pdns']}:{PDNS_API_PORT}/tcp")
    if busy:
        others = [
            str(path.parent)
            for path in sorted((REPO / ".build").glob("*/rig.json"))
            if path.parent != state and _running(path.parent)
        ]
        hint = (
            f" Rigs running in: {', '.join(others)} (stop one with: python tests/rig/rig.py down --dir DIR)."
            if others
            else ""
        )
        raise RigAddressInUse(f"addresses in use, cannot start the rig in {state}: {', '.join(busy)}.{hint}")


def _running(state: Path) -> bool:
    pids = _load_pids(state)
    return "pebble" in pids and all(_alive(entry) for entry in pids.values())


# --------------------------------------------------------------------------
# readiness


def _encode_name(name: str) -> bytes:
    labels = [label for label in name.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\0"


def _dns_exchange(server: str, name: str, rdtype: int, flags: int = 0, timeout: float = 0.5, source: str = "") -> bytes:
    """Send one UDP message with one question (from ``source``, if given) and return the reply."""
    query_id = secrets.randbelow(0x10000)
    packet = struct.pack("!6H", query_id, flags, 1, 0, 0, 0) + _encode_name(name) + struct.pack("!2H", rdtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        if source:
            sock.bind((source, 0))
        sock.sendto(packet, (server, 53))
        while True:
            data = sock.recv(65535)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == query_id:
                return data


def _dns_query(server: str, name: str, rdtype: int, recursion: bool = False, timeout: float = 0.5) -> tuple:
    """Send one UDP query; return (rcode, authoritative, answer count)."""
    data = _dns_exchange(server, name, rdtype, 0x0100 if recursion else 0, timeout)
    flags, answers = struct.unpack("!H2xH", data[2:8])
    return flags & 0x000F, bool(flags & 0x0400), answers


def _skip_name(data: bytes, offset: int) -> int:
    """The offset just after the (possibly compressed) domain name at ``offset``."""
    while data[offset]:
        if data[offset] & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + data[offset]
    return offset + 1


def _soa_serial(server: str, zone: str) -> int | None:
    """The SOA serial ``server`` answers with authority for ``zone``; None without one (or no answer)."""
    try:
        data = _dns_exchange(server, zone, _TYPE_SOA)
        flags, answers = struct.unpack("!H2xH", data[2:8])
        if flags & 0x000F or not flags & 0x0400 or not answers:
            return None
        offset = _skip_name(data, 12) + 4  # the question
        offset = _skip_name(data, offset)  # the answer's owner
        rdtype, rdlength = struct.unpack("!H6xH", data[offset : offset + 10])
        if rdtype != _TYPE_SOA or rdlength < 22:
            return None
        offset = _skip_name(data, _skip_name(data, offset + 10))  # MNAME and RNAME
        return struct.unpack("!I", data[offset : offset + 4])[0]
    except (OSError, IndexError, struct.error):
        return None


def _serves_all(server: str, zones: list[str]) -> bool:
    for zone in zones:
        try:
            rcode, authoritative, answers = _dns_query(server, zone, _TYPE_SOA)
        except OSError:
            return False
        if rcode != 0 or not authoritative or answers < 1:
            return False
    return True


def _resolves(resolver: str, name: str, rtype: int) -> bool:
    """The resolver answers ``name`` (recursively) with at least one record of ``rtype``."""
    try:
        rcode, dummy, answers = _dns_query(resolver, name, rtype, recursion=True, timeout=1.0)
    except OSError:
        return False
    return rcode == 0 and answers >= 1


def _resolves_child(resolver: str) -> bool:
    return _resolves(resolver, CHILD_ZONE, _TYPE_NS)


def _resolves_pdns(resolver: str) -> bool:
    """The resolver reaches PowerDNS (the address of ns.pdns.test comes only from there)."""
    return _resolves(resolver, PDNS_NS, _TYPE_A)


def _log_says(state: Path, name: str, text: str) -> bool:
    try:
        return text in (state / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _https_opener(ca_bundle: str | os.PathLike) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=str(ca_bundle))
    # Loopback only: never go through a proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))


def _pebble_ready(directory_url: str, ca_bundle: Path) -> bool:
    try:
        with _https_opener(ca_bundle).open(directory_url, timeout=2) as response:
            return response.status == 200 and "newOrder" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def _wait(state: Path, pids: dict[str, dict], checks: dict, deadline: float) -> None:
    """Poll every check until it passes; fail with the log of the one that did not."""
    pending = dict(checks)
    while pending:
        for name in list(pending):
            if not _alive(pids[name]):
                raise RigError(f"{name} exited during start-up\n{_log_tail(state, name)}")
            if pending[name]():
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            name = sorted(pending, key=PROCESSES.index)[0]
            raise RigError(f"{name} did not become ready in time\n{_log_tail(state, name)}")
        time.sleep(0.05)


# --------------------------------------------------------------------------
# NOTIFY relay
#
# BIND 9.18 applies notify-delay only between two sets of NOTIFYs: the NOTIFY
# after an update that follows a quiet period leaves at once, and the
# secondaries are current well within a second. So that propagation takes
# real seconds, the primary notifies this relay, which acknowledges at once
# and hands the NOTIFY on to every secondary ``delay`` seconds later. The
# secondaries then check the primary's SOA and fetch the change by IXFR as
# usual.


def _question(packet: bytes) -> tuple[str, int]:
    """Name of the first question of a DNS message and the offset just after it."""
    labels, offset = [], 12
    while packet[offset]:
        length = packet[offset]
        if length & 0xC0:
            raise ValueError("compressed question name")
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels) or ".", offset + 5


def notify_relay(listen: str, targets: list[str], delay: float, hold: str | None = None) -> None:
    """Run the NOTIFY relay until killed (the ``notify-relay`` command).

    ``hold`` is a JSON file listing secondaries the relay must not notify for
    now (see ``hold_notifies``); it is read whenever a NOTIFY is due.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((listen, 53))
    print(f"notify relay on {listen}:53 -> {', '.join(targets)} after {delay}s", flush=True)
    # One entry per NOTIFY to hand on: when to send it next, the message, the
    # secondary, how many sends are left and the id of the last send.
    pending: list[dict] = []
    while True:
        now = time.monotonic()
        next_due = min((entry["due"] for entry in pending), default=now + 1.0)
        sock.settimeout(min(max(next_due - now, 0.0), 1.0))
        try:
            packet, (source, port) = sock.recvfrom(65535)
        except (socket.timeout, BlockingIOError):
            # A timeout of 0 (a NOTIFY already due) makes the socket non-blocking:
            # an empty queue then raises BlockingIOError instead of a timeout.
            packet = b""
        if len(packet) >= 12:
            query_id, flags = struct.unpack("!2H", packet[:4])
            is_notify = (flags >> 11) & 0xF == 4
            if is_notify and not flags & 0x8000:
                try:
                    zone, end = _question(packet)
                except (IndexError, ValueError):
                    zone, end = "", 0
                if end and end <= len(packet):
                    # Acknowledge to the primary at once (QR, opcode NOTIFY, AA).
                    reply = struct.pack("!6H", query_id, 0x8000 | 0x2000 | 0x0400, 1, 0, 0, 0) + packet[12:end]
                    sock.sendto(reply, (source, port))
                    due = time.monotonic() + delay
                    for target in targets:
                        pending.append(
                            {"due": due, "packet": packet, "zone": zone, "target": target, "sends": 3, "id": None}
                        )
                    print(f"{time.strftime('%H:%M:%S')} NOTIFY {zone} from {source}, passed on in {delay}s", flush=True)
            elif is_notify:
                answered = [entry for entry in pending if entry["target"] == source and entry["id"] == query_id]
                for entry in answered:
                    pending.remove(entry)
                    print(f"{time.strftime('%H:%M:%S')} NOTIFY {entry['zone']} acknowledged by {source}", flush=True)
        now = time.monotonic()
        due = [entry for entry in pending if entry["due"] <= now]
        held = set(_load_json(Path(hold), [])) if hold and due else set()
        for entry in due:
            if entry["target"] in held:
                pending.remove(entry)
                print(
                    f"{time.strftime('%H:%M:%S')} NOTIFY {entry['zone']} held back from {entry['target']}", flush=True
                )
                continue
            entry["id"] = secrets.randbelow(0x10000)
            entry["sends"] -= 1
            entry["due"] = now + 2.0
            sock.sendto(struct.pack("!H", entry["id"]) + entry["packet"][2:], (entry["target"], 53))
            print(f"{time.strftime('%H:%M:%S')} NOTIFY {entry['zone']} sent to {entry['target']}", flush=True)
            if entry["sends"] <= 0:
                pending.remove(entry)


# --------------------------------------------------------------------------
# public interface


def up(
    state_dir: str | os.PathLike | None = None,
    notify_delay: int = 2,
    nonce_reject: int | None = None,
    *,
    net: str = DEFAULT_NET,
    timeout: float = 30.0,
) -> dict:
    """Start the rig in ``state_dir`` (or return the info of the one running there).

    ``notify_delay`` is the primary's ``notify-delay`` and the NOTIFY relay's
    hold time in seconds (0: no relay, the primary notifies the secondaries
    directly), ``nonce_reject`` Pebble's ``PEBBLE_WFE_NONCEREJECT`` percentage (None keeps
    Pebble's default), ``net`` the loopback /24 to use and ``timeout`` how long
    start-up may take in seconds.
    """
    state = _state_dir(state_dir)
    notify_delay = int(notify_delay)
    if notify_delay < 0:
        raise RigError(f"notify_delay must be >= 0, got {notify_delay}")
    addr = _addresses(net)
    if _running(state) and (state / "rig.json").exists():
        current = info(state)
        # A rig started by an older rig.py (without PowerDNS) is started again below.
        if "powerdns" in current:
            if current["notify_delay"] != notify_delay or current["primary"] != addr["primary"]:
                raise RigError(
                    f"the rig running in {state} has notify_delay={current['notify_delay']} and primary "
                    f"{current['primary']}; stop it first to start one with other settings"
                )
            return current
    if _load_pids(state):
        down(state)  # a partial rig: stop what is left of it
    for program in (NAMED, PEBBLE, PDNS):
        if not os.access(program, os.X_OK):
            raise RigError(f"{program} is missing; run: bash scripts/install-system-deps.sh")
    state.mkdir(parents=True, exist_ok=True)
    _check_free(state, addr)
    _add_addresses(state, [addr[name] for name in ("primary", "ns1", "ns2", "resolver", "pdns")])

    secret = _tsig_secret(state)
    # A new API key at every up: only rig.json (0600) and pdns.conf (0600) hold it.
    api_key = secrets.token_urlsafe(24)
    api_url = f"http://{addr['pdns']}:{PDNS_API_PORT}"
    ca_bundle, listener_cert, listener_key = _listener_tls(state, addr["pebble"])
    for name in PROCESSES:
        shutil.rmtree(state / name, ignore_errors=True)
        (state / name).mkdir()
        (state / f"{name}.log").unlink(missing_ok=True)

    _write(state / "primary" / "named.conf", _primary_conf(state / "primary", addr, secret, notify_delay))
    for zone in ZONES:
        _write(state / "primary" / f"{zone}.db", _zone_text(zone, addr))
    for name in ("ns1", "ns2"):
        _write(state / name / "named.conf", _secondary_conf(state / name, addr[name], addr))
    _write(state / "resolver" / "named.conf", _resolver_conf(state / "resolver", addr))
    _write(state / "resolver" / "root.db", _root_zone_text(addr))
    _write(state / "pebble" / "pebble-config.json", _pebble_conf(listener_cert, listener_key, addr["pebble"]))
    _write(state / "pdns" / "pdns.conf", _pdns_conf(state / "pdns", addr["pdns"], api_key), 0o600)
    _pdns_database(state / "pdns" / "pdns.sqlite3", addr)

    acme_directory = f"https://{addr['pebble']}:{ACME_PORT}/dir"
    pebble_env = _pebble_env()
    if nonce_reject is not None:
        pebble_env["PEBBLE_WFE_NONCEREJECT"] = str(int(nonce_reject))

    def named_argv(name: str) -> list[str]:
        return [NAMED, "-g", "-4", "-n", "2", "-c", str(state / name / "named.conf")]

    deadline = time.monotonic() + timeout
    pids: dict[str, dict] = {}
    try:
        # The secondaries transfer the zones as soon as they start, so the
        # primary must answer first.
        first = {
            "primary": lambda: _serves_all(addr["primary"], ZONES),
            "pdns": lambda: _serves_all(addr["pdns"], PDNS_ZONES) and _pdns_api_ready(api_url, api_key),
        }
        if notify_delay > 0:
            relay_argv = [sys.executable, str(Path(__file__).resolve()), "notify-relay", "--listen", addr["relay"]]
            relay_argv += ["--delay", str(notify_delay), "--hold", str(state / "relay" / HOLD_FILE)]
            relay_argv += ["--to", addr["ns1"], addr["ns2"]]
            pids["relay"] = _start(state, "relay", relay_argv, state / "relay")
            first["relay"] = lambda: _log_says(state, "relay", "notify relay on")
        pids["primary"] = _start(state, "primary", named_argv("primary"), state / "primary")
        pids["pdns"] = _start(state, "pdns", [PDNS, f"--config-dir={state / 'pdns'}"], state / "pdns")
        _save_pids(state, pids)
        _wait(state, pids, first, deadline)
        for name in ("ns1", "ns2", "resolver"):
            pids[name] = _start(state, name, named_argv(name), state / name)
        pids["pebble"] = _start(
            state,
            "pebble",
            [PEBBLE, "-config", str(state / "pebble" / "pebble-config.json"), "-dnsserver", f"{addr['resolver']}:53"],
            state / "pebble",
            pebble_env,
        )
        _save_pids(state, pids)
        _wait(
            state,
            pids,
            {
                "ns1": lambda: _serves_all(addr["ns1"], ZONES),
                "ns2": lambda: _serves_all(addr["ns2"], ZONES),
                "pebble": lambda: _pebble_ready(acme_directory, ca_bundle),
            },
            deadline,
        )
        _wait(
            state,
            pids,
            {"resolver": lambda: _resolves_child(addr["resolver"]) and _resolves_pdns(addr["resolver"])},
            deadline,
        )
    except BaseException:
        down(state)
        raise

    result = {
        **_pebble_info(state, acme_directory, ca_bundle, addr["pebble"], MANAGEMENT_PORT),
        "resolver": addr["resolver"],
        "primary": addr["primary"],
        "secondaries": [addr["ns1"], addr["ns2"]],
        "zones": list(ZONES),
        "notify_delay": notify_delay,
        "tsig": {"key_name": KEY_NAME, "key_secret": secret, "key_algorithm": KEY_ALGORITHM},
        "provider": {
            "name": "rig-bind",
            "type": "rfc2136",
            "zones": list(ZONES),
            "server": addr["primary"],
            "port": 53,
            "key_name": KEY_NAME,
            "key_secret": secret,
            "key_algorithm": KEY_ALGORITHM,
        },
        "powerdns": {
            "address": addr["pdns"],
            "api_url": api_url,
            "api_key": api_key,
            "server_id": PDNS_SERVER_ID,
        },
        "powerdns_provider": {
            "name": "rig-pdns",
            "type": "powerdns",
            "zones": list(PDNS_ZONES),
            "api_url": api_url,
            "api_key": api_key,
            "server_id": PDNS_SERVER_ID,
            # The rig's PowerDNS serves its API over plain http on a loopback address.
            "allow_plain_http": True,
        },
    }
    _write(state / "rig.json", json.dumps(result, indent=2) + "\n", 0o600)
    return result


def _signal_and_wait(running: dict, sig: int, seconds: float) -> dict:
    """Send ``sig`` to every process in ``running``; return those still alive after ``seconds``."""
    for entry in running.values():
        try:
            os.kill(entry["pid"], sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + seconds
    while running and time.monotonic() < deadline:
        running = {name: entry for name, entry in running.items() if _alive(entry)}
        if running:
            time.sleep(0.05)
    return running


def _reap(entries) -> None:
    """Collect the exit status of the processes this Python process started, so none stays a zombie."""
    for entry in entries:
        child = _CHILDREN.pop(entry["pid"], None)
        if child is not None:
            try:
                child.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass


def down(state_dir: str | os.PathLike | None = None) -> None:
    """Stop the processes this rig started (by their saved pids) and nothing else."""
    state = _state_dir(state_dir)
    pids = _load_pids(state)
    order = [name for name in reversed(PROCESSES) if name in pids] + [name for name in pids if name not in PROCESSES]
    running = {name: pids[name] for name in order if _alive(pids[name])}
    running = _signal_and_wait(running, signal.SIGTERM, 10)
    _signal_and_wait(running, signal.SIGKILL, 5)
    _reap(pids.values())
    if running:
        names = ", ".join(f"{name} (pid {entry['pid']})" for name, entry in running.items())
        raise RigError(f"could not stop: {names}")
    (state / "pids.json").unlink(missing_ok=True)
    (state / "rig.json").unlink(missing_ok=True)
    _remove_addresses(state)


def info(state_dir: str | os.PathLike | None = None) -> dict:
    """Return the info of the rig running in ``state_dir``; RigNotRunning if there is none."""
    state = _state_dir(state_dir)
    if not _running(state):
        raise RigNotRunning(f"no rig is running in {state}")
    try:
        saved = json.loads((state / "rig.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RigNotRunning(f"no readable rig.json in {state}: {exc}") from exc
    if isinstance(saved.get("powerdns_provider"), dict):
        # A rig started before provider API URLs needed https (or this option) keeps running.
        saved["powerdns_provider"].setdefault("allow_plain_http", True)
    return saved


def status(state_dir: str | os.PathLike | None = None) -> dict[str, dict]:
    """Each saved process of the rig with its pid and whether it still runs."""
    pids = _load_pids(_state_dir(state_dir))
    return {name: {"pid": entry["pid"], "alive": _alive(entry)} for name, entry in pids.items()}


def pebble_root(info: dict, index: int = 0) -> str:
    """Download one of Pebble's root certificates (PEM) from its management interface.

    ``index`` 0 is the root of the default chain; with ``PEBBLE_ALTERNATE_ROOTS``
    set to N, roots 1..N sign the alternate chains.
    """
    url = info["pebble_management"].rstrip("/") + f"/roots/{int(index)}"
    with _https_opener(info["ca_bundle"]).open(url, timeout=10) as response:
        return response.read().decode("ascii")


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def start_pebble(
    state_dir: str | os.PathLike,
    *,
    address: str,
    resolver: str,
    acme_port: int = 0,
    management_port: int = 0,
    eab_keys: dict[str, str] | None = None,
    eab_required: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> dict:
    """Start one more Pebble, apart from any rig, in its own ``state_dir``; return its info.

    For tests that need a Pebble set up differently from the rig's (External
    Account Binding, alternate roots): it listens on ``address`` (any
    127.0.0.0/8 address; Pebble binds it without it being on ``lo``), on
    ``acme_port`` and ``management_port`` (0: free ports), asks ``resolver``
    for DNS-01, and has a listener CA of its own (``<state_dir>/tls/ca.pem``).
    ``eab_keys`` (key id: base64url MAC key) and ``eab_required`` go to
    Pebble's ``externalAccountMACKeys`` and ``externalAccountBindingRequired``;
    ``env`` adds environment variables such as ``PEBBLE_ALTERNATE_ROOTS``.
    ``down(state_dir)`` stops it. Returns ``dir``, ``acme_directory``,
    ``ca_bundle``, ``pebble_management`` and ``pid``.
    """
    state = _state_dir(state_dir)
    if _load_pids(state):
        down(state)
    if not os.access(PEBBLE, os.X_OK):
        raise RigError(f"{PEBBLE} is missing; run: bash scripts/install-system-deps.sh")
    acme_port = acme_port or _free_port(address)
    management_port = management_port or _free_port(address)
    for port in (acme_port, management_port):
        if not _port_free(address, port, socket.SOCK_STREAM):
            raise RigAddressInUse(f"{address}:{port}/tcp is in use, cannot start Pebble in {state}")
    state.mkdir(parents=True, exist_ok=True)
    ca_bundle, listener_cert, listener_key = _listener_tls(state, address)
    shutil.rmtree(state / "pebble", ignore_errors=True)
    (state / "pebble").mkdir()
    (state / "pebble.log").unlink(missing_ok=True)
    config = state / "pebble" / "pebble-config.json"
    conf = _pebble_conf(listener_cert, listener_key, address, acme_port, management_port, eab_keys, eab_required)
    _write(config, conf, 0o600)
    pebble_env = _pebble_env()
    pebble_env.update(env or {})
    acme_directory = f"https://{address}:{acme_port}/dir"
    argv = [PEBBLE, "-config", str(config), "-dnsserver", f"{resolver}:53"]
    pids = {"pebble": _start(state, "pebble", argv, state / "pebble", pebble_env)}
    _save_pids(state, pids)
    try:
        _wait(state, pids, {"pebble": lambda: _pebble_ready(acme_directory, ca_bundle)}, time.monotonic() + timeout)
    except BaseException:
        down(state)
        raise
    result = dict(_pebble_info(state, acme_directory, ca_bundle, address, management_port), pid=pids["pebble"]["pid"])
    _write(state / "pebble.json", json.dumps(result, indent=2) + "\n")
    return result


# --------------------------------------------------------------------------
# faults: parts stopped, a stale secondary, a resolver that lies
#
# For the fault-injection tests. Each change has its undo, and up() starts
# from scratch, so a rig is back to normal after the undo or the next up().


def _saved_addresses(state: Path) -> dict[str, str]:
    """The addresses of the rig started in ``state``, also while one of its parts is stopped."""
    saved = _load_json(state / "rig.json", None)
    if not saved:
        raise RigNotRunning(f"no rig was started in {state}")
    return _addresses(saved["primary"].rsplit(".", 1)[0])


def _ready_check(name: str, addr: dict[str, str]):
    if name == "resolver":
        return lambda: _resolves_child(addr["resolver"]) and _resolves_pdns(addr["resolver"])
    return lambda: _serves_all(addr[name], ZONES)


def _restartable(state: Path, name: str) -> dict:
    if name not in RESTARTABLE:
        raise RigError(f"part must be one of {', '.join(RESTARTABLE)}, got {name!r}")
    entry = _load_pids(state).get(name)
    if entry is None:
        raise RigNotRunning(f"the rig in {state} has no {name}")
    return entry


def stop_part(state_dir: str | os.PathLike | None, name: str) -> None:
    """Stop one DNS server of the rig (``primary``, ``ns1``, ``ns2`` or ``resolver``) as an operator would.

    SIGTERM, so named shuts down cleanly: its zones and journals stay on disk
    for ``start_part``. Its address stays on ``lo``, so clients get
    "connection refused" at once rather than a timeout. While a part is
    stopped, ``info()`` raises RigNotRunning and ``up()`` starts a new rig.
    """
    state = _state_dir(state_dir)
    entry = _restartable(state, name)
    running = {name: entry} if _alive(entry) else {}
    running = _signal_and_wait(running, signal.SIGTERM, 10)
    running = _signal_and_wait(running, signal.SIGKILL, 5)
    _reap([entry])
    if running:
        raise RigError(f"could not stop {name} (pid {entry['pid']})")


def start_part(state_dir: str | os.PathLike | None, name: str, timeout: float = 30.0) -> None:
    """Start a part stopped by ``stop_part`` again, with its old configuration and data; wait until it answers."""
    state = _state_dir(state_dir)
    entry = _restartable(state, name)
    if _alive(entry):
        return
    addr = _saved_addresses(state)
    pids = _load_pids(state)
    pids[name] = _start(state, name, entry["argv"], state / name)
    _save_pids(state, pids)
    _wait(state, {name: pids[name]}, {name: _ready_check(name, addr)}, time.monotonic() + timeout)


def _relay_hold_file(state: Path) -> Path:
    relay = _load_pids(state).get("relay")
    if relay is None:
        raise RigError(f"the rig in {state} has no NOTIFY relay (notify_delay 0): NOTIFYs cannot be held back")
    if "--hold" not in relay["argv"]:
        raise RigError(f"the relay of the rig in {state} was started by an older rig.py; start the rig again")
    return Path(relay["argv"][relay["argv"].index("--hold") + 1])


def hold_notifies(state_dir: str | os.PathLike | None, secondary: str) -> None:
    """Make ``secondary`` (an address of ``info["secondaries"]``) stale: it stops getting updates.

    The relay drops every NOTIFY due for it (also those it already holds),
    and its zones' refresh interval is an hour, so it keeps answering with
    authority from the zone as it was: a secondary whose transfers are
    broken. The other secondaries go on as usual. ``release_notifies`` undoes it.
    """
    state = _state_dir(state_dir)
    addr = _saved_addresses(state)
    if secondary not in (addr["ns1"], addr["ns2"]):
        raise RigError(f"secondary must be one of {addr['ns1']}, {addr['ns2']}, got {secondary!r}")
    path = _relay_hold_file(state)
    held = set(_load_json(path, []))
    _write(path, json.dumps(sorted(held | {secondary})) + "\n")


def release_notifies(state_dir: str | os.PathLike | None = None, timeout: float = 30.0) -> None:
    """Undo ``hold_notifies`` and bring every secondary up to date now.

    Each secondary gets a NOTIFY for every zone from the relay's address
    (the only source its ``allow-notify`` takes), then this waits until
    both serve the primary's serial of every zone.
    """
    state = _state_dir(state_dir)
    addr = _saved_addresses(state)
    _relay_hold_file(state).unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    for secondary in (addr["ns1"], addr["ns2"]):
        for zone in ZONES:
            notified = 0.0
            while True:
                wanted = _soa_serial(addr["primary"], zone)
                if wanted is not None and _soa_serial(secondary, zone) == wanted:
                    break
                if time.monotonic() > deadline:
                    raise RigError(f"{secondary} did not catch up with the primary's {zone} in {timeout}s")
                if time.monotonic() - notified > 1.0:
                    notified = time.monotonic()
                    try:
                        # Opcode NOTIFY, authoritative answer flag, as a primary sends it.
                        _dns_exchange(secondary, zone, _TYPE_SOA, flags=4 << 11 | 0x0400, source=addr["relay"])
                    except OSError:
                        pass
                time.sleep(0.05)


def _override_zone_text(serial: int, records: dict[str, list[str]]) -> str:
    lines = ["$TTL 1", f"@ IN SOA resolver.rig. hostmaster.rig. ( {serial} 3600 600 86400 1 )", "@ IN NS resolver.rig."]
    for name, values in sorted(records.items()):
        owner = name.rstrip(".") + "." + OVERRIDE_ZONE + "."
        for value in values:
            lines.append(f'{owner} IN TXT "{value}"')
    return "\n".join(lines) + "\n"


def _reload_resolver(state: Path, done: str, timeout: float) -> None:
    """SIGHUP the resolver (named reloads its configuration and zones); wait until its log says ``done``.

    Only the log knows when a response-policy zone is in force: the zone
    answers queries a little before its policy applies.
    """
    entry = _load_pids(state).get("resolver")
    if entry is None or not _alive(entry):
        raise RigNotRunning(f"the resolver of the rig in {state} is not running")
    log = state / "resolver.log"
    seen = log.stat().st_size
    os.kill(entry["pid"], signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while True:
        with open(log, "rb") as handle:
            handle.seek(seen)
            new = handle.read().decode("utf-8", "replace")
        if "reloading configuration failed" in new:
            raise RigError(f"the resolver refused its new configuration\n{_log_tail(state, 'resolver')}")
        if done in new:
            return
        if time.monotonic() > deadline:
            raise RigError(f"the resolver did not reload in {timeout}s\n{_log_tail(state, 'resolver')}")
        time.sleep(0.05)


def override_txt(state_dir: str | os.PathLike | None, name: str, values: list[str], timeout: float = 10.0) -> None:
    """Make the resolver answer ``values`` to TXT queries for ``name``, whatever the zone holds.

    The resolver is what Pebble validates through (``-dnsserver``), while
    dns_wait_propagated asks the authoritative servers directly: so Pebble
    sees a wrong value for this one name while every nameserver has the
    right one. A response-policy (RPZ) zone of the resolver holds the
    overrides (local data: other types at ``name`` answer NODATA);
    ``clear_overrides`` removes them all.
    """
    state = _state_dir(state_dir)
    addr = _saved_addresses(state)
    if not values:
        raise RigError(f"override_txt needs at least one value for {name}")
    for value in values:
        if not value or any(char in value for char in '"\\\n'):
            raise RigError(f"override values must be plain non-empty strings, got {value!r}")
    path = state / "resolver" / "overrides.json"
    current = _load_json(path, {"serial": 0, "txt": {}})
    current["serial"] += 1
    current["txt"][name.rstrip(".").lower()] = list(values)
    _write(state / "resolver" / f"{OVERRIDE_ZONE}.db", _override_zone_text(current["serial"], current["txt"]))
    _write(state / "resolver" / "named.conf", _resolver_conf(state / "resolver", addr, overrides=True))
    _write(path, json.dumps(current, indent=2) + "\n")
    _reload_resolver(state, f"rpz: {OVERRIDE_ZONE}: reload done: success", timeout)


def clear_overrides(state_dir: str | os.PathLike | None = None, timeout: float = 10.0) -> None:
    """Remove every ``override_txt``: the resolver's configuration is the one ``up`` wrote again."""
    state = _state_dir(state_dir)
    addr = _saved_addresses(state)
    path = state / "resolver" / "overrides.json"
    if not path.exists():
        return
    _write(state / "resolver" / "named.conf", _resolver_conf(state / "resolver", addr))
    _reload_resolver(state, "reloading configuration succeeded", timeout)
    path.unlink()
    (state / "resolver" / f"{OVERRIDE_ZONE}.db").unlink(missing_ok=True)


# --------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rig.py", description="Start or stop the local Pebble + BIND9 + PowerDNS test rig."
    )
    parser.add_argument("command", choices=["up", "down", "status", "notify-relay"])
    parser.add_argument("--dir", default=None, help=f"state directory (default: {DEFAULT_DIR})")
    parser.add_argument("--notify-delay", type=int, default=2, help="primary's notify-delay in seconds (default: 2)")
    parser.add_argument("--nonce-reject", type=int, default=None, help="PEBBLE_WFE_NONCEREJECT percentage")
    parser.add_argument("--net", default=DEFAULT_NET, help=f"loopback /24 to use (default: {DEFAULT_NET})")
    parser.add_argument("--timeout", type=float, default=30.0, help="start-up timeout in seconds (default: 30)")
    parser.add_argument("--listen", help="notify-relay (started by up): address to listen on")
    parser.add_argument("--delay", type=float, default=2.0, help="notify-relay: seconds to hold a NOTIFY")
    parser.add_argument("--to", nargs="+", default=[], help="notify-relay: secondaries to pass NOTIFYs on to")
    parser.add_argument("--hold", default=None, help="notify-relay: JSON file of secondaries not to notify")
    args = parser.parse_args(argv)
    if args.command == "notify-relay":
        notify_relay(args.listen, args.to, args.delay, args.hold)
        return 0
    try:
        if args.command == "up":
            started = time.monotonic()
            result = up(args.dir, args.notify_delay, args.nonce_reject, net=args.net, timeout=args.timeout)
            print(json.dumps(result, indent=2))
            print(f"rig ready in {time.monotonic() - started:.1f}s: {result['dir']}", file=sys.stderr)
        elif args.command == "down":
            down(args.dir)
        else:
            for name, entry in status(args.dir).items():
                print(f"{name:9} pid {entry['pid']:>7} {'running' if entry['alive'] else 'gone'}", file=sys.stderr)
            print(json.dumps(info(args.dir), indent=2))
    except RigError as exc:
        print(f"rig.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
