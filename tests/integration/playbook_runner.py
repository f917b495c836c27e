# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run renew.yml and ad-hoc modules the way users do, and read back what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import dns.message
import dns.query
import dns.rdatatype
import yaml

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


def ansible_env() -> dict:
    env = dict(os.environ)
    env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
    env["ANSIBLE_CALLBACKS_ENABLED"] = "record_results"
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".build", "collections"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_HOST_KEY_CHECKING"] = "0"
    return env


def run_renew(variables: dict, tmp_path, *extra: str, timeout: int = 600) -> PlaybookRun:
    """ansible-playbook renew.yml -i localhost, -c local -e @vars.yml [extra]."""
    vars_file = tmp_path / ("vars-%d.yml" % len(list(tmp_path.glob("vars-*.yml"))))
    vars_file.write_text(yaml.safe_dump(variables))
    command = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        PLAYBOOK,
        "-e",
        "@%s" % vars_file,
        *extra,
    ]
    results_file = tmp_path / ("results-%s.json" % vars_file.stem)
    env = ansible_env()
    env["CERTFLEET_RESULTS_FILE"] = str(results_file)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO, check=False)
    result = json.loads(results_file.read_text()) if results_file.exists() else {}
    return PlaybookRun(proc.returncode, result, proc.stdout, proc.stderr)


def run_module(module: str, args: dict, timeout: int = 300, check: bool = False) -> dict:
    """Run one module of the collection through ansible's ad-hoc command and return its result.

    ``check`` runs it with ``--check``.
    """
    command = [
        os.path.join(os.path.dirname(sys.executable), "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        "certfleet.acme.%s" % module,
        "-a",
        json.dumps(args),
    ]
    if check:
        command.append("--check")
    env = ansible_env()
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    fd, results_file = tempfile.mkstemp(prefix="certfleet-adhoc-", suffix=".json")
    os.close(fd)
    env["CERTFLEET_RESULTS_FILE"] = results_file
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO, check=False)
        with open(results_file, encoding="utf-8") as handle:
            result = json.load(handle)
    finally:
        os.unlink(results_file)
    if not result.get("plays"):
        raise AssertionError("ansible printed no result:\n%s\n%s" % (proc.stdout, proc.stderr))
    return result["plays"][0]["tasks"][0]["hosts"]["localhost"]


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
