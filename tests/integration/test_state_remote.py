# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role with its state in S3 (moto server, SSE-KMS) or Vault (OpenBao dev server): runners that share nothing else.

Each "runner" is a fresh, empty folder: its own letsencrypt_dns_dir (which a
remote state leaves unused) and its own TMPDIR (where the run's workspace
lives). What one runner issued, the next one finds in the store: nothing is
due, no account is registered, nothing is ordered. No private key is left on
a runner's disk after the run, also after a SIGKILL. Two runs at once: one
holds the lease, the other fails naming it; a lease left by a runner killed
with its guardian is taken over once it expired. A killed runner's journal and
order are in the store, so the next runner removes its TXT values and resumes
its order.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from moto_fixture import FAKE_KEY_ID, FAKE_SECRET_KEY, REGION, clean_aws_env
from playbook_runner import role_vars, run_renew, start_renew, through, txt_values
from test_certificate_adopt import ADOPT_TASK, make_sources, nothing_ordered
from test_faults_state import key_matches_cert, kill_group
from test_role import assert_no_challenge_values

CERTIFICATES = [
    {"name": "remote-one", "names": ["remote-one.example.test"]},
    {"name": "remote-wild", "names": ["remote-wild.example.test", "*.remote-wild.example.test"]},
    {"name": "remote-rsa", "names": ["remote-rsa.example.test"], "key_type": "rsa2048"},
]
SECRET_NAMES = ("privkey.pem", "account.key")


@pytest.fixture(scope="module")
def s3_state(moto_server):
    """A bucket whose default encryption is SSE-KMS, and a KMS key of its own: the role's S3 state options."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET_KEY, region_name=REGION
    )
    kms = session.client("kms", endpoint_url=moto_server.endpoint)
    key_arn = kms.create_key(Description="certfleet state")["KeyMetadata"]["Arn"]
    s3 = session.client("s3", endpoint_url=moto_server.endpoint)
    bucket = "certfleet-state"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]
        },
    )
    options = {
        "type": "s3",
        "bucket": bucket,
        "kms_key_id": key_arn,
        "region": REGION,
        "endpoint_url": moto_server.endpoint,
        "access_key": FAKE_KEY_ID,
        "secret_key": FAKE_SECRET_KEY,
    }
    return {"client": s3, "bucket": bucket, "key_arn": key_arn, "options": options}


def s3_objects(s3_state, prefix: str) -> dict[str, dict]:
    """Every object under ``prefix`` with its head (encryption, ETag)."""
    client, bucket = s3_state["client"], s3_state["bucket"]
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix) + 1 :]] = client.head_object(Bucket=bucket, Key=item["Key"])
    return found


def s3_read(s3_state, prefix: str, key: str) -> bytes:
    return s3_state["client"].get_object(Bucket=s3_state["bucket"], Key="%s/%s" % (prefix, key))["Body"].read()


#: Runners' TMPDIRs: ansible-playbook keeps a unix socket there, whose path may not exceed 108 bytes, so they are
#: short folders under /tmp rather than under a test's deep tmp_path; the on_runner fixture removes them.
_RUNNER_TMPS: list[Path] = []


def runner(tmp_path: Path, name: str) -> dict:
    """A fresh, empty runner: its own state folder (unused) and its own TMPDIR."""
    home = tmp_path / name
    home.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix="cf-%s-" % name, dir="/tmp"))
    _RUNNER_TMPS.append(tmp)
    return {"home": home, "state": home / "state", "tmp": tmp}


def key_files(folder: Path) -> list[str]:
    """Private keys anywhere under ``folder``, or for a runner anywhere in its home or its TMPDIR."""
    if isinstance(folder, dict):
        return key_files(folder["home"]) + key_files(folder["tmp"])
    return sorted(str(path) for path in folder.rglob("*") if path.name in SECRET_NAMES and path.is_file())


def workspaces(tmp: Path) -> list[str]:
    """The run workspaces in a runner's TMPDIR (Ansible's own payload folders of a killed module hold no state)."""
    return sorted(path.name for path in tmp.iterdir() if path.name.startswith("certfleet-acme-"))


def remote_vars(rig, state_options: dict, place: dict, certificates, **overrides) -> dict:
    return role_vars(rig, place["state"], certificates, letsencrypt_dns_state=state_options, **overrides)


@pytest.fixture
def on_runner(monkeypatch):
    """Point the runs of this test at a runner's TMPDIR (ansible-playbook and the guardian inherit it)."""

    def use(place: dict) -> None:
        for key, value in clean_aws_env().items():
            if key.startswith("AWS_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("TMPDIR", str(place["tmp"]))

    yield use
    while _RUNNER_TMPS:
        shutil.rmtree(_RUNNER_TMPS.pop(), ignore_errors=True)


def guardian_pids(tmp: Path) -> list[int]:
    """Guardian processes whose workspace lives in ``tmp`` (their TMPDIR)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
            environ = Path("/proc", entry, "environ").read_bytes()
        except OSError:
            continue
        if b"_state.guardian import main" in cmdline and b"TMPDIR=%s\0" % str(tmp).encode() in environ:
            found.append(int(entry))
    return found


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_two_runners_share_one_s3_state(rig, s3_state, tmp_path, on_runner):
    """Runner A issues three certificates into S3; runner B, as fresh as an AWX container, finds nothing due."""
    options = dict(s3_state["options"], prefix="two-runners-%s" % uuid.uuid4().hex[:6])
    first, second = runner(tmp_path, "a"), runner(tmp_path, "b")
    deploy = first["home"] / "deployed"
    deploy_entry = [{"cert": "remote-one", "type": "files", "dest": str(deploy)}]

    on_runner(first)
    issued = run_renew(
        remote_vars(rig, options, first, CERTIFICATES, letsencrypt_dns_deploy=deploy_entry), first["home"]
    )
    assert issued.rc == 0, issued.text()[-4000:]
    assert issued.stats["changed"] > 0
    [finalized] = issued.task_results("Answer the challenges, finalize and write the certificates")
    assert sorted(cert["name"] for cert in finalized["certificates"]) == sorted(c["name"] for c in CERTIFICATES)
    assert (deploy / "remote-one" / "privkey.pem").exists(), "the deploy stage read the key from the store"

    objects = s3_objects(s3_state, options["prefix"])
    for name in (cert["name"] for cert in CERTIFICATES):
        for filename in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json"):
            assert "%s/%s" % (name, filename) in objects
    assert {".acme/account.key", ".acme/account.json"} <= set(objects)
    report = json.loads(s3_read(s3_state, options["prefix"], ".report.json"))
    assert sorted(row["certificate"] for row in report["certificates"]) == sorted(c["name"] for c in CERTIFICATES)
    assert ".lock" not in objects, "the lease is released at the end of the run"
    assert not [key for key in objects if key.endswith(".commit.json") or key.endswith("order.json")]
    unencrypted = [key for key, head in objects.items() if head.get("ServerSideEncryption") != "aws:kms"]
    assert unencrypted == [], "every object is SSE-KMS"
    assert {head.get("SSEKMSKeyId") for head in objects.values()} == {s3_state["key_arn"]}
    account_before = {key: objects[key]["ETag"] for key in (".acme/account.key", ".acme/account.json")}

    checker = runner(tmp_path, "check")
    on_runner(checker)
    checked = run_renew(remote_vars(rig, options, checker, CERTIFICATES), checker["home"], "--check")
    assert checked.rc == 0, checked.text()[-4000:]
    assert checked.stats["changed"] == 0
    in_check = s3_objects(s3_state, options["prefix"])
    assert {key: head["ETag"] for key, head in in_check.items()} == {key: head["ETag"] for key, head in objects.items()}
    wait_until(lambda: not workspaces(checker["tmp"]), 15, "the check run's workspace is removed")

    on_runner(second)
    idle = run_renew(remote_vars(rig, options, second, CERTIFICATES), second["home"])
    assert idle.rc == 0, idle.text()[-4000:]
    assert idle.stats["changed"] == 0, idle.text()[-4000:]
    [expiry] = idle.task_results("Decide which certificates are due")
    assert expiry["due"] == [] and sorted(expiry["certificates"]) == sorted(c["name"] for c in CERTIFICATES)
    [ordered] = idle.task_results("Create one ACME order per due certificate")
    assert ordered.get("skipped"), "nothing is ordered"
    after = s3_objects(s3_state, options["prefix"])
    assert {key: after[key]["ETag"] for key in account_before} == account_before, "no account was registered"
    unchanged = {key: head["ETag"] for key, head in after.items() if key != ".report.json"}
    assert unchanged == {key: head["ETag"] for key, head in objects.items() if key != ".report.json"}

    for place in (first, second):
        wait_until(lambda place=place: not guardian_pids(place["tmp"]), 15, "the guardian ends with the run")
        assert key_files(place) == ([str(deploy / "remote-one" / "privkey.pem")] if place is first else [])
        assert workspaces(place["tmp"]) == [], "the workspace is removed"
    for secret in (FAKE_SECRET_KEY,):
        assert secret not in issued.text() + idle.text()


def held_at_finalize(rig, proxy, options: dict, place: dict, certificates, on_runner, name: str):
    """A run started on ``place``, held once its TXT values are published and validated: the CA (through the fault
    proxy) answers its finalize request with 429 and a Retry-After it waits out. Killed if it never gets there."""
    proxy.add_fault("finalize", times=1000, retry_after=30)
    on_runner(place)
    run = start_renew(through(proxy, remote_vars(rig, options, place, certificates)), place["home"], name)
    try:
        wait_until(lambda: proxy.seen("finalize") or run.poll() is not None, 240, "the run never reached finalize")
        assert run.poll() is None, (place["home"] / ("%s.log" % name)).read_text()[-4000:]
    except BaseException:
        kill_group(run)
        raise
    return run


def test_runner_killed_after_publishing_is_resumed_by_the_next_runner(rig, proxy, s3_state, tmp_path, on_runner):
    """SIGKILL of runner A once its TXT values are published; runner B removes them and resumes the same order."""
    options = dict(s3_state["options"], prefix="killed-%s" % uuid.uuid4().hex[:6])
    certificates = [{"name": "remote-killed", "names": ["remote-killed.example.test"]}]
    first, second = runner(tmp_path, "a"), runner(tmp_path, "b")
    kill_group(held_at_finalize(rig, proxy, options, first, certificates, on_runner, "killed"))

    challenge = "_acme-challenge.remote-killed.example.test"
    order_url = json.loads(s3_read(s3_state, options["prefix"], "remote-killed/order.json"))["order_url"]
    [entry] = json.loads(s3_read(s3_state, options["prefix"], ".txt-journal.json"))["entries"]
    assert entry["name"] == challenge
    assert txt_values(rig["primary"], challenge) == set(entry["values"]), "the killed run's values are published"
    wait_until(lambda: not guardian_pids(first["tmp"]), 15, "the guardian notices its run is gone")
    assert key_files(first) == [] and workspaces(first["tmp"]) == [], "nothing left on runner A"

    proxy.clear_faults()
    on_runner(second)
    again = run_renew(through(proxy, remote_vars(rig, options, second, certificates)), second["home"])
    assert again.rc == 0, again.stdout[-6000:]
    [recovered] = again.task_results("Remove the TXT values that a killed run published and never removed")
    assert [(item["name"], item["removed"]) for item in recovered["recovered"]] == [(challenge, entry["values"])]
    [ordered] = again.task_results("Create one ACME order per due certificate")
    [order] = ordered["orders"]
    assert (order["order_url"], order["resumed"]) == (order_url, True)
    assert_no_challenge_values(rig, certificates)
    objects = s3_objects(s3_state, options["prefix"])
    assert ".txt-journal.json" not in objects and "remote-killed/order.json" not in objects
    check = tmp_path / "check"
    for filename in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json"):
        (check / filename).parent.mkdir(exist_ok=True)
        (check / filename).write_bytes(s3_read(s3_state, options["prefix"], "remote-killed/" + filename))
    assert key_matches_cert(check)
    assert key_files(second) == []


def test_two_runs_at_once_and_a_lease_left_by_a_dead_runner(rig, proxy, s3_state, tmp_path, on_runner):
    """One run holds the lease, the other fails naming it; killed with its guardian, the lease expires and is taken."""
    options = dict(s3_state["options"], prefix="lease-%s" % uuid.uuid4().hex[:6], lease_duration=9)
    certificates = [{"name": "remote-lease", "names": ["remote-lease.example.test"]}]
    first, second = runner(tmp_path, "a"), runner(tmp_path, "b")
    run = held_at_finalize(rig, proxy, options, first, certificates, on_runner, "holder")
    try:
        lease = json.loads(s3_read(s3_state, options["prefix"], ".lock"))
        on_runner(second)
        refused = run_renew(through(proxy, remote_vars(rig, options, second, certificates)), second["home"])
        assert refused.rc != 0
        assert "held by run %s" % lease["run_id"] in refused.text(), refused.text()[-3000:]
        assert lease["host"] in refused.text()
        guardians = guardian_pids(first["tmp"])
        assert len(guardians) == 1
    finally:
        for pid in guardian_pids(first["tmp"]):
            os.kill(pid, signal.SIGKILL)  # the runner is gone with everything on it, as an AWX pod is
        kill_group(run)

    proxy.clear_faults()
    time.sleep(options["lease_duration"] + 1)
    on_runner(second)
    taken = run_renew(through(proxy, remote_vars(rig, options, second, certificates)), second["home"])
    assert taken.rc == 0, taken.text()[-4000:]
    assert "run %s" % lease["run_id"] in taken.text() and "expired" in taken.text()
    [finalized] = taken.task_results("Answer the challenges, finalize and write the certificates")
    assert [cert["status"] for cert in finalized["certificates"]] == ["issued"]
    assert_no_challenge_values(rig, certificates)


def vault_versions(server, path: str) -> dict[str, int]:
    """Every secret under ``path`` of the KV v2 mount ``secret`` with its current version (hvac, root token)."""
    import hvac  # pylint: disable=import-outside-toplevel

    client = hvac.Client(url=server.url, token=server.token)
    found = {}

    def walk(prefix: str) -> None:
        try:
            listed = client.secrets.kv.v2.list_secrets(path=prefix, mount_point="secret")["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            return
        for entry in listed:
            if entry.endswith("/"):
                walk(prefix + "/" + entry.rstrip("/"))
            else:
                metadata = client.secrets.kv.v2.read_secret_metadata(path=prefix + "/" + entry, mount_point="secret")
                found[(prefix + "/" + entry)[len(path) + 1 :]] = metadata["data"]["current_version"]

    walk(path)
    return found


def test_two_runners_share_one_vault_state(rig, openbao_module, openbao_server, tmp_path, on_runner):
    """The same with OpenBao (Vault KV v2, AppRole): runner B finds nothing due, nothing is written again."""
    path = "%s/two-runners-%s" % (openbao_module.STORE_PATH, uuid.uuid4().hex[:6])
    options = {
        "type": "vault",
        "url": openbao_server.url,
        "mount": "secret",
        "path": path,
        "auth": "approle",
        "role_id": openbao_server.role_id,
        "secret_id": openbao_server.secret_id,
    }
    first, second = runner(tmp_path, "a"), runner(tmp_path, "b")
    on_runner(first)
    issued = run_renew(remote_vars(rig, options, first, CERTIFICATES), first["home"])
    assert issued.rc == 0, issued.text()[-4000:]
    before = vault_versions(openbao_server, path)
    for name in (cert["name"] for cert in CERTIFICATES):
        assert {"%s/%s" % (name, filename) for filename in ("privkey.pem", "cert.pem", "cert.json")} <= set(before)
    assert {".acme/account.key", ".acme/account.json"} <= set(before) and ".lock" not in before

    on_runner(second)
    idle = run_renew(remote_vars(rig, options, second, CERTIFICATES), second["home"])
    assert idle.rc == 0, idle.text()[-4000:]
    assert idle.stats["changed"] == 0, idle.text()[-4000:]
    [ordered] = idle.task_results("Create one ACME order per due certificate")
    assert ordered.get("skipped"), "nothing is ordered"
    after = vault_versions(openbao_server, path)
    assert after.pop(".report.json") == before.pop(".report.json") + 1, "the idle run's report is kept"
    assert after == before, "nothing else was written again, no account registered"
    for place in (first, second):
        wait_until(lambda place=place: not guardian_pids(place["tmp"]), 15, "the guardian ends with the run")
        assert key_files(place) == [] and workspaces(place["tmp"]) == []
    assert openbao_server.secret_id not in issued.text() + idle.text()


def test_certificates_of_other_clients_are_adopted_into_an_s3_state(rig, s3_state, tmp_path, on_runner):
    """certbot, dehydrated and dnscontrol certificates adopted into S3; the next runner finds them, orders nothing."""
    (tmp_path / "scratch").mkdir()
    (tmp_path / "clients").mkdir()
    sources = make_sources(rig, tmp_path / "scratch", tmp_path / "clients")
    options = dict(s3_state["options"], prefix="adopt-%s" % uuid.uuid4().hex[:6])
    first, second = runner(tmp_path, "a"), runner(tmp_path, "b")
    on_runner(first)
    variables = remote_vars(rig, options, first, sources["certificates"], letsencrypt_dns_adopt=sources["adopt"])
    adopted = run_renew(variables, first["home"])
    assert adopted.rc == 0, adopted.text()[-4000:]
    [result] = adopted.task_results(ADOPT_TASK)
    assert {cert["result"] for cert in result["certificates"]} == {"adopted"}
    assert adopted.stats["changed"] == 1, adopted.stats
    nothing_ordered(adopted)
    objects = s3_objects(s3_state, options["prefix"])
    for cert in sources["certificates"]:
        assert (
            s3_read(s3_state, options["prefix"], cert["name"] + "/cert.pem")
            == (sources["scratch"] / cert["name"] / "cert.pem").read_bytes()
        )
        assert objects[cert["name"] + "/privkey.pem"]["ServerSideEncryption"] == "aws:kms"

    on_runner(second)
    again = run_renew(
        remote_vars(rig, options, second, sources["certificates"], letsencrypt_dns_adopt=sources["adopt"]),
        second["home"],
    )
    assert again.rc == 0, again.text()[-4000:]
    assert again.stats["changed"] == 0, again.stats
    [result] = again.task_results(ADOPT_TASK)
    assert {cert["result"] for cert in result["certificates"]} == {"unchanged"}
    nothing_ordered(again)
    for place in (first, second):
        wait_until(lambda place=place: not guardian_pids(place["tmp"]), 15, "the guardian ends with the run")
        assert key_files(place) == [] and workspaces(place["tmp"]) == []
