# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time cert_expiry_facts on 1,000 certificates on disk (goal: one call in under 2 seconds).

Generates 1,000 certificates with cryptography into a temporary state
directory (one EC key for all of them: key generation is not what is
measured), then times:

1. the module's logic (``expiry_facts``) without ARI;
2. the same with ARI when every certificate's choice is already kept in
   ``cert.json`` (the daily case: no request to the CA);
3. the same with ARI against the local fake CA (tests/fakes/acme_ari_fake.py,
   HTTPS on 127.0.0.1) asking for all 1,000 windows and keeping them
   (the first run, or the day after Retry-After ran out);
4. the real module through ``ansible localhost -m`` (process start-up,
   Ansible's module packaging and argument checks included), once without
   and once with ARI.

Run from the repository root: ``python bench/expiry_1000.py [--count N]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".build" / "collections"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "fakes"))

import acme_ari_fake  # noqa: E402
import testca  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from playbook_runner import adhoc_command, run_module  # noqa: E402

from ansible_collections.certfleet.acme.plugins.module_utils._plan.ari_state import open_ari  # noqa: E402
from ansible_collections.certfleet.acme.plugins.module_utils._plan.expiry import (  # noqa: E402
    due_names,
    expiry_facts,
)

UTC = datetime.timezone.utc


def write_fleet(state_dir: Path, count: int, issue) -> list[dict]:
    """``count`` certificates ``c<i>`` for ``c<i>.example.test``, written as ``<state_dir>/c<i>/cert.pem``."""
    items = []
    for index in range(count):
        name = "c%d" % index
        host = "%s.example.test" % name
        directory = state_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cert.pem").write_text(issue([host], index))
        items.append({"name": name, "names": [host], "key_type": "ec256"})
    return items


def self_issued(key):
    """Certificates signed with ``key``, with an AKI, lifetimes spread over 90 days (some are due)."""
    now = datetime.datetime.now(UTC)
    issuer = testca.x509_name("bench CA")
    aki = ((x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False),)

    def issue(names, index):
        not_before = now - datetime.timedelta(days=index % 90)
        not_after = not_before + datetime.timedelta(days=90)
        return testca.pem(testca.make_leaf(key, issuer, key.public_key(), names, not_before, not_after, extensions=aki))

    return issue


def timed(label: str, function, repeat: int = 1):
    best = None
    result = None
    for _attempt in range(repeat):
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print("%-62s %7.3f s" % (label, best))
    return best, result


def run_ansible(args: dict) -> dict:
    """The module's result through ``ansible localhost -m certfleet.acme.cert_expiry_facts`` (the tests' runner)."""
    result = run_module("cert_expiry_facts", args, timeout=600)
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result


def run_module_process(args: dict, tmp: Path) -> dict:
    """The module file run as Ansible runs it on the target, minus Ansible: ``python cert_expiry_facts.py args.json``."""
    args_file = tmp / "module-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    module = REPO / "plugins" / "modules" / "cert_expiry_facts.py"
    env = dict(os.environ, PYTHONPATH=str(REPO / ".build" / "collections"))
    proc = subprocess.run(
        [sys.executable, str(module), str(args_file)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("module process failed:\n%s\n%s" % (proc.stdout[-2000:], proc.stderr[-2000:])) from None
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--no-ansible", action="store_true", help="skip the runs through ansible -m")
    args = parser.parse_args()
    count = args.count
    print(
        "cert_expiry_facts benchmark: %d certificates, %d CPUs, Python %s"
        % (count, os.cpu_count(), sys.version.split()[0])
    )
    tmp = Path(tempfile.mkdtemp(prefix="certfleet-expiry-bench-"))
    fake = None
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        plain_dir = tmp / "plain"
        _seconds, items = timed(
            "generate %d certificates (one EC P-256 key)" % count,
            lambda: write_fleet(plain_dir, count, self_issued(key)),
        )

        seconds, (facts, _warnings) = timed(
            "logic, no ARI (best of 3)", lambda: expiry_facts(items, str(plain_dir)), repeat=3
        )
        print("    %d due of %d" % (len(due_names(facts)), len(facts)))
        results = {"logic_no_ari": seconds}

        # Keep-alive, as real CAs offer: otherwise every request pays a TLS handshake on both ends.
        acme_ari_fake._Handler.protocol_version = "HTTP/1.1"  # pylint: disable=protected-access
        fake = acme_ari_fake.AcmeAriFake().start()
        ari_dir = tmp / "ari"
        _seconds, ari_items = timed(
            "issue %d certificates from the fake CA" % count,
            lambda: write_fleet(ari_dir, count, lambda names, _index: fake.issue_certificate(names, key=key)[0]),
        )
        client, warning = open_ari(fake.directory_url, fake.ca_bundle, 10)
        if client is None:
            raise SystemExit("the fake CA offers no renewalInfo: %s" % warning)
        seconds, (facts, warnings) = timed(
            "logic, ARI first run: %d GETs + %d cert.json writes (*)" % (count, count),
            lambda: expiry_facts(ari_items, str(ari_dir), ari=client),
        )
        if warnings:
            raise SystemExit("warnings: %s" % warnings[:3])
        results["logic_ari_fetch"] = seconds
        print("    (*) the fake CA runs in this process: its CPU time for %d HTTPS answers is in the number" % count)
        asked = len(fake.renewal_info_requests)
        seconds, (facts, warnings) = timed(
            "logic, ARI kept in cert.json (no request; best of 3)",
            lambda: expiry_facts(ari_items, str(ari_dir), ari=client),
            repeat=3,
        )
        assert len(fake.renewal_info_requests) == asked, "the CA was asked again before next_check"
        results["logic_ari_kept"] = seconds

        seconds, result = timed(
            "module process (python cert_expiry_facts.py args.json), no ARI",
            lambda: run_module_process({"state_dir": str(plain_dir), "certificates": items}, tmp),
        )
        results["module_process_no_ari"] = seconds
        ari_args = {
            "state_dir": str(ari_dir),
            "acme_directory": fake.directory_url,
            "acme_ca_bundle": fake.ca_bundle,
            "certificates": ari_items,
        }
        seconds, result = timed("module process, ARI kept in cert.json", lambda: run_module_process(ari_args, tmp))
        results["module_process_ari_kept"] = seconds

        if not args.no_ansible:
            seconds, result = timed(
                "ansible -m cert_expiry_facts, no ARI (whole command)",
                lambda: run_ansible({"state_dir": str(plain_dir), "certificates": items}),
            )
            results["ansible_no_ari"] = seconds
            print("    %d due of %d" % (len(result["due"]), len(result["certificates"])))
            seconds, result = timed(
                "ansible -m cert_expiry_facts, ARI kept (whole command)", lambda: run_ansible(ari_args)
            )
            results["ansible_ari_kept"] = seconds
            start = time.perf_counter()
            subprocess.run(
                adhoc_command("ansible.builtin.ping"),
                capture_output=True,
                env=dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable),
                timeout=120,
                check=False,
            )
            print("%-62s %7.3f s" % ("for comparison: ansible -m ping (start-up cost)", time.perf_counter() - start))
        print("RESULT " + json.dumps({key: round(value, 3) for key, value in results.items()}, sort_keys=True))
        if max(results[key] for key in ("logic_no_ari", "logic_ari_kept", "module_process_no_ari")) >= 2.0:
            raise SystemExit("slower than 2 seconds")
    finally:
        if fake is not None:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
