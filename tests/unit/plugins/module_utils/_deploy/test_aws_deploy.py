# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_deploy: names, tags, idempotence, cleanup and rollback decisions against stub AWS clients (no AWS)."""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from certgen import cached_key, make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._deploy import aws as aws_deploy
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws import (
    TAG_KEY,
    AwsSession,
    DeployError,
    check_options,
    cleanup_candidates,
    dated_name,
    dated_name_time,
    deploy,
    describe_error,
    free_dated_name,
    iam_name_from_arn,
    is_acm_arn,
    load_certificate_files,
    normalize_serial,
    pick_tagged,
    private_key_fragments,
    stale_sni,
)

SECRET_KEY = "unit/test+secret+access+key+0000000000"
ACCOUNT = "123456789012"
NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:%s:listener/app/web/0123456789abcdef/fedcba9876543210" % ACCOUNT


def aws_error(code: str, operation: str = "Operation", message: str = "it went wrong") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


def acm_arn(number: int) -> str:
    return "arn:aws:acm:us-east-1:%s:certificate/%08d-0000-0000-0000-000000000000" % (ACCOUNT, number)


def iam_arn(name: str, path: str = "/certfleet/") -> str:
    return "arn:aws:iam::%s:server-certificate%s%s" % (ACCOUNT, path, name)


def pem(serial: int, key_type: str = "ec256") -> str:
    return make_cert(["www.example.com"], key_type=key_type, serial=serial).decode("ascii")


# --------------------------------------------------------------------------
# a small in-memory AWS


class World:
    """ACM, IAM, classic ELB, ELBv2 and Secrets Manager, just enough for the deployers; records every call."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.failures: dict[tuple[str, str], list[Exception]] = {}
        self.acm: dict[str, dict] = {}  # arn -> {pem, tags, type}
        self.iam: dict[str, dict] = {}  # name -> {pem, path, arn}
        self.elb: dict[str, dict] = {}  # name -> {port: {"Protocol", "SSLCertificateId"}}
        self.elb_ignores_switch = False
        self.listeners: dict[str, dict] = {}  # arn -> {Protocol, default, sni: [...]}
        self.secrets: dict[str, dict] = {}  # name -> {arn, string, tags}
        self.counter = 0

    def fail(self, service: str, operation: str, *errors: Exception) -> None:
        self.failures.setdefault((service, operation), []).extend(errors)

    def writes(self) -> list[tuple[str, str]]:
        reads = ("describe_", "get_", "list_")
        return [(service, op) for service, op, _params in self.calls if not op.startswith(reads)]

    def session(self) -> AwsSession:
        clients = {name: Service(name, self) for name in AwsSession.SERVICES}
        return AwsSession({}, clients=clients, sleep=lambda seconds: None)

    # ---- ACM
    def acm_list_certificates(self, **params):
        return {"CertificateSummaryList": [{"CertificateArn": arn, "Type": c["type"]} for arn, c in self.acm.items()]}

    def _acm(self, arn):
        if arn not in self.acm:
            raise aws_error("ResourceNotFoundException", "Acm", "Certificate %s not found" % arn)
        return self.acm[arn]

    def acm_list_tags_for_certificate(self, CertificateArn):
        return {"Tags": [{"Key": k, "Value": v} for k, v in self._acm(CertificateArn)["tags"].items()]}

    def acm_describe_certificate(self, CertificateArn):
        return {"Certificate": {"CertificateArn": CertificateArn, "Type": self._acm(CertificateArn)["type"]}}

    def acm_get_certificate(self, CertificateArn):
        return {"Certificate": self._acm(CertificateArn)["pem"]}

    def acm_import_certificate(self, Certificate, PrivateKey, CertificateChain=None, CertificateArn=None, Tags=None):
        assert isinstance(PrivateKey, bytes) and b"PRIVATE KEY" in PrivateKey
        if CertificateArn:
            assert Tags is None, "ACM refuses tags on re-import"
            self._acm(CertificateArn)["pem"] = Certificate.decode()
            return {"CertificateArn": CertificateArn}
        self.counter += 1
        arn = acm_arn(self.counter)
        self.acm[arn] = {
            "pem": Certificate.decode(),
            "tags": {t["Key"]: t["Value"] for t in Tags or []},
            "type": "IMPORTED",
        }
        return {"CertificateArn": arn}

    def acm_add_tags_to_certificate(self, CertificateArn, Tags):
        self._acm(CertificateArn)["tags"].update({t["Key"]: t["Value"] for t in Tags})
        return {}

    # ---- IAM
    def iam_list_server_certificates(self, PathPrefix="/"):
        return {
            "ServerCertificateMetadataList": [
                {"ServerCertificateName": name, "Path": c["path"], "Arn": c["arn"]}
                for name, c in self.iam.items()
                if c["path"].startswith(PathPrefix)
            ]
        }

    def iam_get_server_certificate(self, ServerCertificateName):
        if ServerCertificateName not in self.iam:
            raise aws_error("NoSuchEntity", "GetServerCertificate")
        return {"ServerCertificate": {"CertificateBody": self.iam[ServerCertificateName]["pem"]}}

    def iam_upload_server_certificate(self, ServerCertificateName, CertificateBody, PrivateKey, Path, Tags, **rest):
        if ServerCertificateName in self.iam:
            raise aws_error("EntityAlreadyExists", "UploadServerCertificate")
        arn = iam_arn(ServerCertificateName, Path)
        self.iam[ServerCertificateName] = {"pem": CertificateBody, "path": Path, "arn": arn}
        return {"ServerCertificateMetadata": {"ServerCertificateName": ServerCertificateName, "Arn": arn, "Path": Path}}

    def iam_delete_server_certificate(self, ServerCertificateName):
        del self.iam[ServerCertificateName]
        return {}

    def add_iam(self, name: str, serial: int, path: str = "/certfleet/") -> str:
        self.iam[name] = {"pem": pem(serial), "path": path, "arn": iam_arn(name, path)}
        return self.iam[name]["arn"]

    # ---- classic ELB
    def elb_describe_load_balancers(self, LoadBalancerNames=None, **params):
        names = LoadBalancerNames or list(self.elb)
        for name in names:
            if name not in self.elb:
                raise aws_error(
                    "LoadBalancerNotFound",
                    "DescribeLoadBalancers",
                    "There is no ACTIVE Load Balancer named '%s'" % name,
                )
        return {
            "LoadBalancerDescriptions": [
                {
                    "LoadBalancerName": name,
                    "ListenerDescriptions": [
                        {"Listener": dict(listener, LoadBalancerPort=port)} for port, listener in self.elb[name].items()
                    ],
                }
                for name in names
            ]
        }

    def elb_set_load_balancer_listener_ssl_certificate(self, LoadBalancerName, LoadBalancerPort, SSLCertificateId):
        if not self.elb_ignores_switch:
            self.elb[LoadBalancerName][LoadBalancerPort]["SSLCertificateId"] = SSLCertificateId
        return {}

    # ---- ELBv2
    def elbv2_describe_load_balancers(self, **params):
        return {"LoadBalancers": [{"LoadBalancerArn": "lb"}] if self.listeners else []}

    def elbv2_describe_listeners(self, ListenerArns=None, LoadBalancerArn=None):
        arns = ListenerArns or list(self.listeners)
        for arn in arns:
            if arn not in self.listeners:
                raise aws_error("ListenerNotFound", "DescribeListeners", "One or more listeners not found")
        return {
            "Listeners": [
                {
                    "ListenerArn": arn,
                    "Protocol": self.listeners[arn]["Protocol"],
                    "Certificates": [{"CertificateArn": self.listeners[arn]["default"]}],
                }
                for arn in arns
            ]
        }

    def elbv2_describe_listener_certificates(self, ListenerArn):
        listener = self.listeners[ListenerArn]
        entries = [{"CertificateArn": listener["default"], "IsDefault": True}]
        return {"Certificates": entries + [{"CertificateArn": arn, "IsDefault": False} for arn in listener["sni"]]}

    def elbv2_modify_listener(self, ListenerArn, Certificates):
        self.listeners[ListenerArn]["default"] = Certificates[0]["CertificateArn"]
        return {}

    def elbv2_add_listener_certificates(self, ListenerArn, Certificates):
        self.listeners[ListenerArn]["sni"].extend(c["CertificateArn"] for c in Certificates)
        return {}

    def elbv2_remove_listener_certificates(self, ListenerArn, Certificates):
        gone = {c["CertificateArn"] for c in Certificates}
        self.listeners[ListenerArn]["sni"] = [arn for arn in self.listeners[ListenerArn]["sni"] if arn not in gone]
        return {}

    # ---- Secrets Manager
    def _secret(self, SecretId):
        for name, secret in self.secrets.items():
            if SecretId in (name, secret["arn"]):
                return name, secret
        raise aws_error("ResourceNotFoundException", "Secrets", "Secrets Manager can't find the specified secret.")

    def secretsmanager_describe_secret(self, SecretId):
        name, secret = self._secret(SecretId)
        return {"ARN": secret["arn"], "Name": name, "Tags": [{"Key": k, "Value": v} for k, v in secret["tags"].items()]}

    def secretsmanager_get_secret_value(self, SecretId):
        return {"SecretString": self._secret(SecretId)[1]["string"]}

    def secretsmanager_create_secret(self, Name, SecretString, Tags, Description, KmsKeyId=None):
        arn = "arn:aws:secretsmanager:us-east-1:%s:secret:%s-AbCdEf" % (ACCOUNT, Name)
        self.secrets[Name] = {"arn": arn, "string": SecretString, "tags": {t["Key"]: t["Value"] for t in Tags}}
        return {"ARN": arn, "Name": Name}

    def secretsmanager_put_secret_value(self, SecretId, SecretString):
        self._secret(SecretId)[1]["string"] = SecretString
        return {}

    def secretsmanager_tag_resource(self, SecretId, Tags):
        self._secret(SecretId)[1]["tags"].update({t["Key"]: t["Value"] for t in Tags})
        return {}


class Service:
    """One boto3-like client of the World: records the call, raises queued failures, then answers."""

    def __init__(self, name: str, world: World):
        self._name = name
        self._world = world

    def __getattr__(self, operation):
        def method(**params):
            self._world.calls.append((self._name, operation, params))
            queued = self._world.failures.get((self._name, operation))
            if queued:
                raise queued.pop(0)
            return getattr(self._world, "%s_%s" % (self._name, operation))(**params)

        return method


# --------------------------------------------------------------------------
# certificate files


def write_files(directory, serial: int, key_type: str = "ec256", key=None):
    key = key or cached_key(key_type)
    directory.mkdir(parents=True, exist_ok=True)
    cert = make_cert(["www.example.com"], key_type=key_type, serial=serial, key=key).decode()
    chain = make_cert(["Test CA"], key_type=key_type).decode()
    (directory / "privkey.pem").write_bytes(private_key_pem(key))
    (directory / "cert.pem").write_text(cert)
    (directory / "chain.pem").write_text(chain)
    (directory / "fullchain.pem").write_text(cert + chain)
    return str(directory)


@pytest.fixture
def files(tmp_path):
    return load_certificate_files("www", write_files(tmp_path / "www", 0xABC))


def params(**extra):
    base = {
        "cert_name": "www",
        "cert_dir": "/unused",
        "wait_timeout": 30,
        "listener_port": 443,
        "iam_path": "/certfleet/",
        "cleanup": True,
        "role": "default",
    }
    base.update(extra)
    return base


def run(world, files, check_mode=False, **extra):
    clock = iter(range(0, 100000, 5))
    return deploy(
        params(**extra),
        files,
        check_mode=check_mode,
        session=world.session(),
        now=lambda: NOW,
        clock=lambda: next(clock),
        sleep=lambda seconds: None,
    )


def test_files_are_read_checked_and_the_key_stays_out_of_repr(files):
    assert files.serial == "abc" and files.key_type == "ec256" and files.not_after.endswith("Z")
    assert "PRIVATE KEY" in files.privkey and "PRIVATE" not in repr(files)
    document = json.loads(files.secret_document())
    assert sorted(document) == ["cert", "chain", "fullchain", "not_after", "privkey", "serial"]
    fragments = private_key_fragments(files.privkey)
    body = [line for line in files.privkey.splitlines() if not line.startswith("-----")]
    assert set(body) <= fragments and "-----BEGIN PRIVATE KEY-----" not in fragments


def test_missing_or_mismatched_files_fail_clearly(tmp_path):
    directory = write_files(tmp_path / "www", 1)
    (tmp_path / "www" / "chain.pem").unlink()
    with pytest.raises(DeployError, match="has no chain.pem"):
        load_certificate_files("www", directory)
    other = write_files(tmp_path / "other", 2, key_type="ec384")
    (tmp_path / "www" / "chain.pem").write_text((tmp_path / "other" / "chain.pem").read_text())
    (tmp_path / "www" / "privkey.pem").write_text((tmp_path / "other" / "privkey.pem").read_text())
    with pytest.raises(DeployError, match="does not belong to cert.pem") as caught:
        load_certificate_files("www", directory)
    assert "PRIVATE" not in str(caught.value) and other
    (tmp_path / "www" / "privkey.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DeployError, match="not an unencrypted PEM private key") as caught:
        load_certificate_files("www", directory)
    assert "not a key" not in str(caught.value)


# --------------------------------------------------------------------------
# pure decisions


def test_serials_compare_as_numbers():
    assert normalize_serial(0x0A1B) == "a1b"
    assert normalize_serial("0a:1b") == "a1b" == normalize_serial("0A1B") == normalize_serial("0x0a1b")
    assert normalize_serial(None) is None and normalize_serial("xyz") is None and normalize_serial("") is None


def test_dated_names_and_their_times():
    assert dated_name("www", NOW) == "www-20250301120000"
    eastern = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    assert dated_name("www", eastern) == "www-20250301120000"
    assert dated_name_time("www", "www-20250301120000") == NOW
    assert dated_name_time("www", "www-api-20250301120000") is None
    assert dated_name_time("www", "www-2025030112000") is None
    assert dated_name_time("www", "www-20251301120000") is None  # month 13
    assert dated_name_time("www-api", "www-api-20250301120000") == NOW
    assert free_dated_name("www", NOW, {"www-20250301120000", "www-20250301120001"}) == "www-20250301120002"


def test_arns_and_tags():
    assert iam_name_from_arn(iam_arn("www-20250301120000")) == "www-20250301120000"
    assert iam_name_from_arn(iam_arn("plain", "/")) == "plain"
    assert iam_name_from_arn(acm_arn(1)) is None and iam_name_from_arn("nonsense") is None
    assert is_acm_arn(acm_arn(1)) and not is_acm_arn(iam_arn("x"))
    assert aws_deploy.tag_value([{"Key": "a", "Value": "1"}, {"Key": TAG_KEY, "Value": "www"}]) == "www"
    assert aws_deploy.tag_value([{"Key": TAG_KEY}]) == ""
    assert aws_deploy.tag_value(None) is None


def test_pick_tagged_wants_at_most_one():
    assert pick_tagged("www", []) is None
    assert pick_tagged("www", [acm_arn(1), acm_arn(1)]) == acm_arn(1)
    with pytest.raises(DeployError, match="2 ACM certificates carry the tag certfleet:name=www"):
        pick_tagged("www", [acm_arn(2), acm_arn(1)])


def test_cleanup_takes_only_unused_dated_names_of_the_prefix_under_the_path():
    listing = [
        {"ServerCertificateName": "www-20250101000000", "Path": "/certfleet/", "Arn": "a1"},
        {"ServerCertificateName": "www-20250201000000", "Path": "/certfleet/", "Arn": "a2"},
        {"ServerCertificateName": "www-20250301120000", "Path": "/certfleet/", "Arn": "a3"},
        {"ServerCertificateName": "www-20241201000000", "Path": "/certfleet/sub/", "Arn": "a4"},
        {"ServerCertificateName": "www-api-20250101000000", "Path": "/certfleet/", "Arn": "a5"},
        {"ServerCertificateName": "www", "Path": "/certfleet/", "Arn": "a6"},
        {"ServerCertificateName": "www-20231201000000", "Path": "/", "Arn": "a7"},
    ]
    chosen = cleanup_candidates("www", "/certfleet/", listing, "www-20250301120000", {"a2"})
    assert [meta["ServerCertificateName"] for meta in chosen] == ["www-20250101000000"]
    everything = cleanup_candidates("www", "/certfleet/", listing, None, ())
    assert [meta["Arn"] for meta in everything] == ["a3", "a2", "a1"]  # newest first


def test_stale_sni_keeps_the_default_ours_and_foreign_certificates():
    entries = [
        {"CertificateArn": acm_arn(1), "IsDefault": True},
        {"CertificateArn": acm_arn(2), "IsDefault": False},
        {"CertificateArn": acm_arn(3), "IsDefault": False},
        {"CertificateArn": acm_arn(4), "IsDefault": False},
        {"CertificateArn": iam_arn("www-20250101000000"), "IsDefault": False},
    ]
    tagged = {acm_arn(1), acm_arn(2), acm_arn(4)}
    assert stale_sni(entries, acm_arn(4), lambda arn: arn in tagged) == [acm_arn(2)]


@pytest.mark.parametrize(
    "extra, message",
    [
        (dict(type="aws_acm", listener_arn=LISTENER), "listener_arn is only used with type aws_alb"),
        (dict(type="aws_acm", secret_name="x"), "secret_name is only used with type aws_secretsmanager"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", certificate_arn=acm_arn(1)), "certificate_arn is only"),
        (dict(type="aws_acm", certificate_arn=iam_arn("x")), "not an ACM certificate ARN"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", name_prefix="bad prefix"), "name_prefix 'bad prefix'"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", name_prefix="x" * 114), "name_prefix"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", iam_path="certfleet"), "iam_path 'certfleet'"),
        (dict(type="aws_iam_elb", load_balancer_name="lb", listener_port=0), "listener_port 0"),
        (dict(type="aws_alb", listener_arn="arn:aws:acm:x"), "is not an ELBv2 listener ARN"),
        (dict(type="aws_secretsmanager", secret_name="bad name!"), "secret_name 'bad name!'"),
        (dict(type="aws_acm", endpoint_url="localhost:5000"), "endpoint_url 'localhost:5000'"),
        (dict(type="aws_acm", cert_name="../etc"), "cert_name '../etc'"),
        (dict(type="gcp"), "type 'gcp'"),
    ],
)
def test_bad_options_name_the_field_and_value(extra, message):
    with pytest.raises(DeployError, match=None) as caught:
        check_options(params(**extra))
    assert message in str(caught.value)


def test_good_options_pass():
    check_options(params(type="aws_acm"))
    check_options(params(type="aws_iam_elb", load_balancer_name="lb", name_prefix="www+1"))
    check_options(params(type="aws_alb", listener_arn=LISTENER, role="sni"))
    check_options(params(type="aws_secretsmanager", secret_name="tls/www"))


# --------------------------------------------------------------------------
# AWS plumbing


def test_throttling_is_retried_and_errors_name_type_target_and_aws_message(files):
    world = World()
    world.fail("secretsmanager", "describe_secret", aws_error("ThrottlingException"), aws_error("Throttling"))
    result, warnings = run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and not warnings
    world = World()
    world.fail("secretsmanager", "describe_secret", aws_error("AccessDeniedException", "DescribeSecret", "not allowed"))
    with pytest.raises(DeployError) as caught:
        run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    text = str(caught.value)
    assert text.startswith("aws_secretsmanager secret tls/www: DescribeSecret: AccessDeniedException: not allowed")
    assert SECRET_KEY not in text


def test_parameter_errors_never_show_values():
    error = ParamValidationError(report="Invalid type for parameter PrivateKey, value: SECRETKEYMATERIAL")
    assert "SECRETKEYMATERIAL" not in describe_error(error)


def test_no_region_anywhere_is_one_clear_error(files, monkeypatch):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = params(type="aws_secretsmanager", secret_name="tls/www", aws_access_key_id="AKIAXXX")
    settings["aws_secret_access_key"] = SECRET_KEY
    with pytest.raises(DeployError) as caught:
        deploy(settings, files)
    assert str(caught.value).startswith("aws_secretsmanager secret tls/www: no AWS region: set region")
    assert SECRET_KEY not in str(caught.value)


def test_session_repr_hides_credentials():
    session = AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY, "region": "eu-west-1"})
    assert SECRET_KEY not in repr(session) and "AKIAXXX" not in repr(session)


# --------------------------------------------------------------------------
# aws_acm


def test_acm_first_import_is_tagged_and_a_second_run_changes_nothing(files):
    world = World()
    result, _warnings = run(world, files, type="aws_acm")
    assert result["changed"] and result["arn"] == acm_arn(1) and result["previous"] is None
    assert world.acm[acm_arn(1)]["tags"] == {TAG_KEY: "www"}
    world.calls.clear()
    again, _warnings = run(world, files, type="aws_acm")
    assert not again["changed"] and again["arn"] == acm_arn(1) and world.writes() == []


def test_acm_renewal_reimports_under_the_same_arn_and_restores_a_lost_tag(files):
    world = World()
    world.acm[acm_arn(7)] = {"pem": pem(0x111), "tags": {}, "type": "IMPORTED"}
    world.acm[acm_arn(8)] = {"pem": pem(0x222), "tags": {TAG_KEY: "other"}, "type": "IMPORTED"}
    result, _warnings = run(world, files, type="aws_acm", certificate_arn=acm_arn(7))
    assert result["changed"] and result["arn"] == acm_arn(7)
    assert result["previous"]["serial"] == "111" and result["previous"]["arn"] == acm_arn(7)
    assert world.writes() == [("acm", "import_certificate"), ("acm", "add_tags_to_certificate")]
    imported = [params for service, op, params in world.calls if op == "import_certificate"][0]
    assert imported["CertificateArn"] == acm_arn(7) and "Tags" not in imported
    assert world.acm[acm_arn(7)]["tags"] == {TAG_KEY: "www"} and len(world.acm) == 2


def test_acm_found_by_tag_and_check_mode_writes_nothing(files):
    world = World()
    world.acm[acm_arn(3)] = {"pem": pem(0x999), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    world.acm[acm_arn(4)] = {"pem": pem(0x998), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    result, _warnings = run(world, files, check_mode=True, type="aws_acm")
    assert result["changed"] and result["arn"] == acm_arn(3) and world.writes() == []
    assert result["actions"] == ["would re-import www into %s (serial 999 -> abc)" % acm_arn(3)]


def test_acm_refuses_a_key_type_change_and_foreign_or_issued_certificates(files):
    world = World()
    world.acm[acm_arn(1)] = {"pem": pem(0x1, key_type="ec384"), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    with pytest.raises(DeployError, match="holds a ec384 key and the new certificate a ec256 key"):
        run(world, files, type="aws_acm")
    world.acm[acm_arn(2)] = {"pem": pem(0x2), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    with pytest.raises(DeployError, match="tagged certfleet:name=api"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(2))
    world.acm[acm_arn(3)] = {"pem": pem(0x3), "tags": {}, "type": "AMAZON_ISSUED"}
    with pytest.raises(DeployError, match="AMAZON_ISSUED certificate"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(3))
    with pytest.raises(DeployError, match="ResourceNotFoundException: Certificate .* not found"):
        run(world, files, type="aws_acm", certificate_arn=acm_arn(99))
    assert world.writes() == []


# --------------------------------------------------------------------------
# aws_iam_elb


def iam_world(current_serial: int = 0x100) -> World:
    world = World()
    old = world.add_iam("www-20250101000000", current_serial)
    world.elb["web"] = {443: {"Protocol": "HTTPS", "SSLCertificateId": old}, 80: {"Protocol": "HTTP"}}
    return world


def iam_params(**extra):
    return dict(type="aws_iam_elb", load_balancer_name="web", **extra)


def test_iam_upload_switch_then_delete_the_old_one(files):
    world = iam_world()
    result, warnings = run(world, files, **iam_params())
    assert result["changed"] and result["name"] == "www-20250301120000" and not warnings
    assert world.elb["web"][443]["SSLCertificateId"] == iam_arn("www-20250301120000")
    assert result["previous"]["name"] == "www-20250101000000" and result["previous"]["serial"] == "100"
    assert result["removed"] == ["www-20250101000000"] and list(world.iam) == ["www-20250301120000"]
    order = world.writes()
    assert order == [
        ("iam", "upload_server_certificate"),
        ("elb", "set_load_balancer_listener_ssl_certificate"),
        ("iam", "delete_server_certificate"),
    ]
    world.calls.clear()
    again, _warnings = run(world, files, **iam_params())
    assert not again["changed"] and again["name"] == "www-20250301120000" and world.writes() == []


def test_iam_check_mode_plans_everything_and_does_nothing(files):
    world = iam_world()
    result, _warnings = run(world, files, check_mode=True, **iam_params())
    assert result["changed"] and result["arn"] is None and result["name"] == "www-20250301120000"
    assert result["removed"] == ["www-20250101000000"] and world.writes() == []
    assert all(action.startswith("would ") for action in result["actions"])


def test_iam_a_failed_switch_keeps_the_old_certificate_and_deletes_nothing(files):
    world = iam_world()
    world.fail(
        "elb",
        "set_load_balancer_listener_ssl_certificate",
        aws_error("AccessDenied", "SetLoadBalancerListenerSSLCertificate", "no"),
    )
    with pytest.raises(DeployError) as caught:
        run(world, files, **iam_params())
    message = str(caught.value)
    assert message.startswith(
        "aws_iam_elb load balancer web port 443: SetLoadBalancerListenerSSLCertificate: AccessDenied"
    )
    assert "still uses its previous certificate" in message
    assert world.elb["web"][443]["SSLCertificateId"] == iam_arn("www-20250101000000")
    assert "www-20250101000000" in world.iam and ("iam", "delete_server_certificate") not in world.writes()
    assert caught.value.result["changed"] and caught.value.result["name"] == "www-20250301120000"
    # The next run reuses what the failed one uploaded and finishes the job.
    world.calls.clear()
    result, _warnings = run(world, files, **iam_params())
    assert ("iam", "upload_server_certificate") not in world.writes()
    assert result["name"] == "www-20250301120000" and result["removed"] == ["www-20250101000000"]


def test_iam_listener_that_never_reports_the_new_certificate_is_rolled_back(files):
    world = iam_world()
    world.elb_ignores_switch = True
    with pytest.raises(DeployError, match="does not report"):
        run(world, files, **iam_params())
    switches = [params["SSLCertificateId"] for service, op, params in world.calls if op.startswith("set_load")]
    assert switches == [iam_arn("www-20250301120000"), iam_arn("www-20250101000000")]
    assert "www-20250101000000" in world.iam


def test_iam_certificate_not_found_right_after_upload_is_retried(files):
    world = iam_world()
    world.fail(
        "elb",
        "set_load_balancer_listener_ssl_certificate",
        aws_error("CertificateNotFound"),
        aws_error("CertificateNotFound"),
    )
    result, _warnings = run(world, files, **iam_params())
    assert result["changed"] and world.elb["web"][443]["SSLCertificateId"] == result["arn"]


def test_iam_name_taken_elsewhere_moves_a_second_on(files):
    world = iam_world()
    world.add_iam("www-20250301120000", 0x5, path="/elsewhere/")
    result, _warnings = run(world, files, **iam_params())
    assert result["name"] == "www-20250301120001"


def test_iam_keeps_certificates_other_listeners_use_and_what_it_cannot_check(files):
    world = iam_world()
    world.add_iam("www-20241201000000", 0x50)
    world.elb["other"] = {443: {"Protocol": "HTTPS", "SSLCertificateId": iam_arn("www-20241201000000")}}
    world.listeners[LISTENER] = {"Protocol": "HTTPS", "default": acm_arn(1), "sni": [iam_arn("www-20250101000000")]}
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and not warnings
    assert {"www-20241201000000", "www-20250101000000"} <= set(world.iam)

    world = iam_world()
    world.fail("elbv2", "describe_load_balancers", aws_error("AccessDenied", "DescribeLoadBalancers", "no elbv2"))
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and "www-20250101000000" in world.iam
    assert len(warnings) == 1 and "cannot tell whether they are in use" in warnings[0] and "no elbv2" in warnings[0]

    world = iam_world()
    world.fail("iam", "delete_server_certificate", aws_error("DeleteConflict", "DeleteServerCertificate", "in use"))
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and "kept IAM server certificate www-20250101000000" in warnings[0]


def test_iam_bad_targets_fail_before_any_upload(files):
    world = iam_world()
    with pytest.raises(
        DeployError, match="aws_iam_elb load balancer nope port 443: DescribeLoadBalancers: LoadBalancerNotFound"
    ):
        run(world, files, type="aws_iam_elb", load_balancer_name="nope")
    with pytest.raises(DeployError, match="no listener on port 8443"):
        run(world, files, **iam_params(listener_port=8443))
    with pytest.raises(DeployError, match="is a HTTP listener"):
        run(world, files, **iam_params(listener_port=80))
    assert world.writes() == []


def test_iam_cleanup_off_deletes_nothing(files):
    world = iam_world()
    result, _warnings = run(world, files, **iam_params(cleanup=False))
    assert result["changed"] and result["removed"] == [] and "www-20250101000000" in world.iam


# --------------------------------------------------------------------------
# aws_alb


def alb_world(default_arn: str, sni=()) -> World:
    world = World()
    world.listeners[LISTENER] = {"Protocol": "HTTPS", "default": default_arn, "sni": list(sni)}
    return world


def test_alb_default_role_imports_then_switches_the_default(files):
    world = alb_world(acm_arn(50))
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {}, "type": "IMPORTED"}
    result, _warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    new = result["arn"]
    assert result["changed"] and world.listeners[LISTENER]["default"] == new
    assert result["previous"] == {
        "arn": acm_arn(50),
        "name": None,
        "serial": "50",
        "not_after": result["previous"]["not_after"],
    }
    world.calls.clear()
    again, _warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    assert not again["changed"] and world.writes() == []


def test_alb_sni_role_adds_ours_and_removes_stale_ones_of_the_same_name(files):
    world = alb_world(acm_arn(50), sni=[acm_arn(60), acm_arn(61)])
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}  # the default: kept
    world.acm[acm_arn(60)] = {"pem": pem(0x60), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    world.acm[acm_arn(61)] = {"pem": pem(0x61), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    world.acm[acm_arn(70)] = {"pem": pem(0x70), "tags": {}, "type": "IMPORTED"}
    result, _warnings = run(
        world, files, type="aws_alb", listener_arn=LISTENER, role="sni", certificate_arn=acm_arn(70)
    )
    assert result["changed"] and result["removed"] == [acm_arn(60)]
    assert world.listeners[LISTENER] == {"Protocol": "HTTPS", "default": acm_arn(50), "sni": [acm_arn(61), acm_arn(70)]}
    order = [op for service, op in world.writes() if service == "elbv2"]
    assert order == ["add_listener_certificates", "remove_listener_certificates"]
    world.calls.clear()
    assert not run(world, files, type="aws_alb", listener_arn=LISTENER, role="sni", certificate_arn=acm_arn(70))[0][
        "changed"
    ]


def test_alb_wrong_listener_fails_before_the_import(files):
    world = alb_world(acm_arn(50))
    world.listeners[LISTENER]["Protocol"] = "HTTP"
    with pytest.raises(DeployError, match="is a HTTP listener"):
        run(world, files, type="aws_alb", listener_arn=LISTENER)
    with pytest.raises(DeployError, match="ListenerNotFound"):
        run(world, files, type="aws_alb", listener_arn=LISTENER.replace("fedcba", "000000"))
    assert world.writes() == [] and world.acm == {}


# --------------------------------------------------------------------------
# aws_secretsmanager


def test_secret_create_update_and_idempotence(files, tmp_path):
    world = World()
    first, _warnings = run(
        world, files, type="aws_secretsmanager", secret_name="tls/www", secret_kms_key_id="alias/tls"
    )
    assert first["changed"] and first["arn"].endswith("tls/www-AbCdEf") and first["previous"] is None
    create = [params for service, op, params in world.calls if op == "create_secret"][0]
    assert create["KmsKeyId"] == "alias/tls" and create["Tags"] == [{"Key": TAG_KEY, "Value": "www"}]
    assert "privkey" not in json.dumps(first) and "PRIVATE" not in json.dumps(first)
    world.calls.clear()
    assert not run(world, files, type="aws_secretsmanager", secret_name="tls/www")[0]["changed"]
    assert world.writes() == []
    renewed = load_certificate_files(
        "www", write_files(tmp_path / "renewed", 0xDEF, key=cached_key("ec384"), key_type="ec384")
    )
    planned, _warnings = run(world, renewed, check_mode=True, type="aws_secretsmanager", secret_name="tls/www")
    assert planned["changed"] and world.writes() == []
    result, _warnings = run(world, renewed, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and result["previous"]["serial"] == "abc"
    assert json.loads(world.secrets["tls/www"]["string"])["serial"] == "def"
    assert "PRIVATE" not in json.dumps(result)


def test_secret_untagged_gets_tagged_and_foreign_or_missing_arn_fails(files):
    world = World()
    world.secrets["tls/www"] = {"arn": "arn:aws:secretsmanager:us-east-1:1:secret:tls/www-x", "string": "", "tags": {}}
    result, _warnings = run(world, files, type="aws_secretsmanager", secret_name="tls/www")
    assert result["changed"] and world.secrets["tls/www"]["tags"] == {TAG_KEY: "www"}
    world.secrets["tls/api"] = {"arn": "arn:x", "string": "{}", "tags": {TAG_KEY: "api"}}
    with pytest.raises(DeployError, match="tagged certfleet:name=api"):
        run(world, files, type="aws_secretsmanager", secret_name="tls/api")
    with pytest.raises(DeployError, match="a new secret needs a name"):
        run(world, files, type="aws_secretsmanager", secret_name="arn:aws:secretsmanager:us-east-1:1:secret:gone")


def test_alb_previous_certificate_we_may_not_read_is_only_a_warning(files):
    world = alb_world(acm_arn(50))
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {}, "type": "IMPORTED"}
    world.fail("acm", "get_certificate", aws_error("AccessDeniedException", "GetCertificate", "not yours"))
    result, warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    assert result["changed"] and world.listeners[LISTENER]["default"] == result["arn"]
    assert result["previous"] == {"arn": acm_arn(50), "name": None, "serial": None, "not_after": None}
    assert len(warnings) == 1 and "cannot read %s" % acm_arn(50) in warnings[0] and "not yours" in warnings[0]
