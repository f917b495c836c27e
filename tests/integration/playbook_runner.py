# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run renew.yml and ad-hoc modules the way users do, and read back what happened."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import yaml

from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "renew.yml")


@dataclass
class PlaybookRun:
    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def stats(self) -> dict:
        return self.result.get("stats", {}).get("localhost", {})

    def task_results(self, task_name: str) -> list[dict]:
        found = []
        for play in self.result.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"].split(" : ")[-1] == task_name:
                    found.extend(task["hosts"].values())
        return found

    def text(self) -> str:
        """Everything the run said, for searching messages and for secrets that must not be there."""
        return json.dumps(self.result) + self.stdout + self.stderr


def ansible_env(base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with the settings every ansible command of the tests uses."""
    env = dict(os.environ if base is None else base)
    env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
    env["ANSIBLE_CALLBACKS_ENABLED"] = "record_results"
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".build", "collections"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_HOST_KEY_CHECKING"] = "0"
    return env


def ansible_command(program: str, *args: str) -> list[str]:
    """``<venv>/bin/<program>`` on localhost with the local connection, then ``args``."""
    return [os.path.join(os.path.dirname(sys.executable), program), "-i", "localhost,", "-c", "local", *args]


def playbook_command(vars_file, *extra: str, playbook: str = PLAYBOOK) -> list[str]:
    """ansible-playbook renew.yml -i localhost, -c local -e @vars_file [extra]."""
    return ansible_command("ansible-playbook", playbook, "-e", "@%s" % vars_file, *extra)


def adhoc_command(module: str, args: dict | None = None, *flags: str) -> list[str]:
    """ansible localhost -m <module> -a <args as JSON> [flags]; a module without a dot is one of this collection."""
    fqcn = module if "." in module else "certfleet.acme.%s" % module
    command = ansible_command("ansible", "localhost", "-m", fqcn)
    if args is not None:
        command += ["-a", json.dumps(args)]
    return command + list(flags)


def write_vars(variables: dict, tmp_path, name: str | None = None):
    """The role variables as a YAML file in ``tmp_path`` (vars-<n>.yml, or <name>-vars.yml)."""
    vars_file = tmp_path / ("%s-vars.yml" % name if name else "vars-%d.yml" % len(list(tmp_path.glob("vars-*.yml"))))
    vars_file.write_text(yaml.safe_dump(variables))
    return vars_file


def _run(command: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """One ansible command from the repository root, its output captured; the caller reads the return code.

    A deprecation warning fails the test that ran the command, whatever its outcome: the collection must run
    clean on every supported ansible-core, so it is found by the run that shows it, not by users later.
    """
    env = dict(env, ANSIBLE_DEPRECATION_WARNINGS="1")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO, check=False)
    output = proc.stderr + proc.stdout
    if "[DEPRECATION WARNING]" in output:
        lines = [line for line in output.splitlines() if "DEPRECATION" in line]
        raise AssertionError("%s printed a deprecation warning:\n%s" % (" ".join(command[:4]), "\n".join(lines)))
    return proc


def run_renew(variables: dict, tmp_path, *extra: str, timeout: int = 600) -> PlaybookRun:
    """ansible-playbook renew.yml -i localhost, -c local -e @vars.yml [extra]."""
    vars_file = write_vars(variables, tmp_path)
    results_file = tmp_path / ("results-%s.json" % vars_file.stem)
    env = ansible_env()
    env["CERTFLEET_RESULTS_FILE"] = str(results_file)
    proc = _run(playbook_command(vars_file, *extra), env, timeout)
    result = json.loads(results_file.read_text()) if results_file.exists() else {}
    return PlaybookRun(proc.returncode, result, proc.stdout, proc.stderr)


def start_renew(variables: dict, tmp_path, name: str) -> subprocess.Popen:
    """renew.yml in the background, in a process group of its own (to stop or kill it whole).

    Its output goes to ``<name>.log`` and its results to ``<name>-results.json`` in ``tmp_path``.
    """
    env = ansible_env()
    env["CERTFLEET_RESULTS_FILE"] = str(tmp_path / ("%s-results.json" % name))
    command = playbook_command(write_vars(variables, tmp_path, name))
    with open(tmp_path / ("%s.log" % name), "w", encoding="utf-8") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )


def run_adhoc(module: str, args: dict, *flags: str, timeout: int = 300, env: dict | None = None) -> tuple[dict, str]:
    """Run one module of the collection ad hoc with extra flags (--check, -vvv, --diff).

    Returns its result (as the results callback recorded it, ``failed`` always
    set) and everything ansible printed, stderr (warnings) first. ``env`` is
    the environment to start from (default: this process's).
    """
    env = ansible_env(env)
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    fd, results_file = tempfile.mkstemp(prefix="certfleet-adhoc-", suffix=".json")
    os.close(fd)
    env["CERTFLEET_RESULTS_FILE"] = results_file
    try:
        proc = _run(adhoc_command(module, args, *flags), env, timeout)
        with open(results_file, encoding="utf-8") as handle:
            result = json.load(handle)
    finally:
        os.unlink(results_file)
    if not result.get("plays"):
        raise AssertionError("ansible printed no result:\n%s\n%s" % (proc.stdout, proc.stderr))
    outcome = result["plays"][0]["tasks"][0]["hosts"]["localhost"]
    outcome.setdefault("failed", proc.returncode != 0)
    return outcome, proc.stderr + proc.stdout


def run_module(module: str, args: dict, timeout: int = 300, check: bool = False) -> dict:
    """Run one module of the collection through ansible's ad-hoc command and return its result.

    ``check`` runs it with ``--check``.
    """
    return run_adhoc(module, args, *(["--check"] if check else []), timeout=timeout)[0]


def role_vars(rig: dict, state_dir, certificates: list[dict], **overrides) -> dict:
    """Role variables pointing at the rig."""
    variables = {
        "letsencrypt_dns_acme_directory": rig["acme_directory"],
        "letsencrypt_dns_acme_ca_bundle": rig["ca_bundle"],
        "letsencrypt_dns_account_email": "ops@example.test",
        "letsencrypt_dns_terms_agreed": True,
        "letsencrypt_dns_dir": str(state_dir),
        "letsencrypt_dns_resolvers": [rig["resolver"]],
        "letsencrypt_dns_propagation_timeout": 60,
        "letsencrypt_dns_propagation_interval": 1,
        "letsencrypt_dns_providers": [rig["provider"]],
        "letsencrypt_dns_certificates": certificates,
    }
    variables.update(overrides)
    return variables


def through(proxy, variables: dict) -> dict:
    """The role variables with the ACME directory reached through ``proxy`` (the ``proxy`` fixture)."""
    return dict(
        variables, letsencrypt_dns_acme_directory=proxy.directory_url, letsencrypt_dns_acme_ca_bundle=proxy.ca_bundle
    )


def acme_settings(server: dict, state_dir, **extra) -> AcmeSettings:
    """The ACME modules' settings for a rig or a Pebble started by a test (its acme_directory and ca_bundle)."""
    options = {
        "directory_url": server["acme_directory"],
        "state_dir": str(state_dir),
        "ca_bundle": server["ca_bundle"],
        "account_email": "ops@example.test",
        "terms_agreed": True,
    }
    options.update(extra)
    return AcmeSettings(**options)


def token() -> str:
    """An ACME-like value: 43 characters of base64url."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def label(prefix: str = "t") -> str:
    """A random DNS label, so each test has names of its own."""
    return prefix + secrets.token_hex(5)


def txt_values(server: str, name: str) -> set[str]:
    """TXT values one authoritative server answers for ``name``, asked directly without recursion."""
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    query.flags &= ~dns.flags.RD
    response = dns.query.tcp(query, server, timeout=5)
    values = set()
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rdata in rrset:
                values.add(b"".join(rdata.strings).decode())
    return values
