# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy rows: from the deploy tasks' results to the report, its table, summary line and headline."""

from __future__ import annotations

import json

from report_data import CERTIFICATES, EXPIRY, NOW

from ansible_collections.certfleet.acme.plugins.module_utils._report import deploys as dep
from ansible_collections.certfleet.acme.plugins.module_utils._report import rows as rep
from ansible_collections.certfleet.acme.plugins.module_utils._report.fields import attention_deploys
from ansible_collections.certfleet.acme.plugins.module_utils._report.headline import failure_message
from ansible_collections.certfleet.acme.plugins.module_utils._report.table import summary_line, table_lines

ROLLBACK_MSG = (
    "certificate 'calm' (apache): after the reload 127.0.0.1:8443 (SNI calm.example.test) serves serial 0A, not "
    "the new certificate's serial 0B; rolled back: restored the previous files; reloaded again"
)


def server_results() -> dict:
    """cert_deploy's registered loop result on web1: one deployed, one unchanged, one rolled back, one failed."""
    return {
        "results": [
            {"item": {"cert": "fresh", "type": "nginx", "dest": "/etc/nginx/tls"}, "changed": True, "failed": False},
            {"item": {"cert": "calm", "type": "nginx", "dest": "/etc/nginx/tls"}, "changed": False},
            {
                "item": {"cert": "calm", "type": "apache", "dest": "/etc/apache2/tls"},
                "failed": True,
                "changed": True,
                "rolled_back": True,
                "msg": ROLLBACK_MSG,
            },
            {
                "item": {"cert": "fresh", "type": "haproxy", "dest": "/etc/haproxy/tls"},
                "failed": True,
                "msg": "cert 'fresh': mode '999' is not an octal mode",
            },
            {"item": {"cert": "calm", "type": "files", "dest": "/srv"}, "skipped": True},
        ]
    }


def aws_results() -> dict:
    """aws_certificate_deploy's registered loop result: items are {cert, type, target}, from the controller."""
    target = "load balancer web port 443 in eu-west-1"
    return {
        "results": [
            {
                "item": {"cert": "renewed", "type": "aws_iam_elb", "target": target},
                "failed": True,
                "msg": "aws_iam_elb %s: AccessDenied: not allowed" % target,
            }
        ]
    }


def test_outcomes_of_a_hosts_deploy_results():
    rows = dep.deploy_outcomes(server_results(), "web1")
    assert [(row["certificate"], row["type"], row["outcome"]) for row in rows] == [
        ("fresh", "nginx", "deployed"),
        ("calm", "nginx", "unchanged"),
        ("calm", "apache", "rolled_back"),
        ("fresh", "haproxy", "failed"),
    ]
    assert {row["host"] for row in rows} == {"web1"}
    assert rows[0]["target"] == "/etc/nginx/tls" and rows[0]["cause"] is None
    # The certificate and type are columns of the row: the cause does not say them again.
    assert rows[2]["cause"] == ROLLBACK_MSG[len("certificate 'calm' (apache): ") :]
    assert rows[3]["cause"] == "cert 'fresh': mode '999' is not an octal mode"


def test_outcomes_of_the_aws_deploys_name_the_target_once():
    [row] = dep.deploy_outcomes(aws_results())
    assert row["host"] is None
    assert row["target"] == "load balancer web port 443 in eu-west-1"
    assert (row["outcome"], row["cause"]) == ("failed", "AccessDenied: not allowed")


def test_outcomes_of_no_or_odd_results_are_empty():
    assert dep.deploy_outcomes(None) == []
    assert dep.deploy_outcomes({"failed": True, "msg": "no loop"}) == []
    assert dep.deploy_outcomes({"results": ["junk"]}) == []


def test_report_rows_counts_and_check_mode():
    deploys = dep.deploy_outcomes(server_results(), "web1") + [{"certificate": "x", "outcome": "exploded"}, "junk"]
    report = rep.build_report(CERTIFICATES[3:4], expiry=EXPIRY, now=NOW, deploys=deploys)
    assert len(report["deploys"]) == 4
    assert set(report["deploys"][0]) == {"certificate", "host", "type", "target", "outcome", "cause"}
    assert report["summary"]["deploys"] == {
        "deployed": 1,
        "would_deploy": 0,
        "unchanged": 1,
        "failed": 1,
        "rolled_back": 1,
    }
    json.dumps(report)
    checked = rep.build_report(CERTIFICATES[3:4], expiry=EXPIRY, now=NOW, deploys=deploys, check_mode=True)
    assert [row["outcome"] for row in checked["deploys"]] == ["would_deploy", "unchanged", "rolled_back", "failed"]
    assert [row["outcome"] for row in attention_deploys(report["deploys"])] == ["deployed", "rolled_back", "failed"]


def test_a_run_that_only_deployed_says_so():
    deploys = dep.deploy_outcomes(server_results(), "web1")[:2]
    report = rep.build_report(CERTIFICATES[3:4], expiry=EXPIRY, now=NOW, deploys=deploys)
    lines = table_lines(report["certificates"], report["deploys"])
    assert lines == [
        "CERTIFICATE  ACTION   DAYS  REASON   RESULT / ERROR",
        "calm         skipped    60  not due  valid until 2025-06-30T12:00:00Z",
        "",
        "CERTIFICATE  HOST  TARGET                OUTCOME    CAUSE",
        "fresh        web1  nginx /etc/nginx/tls  deployed   -",
        "calm         web1  nginx /etc/nginx/tls  unchanged  -",
    ]
    assert summary_line(report) == "1 certificate: 1 skipped; 2 deploys: 1 deployed, 1 unchanged"


def test_failed_deploys_are_rows_with_their_cause_and_the_host_is_named_once():
    deploys = dep.deploy_outcomes(server_results(), "web1") + dep.deploy_outcomes(aws_results())
    failures = [
        {"name": "calm", "stage": "deploy", "host": "web1", "error": "apache on web1: %s" % ROLLBACK_MSG},
        {"name": "renewed", "stage": "deploy", "host": None, "error": aws_results()["results"][0]["msg"]},
    ]
    report = rep.build_report(CERTIFICATES[1:4], expiry=EXPIRY, failures=failures, now=NOW, deploys=deploys)
    lines = table_lines(report["certificates"], report["deploys"])
    cause = ROLLBACK_MSG[len("certificate 'calm' (apache): ") :]
    assert lines[:4] == [
        "CERTIFICATE  ACTION        DAYS  REASON    RESULT / ERROR",
        "renewed      not_deployed    20  expiring  deploy failed on 1 of 1 target, see the deploy rows",
        "lost         failed           5  expiring  run: not issued",
        "calm         not_deployed    60  -         deploy failed on 1 of 2 targets, see the deploy rows",
    ]
    assert lines[5:11] == [
        "CERTIFICATE  HOST        TARGET                                               OUTCOME      CAUSE",
        "fresh        web1        nginx /etc/nginx/tls                                 deployed     -",
        "calm         web1        nginx /etc/nginx/tls                                 unchanged    -",
        "calm         web1        apache /etc/apache2/tls                              rolled back  see note [1] below",
        "fresh        web1        haproxy /etc/haproxy/tls                             failed       "
        "cert 'fresh': mode '999' is not an octal mode",
        "renewed      controller  aws_iam_elb load balancer web port 443 in eu-west-1  failed       "
        "AccessDenied: not allowed",
    ]
    assert lines[11:] == ["", "[1] calm on web1 (apache /etc/apache2/tls): " + cause]
    assert summary_line(report) == (
        "3 certificates: 1 failed, 2 not deployed; 5 deploys: 1 deployed, 1 unchanged, 2 failed, 1 rolled back; "
        "3 alerts"
    )
    # The JSON row and the alert keep the cause; the host, the certificate and the type are each said once.
    calm = report["certificates"][2]
    assert calm["error"] == "deploy: apache on web1: " + cause
    assert report["alerts"][2]["message"] == "calm was not deployed (60 days left): deploy: apache on web1: " + cause
    message = failure_message(failures)
    assert message.count("web1") == 1 and message.count("'calm'") == 0 and message.count("(apache)") == 0
    assert "calm (deploy: apache on web1: after the reload 127.0.0.1:8443" in message
