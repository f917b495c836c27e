# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report, alerts, letsencrypt_dns_only, directory presets and the state directory lock, on the rig.

The alerts go to a local SMTP receiver and a local webhook receiver
(tests/fakes/smtp_sink.py, webhook_sink.py), both on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import smtp_sink
import webhook_sink
import yaml
from playbook_runner import ansible_env, role_vars, run_renew, start_renew
from test_role import assert_no_challenge_values

pytestmark = pytest.mark.rig

SMTP_USER = "certfleet"
SMTP_PASSWORD = "smtp-" + secrets.token_urlsafe(18)
WEBHOOK_TOKEN = "hook-" + secrets.token_urlsafe(18)
HEADER_TOKEN = "bearer-" + secrets.token_urlsafe(18)


@pytest.fixture(scope="module")
def smtp():
    with smtp_sink.SmtpSink(users={SMTP_USER: SMTP_PASSWORD}) as sink:
        yield sink


@pytest.fixture(scope="module")
def webhook():
    with webhook_sink.WebhookSink() as sink:
        yield sink


def notify_vars(smtp, webhook) -> dict:
    return {
        "letsencrypt_dns_notify_email": {
            "host": "127.0.0.1",
            "port": smtp.port,
            "from": "certfleet@example.test",
            "to": ["ops@example.test", "oncall@example.test"],
            "username": SMTP_USER,
            "password": SMTP_PASSWORD,
            # The sink offers no STARTTLS: plain SMTP, and the login in clear allowed by name (tests/integration/
            # test_alerts_safe.py shows that nothing is sent without these two).
            "starttls": False,
            "allow_plain_text_login": True,
            "subject_prefix": "[tls]",
        },
        "letsencrypt_dns_notify_webhook": {
            "url": "%s/%s" % (webhook.url, WEBHOOK_TOKEN),
            "headers": {"Authorization": "Bearer %s" % HEADER_TOKEN},
            "timeout": 10,
        },
    }


def split_providers(rig, wrong_secret: str) -> list[dict]:
    """The rig's BIND provider for every zone but example3.test, which goes to a copy with a wrong TSIG secret."""
    working = dict(rig["provider"], zones=[zone for zone in rig["zones"] if zone != "example3.test"])
    broken = dict(rig["provider"], name="broken", zones=["example3.test"], key_secret=wrong_secret)
    return [working, broken]


CERTIFICATES = [
    {"name": "kept", "names": ["kept.example.test"]},
    {"name": "lost", "names": ["lost.example3.test"]},
]


@pytest.fixture(scope="module")
def failed_run(rig, smtp, webhook, tmp_path_factory):
    """renew.yml with one good certificate and one whose provider has a wrong TSIG secret."""
    tmp = tmp_path_factory.mktemp("report")
    state = tmp / "state"
    report_path = tmp / "reports" / "last-run.json"
    wrong_secret = base64.b64encode(os.urandom(32)).decode()
    variables = role_vars(
        rig,
        state,
        CERTIFICATES,
        letsencrypt_dns_providers=split_providers(rig, wrong_secret),
        letsencrypt_dns_report_path=str(report_path),
        **notify_vars(smtp, webhook),
    )
    smtp.messages.clear()
    webhook.requests.clear()
    run = run_renew(variables, tmp, "-vvv")
    return {
        "run": run,
        "state": state,
        "report_path": report_path,
        "wrong_secret": wrong_secret,
        "tmp": tmp,
        "vars": variables,
        "emails": list(smtp.messages),
        "posts": list(webhook.requests),
    }


def test_the_failed_run_fails_naming_the_certificate(failed_run):
    run = failed_run["run"]
    assert run.rc != 0
    assert (failed_run["state"] / "kept" / "cert.pem").exists()
    assert not (failed_run["state"] / "lost" / "cert.pem").exists()
    failed = run.task_results("Fail naming every certificate that was not issued")[0]
    assert "lost (publish:" in failed["msg"] and "kept" not in failed["msg"]
    # The report ran before that failure, and it did not fail itself.
    report = run.task_results("Write the run report and send the alerts")[0]
    assert not report.get("failed"), report.get("msg")


def test_the_report_file_lists_both_certificates(failed_run):
    path = failed_run["report_path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    report = json.loads(path.read_text())
    rows = {row["certificate"]: row for row in report["certificates"]}
    assert list(rows) == ["kept", "lost"]
    assert rows["kept"]["action"] == "issued"
    assert rows["kept"]["reason"] == "missing"
    assert rows["kept"]["days_left"] > 14  # a fresh certificate (Pebble's validity is configurable, often 5 years)
    assert rows["kept"]["result"].startswith("serial ")
    assert rows["lost"]["action"] == "failed"
    assert rows["lost"]["stage"] == "publish"
    assert "broken" in rows["lost"]["error"]
    assert report["ok"] is False
    assert report["summary"]["issued"] == 1 and report["summary"]["failed"] == 1
    assert report["check_mode"] is False
    assert report["host"] == socket.gethostname()
    assert report["state_dir"] == str(failed_run["state"])
    assert len(report["run_id"]) == 32
    # The broken provider cannot confirm the clean-up either: a run error, alerted too.
    assert [(alert["certificate"], alert["kind"]) for alert in report["alerts"]] == [
        ("lost", "failed"),
        (None, "error"),
    ]
    assert report["errors"][0].startswith("clean-up could not confirm removal: provider 'broken'")


def test_the_table_is_in_the_play_output(failed_run):
    run = failed_run["run"]
    lines = run.task_results("Show the run report")[0]["msg"]
    assert lines[0].split()[:4] == ["CERTIFICATE", "ACTION", "DAYS", "REASON"]
    assert lines[1].split()[:2] == ["kept", "issued"]
    assert lines[2].split()[:2] == ["lost", "failed"]
    assert lines[-1] == "2 certificates: 1 issued, 1 failed; 1 run error; 2 alerts"
    assert lines[-2] == "State: %s" % failed_run["state"]
    assert "CERTIFICATE" in run.stdout and "1 issued, 1 failed" in run.stdout


def test_the_email_names_the_failed_certificate(failed_run):
    [email] = failed_run["emails"]
    assert email.rcpt_to == ["ops@example.test", "oncall@example.test"]
    assert (email.username, email.password) == (SMTP_USER, SMTP_PASSWORD)
    assert email.message["Subject"] == "[tls] certfleet.acme renewal on %s: 1 certificate failed, 1 run error" % (
        socket.gethostname()
    )
    body = email.body()
    assert "- lost failed (no certificate yet): publish:" in body
    assert "kept" in body  # in the table


def test_the_webhook_names_the_failed_certificate(failed_run):
    [post] = failed_run["posts"]
    assert post.path == "/hooks/certfleet/%s" % WEBHOOK_TOKEN
    assert post.headers["Authorization"] == "Bearer %s" % HEADER_TOKEN
    text = post.body["text"]
    assert text.splitlines()[0] == "certfleet.acme renewal on %s: 1 certificate failed, 1 run error" % (
        socket.gethostname()
    )
    assert "- lost failed" in text
    assert [row["action"] for row in post.body["report"]["certificates"]] == ["issued", "failed"]


def test_no_secret_in_the_output(rig, failed_run):
    text = failed_run["run"].text()
    written = failed_run["report_path"].read_text()
    for secret in (SMTP_PASSWORD, failed_run["wrong_secret"], rig["tsig"]["key_secret"], WEBHOOK_TOKEN, HEADER_TOKEN):
        assert secret not in text
        assert secret not in written


def test_a_failing_notifier_fails_the_run_after_the_rest(rig, failed_run, smtp, webhook):
    """Webhook down: the report file is still written and the e-mail still sent, then the report task fails."""
    tmp = failed_run["tmp"]
    report_path = tmp / "second.json"
    variables = dict(
        failed_run["vars"],
        letsencrypt_dns_providers=[rig["provider"]],
        letsencrypt_dns_only=["kept"],
        letsencrypt_dns_report_path=str(report_path),
        # More days than any fresh certificate has left: kept is an alert though nothing failed.
        letsencrypt_dns_alert_days=100000,
    )
    smtp.messages.clear()
    webhook.requests.clear()
    webhook.status = 503
    try:
        run = run_renew(variables, tmp)
    finally:
        webhook.status = 200
    assert run.rc != 0
    result = run.task_results("Write the run report and send the alerts")[0]
    assert result["failed"]
    assert result[
        "msg"
    ] == "the run report could not reach everyone: webhook alert not sent: POST to %s failed: HTTP 503" % (
        "http://127.0.0.1:%d" % webhook.port
    )
    assert any("webhook alert not sent" in warning for warning in result["warnings"])
    assert [email.message["Subject"] for email in smtp.messages] == [
        "[tls] certfleet.acme renewal on %s: 1 expiring within 100000 days" % socket.gethostname()
    ]
    assert len(webhook.requests) == 1
    report = json.loads(report_path.read_text())
    assert [(row["certificate"], row["action"]) for row in report["certificates"]] == [("kept", "skipped")]
    assert run.task_results("Show the run report")[0]["msg"][1].split()[:2] == ["kept", "skipped"]
    assert run.task_results("Fail naming every certificate that was not issued")[0].get("skipped")
    assert not (failed_run["state"] / "lost" / "cert.pem").exists()
    text = run.text()
    assert SMTP_PASSWORD not in text and HEADER_TOKEN not in text and WEBHOOK_TOKEN not in text


def test_only_works_on_the_named_certificates(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [
        {"name": "only-a", "names": ["only-a.example.test"]},
        {"name": "only-b", "names": ["only-b.example.test"]},
    ]
    # As a comma separated string, the way -e gives it.
    run = run_renew(role_vars(rig, state, certificates), tmp_path, "-e", "letsencrypt_dns_only=only-a")
    assert run.rc == 0, run.text()[-4000:]
    assert (state / "only-a" / "cert.pem").exists()
    assert not (state / "only-b").exists()
    ordered = run.task_results("Create one ACME order per due certificate")[0]
    assert [order["name"] for order in ordered["orders"]] == ["only-a"]
    lines = run.task_results("Show the run report")[0]["msg"]
    assert [line.split()[0] for line in lines[1:-3]] == ["only-a"]
    assert lines[-3:-1] == ["", "State: %s" % state]
    assert_no_challenge_values(rig, certificates)


def test_only_with_an_unknown_name_is_refused_before_any_change(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": "known", "names": ["known.example.test"]}]
    run = run_renew(role_vars(rig, state, certificates, letsencrypt_dns_only=["known", "unknwon"]), tmp_path)
    assert run.rc != 0
    failed = run.task_results("Fail naming every certificate that was not issued")[0]
    assert failed["msg"] == (
        "The run stopped: "
        "letsencrypt_dns_only: 'unknwon' is not the name of a certificate in letsencrypt_dns_certificates"
    )
    assert not state.exists()


@pytest.mark.parametrize(
    ("preset", "url"),
    [
        ("letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"),
        ("letsencrypt_staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
        ("https://ca.example.test/acme/directory", "https://ca.example.test/acme/directory"),
    ],
)
def test_directory_presets_resolve(rig, tmp_path, preset, url):
    """Without agreement to the terms the role stops at once, naming the directory it resolved (no request is sent)."""
    state = tmp_path / "state"
    certificates = [{"name": "preset", "names": ["preset.example.test"]}]
    variables = role_vars(
        rig, state, certificates, letsencrypt_dns_acme_directory=preset, letsencrypt_dns_terms_agreed=False
    )
    run = run_renew(variables, tmp_path)
    assert run.rc != 0
    failed = run.task_results("Fail naming every certificate that was not issued")[0]
    assert "read the terms of service of %s and set it to true" % url in failed["msg"]
    assert not state.exists()


def test_an_unknown_directory_preset_is_refused(rig, tmp_path):
    state = tmp_path / "state"
    variables = role_vars(
        rig, state, [{"name": "x", "names": ["x.example.test"]}], letsencrypt_dns_acme_directory="letsencrypt-prod"
    )
    run = run_renew(variables, tmp_path)
    assert run.rc != 0
    failed = run.task_results("Fail naming every certificate that was not issued")[0]
    assert failed["msg"] == (
        "The run stopped: "
        "letsencrypt_dns_acme_directory: letsencrypt-prod is neither a preset (letsencrypt, letsencrypt_staging) "
        "nor an https:// URL"
    )
    assert not state.exists()


def wait_for_lock(lock: Path, proc: subprocess.Popen, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists():
            try:
                return json.loads(lock.read_text())
            except ValueError:
                pass  # being written
        assert proc.poll() is None, "the first run ended before it took the lock"
        time.sleep(0.02)
    raise AssertionError("no lock at %s after %.0f s" % (lock, timeout))


def locking_run(rig, tmp_path, name: str) -> tuple:
    """renew.yml for one certificate ``name``, started in the background and waited for until it holds the lock.

    Returns the state folder, the certificates, the variables, the process and the lock's content.
    """
    state = tmp_path / "state"
    certificates = [{"name": name, "names": ["%s.example.test" % name]}]
    variables = role_vars(rig, state, certificates)
    first = start_renew(variables, tmp_path, name)
    try:
        holder = wait_for_lock(state / ".lock", first)
    except BaseException:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        raise
    return state, certificates, variables, first, holder


def test_a_second_run_on_a_locked_state_directory_fails_naming_the_lock(rig, tmp_path):
    state, certificates, variables, first, holder = locking_run(rig, tmp_path, "locked")
    try:
        # Hold the first run still while the second one tries: its lock stays whatever the timing.
        os.killpg(first.pid, signal.SIGSTOP)
        try:
            second = run_renew(variables, tmp_path)
        finally:
            os.killpg(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0, (tmp_path / "locked.log").read_text()[-4000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()

    assert holder["pid"] == first.pid  # the ansible-playbook process, not a worker or a module
    assert holder["host"] == socket.gethostname()
    assert second.rc != 0
    expected = "state directory %s is locked by run %s on host %s since %s (pid %d)" % (
        state,
        holder["run_id"],
        holder["host"],
        holder["started"],
        first.pid,
    )
    locked = second.task_results("Lock the state directory against concurrent runs")[0]
    assert locked["msg"].startswith(expected)
    assert expected in second.task_results("Fail naming every certificate that was not issued")[0]["msg"]
    # The second run changed nothing, the first one finished its work and released its lock.
    assert not second.task_results("Create one ACME order per due certificate")
    assert (state / "locked" / "cert.pem").exists()
    assert not (state / ".lock").exists()
    assert_no_challenge_values(rig, certificates)


def test_the_lock_of_a_killed_run_is_taken_over(rig, tmp_path):
    state, certificates, variables, first, holder = locking_run(rig, tmp_path, "killed")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert json.loads((state / ".lock").read_text())["run_id"] == holder["run_id"], "SIGKILL leaves the lock behind"

    run = run_renew(variables, tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    locked = run.task_results("Lock the state directory against concurrent runs")[0]
    assert locked["previous"]["run_id"] == holder["run_id"]
    warning = "took over the stale lock of run %s (host %s, pid %d, since %s): its process %d no longer runs" % (
        holder["run_id"],
        holder["host"],
        first.pid,
        holder["started"],
        first.pid,
    )
    assert any(line.startswith(warning) for line in locked["warnings"])
    assert "took over the stale lock of run %s" % holder["run_id"] in run.stdout + run.stderr
    assert (state / "killed" / "cert.pem").exists()
    assert not (state / ".lock").exists()


def test_a_stale_lock_file_is_taken_over(rig, tmp_path):
    """A lock left by a pid that is gone from this host, written by hand as a crashed run would leave it."""
    state = tmp_path / "state"
    state.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = {"run_id": "crashed-run", "host": socket.gethostname(), "pid": gone.pid, "started": "2025-01-01T00:00:00Z"}
    (state / ".lock").write_text(json.dumps(stale))
    certificates = [{"name": "stale", "names": ["stale.example.test"]}]
    run = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    assert "took over the stale lock of run crashed-run" in run.stdout + run.stderr
    assert (state / "stale" / "cert.pem").exists()
    assert not (state / ".lock").exists()


def test_renew_through_ansible_runner(rig, tmp_path):
    """The way AWX runs it: ansible-runner with a private data dir (project, inventory, env)."""
    ansible_runner = pytest.importorskip("ansible_runner")
    private = tmp_path / "runner"
    state = tmp_path / "state"
    report_path = tmp_path / "report.json"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "env").mkdir()
    (private / "project" / "renew.yml").write_text(
        "---\n- name: Renew the certificates\n  ansible.builtin.import_playbook: certfleet.acme.renew\n"
    )
    (private / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable
    )
    certificates = [{"name": "runner", "names": ["runner.example.test", "www.runner.example.test"]}]
    variables = role_vars(rig, state, certificates, letsencrypt_dns_report_path=str(report_path))
    (private / "env" / "extravars").write_text(yaml.safe_dump(variables))
    envvars = {
        # An execution environment has the collection installed and ansible-playbook on PATH; here they come from
        # the checkout and the venv.
        "ANSIBLE_COLLECTIONS_PATH": ansible_env()["ANSIBLE_COLLECTIONS_PATH"],
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)]),
        "ANSIBLE_NOCOLOR": "1",
    }
    (private / "env" / "envvars").write_text(yaml.safe_dump(envvars))

    result = ansible_runner.run(
        private_data_dir=str(private),
        playbook="renew.yml",
        quiet=True,
        timeout=600,
    )
    output = result.stdout.read()
    assert result.status == "successful", output[-4000:]
    assert result.rc == 0
    assert (state / "runner" / "cert.pem").exists()
    report = json.loads(report_path.read_text())
    assert [(row["certificate"], row["action"]) for row in report["certificates"]] == [("runner", "issued")]
    assert report["ok"] is True
    shown = [
        event["event_data"]["res"]["msg"]
        for event in result.events
        if event.get("event") == "runner_on_ok" and event["event_data"].get("task") == "Show the run report"
    ]
    assert shown and shown[0][1].split()[:2] == ["runner", "issued"]
    assert rig["tsig"]["key_secret"] not in output
    assert_no_challenge_values(rig, certificates)
