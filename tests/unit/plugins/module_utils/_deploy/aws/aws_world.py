# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory AWS for the deploy targets' tests, and the certificate files they deploy.

ACM, IAM, classic ELB, ELBv2 and Secrets Manager, just enough for the
deployers; every call is recorded, and failures can be queued per operation.
"""

from __future__ import annotations

import datetime

from botocore.exceptions import ClientError
from certgen import cached_key, make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import AwsSession
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import SERVICES
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.deploy import deploy

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
        clients = {name: Service(name, self) for name in SERVICES}
        return AwsSession({}, clients=clients)

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
