# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_certificate_deploy run through ansible against a moto server on loopback.

Every type goes through the same story: first deploy (changed), the same
again (not changed), the renewed certificate in check mode (reported, not
done), the renewed certificate (changed, and the target holds it), and the
same again. The certificates are a small self-signed chain made here, in two
versions with different serial numbers and keys. No run may show the fake
credentials or any line of a private key.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import uuid

import pytest
import testca
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from moto_fixture import CREDENTIALS, aws_client, classic_elb, connection, https_listeners, run_aws_adhoc
from playbook_runner import run_module

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial

MODULE = "aws_certificate_deploy"
TAG = "certfleet:name"


# --------------------------------------------------------------------------
# certificates


def make_version(domain: str, serial: int, days: int) -> dict:
    """A CA and a leaf it signed (fresh keys), as the four files the role writes."""
    now = testca.now()
    ca_key, ca = testca.make_ca(
        testca.x509_name("certfleet test CA %d" % serial), now - testca.DAY, now + 365 * testca.DAY, path_length=None
    )
    key = ec.generate_private_key(ec.SECP256R1())
    not_before, not_after = now - datetime.timedelta(hours=1), now + days * testca.DAY
    leaf = testca.make_leaf(
        ca_key,
        ca.subject,
        key.public_key(),
        [domain],
        not_before,
        not_after,
        subject=testca.x509_name(domain),
        serial=serial,
        san_critical=False,
    )
    leaf_pem, ca_pem = testca.pem(leaf), testca.pem(ca)
    return {
        "privkey.pem": testca.key_pem(key),
        "cert.pem": leaf_pem,
        "chain.pem": ca_pem,
        "fullchain.pem": leaf_pem + ca_pem,
        "serial": format_serial(serial),
    }


@pytest.fixture(scope="module")
def versions():
    """The old and the renewed certificate (different serials and keys), and one somebody deployed by hand."""
    base = int(uuid.uuid4().int >> 70) | 1
    return {
        "old": make_version("www.example.test", base, 60),
        "renewed": make_version("www.example.test", base + 0x1000, 90),
        "bootstrap": make_version("www.example.test", base + 0x2000, 30),
    }


def install(directory, version: dict) -> str:
    """Write a version into ``directory`` the way the role does (key 0600)."""
    os.makedirs(directory, exist_ok=True)
    for filename in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"):
        path = os.path.join(directory, filename)
        with open(path, "w", encoding="ascii") as handle:
            handle.write(version[filename])
        if filename == "privkey.pem":
            os.chmod(path, 0o600)
    return str(directory)


def key_lines(version: dict) -> list[str]:
    return [line for line in version["privkey.pem"].splitlines() if line and not line.startswith("-----")]


def assert_clean(text: str, *versions: dict) -> None:
    """Neither a credential nor any line of a private key in ``text``."""
    for secret in CREDENTIALS:
        assert secret not in text
    for version in versions:
        for line in key_lines(version):
            assert line not in text


def serial_of(pem: str) -> str:
    return format_serial(x509.load_pem_x509_certificate(pem.encode("ascii")).serial_number)


def entry(server, tmp_path, deploy_type: str, cert_name: str, version: dict, **options) -> dict:
    """Module arguments deploying ``version`` (installed in ``tmp_path/<cert_name>``) as ``deploy_type``."""
    cert_dir = install(tmp_path / cert_name, version)
    return dict(connection(server), type=deploy_type, cert_name=cert_name, cert_dir=cert_dir, **options)


def deploy(args: dict, *versions: dict, check: bool = False) -> dict:
    result = run_module(MODULE, args, check=check)
    assert_clean(json.dumps(result), *versions)
    return result


def ok(result: dict) -> dict:
    assert not result.get("failed"), result.get("msg")
    return result


def acm_import(server, version: dict, tags=None) -> str:
    """Import a certificate into ACM behind the module's back (a bootstrap or stale certificate)."""
    acm = aws_client(server, "acm")
    args = {
        "Certificate": version["cert.pem"].encode(),
        "PrivateKey": version["privkey.pem"].encode(),
        "CertificateChain": version["chain.pem"].encode(),
    }
    if tags:
        args["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return acm.import_certificate(**args)["CertificateArn"]


def acm_tag(server, arn: str) -> str | None:
    tags = aws_client(server, "acm").list_tags_for_certificate(CertificateArn=arn)["Tags"]
    return next((tag.get("Value") for tag in tags if tag["Key"] == TAG), None)


def acm_serial(server, arn: str) -> str:
    return serial_of(aws_client(server, "acm").get_certificate(CertificateArn=arn)["Certificate"])


def tagged_acm(server, cert_name: str) -> list[str]:
    acm = aws_client(server, "acm")
    return [
        summary["CertificateArn"]
        for summary in acm.list_certificates()["CertificateSummaryList"]
        if acm_tag(server, summary["CertificateArn"]) == cert_name
    ]


# --------------------------------------------------------------------------
# aws_acm


def test_acm_import_then_reimport_under_the_same_arn(moto_server, versions, tmp_path):
    old, renewed = versions["old"], versions["renewed"]
    args = entry(moto_server, tmp_path, "aws_acm", "acm-www", old)

    first = ok(deploy(args, old))
    assert first["changed"] and first["arn"].startswith("arn:aws:acm:")
    assert first["serial"] == old["serial"] and first["previous"] is None
    arn = first["arn"]
    assert acm_serial(moto_server, arn) == old["serial"]
    assert acm_tag(moto_server, arn) == "acm-www"

    again = ok(deploy(args, old))
    assert not again["changed"] and again["arn"] == arn and again["actions"] == []

    install(args["cert_dir"], renewed)
    planned = ok(deploy(args, old, renewed, check=True))
    assert planned["changed"] and planned["arn"] == arn
    assert planned["actions"] and all(action.startswith("would ") for action in planned["actions"])
    assert acm_serial(moto_server, arn) == old["serial"]

    renewal = ok(deploy(args, old, renewed))
    assert renewal["changed"] and renewal["arn"] == arn and renewal["serial"] == renewed["serial"]
    assert renewal["previous"]["arn"] == arn and renewal["previous"]["serial"] == old["serial"]
    assert acm_serial(moto_server, arn) == renewed["serial"]
    assert acm_tag(moto_server, arn) == "acm-www"
    assert tagged_acm(moto_server, "acm-www") == [arn]

    assert not ok(deploy(args, old, renewed))["changed"]


def test_acm_refuses_a_certificate_of_another_name(moto_server, versions, tmp_path):
    other = acm_import(moto_server, versions["old"], {TAG: "somebody-else"})
    args = entry(moto_server, tmp_path, "aws_acm", "acm-pinned", versions["renewed"], certificate_arn=other)
    result = deploy(args, versions["renewed"])
    assert result["failed"] and not result["changed"]
    assert "aws_acm" in result["msg"] and other in result["msg"] and "somebody-else" in result["msg"]
    assert acm_serial(moto_server, other) == versions["old"]["serial"]


# --------------------------------------------------------------------------
# aws_iam_elb


def iam_names(server, path="/certfleet/") -> dict:
    listing = aws_client(server, "iam").list_server_certificates()["ServerCertificateMetadataList"]
    return {meta["ServerCertificateName"]: meta["Arn"] for meta in listing if meta["Path"] == path}


def iam_upload(server, name: str, version: dict, path: str = "/certfleet/") -> str:
    return aws_client(server, "iam").upload_server_certificate(
        Path=path,
        ServerCertificateName=name,
        CertificateBody=version["cert.pem"],
        PrivateKey=version["privkey.pem"],
        CertificateChain=version["chain.pem"],
    )["ServerCertificateMetadata"]["Arn"]


def elb_certificate(server, name: str, port: int = 443) -> str | None:
    balancer = aws_client(server, "elb").describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][
        0
    ]
    for description in balancer["ListenerDescriptions"]:
        if description["Listener"]["LoadBalancerPort"] == port:
            return description["Listener"].get("SSLCertificateId")
    return None


def test_iam_elb_dated_upload_switch_and_cleanup(moto_server, versions, tmp_path):
    old, renewed = versions["old"], versions["renewed"]
    # The listener starts on a hand-made certificate outside our path: never ours to delete.
    legacy = iam_upload(moto_server, "legacy-web", versions["bootstrap"], path="/")
    classic_elb(moto_server, "web-classic", legacy, plain_http=True)
    # Leftovers of our prefix: one still used by another load balancer, one unused; and a look-alike name.
    in_use = iam_upload(moto_server, "web-20200101000000", versions["bootstrap"])
    classic_elb(moto_server, "other-classic", in_use, plain_http=True)
    iam_upload(moto_server, "web-20200102000000", versions["bootstrap"])
    iam_upload(moto_server, "web-api-20200103000000", versions["bootstrap"])

    args = entry(moto_server, tmp_path, "aws_iam_elb", "www", old, load_balancer_name="web-classic", name_prefix="web")

    first = ok(deploy(args, old))
    assert first["changed"] and re.match(r"^web-\d{14}$", first["name"])
    assert first["arn"] == iam_names(moto_server)[first["name"]]
    assert elb_certificate(moto_server, "web-classic") == first["arn"]
    assert first["previous"]["arn"] == legacy and first["previous"]["name"] == "legacy-web"
    assert first["removed"] == ["web-20200102000000"]
    names = iam_names(moto_server)
    assert "web-20200101000000" in names and "web-api-20200103000000" in names
    assert "web-20200102000000" not in names
    assert "legacy-web" in iam_names(moto_server, path="/")

    again = ok(deploy(args, old))
    assert not again["changed"] and again["name"] == first["name"] and again["removed"] == []

    install(args["cert_dir"], renewed)
    before = iam_names(moto_server)
    planned = ok(deploy(args, old, renewed, check=True))
    assert planned["changed"] and planned["arn"] is None and re.match(r"^web-\d{14}$", planned["name"])
    assert planned["removed"] == [first["name"]]
    assert iam_names(moto_server) == before and elb_certificate(moto_server, "web-classic") == first["arn"]

    renewal = ok(deploy(args, old, renewed))
    assert renewal["changed"] and renewal["name"] != first["name"] and re.match(r"^web-\d{14}$", renewal["name"])
    assert elb_certificate(moto_server, "web-classic") == renewal["arn"]
    assert renewal["previous"]["name"] == first["name"] and renewal["previous"]["serial"] == old["serial"]
    assert renewal["removed"] == [first["name"]]
    names = iam_names(moto_server)
    assert first["name"] not in names and renewal["name"] in names and "web-20200101000000" in names
    body = aws_client(moto_server, "iam").get_server_certificate(ServerCertificateName=renewal["name"])
    assert serial_of(body["ServerCertificate"]["CertificateBody"]) == renewed["serial"]

    assert not ok(deploy(args, old, renewed))["changed"]


def test_iam_elb_bad_target_fails_before_any_upload(moto_server, versions, tmp_path):
    before = iam_names(moto_server)
    args = entry(moto_server, tmp_path, "aws_iam_elb", "nowhere", versions["old"], load_balancer_name="no-such-elb")
    result = deploy(args, versions["old"])
    assert result["failed"] and not result["changed"]
    assert "aws_iam_elb" in result["msg"] and "no-such-elb" in result["msg"]
    assert "LoadBalancerNotFound" in result["msg"] or "no such" in result["msg"]
    assert iam_names(moto_server) == before


# --------------------------------------------------------------------------
# aws_alb


@pytest.fixture(scope="module")
def alb(moto_server, versions):
    """An ALB with two HTTPS listeners, both starting on a bootstrap ACM certificate."""
    bootstrap = acm_import(moto_server, versions["bootstrap"])
    listeners = https_listeners(moto_server, "web-alb", "10.30", bootstrap, (443, 8443))
    elbv2 = aws_client(moto_server, "elbv2")
    return {"bootstrap": bootstrap, "default": listeners[443], "sni": listeners[8443], "client": elbv2}


def default_certificate(alb_info, listener: str) -> str:
    found = alb_info["client"].describe_listeners(ListenerArns=[listener])["Listeners"][0]
    return found["Certificates"][0]["CertificateArn"]


def listener_certificates(alb_info, listener: str) -> set[str]:
    entries = alb_info["client"].describe_listener_certificates(ListenerArn=listener)["Certificates"]
    return {entry["CertificateArn"] for entry in entries}


def test_alb_default_certificate(moto_server, versions, alb, tmp_path):
    old, renewed = versions["old"], versions["renewed"]
    args = entry(moto_server, tmp_path, "aws_alb", "alb-default", old, listener_arn=alb["default"], role="default")

    planned = ok(deploy(args, old, check=True))
    assert planned["changed"] and planned["arn"] is None
    assert default_certificate(alb, alb["default"]) == alb["bootstrap"] and tagged_acm(moto_server, "alb-default") == []

    first = ok(deploy(args, old))
    arn = first["arn"]
    assert first["changed"] and arn != alb["bootstrap"] and default_certificate(alb, alb["default"]) == arn
    assert first["previous"]["arn"] == alb["bootstrap"]
    assert acm_tag(moto_server, arn) == "alb-default"

    assert not ok(deploy(args, old))["changed"]

    install(args["cert_dir"], renewed)
    renewal = ok(deploy(args, old, renewed))
    assert renewal["changed"] and renewal["arn"] == arn and renewal["previous"]["serial"] == old["serial"]
    assert default_certificate(alb, alb["default"]) == arn and acm_serial(moto_server, arn) == renewed["serial"]

    assert not ok(deploy(args, old, renewed))["changed"]


def test_alb_sni_certificate_replaces_stale_ones_of_the_same_name(moto_server, versions, alb, tmp_path):
    old, renewed = versions["old"], versions["renewed"]
    elbv2 = alb["client"]
    # A pinned ARN (certificate_arn), a stale SNI certificate of the same name and one of another name.
    pinned = acm_import(moto_server, old)
    stale = acm_import(moto_server, old, {TAG: "alb-sni"})
    unrelated = acm_import(moto_server, old, {TAG: "someone-else"})
    elbv2.add_listener_certificates(
        ListenerArn=alb["sni"], Certificates=[{"CertificateArn": stale}, {"CertificateArn": unrelated}]
    )
    args = entry(
        moto_server, tmp_path, "aws_alb", "alb-sni", old, listener_arn=alb["sni"], role="sni", certificate_arn=pinned
    )

    planned = ok(deploy(args, old, check=True))
    assert planned["changed"] and planned["removed"] == [stale]
    assert listener_certificates(alb, alb["sni"]) == {alb["bootstrap"], stale, unrelated}

    first = ok(deploy(args, old))
    assert first["changed"] and first["arn"] == pinned and first["removed"] == [stale]
    assert listener_certificates(alb, alb["sni"]) == {alb["bootstrap"], unrelated, pinned}
    assert default_certificate(alb, alb["sni"]) == alb["bootstrap"]
    assert acm_tag(moto_server, pinned) == "alb-sni"

    assert not ok(deploy(args, old))["changed"]

    install(args["cert_dir"], renewed)
    renewal = ok(deploy(args, old, renewed))
    assert renewal["changed"] and renewal["arn"] == pinned and renewal["removed"] == []
    assert acm_serial(moto_server, pinned) == renewed["serial"]
    assert listener_certificates(alb, alb["sni"]) == {alb["bootstrap"], unrelated, pinned}

    assert not ok(deploy(args, old, renewed))["changed"]


def test_alb_unknown_listener_fails_before_import(moto_server, versions, alb, tmp_path):
    missing = alb["default"].rsplit("/", 1)[0] + "/0123456789abcdef"
    args = entry(moto_server, tmp_path, "aws_alb", "alb-gone", versions["old"], listener_arn=missing)
    result = deploy(args, versions["old"])
    assert result["failed"] and not result["changed"]
    assert "aws_alb" in result["msg"] and missing in result["msg"]
    assert tagged_acm(moto_server, "alb-gone") == []


# --------------------------------------------------------------------------
# aws_secretsmanager


def secret_document(server, name: str) -> dict:
    return json.loads(aws_client(server, "secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def test_secretsmanager_json_secret(moto_server, versions, tmp_path):
    old, renewed = versions["old"], versions["renewed"]
    args = entry(moto_server, tmp_path, "aws_secretsmanager", "secret-www", old, secret_name="tls/secret-www")

    planned = ok(deploy(args, old, check=True))
    assert planned["changed"] and planned["arn"] is None
    secrets = aws_client(moto_server, "secretsmanager")
    assert not [s for s in secrets.list_secrets()["SecretList"] if s["Name"] == "tls/secret-www"]

    first = ok(deploy(args, old))
    assert first["changed"] and first["arn"].startswith("arn:aws:secretsmanager:") and first["name"] == "tls/secret-www"
    document = secret_document(moto_server, "tls/secret-www")
    assert sorted(document) == ["cert", "chain", "fullchain", "not_after", "privkey", "serial"]
    assert document["privkey"] == old["privkey.pem"] and document["serial"] == old["serial"]
    assert document["fullchain"] == old["fullchain.pem"] and document["chain"] == old["chain.pem"]
    tags = secrets.describe_secret(SecretId="tls/secret-www")["Tags"]
    assert {"Key": TAG, "Value": "secret-www"} in tags

    assert not ok(deploy(args, old))["changed"]

    install(args["cert_dir"], renewed)
    assert ok(deploy(args, old, renewed, check=True))["changed"]
    assert secret_document(moto_server, "tls/secret-www")["serial"] == old["serial"]

    renewal = ok(deploy(args, old, renewed))
    assert renewal["changed"] and renewal["arn"] == first["arn"] and renewal["previous"]["serial"] == old["serial"]
    document = secret_document(moto_server, "tls/secret-www")
    assert document["serial"] == renewed["serial"] and document["privkey"] == renewed["privkey.pem"]

    assert not ok(deploy(args, old, renewed))["changed"]


def test_secret_of_another_certificate_is_not_overwritten(moto_server, versions, tmp_path):
    secrets = aws_client(moto_server, "secretsmanager")
    secrets.create_secret(Name="tls/taken", SecretString="{}", Tags=[{"Key": TAG, "Value": "other"}])
    args = entry(moto_server, tmp_path, "aws_secretsmanager", "taker", versions["old"], secret_name="tls/taken")
    result = deploy(args, versions["old"])
    assert result["failed"] and "aws_secretsmanager" in result["msg"] and "tls/taken" in result["msg"]
    assert secrets.get_secret_value(SecretId="tls/taken")["SecretString"] == "{}"


# --------------------------------------------------------------------------
# nothing secret in any output


def test_verbose_output_shows_no_credentials_and_no_key(moto_server, versions, tmp_path):
    old = versions["old"]
    cert_dir = install(tmp_path / "verbose", old)
    base = dict(connection(moto_server), cert_name="verbose", cert_dir=cert_dir)
    for args in (
        dict(base, type="aws_secretsmanager", secret_name="tls/verbose"),
        dict(base, type="aws_acm"),
        # A failure (no such load balancer) must be as quiet as a success.
        dict(base, type="aws_iam_elb", load_balancer_name="missing-verbose"),
    ):
        for flags in (("-vvv",), ("-vvv", "--check")):
            result, output = run_aws_adhoc(MODULE, args, *flags)
            assert_clean(json.dumps(result) + output, old)
            if args.get("load_balancer_name"):
                assert result["failed"] and "missing-verbose" in result["msg"]
            else:
                assert not result.get("failed"), result.get("msg")
