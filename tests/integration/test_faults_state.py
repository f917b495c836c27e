# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of the run and its state: SIGKILL between ordering and finalizing, HTTP 429 from the CA, a full disk.

Each fault must end with a clear error naming the certificate and the cause,
no TXT value left on any server, no half-written file, the certificates that
were fine still fine, and the next run completing the work.

The CA's 429 answers come from tests/fakes/acme_fault_proxy.py, an HTTPS
proxy in front of the rig's Pebble; the run is pointed at the proxy's
directory and trusts the proxy's CA.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import testca
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playbook_runner import role_vars, run_renew, start_renew, through, txt_values
from test_role import assert_no_challenge_values

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import same_serial

CERT_FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json")
ACCOUNT_FILES = {".acme/account.key", ".acme/account.json"}


def state_files(state: Path) -> set[str]:
    """Every file (not directory) under the state directory, relative to it."""
    return {str(path.relative_to(state)) for path in state.rglob("*") if not path.is_dir()}


def issued_files(*names: str) -> set[str]:
    return ACCOUNT_FILES | {"%s/%s" % (name, filename) for name in names for filename in CERT_FILES}


def key_matches_cert(directory: Path) -> bool:
    key = serialization.load_pem_private_key((directory / "privkey.pem").read_bytes(), password=None)
    leaf = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    fullchain = (directory / "fullchain.pem").read_text()
    return (
        key.public_key().public_bytes(der, spki) == leaf.public_key().public_bytes(der, spki)
        and fullchain.startswith((directory / "cert.pem").read_text())
        and fullchain.endswith((directory / "chain.pem").read_text())
        and same_serial(json.loads((directory / "cert.json").read_text())["serial"], leaf.serial_number)
    )


def is_bad_nonce(seen) -> bool:
    return seen.status == 400 and seen.problem == "urn:ietf:params:acme:error:badNonce"


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run's whole process group and wait until none of its processes is left."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            raise AssertionError("processes of the killed run are still alive")
        time.sleep(0.1)


# ----------------------------------------------------------------------------------------------------------------
# 1. SIGKILL between ordering and finalizing


def test_a_run_killed_after_validation_is_resumed_and_its_txt_values_removed(rig, proxy, tmp_path):
    """Killed once the CA validated the challenges: the resumed order needs no records, the journal does the rest.

    The proxy answers the finalize request with 429 and a Retry-After the run
    waits out, which holds the run right after the authorizations became
    valid; that is when it is killed. The TXT values are then published and
    no longer needed by the order, so only the journal can say they exist.
    """
    state = tmp_path / "state"
    certificates = [{"name": "state-killed", "names": ["state-killed.example.test"]}]
    variables = through(proxy, role_vars(rig, state, certificates))
    proxy.add_fault("finalize", times=1000, retry_after=30)
    run = start_renew(variables, tmp_path, "killed")
    try:
        deadline = time.monotonic() + 240
        while not proxy.seen("finalize"):
            assert run.poll() is None, (tmp_path / "killed.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "the run never reached finalize"
            time.sleep(0.1)
    finally:
        kill_group(run)

    challenge = "_acme-challenge.state-killed.example.test"
    order_url = json.loads((state / "state-killed" / "order.json").read_text())["order_url"]
    journal = json.loads((state / ".txt-journal.json").read_text())["entries"]
    [entry] = journal
    assert (entry["provider"], entry["name"]) == (rig["provider"]["name"], challenge)
    assert txt_values(rig["primary"], challenge) == set(entry["values"]), "the dead run's values are published"
    assert (state / ".lock").exists(), "SIGKILL leaves the lock"

    proxy.clear_faults()
    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    [recovered] = again.task_results("Remove the TXT values that a killed run published and never removed")
    assert [(item["name"], item["removed"]) for item in recovered["recovered"]] == [(challenge, entry["values"])]
    [ordered] = again.task_results("Create one ACME order per due certificate")
    [order] = ordered["orders"]
    assert (order["order_url"], order["resumed"], order["records"]) == (order_url, True, [])
    assert json.loads((state / "state-killed" / "cert.json").read_text())["order_url"] == order_url
    assert key_matches_cert(state / "state-killed")
    assert "took over the stale lock" in again.stdout + again.stderr

    assert_no_challenge_values(rig, certificates)
    assert state_files(state) == issued_files("state-killed"), "no lock, journal, order or temporary file is left"


# ----------------------------------------------------------------------------------------------------------------
# 2. HTTP 429 with Retry-After


def test_rate_limits_are_waited_out_when_short_and_reported_with_the_retry_time_when_long(rig, proxy, tmp_path):
    """One batch: newOrder of one certificate limited twice for 1 s, finalize of the other for an hour."""
    state = tmp_path / "state"
    waited = {"name": "state-waited", "names": ["state-waited.example.test"]}
    limited = {"name": "state-limited", "names": ["state-limited.example.test"]}
    # A bound well above the time the rest of the run takes, so "did not wait" is told apart from "waited the bound".
    variables = through(proxy, role_vars(rig, state, [waited, limited], letsencrypt_dns_rate_limit_wait=300))
    proxy.add_fault("newOrder", times=2, retry_after=1, names=waited["names"])
    proxy.add_fault("finalize", times=1000, retry_after=3600, names=limited["names"])

    run = run_renew(variables, tmp_path)
    ended = time.monotonic()
    assert run.rc != 0

    # Short: sent again after exactly the Retry-After, never sooner, and issued. Pebble rejects some nonces on
    # purpose; a badNonce answer is retried at once and is not a rate-limit retry.
    orders = [seen for seen in proxy.seen("newOrder", waited["names"]) if not is_bad_nonce(seen)]
    assert [seen.status for seen in orders] == [429, 429, 201]
    gaps = [later.at - earlier.at for earlier, later in zip(orders, orders[1:])]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert key_matches_cert(state / "state-waited")

    # Long: one finalize request, no retry, the certificate fails at once with the time to retry.
    [finalize] = proxy.seen("finalize", limited["names"])
    assert finalize.status == 429
    assert ended - finalize.at < 240, "the run waited although the Retry-After is longer than the bound"
    [finalized] = run.task_results("Answer the challenges, finalize and write the certificates")
    result = {cert["name"]: cert for cert in finalized["certificates"]}
    assert result["state-waited"]["status"] == "issued"
    error = result["state-limited"]["error"]
    assert error["type"] == "urn:ietf:params:acme:error:rateLimited"
    assert error["retry_after_seconds"] == 3600
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["retry_after"])
    [failed] = run.task_results("Fail naming every certificate that was not issued")
    assert "state-limited (finalize" in failed["msg"]
    assert "rate limited" in failed["msg"]
    assert "retry after %s (in 3600 s)" % error["retry_after"] in failed["msg"]
    assert "state-waited" not in failed["msg"]

    assert_no_challenge_values(rig, [waited, limited])
    # The limited order is fine and ready: kept, so the next run after the retry time resumes it.
    assert state_files(state) == issued_files("state-waited") | {"state-limited/order.json"}


# ----------------------------------------------------------------------------------------------------------------
# 3. The state directory's disk full while writing a certificate


@pytest.fixture
def tiny_disk(tmp_path):
    """Mount a 64 KiB tmpfs at a directory; yields a function that mounts it at a path. Unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mounted = []

    def mount(path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "certfleet-full", str(path)], check=True)
        mounted.append(path)

    yield mount
    for path in mounted:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


def fill(directory: Path, leave_pages: int) -> Path:
    """Fill the file system of ``directory`` with a file so that ``leave_pages`` pages stay free."""
    stats = os.statvfs(directory)
    filler = directory / "filler"
    filler.write_bytes(b"\0" * ((stats.f_bavail - leave_pages) * stats.f_bsize))
    assert os.statvfs(directory).f_bavail == leave_pages
    return filler


def write_old_certificate(directory: Path, names: list[str]) -> None:
    """A consistent key, certificate, chain and cert.json from a local CA, as an earlier issuance leaves them."""
    now = testca.now()
    ca_name = testca.x509_name("certfleet old issuer")
    ca_key, ca = testca.make_ca(ca_name, now - 10 * testca.DAY, now + 365 * testca.DAY)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = testca.make_leaf(ca_key, ca_name, key.public_key(), names, now - 10 * testca.DAY, now + 80 * testca.DAY)
    leaf_pem, chain_pem = testca.pem(leaf), testca.pem(ca)
    key_pem = testca.key_pem(key).encode("ascii")
    (directory / "privkey.pem").write_bytes(key_pem)
    os.chmod(directory / "privkey.pem", 0o600)
    (directory / "cert.pem").write_text(leaf_pem)
    (directory / "chain.pem").write_text(chain_pem)
    (directory / "fullchain.pem").write_text(leaf_pem + chain_pem)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    document = {
        "name": directory.name,
        "names": names,
        "key_type": "ec256",
        "serial": format(leaf.serial_number, "x"),
        "not_before": leaf.not_valid_before_utc.strftime(stamp),
        "not_after": leaf.not_valid_after_utc.strftime(stamp),
        "issuer": "certfleet old issuer",
        "chain_issuer": "certfleet old issuer",
        "order_url": None,
        "issued_at": now.strftime(stamp),
    }
    (directory / "cert.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def test_a_full_disk_while_writing_keeps_the_old_files_and_the_next_run_issues(rig, tmp_path, tiny_disk):
    """The certificate's directory is a tiny file system with room for order.json and one staged file only."""
    state = tmp_path / "state"
    full = {"name": "state-full", "names": ["state-full.example.test"], "force": True}
    other = {"name": "state-fine", "names": ["state-fine.example.test"]}
    directory = state / "state-full"
    tiny_disk(directory)
    write_old_certificate(directory, full["names"])
    old = {name: (directory / name).read_bytes() for name in CERT_FILES}
    assert key_matches_cert(directory)
    filler = fill(directory, leave_pages=2)

    variables = role_vars(rig, state, [full, other])
    failed = run_renew(variables, tmp_path)
    assert failed.rc != 0
    [finalized] = failed.task_results("Answer the challenges, finalize and write the certificates")
    result = {cert["name"]: cert for cert in finalized["certificates"]}
    assert result["state-fine"]["status"] == "issued", "the other certificate of the batch is issued"
    assert result["state-full"]["status"] == "failed"
    [message] = failed.task_results("Fail naming every certificate that was not issued")
    assert "state-full (finalize" in message["msg"]
    assert "writing its files in %s failed" % directory in message["msg"]
    assert "No space left on device" in message["msg"]
    assert {name: (directory / name).read_bytes() for name in CERT_FILES} == old, "the old files are untouched"
    assert key_matches_cert(directory)
    assert sorted(os.listdir(directory)) == sorted([*CERT_FILES, "filler"]), "no staged, temporary or order file"
    assert_no_challenge_values(rig, [full, other])

    filler.unlink()
    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert (directory / "cert.pem").read_bytes() != old["cert.pem"]
    assert key_matches_cert(directory)
    assert key_matches_cert(state / "state-fine")
    assert state_files(state) == issued_files("state-full", "state-fine")
    assert_no_challenge_values(rig, [full, other])
