# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each tool of the benchmark, run the way its users run it against the rig.

Every runner issues the given certificates into a fresh directory, returns
the wall time of the whole work (every command it takes, start-up included)
and the leaf certificate file of each certificate, which ``verify`` then
checks: a timing whose certificates are missing or wrong is an error, never
a number in the table.

The certificates are ``[{"name": ..., "names": [...]}]``; the rig's info
(tests/rig/rig.py ``up``) gives the ACME directory, its CA, the TSIG key, the
primary and the resolver.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509

REPO = Path(__file__).resolve().parent.parent
BENCH_VENV = Path(os.environ.get("BENCH_VENV", REPO / ".build" / "bench-venv"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import playbook_runner  # noqa: E402
from playbook_runner import role_vars  # noqa: E402

EMAIL = "ops@example.test"
# certbot's DNS plugins only sleep. With notify delay 3 s, 4 s passed every single-certificate try on an idle
# rig (3 s failed one in three), but one certificate of a 100-certificate run under load failed with 4 s:
# the bench uses 6 s (see bench/README.md).
CERTBOT_PROPAGATION_SECONDS = int(os.environ.get("BENCH_CERTBOT_PROPAGATION", "6"))
LEGO_SEQUENCE_INTERVAL = 1


class BenchError(RuntimeError):
    """A tool failed, or did not produce the certificates it was asked for."""


def _run(command: list[str], env: dict, cwd: Path, timeout: int = 3600) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise BenchError(
            "%s exited %d:\n%s\n%s" % (" ".join(command[:3]), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
        )
    return proc


def verify(files: dict[str, Path], certificates: list[dict]) -> int:
    """Every certificate exists, is issued by the CA (not self-signed) and names exactly what was asked."""
    problems = []
    for cert in certificates:
        path = files.get(cert["name"])
        if path is None or not path.exists():
            problems.append("%s: no certificate at %s" % (cert["name"], path))
            continue
        leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
        names = set(
            leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        )
        if names != set(cert["names"]):
            problems.append("%s: names %s, expected %s" % (cert["name"], sorted(names), sorted(cert["names"])))
        if leaf.issuer == leaf.subject or "Pebble" not in leaf.issuer.rfc4514_string():
            problems.append("%s: issued by %s" % (cert["name"], leaf.issuer.rfc4514_string()))
    if problems:
        raise BenchError("%d of %d certificates wrong: %s" % (len(problems), len(certificates), problems[:5]))
    return len(certificates)


def _fresh(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


# --------------------------------------------------------------------------
# this collection


def ours_vars(info: dict, state: Path, certificates: list[dict]) -> dict:
    """Role variables for the rig, with the role's own polling interval (what users get)."""
    variables = role_vars(info, state, certificates, letsencrypt_dns_propagation_timeout=300)
    variables.pop("letsencrypt_dns_propagation_interval", None)
    return variables


def renew_timed(variables: dict, work: Path) -> tuple[float, playbook_runner.PlaybookRun]:
    """renew.yml as the tests run it, plus bench/callback_plugins/task_seconds (profile in work/task-seconds.txt)."""
    plain_env = playbook_runner.ansible_env

    def env_with_timer() -> dict:
        env = plain_env()
        env["ANSIBLE_CALLBACK_PLUGINS"] += ":" + str(REPO / "bench" / "callback_plugins")
        env["ANSIBLE_CALLBACKS_ENABLED"] += ",task_seconds"
        env["CERTFLEET_TASK_SECONDS"] = str(work / "task-seconds.txt")
        return env

    playbook_runner.ansible_env = env_with_timer
    try:
        started = time.monotonic()
        result = playbook_runner.run_renew(variables, work, timeout=3600)
        seconds = time.monotonic() - started
    finally:
        playbook_runner.ansible_env = plain_env
    if result.rc != 0:
        raise BenchError("renew.yml failed:\n%s" % result.text()[-3000:])
    return seconds, result


def run_ours(info: dict, work: Path, certificates: list[dict]) -> tuple[float, dict[str, Path]]:
    """renew.yml, one run for all certificates."""
    state = _fresh(work / "state")
    seconds, _result = renew_timed(ours_vars(info, state, certificates), work)
    return seconds, {cert["name"]: state / cert["name"] / "cert.pem" for cert in certificates}


# --------------------------------------------------------------------------
# certbot + certbot-dns-rfc2136


def certbot_credentials(info: dict, work: Path) -> Path:
    tsig = info["tsig"]
    path = work / "rfc2136.ini"
    path.write_text(
        "dns_rfc2136_server = %s\ndns_rfc2136_port = 53\ndns_rfc2136_name = %s\n"
        "dns_rfc2136_secret = %s\ndns_rfc2136_algorithm = %s\n"
        % (info["primary"], tsig["key_name"], tsig["key_secret"], tsig["key_algorithm"].upper())
    )
    path.chmod(0o600)
    return path


def certbot_env(info: dict) -> dict:
    return dict(os.environ, REQUESTS_CA_BUNDLE=info["ca_bundle"])


def certbot_dirs(base: Path) -> list[str]:
    return ["--config-dir", str(base / "config"), "--work-dir", str(base / "work"), "--logs-dir", str(base / "logs")]


def run_certbot(info: dict, work: Path, certificates: list[dict]) -> tuple[float, dict[str, Path]]:
    """``certbot certonly`` once per certificate, as cron jobs and scripts call it."""
    base = _fresh(work / "certbot")
    credentials = certbot_credentials(info, base)
    env = certbot_env(info)
    started = time.monotonic()
    for cert in certificates:
        command = [str(BENCH_VENV / "bin" / "certbot"), "certonly", "--non-interactive", "--agree-tos"]
        command += ["-m", EMAIL, "--server", info["acme_directory"], *certbot_dirs(base)]
        command += ["--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials", str(credentials)]
        command += ["--dns-rfc2136-propagation-seconds", str(CERTBOT_PROPAGATION_SECONDS)]
        command += ["--key-type", "ecdsa", "--cert-name", cert["name"]]
        for name in cert["names"]:
            command += ["-d", name]
        _run(command, env, base)
    seconds = time.monotonic() - started
    return seconds, {cert["name"]: base / "config" / "live" / cert["name"] / "cert.pem" for cert in certificates}


# --------------------------------------------------------------------------
# lego (Debian package) with its rfc2136 provider


def lego_env(info: dict, work: Path) -> dict:
    tsig = info["tsig"]
    env = dict(os.environ)
    env.update(
        {
            "LEGO_CA_CERTIFICATES": info["ca_bundle"],
            "RFC2136_NAMESERVER": "%s:53" % info["primary"],
            "RFC2136_TSIG_KEY": tsig["key_name"],
            "RFC2136_TSIG_SECRET": tsig["key_secret"],
            "RFC2136_TSIG_ALGORITHM": tsig["key_algorithm"] + ".",
            "RFC2136_SEQUENCE_INTERVAL": str(LEGO_SEQUENCE_INTERVAL),
            "RFC2136_PROPAGATION_TIMEOUT": "300",
        }
    )
    return env


def rig_resolv_conf(info: dict, work: Path) -> Path:
    path = work / "resolv.conf"
    path.write_text("nameserver %s\n" % info["resolver"])
    return path


def with_rig_resolver(resolv_conf: Path, argv: list[str]) -> list[str]:
    """``argv`` in a mount namespace of its own whose /etc/resolv.conf names the rig's resolver.

    lego 4.9 and community.dns 3.4 look up the addresses of a zone's
    nameservers (ns1.example.test) with the system resolver, whatever
    ``--dns.resolvers`` or ``server`` say; making the rig's resolver their
    system resolver keeps their propagation checks real (every authoritative
    server asked) and keeps them off the machine's resolver.
    """
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(resolv_conf), *argv]


def lego_command(info: dict, base: Path, resolv_conf: Path, arguments: list[str]) -> list[str]:
    """``lego`` with ``arguments``, asking a secondary (not Pebble's resolver) in its propagation check.

    lego's check first asks its resolvers for the TXT record, then every
    authoritative server. Through the rig's resolver, the one Pebble validates
    with, a not-yet-there answer of that first query could still be cached
    (BIND counts TTLs in whole seconds: even max-ncache-ttl 0 keeps it for the
    rest of the second) when Pebble asked right after, and the name failed:
    4 of 100 names of one certificate. A CA never shares its client's
    resolver; the secondary answers for the zone itself and caches nothing.
    """
    lego = [shutil.which("lego") or "/usr/bin/lego", "--accept-tos", "--email", EMAIL]
    lego += ["--server", info["acme_directory"], "--path", str(base / "lego"), "--key-type", "ec256"]
    lego += ["--dns", "rfc2136", "--dns.resolvers", "%s:53" % info["secondaries"][0], *arguments]
    return with_rig_resolver(resolv_conf, lego)


def run_lego(info: dict, work: Path, certificates: list[dict]) -> tuple[float, dict[str, Path]]:
    """``lego run`` once per certificate."""
    base = _fresh(work / "lego")
    env = lego_env(info, base)
    resolv_conf = rig_resolv_conf(info, base)
    started = time.monotonic()
    for cert in certificates:
        domains = []
        for name in cert["names"]:
            domains += ["--domains", name]
        _run(lego_command(info, base, resolv_conf, [*domains, "run"]), env, base)
    seconds = time.monotonic() - started
    files = {cert["name"]: base / "lego" / "certificates" / ("%s.crt" % cert["names"][0]) for cert in certificates}
    return seconds, files


# --------------------------------------------------------------------------
# community.crypto acme_certificate + community.general nsupdate + community.dns wait_for_txt


def crypto_env() -> dict:
    """The bench venv's ansible with the collections the ``ansible`` package bundles, not ours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.pop("PYTHONPATH", None)
    env["PATH"] = "%s:%s" % (BENCH_VENV / "bin", env.get("PATH", ""))
    env["ANSIBLE_PYTHON_INTERPRETER"] = str(BENCH_VENV / "bin" / "python")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".build" / "bench-no-collections")
    return env


def run_crypto(info: dict, work: Path, certificates: list[dict]) -> tuple[float, dict[str, Path]]:
    """bench/community_crypto.yml: each step a task looping over every certificate."""
    base = _fresh(work / "crypto")
    (REPO / ".build" / "bench-no-collections").mkdir(parents=True, exist_ok=True)
    tsig = info["tsig"]
    variables = {
        "acme_directory": info["acme_directory"],
        "acme_ca_bundle": info["ca_bundle"],
        "state_dir": str(base / "state"),
        "account_email": EMAIL,
        "dns_primary": info["primary"],
        "dns_resolver": info["resolver"],
        "tsig_name": tsig["key_name"],
        "tsig_secret": tsig["key_secret"],
        "tsig_algorithm": tsig["key_algorithm"],
        "certificates": certificates,
    }
    vars_file = base / "vars.json"
    vars_file.write_text(json.dumps(variables))
    command = [str(BENCH_VENV / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local"]
    command += [str(REPO / "bench" / "community_crypto.yml"), "-e", "@%s" % vars_file]
    env = crypto_env()
    env["SSL_CERT_FILE"] = info["ca_bundle"]
    started = time.monotonic()
    _run(with_rig_resolver(rig_resolv_conf(info, base), command), env, base)
    seconds = time.monotonic() - started
    return seconds, {cert["name"]: base / "state" / ("%s.crt" % cert["name"]) for cert in certificates}


RUNNERS = {"ours": run_ours, "certbot": run_certbot, "lego": run_lego, "crypto": run_crypto}
