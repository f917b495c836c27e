# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 13, the two alert findings, tried against real servers on loopback through the role.

- The webhook answers 302 to a second local HTTP server: the delivery fails, named in the run's report task
  with the status and the host only, and the second server gets no request at all (no POST turned into a GET,
  no ``Authorization`` carried over).
- An SMTP server without STARTTLS (aiosmtpd, a real implementation): by default no AUTH command reaches it and
  the delivery fails saying why; ``starttls: false`` with ``allow_plain_text_login: true`` logs in.
- An SMTP server with STARTTLS and a certificate of a test CA trusted through ``ca_bundle``: the login arrives
  after STARTTLS, as the server sees it.

One certificate is issued once; every later run has it not due, and alerts because ``letsencrypt_dns_alert_days``
is larger than any certificate's life, so the delivery is the only thing that can fail.
"""

from __future__ import annotations

import json
import secrets

import aiosmtpd_server
import pytest
import webhook_sink
from playbook_runner import role_vars, run_renew

pytestmark = pytest.mark.rig

SMTP_USER = "certfleet"
SMTP_PASSWORD = "smtp-" + secrets.token_urlsafe(18)
WEBHOOK_TOKEN = "hook-" + secrets.token_urlsafe(18)
HEADER_TOKEN = "bearer-" + secrets.token_urlsafe(18)
LOCATION_TOKEN = "moved-" + secrets.token_urlsafe(18)
CERTIFICATES = [{"name": "alerted", "names": ["alerted.example.test"]}]
REPORT_TASK = "Write the run report and send the alerts"


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts-safe")
    state = tmp / "state"
    run = run_renew(role_vars(rig, state, CERTIFICATES), tmp)
    assert run.rc == 0, run.text()[-4000:]
    return {"tmp": tmp, "state": state}


def alerting_run(rig, issued, name: str, **notifiers):
    """renew.yml again: the certificate is not due, and alerted; returns the run and the report task's result."""
    variables = role_vars(
        rig,
        issued["state"],
        CERTIFICATES,
        letsencrypt_dns_alert_days=100000,
        letsencrypt_dns_report_path=str(issued["tmp"] / ("%s.json" % name)),
        **notifiers,
    )
    run = run_renew(variables, issued["tmp"], "-vvv")
    [result] = run.task_results(REPORT_TASK)
    return run, result


def email(server, **extra) -> dict:
    settings = {
        "host": "127.0.0.1",
        "port": server.port,
        "from": "certfleet@example.test",
        "to": ["ops@example.test"],
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
    }
    settings.update(extra)
    return settings


def assert_no_secret(run) -> None:
    text = run.text()
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN, HEADER_TOKEN, LOCATION_TOKEN):
        assert secret not in text


@pytest.fixture(scope="module")
def refused(rig, issued):
    """One run with both notifiers at their defaults: a webhook that redirects, an SMTP server without STARTTLS."""
    with (
        webhook_sink.WebhookSink() as elsewhere,
        webhook_sink.WebhookSink() as hook,
        aiosmtpd_server.AiosmtpdServer(users={SMTP_USER: SMTP_PASSWORD}) as smtp,
    ):
        hook.redirect = (302, "%s/%s" % (elsewhere.url, LOCATION_TOKEN))
        run, result = alerting_run(
            rig,
            issued,
            "refused",
            letsencrypt_dns_notify_email=email(smtp),
            letsencrypt_dns_notify_webhook={
                "url": "%s/%s" % (hook.url, WEBHOOK_TOKEN),
                "headers": {"Authorization": "Bearer %s" % HEADER_TOKEN},
            },
        )
    return {"run": run, "result": result, "elsewhere": elsewhere, "hook": hook, "smtp": smtp}


def test_webhook_redirect_is_a_failed_delivery_with_no_request_to_the_second_host(refused):
    hook, elsewhere, result = refused["hook"], refused["elsewhere"], refused["result"]
    error = (
        "POST to http://127.0.0.1:%d failed: HTTP 302 redirect to http://127.0.0.1:%d, not followed "
        % (
            hook.port,
            elsewhere.port,
        )
        + "(give the webhook's final URL)"
    )
    assert result["notified"]["webhook"] == {"sent": False, "error": error}
    assert "webhook alert not sent: %s" % error in result["msg"]
    assert any("webhook alert not sent: %s" % error in warning for warning in result["warnings"])
    # The first host got the POST; the second one nothing, so neither the body nor the header went there.
    assert [request.method for request in hook.requests] == ["POST"]
    assert elsewhere.requests == []


def test_no_plain_text_smtp_login_by_default(refused):
    smtp, result = refused["smtp"], refused["result"]
    error = (
        "SMTP 127.0.0.1:%d: the server does not offer STARTTLS; nothing was sent and no login was tried. Use a "
        "server or port that offers it, ssl: true for SMTPS, or starttls: false to send without TLS (with a login "
        "also allow_plain_text_login: true)" % smtp.port
    )
    assert result["notified"]["email"] == {"sent": False, "error": error}
    assert "email alert not sent: %s" % error in result["msg"]
    # From the server's side: no AUTH command at all, and no message.
    assert smtp.auth_commands == []
    assert smtp.messages == []


def test_failed_alerts_fail_the_run_after_the_report(refused, issued):
    """What report.yml does for any failed alert: the report task fails after the file is written, the run exits 2."""
    run, result = refused["run"], refused["result"]
    assert result["failed"] is True
    assert result["msg"].startswith("the run report could not reach everyone: email alert not sent: SMTP ")
    assert run.rc == 2
    report = json.loads((issued["tmp"] / "refused.json").read_text())
    assert [(row["certificate"], row["action"]) for row in report["certificates"]] == [("alerted", "skipped")]
    assert [alert["kind"] for alert in report["alerts"]] == ["expiring"]
    assert run.task_results("Fail naming every certificate that was not issued")[0].get("skipped")
    assert_no_secret(run)


def test_plain_text_login_only_with_allow_plain_text_login(rig, issued):
    with aiosmtpd_server.AiosmtpdServer(users={SMTP_USER: SMTP_PASSWORD}) as smtp:
        run, result = alerting_run(
            rig,
            issued,
            "plain",
            letsencrypt_dns_notify_email=email(smtp, starttls=False, allow_plain_text_login=True),
        )
    assert run.rc == 0, run.text()[-4000:]
    assert result["notified"] == {"email": {"sent": True, "error": None}}
    assert [command.tls for command in smtp.auth_commands] == [False]
    [message] = smtp.messages
    assert (message.login, message.tls) == (SMTP_USER, False)
    assert_no_secret(run)


def test_starttls_login_over_tls_with_the_ca_bundle(rig, issued, tmp_path):
    with aiosmtpd_server.AiosmtpdServer(users={SMTP_USER: SMTP_PASSWORD}, starttls=True, tls_dir=tmp_path) as smtp:
        # Nothing about TLS is set but the CA to trust: STARTTLS is the default, the certificate verified.
        run, result = alerting_run(
            rig, issued, "starttls", letsencrypt_dns_notify_email=email(smtp, ca_bundle=smtp.ca_bundle)
        )
    assert run.rc == 0, run.text()[-4000:]
    assert result["notified"] == {"email": {"sent": True, "error": None}}
    # From the server's side: the session was TLS when the AUTH command arrived, and when the message did.
    assert smtp.auth_commands and all(command.tls for command in smtp.auth_commands)
    [message] = smtp.messages
    assert (message.login, message.tls) == (SMTP_USER, True)
    assert_no_secret(run)
