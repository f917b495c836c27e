# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report of a run with one DNS failure and one deploy failure: a row per certificate and per deploy.

One run on the rig: "lost" lies in example3.test, whose provider has a wrong
TSIG secret, so it is never issued; www-apache is issued but its deploy
verifies at a decoy endpoint and is rolled back; www-nginx is issued and
deployed. The report must show each certificate's action, each deploy with
its host, target and outcome (the rollback's cause whole, under the table),
where the state lives and a summary line that counts the deploys too; the
JSON file and the AWX job summary hold the same deploy rows. The report is
printed and saved (REPORT_COPY) whole, as a person reads it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playbook_runner import role_vars, run_renew
from test_report_notify import split_providers
from test_role import summary_of
from test_role_deploy_verify import decoy  # noqa: F401  # pylint: disable=unused-import
from webservers import failure_message, role_cert

pytestmark = pytest.mark.rig

KINDS = ("apache", "nginx")
REPORT_COPY = Path("/work/tmp/report12.txt")


# pylint: disable-next=redefined-outer-name
def test_report_rows_of_a_run_with_a_dns_and_a_deploy_failure(rig, tmp_path, servers, decoy):  # noqa: F811
    apache, nginx = servers["apache"], servers["nginx"]
    state = tmp_path / "state"
    report_path = tmp_path / "last-run.json"
    lost = {"name": "lost", "names": ["lost.rows.example3.test"]}
    deploy = [
        apache.role_entry(
            verify={"host": "127.0.0.1", "port": decoy.port, "sni": apache.sni, "timeout": 3},
            verify_retries=1,
            verify_delay=0.5,
        ),
        nginx.role_entry(),
    ]
    variables = role_vars(
        rig,
        state,
        [role_cert(kind) for kind in KINDS] + [lost],
        letsencrypt_dns_deploy=deploy,
        letsencrypt_dns_providers=split_providers(rig, "d3Jvbmctc2VjcmV0LWZvci10aGUtcmVwb3J0LXRlc3Q="),
        letsencrypt_dns_report_path=str(report_path),
    )

    run = run_renew(variables, tmp_path)
    assert run.rc != 0
    lines = run.task_results("Show the run report")[0]["msg"]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    print(failure_message(run))
    if REPORT_COPY.parent.is_dir():
        REPORT_COPY.write_text(text + "\n" + failure_message(run) + "\n")

    report = json.loads(report_path.read_text())
    rows = {row["certificate"]: row for row in report["certificates"]}
    assert {name: row["action"] for name, row in rows.items()} == {
        apache.cert: "not_deployed",
        nginx.cert: "issued",
        "lost": "failed",
    }
    assert rows["lost"]["stage"] == "publish" and "broken" in rows["lost"]["error"]
    deploys = {(row["certificate"], row["host"], row["type"]): row for row in report["deploys"]}
    assert set(deploys) == {(apache.cert, "localhost", "apache"), (nginx.cert, "localhost", "nginx")}
    rolled = deploys[(apache.cert, "localhost", "apache")]
    assert rolled["outcome"] == "rolled_back" and rolled["target"] == str(apache.dest)
    assert rolled["cause"].startswith("after the reload 127.0.0.1:%d" % decoy.port), rolled["cause"]
    assert "rolled back: restored the previous files" in rolled["cause"]
    done = deploys[(nginx.cert, "localhost", "nginx")]
    assert (done["outcome"], done["cause"]) == ("deployed", None)
    assert report["summary"]["deploys"]["deployed"] == report["summary"]["deploys"]["rolled_back"] == 1

    # The table: the certificates, then one row per deploy, the long cause whole as a note, where state lives.
    assert lines[0].split()[:4] == ["CERTIFICATE", "ACTION", "DAYS", "REASON"]
    assert lines[5].split() == ["CERTIFICATE", "HOST", "TARGET", "OUTCOME", "CAUSE"]
    assert lines[6].split()[:5] == [apache.cert, "localhost", "apache", str(apache.dest), "rolled"]
    note = re.search(r"see note \[(\d+)\] below$", lines[6])
    assert note, lines[6]
    assert lines[7].split() == [nginx.cert, "localhost", "nginx", str(nginx.dest), "deployed", "-"]
    assert "[%s] %s on localhost (apache %s): %s" % (note[1], apache.cert, apache.dest, rolled["cause"]) in lines
    assert "State: %s" % state in lines
    assert lines[-1] == (
        "3 certificates: 1 issued, 1 failed, 1 not deployed; 2 deploys: 1 deployed, 1 rolled back; 1 run error; "
        "3 alerts"
    )

    # The failure names each certificate, the deploy's host once.
    message = failure_message(run)
    assert "lost (publish:" in message
    assert "%s (deploy: apache on localhost: after the reload" % apache.cert in message
    assert message.count("localhost") == 1, message

    # The AWX job summary has the same deploy rows as the report file.
    summary = summary_of(run)
    assert summary["deploys"] == report["deploys"]
    assert summary["deployed"] == [nginx.cert]
    assert summary["counts"]["deploys"] == 2
    assert os.path.isdir(state)
