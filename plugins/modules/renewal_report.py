#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summarize a renewal run, write the JSON report and alert by e-mail and webhook."""

from __future__ import annotations

DOCUMENTATION = r"""
module: renewal_report
short_description: Report a renewal run as a table and a JSON file, and alert when certificates need attention
version_added: 0.1.0
description:
  - Turns the results of one run of the C(letsencrypt_dns) role into one row per certificate with its action
    (V(issued), V(renewed), V(failed), V(skipped) when not due, V(would_issue) in check mode, V(not_deployed)),
    the days left, the reason it was due and the result or the error.
  - Adds one deploy row per certificate, host and target (O(deploys)) with its outcome (V(deployed),
    V(unchanged), V(failed), V(rolled_back), V(would_deploy) in check mode) and, for a failed deploy, the cause.
  - Returns the rows as fixed-width tables (RV(table), RV(table_lines)) followed by the state directory
    (O(state_dir)) and a summary line, writes the whole report as JSON to
    O(path) (atomically, mode 0640), and sends alerts when a certificate failed or was not deployed, when a
    certificate has fewer than O(alert_days) days left, or when the run stopped with an error.
  - Alerts go to every configured notifier, by e-mail (O(email), SMTP) and to a webhook (O(webhook), a JSON POST
    whose C(text) field suits Slack or Mattermost incoming webhooks). Nothing is sent when nothing needs attention.
  - A notifier that fails is a warning and makes the task fail, but only after the report file was written and
    every other notifier was tried, so a run that cannot tell anyone never looks green.
  - The SMTP password and the webhook URL and header values are never shown. The SMTP password is sent only
    over TLS (STARTTLS by default) unless O(email.allow_plain_text_login) is set, and the webhook follows no
    redirect.
  - Failed certificates do not make this module fail; the role fails after it, naming them.
author:
  - certfleet.acme contributors (@certfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Builds the rows and the table and selects the alerts; writes no file and sends nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  certificates:
    description:
      - The certificates of the run, as in C(letsencrypt_dns_certificates); one row each, in this order.
      - Only the C(name) of each entry is used. Entries that are not mappings with a C(name) are ignored, so a run
        whose input was refused can still be reported.
    type: list
    elements: raw
    required: true
  expiry:
    description:
      - The C(certificates) result of M(certfleet.acme.cert_expiry_facts), keyed by certificate name.
      - A certificate without an entry here was not checked (the run stopped first).
    type: dict
    default: {}
  orders:
    description: The C(orders) result of M(certfleet.acme.acme_dns01_order).
    type: list
    elements: dict
    default: []
  finalized:
    description: The C(certificates) result of M(certfleet.acme.acme_finalize).
    type: list
    elements: dict
    default: []
  failures:
    description:
      - One entry per failed certificate, as the filter C(certfleet.acme.run_failures) returns them, with C(name),
        C(stage) and C(error) (a message or an ACME problem document).
      - Entries with C(stage=deploy) (and optionally C(host)) make the certificate V(not_deployed).
    type: list
    elements: dict
    default: []
  errors:
    description:
      - Run-level errors, for example the message of a task that stopped the run. Each one is an alert, and every
        due certificate that was not issued is V(failed) with the first of them as the cause.
    type: list
    elements: str
    default: []
  deploys:
    description:
      - The deploys of the run, one entry per certificate, host and target, as the filter
        C(certfleet.acme.deploy_outcomes) returns them from the registered results of the role's deploy tasks.
      - Each entry has C(certificate), C(host) (V(null) for AWS deploys, which run from the controller), C(type),
        C(target) (the C(dest) directory, or the AWS target), C(outcome) (V(deployed), V(unchanged), V(failed) or
        V(rolled_back)) and C(cause) (why it failed). Entries without a C(certificate) or with another outcome are
        ignored.
      - Which certificates are V(not_deployed) is decided by O(failures); these rows say where and why.
    type: list
    elements: dict
    default: []
  alert_days:
    description: Alert for every certificate with fewer than this many days left after the run.
    type: int
    default: 14
  returned_rows:
    description:
      - Which rows RV(report.certificates) of the module's result holds. V(all) is every row. V(attention) leaves
        out the rows of certificates that were not due and raised no alert (V(skipped)), so that the result of a
        run over a large fleet where little happened stays small; RV(report.summary) still counts every row.
        It also leaves out the V(unchanged) rows of RV(report.deploys).
      - The report file (O(path)), the webhook's C(report), the e-mail and RV(table) and RV(table_lines) always have
        every row.
    type: str
    choices: [all, attention]
    default: all
  path:
    description:
      - File to write the JSON report to, atomically (temporary file and rename) with mode 0640. Its directory is
        created when missing.
      - Unset means no file.
    type: path
  run_id:
    description: An identifier of the run (the role passes the one of its state directory lock), copied to the report.
    type: str
  state_dir:
    description:
      - The state directory of the run (where the account key, the private keys and the certificates live),
        copied to the report and printed as a C(State:) line above the summary line of RV(table).
    type: path
  email:
    description:
      - Send alerts by e-mail through SMTP. Unset means no e-mail.
      - The connection is protected with STARTTLS by default (or implicit TLS with O(email.ssl)), and the server's
        certificate and host name are always verified. A server that does not offer STARTTLS gets no login and no
        message, and the delivery fails, naming the reason.
      - The password is never sent in plain text unless O(email.allow_plain_text_login) says so.
      - O(email.ssl=true) and O(email.starttls=true) exclude each other.
    type: dict
    suboptions:
      host:
        description: SMTP server.
        type: str
        required: true
      port:
        description: SMTP port.
        type: int
        default: 25
      from:
        description: Sender address.
        type: str
        required: true
      to:
        description: Recipient addresses.
        type: list
        elements: str
        required: true
      starttls:
        description:
          - Upgrade the connection with STARTTLS (certificate and host name verified) before the login and the
            message. A server that does not offer STARTTLS is a failed delivery.
          - Unset means V(true), unless O(email.ssl) is V(true).
          - V(false) sends without TLS, for a local relay that offers no STARTTLS; a login then also needs
            O(email.allow_plain_text_login).
        type: bool
      ssl:
        description: Connect with implicit TLS (SMTPS, usually port 465; certificate and host name verified).
        type: bool
        default: false
      allow_plain_text_login:
        description:
          - Allow the login (O(email.username), O(email.password)) on a connection without TLS, that is with
            O(email.starttls=false) and O(email.ssl=false). The password then travels in plain text.
          - Without it such a login is refused before connecting and the delivery fails. Only for a relay on a
            trusted network that cannot do TLS.
        type: bool
        default: false
      ca_bundle:
        description:
          - A PEM file of the CA certificates to verify the SMTP server's certificate with, instead of the system's
            trust store, for a server with a certificate of a private CA.
          - Unset means the system's trust store. Verification cannot be turned off.
        type: path
      username:
        description: Log in with this user name. Unset means no login.
        type: str
      password:
        description: Password for O(email.username).
        type: str
      subject_prefix:
        description: Text put before the subject.
        type: str
        default: "[certfleet]"
      timeout:
        description: Seconds for connecting and for each SMTP command.
        type: int
        default: 30
  webhook:
    description:
      - Send alerts as a JSON POST. The body has C(text), a short human summary (what Slack and Mattermost incoming
        webhooks show), and C(report), the whole report. Unset means no webhook.
      - Any answer outside 2xx is a failure. Redirects are not followed (they would carry the headers to another
        host, and turn the POST into a GET), so a 3xx answer is a failed delivery that names the status and the host
        it pointed to.
    type: dict
    suboptions:
      url:
        description: The URL to POST to. Treated as a secret (incoming-webhook URLs hold a token); messages name only
          its scheme and host.
        type: str
        required: true
      headers:
        description:
          - Extra HTTP headers, for example C(Authorization). Their values are secrets.
          - A header with an empty name is skipped (an AWX webhook credential without a header injects one).
        type: dict
        default: {}
      timeout:
        description: Seconds for the request.
        type: int
        default: 10
      validate_certs:
        description: Verify the server's certificate for an C(https) URL.
        type: bool
        default: true
seealso:
  - module: certfleet.acme.cert_expiry_facts
  - module: certfleet.acme.acme_finalize
"""

EXAMPLES = r"""
- name: Report the run, write the JSON file and alert
  certfleet.acme.renewal_report:
    certificates: "{{ letsencrypt_dns_certificates }}"
    expiry: "{{ expiry.certificates }}"
    orders: "{{ ordered.orders | default([]) }}"
    finalized: "{{ finalized.certificates | default([]) }}"
    failures: "{{ ordered.orders | default([]) | certfleet.acme.run_failures(waited | default({}), finalized | default({})) }}"
    deploys: "{{ deployed | certfleet.acme.deploy_outcomes(inventory_hostname) }}"
    state_dir: /var/lib/certfleet
    path: /var/log/certfleet/last-run.json
    alert_days: 14
    email:
      host: smtp.example.com
      port: 587
      starttls: true
      username: certfleet
      password: "{{ vault_smtp_password }}"
      from: certfleet@example.com
      to: [ops@example.com]
    webhook:
      url: "{{ vault_mattermost_webhook_url }}"
  register: report

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ report.table_lines }}"
"""

RETURN = r"""
report:
  description: The whole report, as written to O(path).
  returned: always
  type: dict
  contains:
    version:
      description: Format version of the report, V(1).
      type: int
    generated:
      description: When the report was made, ISO 8601 in UTC.
      type: str
    host:
      description: The host the report was made on (the controller).
      type: str
    run_id:
      description: O(run_id), when given.
      type: str
    state_dir:
      description: O(state_dir), when given.
      type: str
    check_mode:
      description: Whether the run was in check mode.
      type: bool
    alert_days:
      description: O(alert_days).
      type: int
    ok:
      description: Whether no certificate failed or was left undeployed and the run had no error.
      type: bool
    summary:
      description:
        - How many rows have each action (V(issued), V(renewed), V(failed), V(not_deployed), V(would_issue),
          V(skipped)), and the number of V(alerts).
        - Its C(deploys) is how many deploy rows have each outcome (V(deployed), V(would_deploy), V(unchanged),
          V(failed), V(rolled_back)).
      type: dict
    certificates:
      description:
        - One row per certificate, in the file always; in this result only the rows that O(returned_rows) selects.
      type: list
      elements: dict
      contains:
        certificate:
          description: The certificate name.
          type: str
        action:
          description: V(issued), V(renewed), V(failed), V(skipped) (not due), V(would_issue) (check mode) or
            V(not_deployed).
          type: str
        days_left:
          description: Whole days of validity left after the run (of the new certificate once issued); V(null)
            when there is no certificate.
          type: int
        not_after:
          description: End of validity, ISO 8601 in UTC; V(null) when there is no certificate.
          type: str
        reason:
          description: Why it was due (V(missing), V(expiring), V(names_changed), ...), or V(not due).
          type: str
        stage:
          description: Where it failed (V(order), V(publish), V(propagation), V(finalize), V(deploy), V(run)).
          type: str
        result:
          description: What was done, for example the new serial and end of validity.
          type: str
        error:
          description: Why it failed.
          type: str
    deploys:
      description:
        - One row per certificate, host and target that the run deployed to (O(deploys)); in this result only the
          rows that O(returned_rows) selects.
      type: list
      elements: dict
      contains:
        certificate:
          description: The certificate name.
          type: str
        host:
          description: The inventory host the deploy ran for; V(null) for AWS deploys, run from the controller.
          type: str
        type:
          description: The deploy entry's type (V(nginx), V(apache), V(haproxy), V(files), V(aws_acm), ...).
          type: str
        target:
          description: The entry's C(dest) directory, or the AWS certificate, load balancer, listener or secret.
          type: str
        outcome:
          description: V(deployed), V(unchanged), V(failed), V(rolled_back) (the new files were put back to the
            previous ones), or V(would_deploy) in check mode.
          type: str
        cause:
          description: Why it failed, whole; V(null) when it did not fail.
          type: str
    alerts:
      description: The same as RV(alerts).
      type: list
      elements: dict
    errors:
      description: O(errors).
      type: list
      elements: str
alerts:
  description: What needs attention; sent to the notifiers unless empty (and not in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    certificate:
      description: The certificate, V(null) for a run error.
      type: str
    kind:
      description: V(failed), V(not_deployed), V(expiring) or V(error).
      type: str
    days_left:
      description: Days left, V(null) when there is no certificate.
      type: int
    message:
      description: One line for a person.
      type: str
  sample:
    - certificate: www
      kind: failed
      days_left: 9
      message: "www failed (9 days left): publish: provider 'bind' record '_acme-challenge.www.example.com': REFUSED"
table:
  description:
    - The fixed-width table of the certificates, then the table of the deploys (when there were any), then the
      C(State:) line (with O(state_dir)) and a summary line, as one string.
    - Nothing in it is cut. A result, error or cause longer than 90 characters leaves a short text and a note
      number in its row, such as C(order failed, see note [1] below), and is written whole as that note under the
      tables. A certificate whose deploy failed says on how many of its targets; its deploy rows say which and why.
  returned: always
  type: str
table_lines:
  description: RV(table) as a list of lines, for ansible.builtin.debug.
  returned: always
  type: list
  elements: str
  sample:
    - "CERTIFICATE  ACTION  DAYS  REASON   RESULT / ERROR"
    - "www          issued    89  missing  serial 3F2A..., valid until 2025-06-01T12:00:00Z"
    - ""
    - "CERTIFICATE  HOST  TARGET               OUTCOME   CAUSE"
    - "www          web1  nginx /etc/nginx/tls  deployed  -"
    - ""
    - "State: /var/lib/certfleet"
    - "1 certificate: 1 issued; 1 deploy: 1 deployed"
path:
  description: The report file written, V(null) when none was (no O(path), or check mode).
  returned: always
  type: str
notified:
  description: Per notifier (V(email), V(webhook)) that was tried, whether it was sent and the error.
  returned: always
  type: dict
  sample: {email: {sent: true, error: null}, webhook: {sent: false, error: "POST to https://hooks.example.com failed: HTTP 500"}}
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write_json
from ansible_collections.certfleet.acme.plugins.module_utils._report.fields import attention_deploys, attention_rows
from ansible_collections.certfleet.acme.plugins.module_utils._report.notify import email_settings_error, notify
from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import build_report
from ansible_collections.certfleet.acme.plugins.module_utils._report.table import summary_line, table_lines

REPORT_MODE = 0o640


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificates=dict(type="list", elements="raw", required=True),
            expiry=dict(type="dict", default={}),
            orders=dict(type="list", elements="dict", default=[]),
            finalized=dict(type="list", elements="dict", default=[]),
            failures=dict(type="list", elements="dict", default=[]),
            errors=dict(type="list", elements="str", default=[]),
            deploys=dict(type="list", elements="dict", default=[]),
            alert_days=dict(type="int", default=14),
            returned_rows=dict(type="str", choices=["all", "attention"], default="all"),
            path=dict(type="path"),
            run_id=dict(type="str"),
            state_dir=dict(type="path"),
            email=dict(
                type="dict",
                options={
                    "host": dict(type="str", required=True),
                    "port": dict(type="int", default=25),
                    "from": dict(type="str", required=True),
                    "to": dict(type="list", elements="str", required=True),
                    "starttls": dict(type="bool"),
                    "ssl": dict(type="bool", default=False),
                    "allow_plain_text_login": dict(type="bool", default=False),
                    "ca_bundle": dict(type="path"),
                    "username": dict(type="str"),
                    "password": dict(type="str", no_log=True),
                    "subject_prefix": dict(type="str", default="[certfleet]"),
                    "timeout": dict(type="int", default=30),
                },
            ),
            webhook=dict(
                type="dict",
                options=dict(
                    url=dict(type="str", required=True, no_log=True),
                    headers=dict(type="dict", default={}, no_log=True),
                    timeout=dict(type="int", default=10),
                    validate_certs=dict(type="bool", default=True),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["email"] and email_settings_error(params["email"]):
        module.fail_json(msg="email: %s" % email_settings_error(params["email"]))
    report = build_report(
        params["certificates"],
        expiry=params["expiry"],
        orders=params["orders"],
        finalized=params["finalized"],
        failures=params["failures"],
        errors=params["errors"],
        deploys=params["deploys"],
        check_mode=module.check_mode,
        alert_days=params["alert_days"],
        run={"host": socket.gethostname(), "run_id": params["run_id"], "state_dir": params["state_dir"]},
    )
    lines = table_lines(report["certificates"], report["deploys"]) + [""]
    if params["state_dir"]:
        lines.append("State: %s" % params["state_dir"])
    lines.append(summary_line(report))
    returned = report
    if params["returned_rows"] == "attention":
        returned = dict(
            report,
            certificates=attention_rows(report["certificates"], report["alerts"]),
            deploys=attention_deploys(report["deploys"]),
        )
    result = dict(
        changed=False,
        report=returned,
        alerts=report["alerts"],
        table="\n".join(lines) + "\n",
        table_lines=lines,
        path=None,
        notified={},
    )
    if module.check_mode:
        module.exit_json(**result)

    problems = []
    if params["path"]:
        try:
            atomic_write_json(params["path"], report, mode=REPORT_MODE)
            result.update(changed=True, path=params["path"])
        except OSError as exc:
            problems.append("cannot write the report to %s: %s" % (params["path"], exc))

    if report["alerts"] and (params["email"] or params["webhook"]):
        result["notified"] = notify(report, params["email"], params["webhook"], lines)
        for name, outcome in sorted(result["notified"].items()):
            if outcome["sent"]:
                result["changed"] = True
            else:
                problems.append("%s alert not sent: %s" % (name, outcome["error"]))

    if problems:
        for problem in problems:
            module.warn(problem)
        module.fail_json(msg="the run report could not reach everyone: %s" % "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
