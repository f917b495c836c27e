# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml issues on the rig and deploys to AWS (a moto server on loopback) through letsencrypt_dns_deploy.

The AWS entries sit in the group vars of three hosts, as a load balancer shared by a web farm would: each entry
must be deployed once per run, from the controller, not once per host. One certificate goes to ACM, to the default
certificate of an ALB listener, to Secrets Manager and through IAM to a classic ELB; one more entry names a
listener that does not exist and must be the only failure the run names. Then the same run again changes nothing,
and a forced renewal reaches every target (ACM under the same ARN). No run may show an AWS credential or a line
of the private key. A bad entry (no listener_arn) must stop the run before any ACME or DNS change.
"""

from __future__ import annotations

import json

import pytest
import yaml
from cryptography import x509
from moto_fixture import (
    CREDENTIALS,
    FAKE_KEY_ID,
    FAKE_SECRET_KEY,
    REGION,
    aws_client,
    classic_elb,
    connection,
    https_listeners,
)
from playbook_runner import role_vars, run_renew
from test_role import assert_no_challenge_values
from webservers import DeployCA

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial

CERT = "aws-www"
NAME = "aws-www.example.test"
TAG = "certfleet:name"
SECRET_NAME = "tls/aws-www"
CLASSIC = "role-classic"
HOSTS = ("web1", "web2", "web3")
MISSING_LISTENER = (
    "arn:aws:elasticloadbalancing:%s:123456789012:listener/app/gone/0123456789abcdef/fedcba9876543210" % REGION
)
AWS_TASK = "Deploy certificates to AWS"
FINAL_TASK = "Fail naming every certificate that was not issued"


@pytest.fixture(scope="module")
def targets(moto_server):
    """A classic ELB on a bootstrap IAM certificate and an ALB listener on a bootstrap ACM certificate."""
    bootstrap = DeployCA().leaf((NAME,))
    iam_arn = aws_client(moto_server, "iam").upload_server_certificate(
        Path="/",
        ServerCertificateName="bootstrap-classic",
        CertificateBody=bootstrap.cert,
        PrivateKey=bootstrap.privkey,
        CertificateChain=bootstrap.chain,
    )["ServerCertificateMetadata"]["Arn"]
    classic_elb(moto_server, CLASSIC, iam_arn)
    acm_arn = aws_client(moto_server, "acm").import_certificate(
        Certificate=bootstrap.cert.encode(),
        PrivateKey=bootstrap.privkey.encode(),
        CertificateChain=bootstrap.chain.encode(),
    )["CertificateArn"]
    listener = https_listeners(moto_server, "role-alb", "10.40", acm_arn, (443,))[443]
    return {"listener": listener, "bootstrap_acm": acm_arn, "bootstrap_iam": iam_arn}


def farm_inventory(tmp_path, deploy: list[dict]):
    """Three hosts sharing ``deploy`` in their group vars (the play also has localhost, without entries)."""
    path = tmp_path / ("farm-%d.yml" % len(list(tmp_path.glob("farm-*.yml"))))
    inventory = {"all": {"children": {"farm": {"hosts": {host: {} for host in HOSTS}, "vars": {}}}}}
    inventory["all"]["children"]["farm"]["vars"]["letsencrypt_dns_deploy"] = deploy
    path.write_text(yaml.safe_dump(inventory))
    return path


def changed_total(run) -> int:
    return sum(stats["changed"] for stats in run.result.get("stats", {}).values())


def aws_items(run) -> list[dict]:
    """The per-entry results of the AWS deploy task (it runs once, so for one host)."""
    found = run.task_results(AWS_TASK)
    assert len(found) == 1, "the AWS deploy ran for %d hosts" % len(found)
    return found[0]["results"]


def issued(state) -> tuple[str, list[str]]:
    """The issued certificate's serial and its private key's base64 lines."""
    serial = format_serial(json.loads((state / CERT / "cert.json").read_text())["serial"])
    key = (state / CERT / "privkey.pem").read_text()
    return serial, [line for line in key.splitlines() if line and not line.startswith("-----")]


def assert_clean(run, key_lines: list[str]) -> None:
    text = run.text()
    for secret in CREDENTIALS:
        assert secret not in text, "an AWS credential is in the output"
    for line in key_lines:
        assert line not in text, "a line of the private key is in the output"


def serial_of(pem: str) -> str:
    return format_serial(x509.load_pem_x509_certificate(pem.encode("ascii")).serial_number)


def aws_state(server, listener: str) -> dict:
    """What AWS holds for CERT: the tagged ACM certificates, the ALB default, the secret, our IAM certificates."""
    acm = aws_client(server, "acm")
    tagged = [
        summary["CertificateArn"]
        for summary in acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1", "RSA_2048"]})[
            "CertificateSummaryList"
        ]
        if {"Key": TAG, "Value": CERT}
        in acm.list_tags_for_certificate(CertificateArn=summary["CertificateArn"])["Tags"]
    ]
    default = aws_client(server, "elbv2").describe_listeners(ListenerArns=[listener])["Listeners"][0]["Certificates"]
    secret = json.loads(aws_client(server, "secretsmanager").get_secret_value(SecretId=SECRET_NAME)["SecretString"])
    iam = aws_client(server, "iam")
    ours = {
        meta["ServerCertificateName"]: meta["Arn"]
        for meta in iam.list_server_certificates()["ServerCertificateMetadataList"]
        if meta["Path"] == "/certfleet/"
    }
    classic = aws_client(server, "elb").describe_load_balancers(LoadBalancerNames=[CLASSIC])
    listener_cert = classic["LoadBalancerDescriptions"][0]["ListenerDescriptions"][0]["Listener"]["SSLCertificateId"]
    return {
        "acm": tagged,
        "acm_serials": [serial_of(acm.get_certificate(CertificateArn=arn)["Certificate"]) for arn in tagged],
        "alb_default": default[0]["CertificateArn"],
        "secret_serial": secret["serial"],
        "iam": ours,
        "iam_serials": {
            name: serial_of(
                iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]["CertificateBody"]
            )
            for name in ours
        },
        "classic": listener_cert,
    }


def test_role_deploys_to_aws_once_per_entry_and_names_the_failure(rig, tmp_path, moto_server, targets):
    state = tmp_path / "state"
    aws = connection(moto_server)
    deploy = [
        dict(aws, cert=CERT, type="aws_acm"),
        dict(aws, cert=CERT, type="aws_alb", listener_arn=targets["listener"]),
        dict(aws, cert=CERT, type="aws_secretsmanager", secret_name=SECRET_NAME),
        dict(aws, cert=CERT, type="aws_iam_elb", load_balancer_name=CLASSIC, wait_timeout=30),
    ]
    broken = dict(aws, cert=CERT, type="aws_alb", listener_arn=MISSING_LISTENER)
    variables = role_vars(rig, state, [{"name": CERT, "names": [NAME]}])

    # 1. Issue and deploy; the entry with the missing listener fails, the other four are done, once each.
    first = run_renew(variables, tmp_path, "-i", str(farm_inventory(tmp_path, [*deploy, broken])), "-v")
    serial, key_lines = issued(state)
    assert_clean(first, key_lines)
    assert first.rc != 0
    items = aws_items(first)
    assert [(item["item"]["type"], bool(item.get("failed"))) for item in items] == [
        ("aws_acm", False),
        ("aws_alb", False),
        ("aws_secretsmanager", False),
        ("aws_iam_elb", False),
        ("aws_alb", True),
    ]
    assert all(item["changed"] for item in items[:4])
    final = first.task_results(FINAL_TASK)[0]["msg"]
    assert "%s (deploy: aws_alb listener %s: DescribeListeners" % (CERT, MISSING_LISTENER) in final
    assert final.count("deploy:") == 1, final

    after = aws_state(moto_server, targets["listener"])
    acm_arn = items[0]["arn"]
    assert after["acm"] == [acm_arn] and after["acm_serials"] == [serial]
    assert after["alb_default"] == acm_arn and items[1]["previous"]["arn"] == targets["bootstrap_acm"]
    assert after["secret_serial"] == serial
    assert list(after["iam"]) == [items[3]["name"]] and after["iam_serials"][items[3]["name"]] == serial
    assert after["classic"] == items[3]["arn"]

    # 2. The same again, without the broken entry: nothing is due, nothing changes anywhere.
    farm = farm_inventory(tmp_path, deploy)
    again = run_renew(variables, tmp_path, "-i", str(farm))
    assert again.rc == 0, again.text()[-4000:]
    assert_clean(again, key_lines)
    assert changed_total(again) == 0
    assert [item["changed"] for item in aws_items(again)] == [False] * 4
    assert aws_state(moto_server, targets["listener"]) == after

    # 3. A forced renewal reaches every target; ACM keeps its ARN, IAM gets a new dated certificate.
    renewed = run_renew(dict(variables, letsencrypt_dns_force=True), tmp_path, "-i", str(farm))
    assert renewed.rc == 0, renewed.text()[-4000:]
    new_serial, new_key_lines = issued(state)
    assert new_serial != serial
    assert_clean(renewed, key_lines + new_key_lines)
    items = aws_items(renewed)
    # The ALB entry finds the ACM certificate already re-imported (by the aws_acm entry) under the ARN its listener
    # uses: nothing left to change there.
    assert [item["changed"] for item in items] == [True, False, True, True]
    now = aws_state(moto_server, targets["listener"])
    assert now["acm"] == [acm_arn] and now["acm_serials"] == [new_serial]
    assert items[0]["previous"]["serial"] == serial
    assert now["alb_default"] == acm_arn
    assert now["secret_serial"] == new_serial
    assert list(now["iam"]) == [items[3]["name"]] != list(after["iam"])
    assert now["iam_serials"][items[3]["name"]] == new_serial and now["classic"] == items[3]["arn"]


def test_bad_deploy_entry_fails_before_any_change(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": CERT, "names": [NAME]}]
    entry = {"cert": CERT, "type": "aws_alb", "region": REGION, "aws_access_key_id": FAKE_KEY_ID}
    entry["aws_secret_access_key"] = FAKE_SECRET_KEY
    farm = farm_inventory(tmp_path, [entry])

    run = run_renew(role_vars(rig, state, certificates), tmp_path, "-i", str(farm))
    assert run.rc != 0
    final = run.task_results(FINAL_TASK)[0]["msg"]
    expected = (
        "in the vars of web1, web2, web3: letsencrypt_dns_deploy entry (cert 'aws-www', type 'aws_alb'): "
        "field 'listener_arn' value None is missing: type aws_alb requires it"
    )
    assert expected in final and final.count("listener_arn") == 1, final
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
    assert not state.exists(), "the state directory was touched before the input was refused"
    assert_no_challenge_values(rig, certificates)
    text = run.text()
    for secret in CREDENTIALS:
        assert secret not in text
