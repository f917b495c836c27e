# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A moto server on loopback standing in for Route 53, for the route53 provider tests.

Its fixtures are the integration tests' own (conftest.py imports them).
``moto_server`` starts ``moto_server -H 127.0.0.1 -p <free port>`` once per
test module, waits until it answers, and stops it by its pid at the end. The
server records every request it gets (moto's recorder), so a test can count
the API calls a run made, also when the run was an ansible subprocess.
``route53_zones`` creates a public hosted zone ``example.test`` and a private
one of the same name attached to a VPC, with a decoy TXT value in the private
one, so tests can prove which of the two the provider writes to.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playbook_runner import run_adhoc

BIN = os.path.dirname(sys.executable)
# Fake credentials: moto accepts any; the tests check that none of them is ever shown.
FAKE_KEY_ID = "AKIACERTFLEETTEST0001"
FAKE_SECRET_KEY = "certfleet/Fake+Secret+Access+Key+0123456789"
FAKE_SESSION_TOKEN = "certfleet-fake-session-token-ZXhhbXBsZQ"
#: What no output may ever show.
CREDENTIALS = (FAKE_KEY_ID, FAKE_SECRET_KEY, FAKE_SESSION_TOKEN)
REGION = "us-east-1"
PUBLIC_ZONE = "example.test"
DECOY_NAME = "_acme-challenge.decoy.example.test"
DECOY_VALUE = "only-in-the-private-zone"


@dataclass
class MotoServer:
    endpoint: str
    pid: int
    recording: Path
    log: Path

    def mark(self) -> int:
        """A position in the request recording; pass it to :meth:`requests_since`."""
        return self.recording.stat().st_size if self.recording.exists() else 0

    def requests_since(self, mark: int) -> list[dict]:
        """The requests moto received after ``mark`` (method, url, headers, body)."""
        if not self.recording.exists():
            return []
        with open(self.recording, "rb") as handle:
            handle.seek(mark)
            data = handle.read().decode("utf-8")
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def change_calls_since(self, mark: int) -> int:
        """How many ChangeResourceRecordSets requests (POST .../rrset) moto received after ``mark``."""
        return sum(
            1
            for entry in self.requests_since(mark)
            if entry["method"] == "POST" and entry["url"].split("?")[0].rstrip("/").endswith("/rrset")
        )


def clean_aws_env(env: dict | None = None) -> dict:
    """The environment without any AWS settings of the machine, and without instance metadata lookups."""
    env = dict(os.environ if env is None else env)
    for key in list(env):
        if key.startswith("AWS_"):
            del env[key]
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start_moto(workdir: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """``moto_server`` on a free loopback port (three tries: a port may be taken meanwhile); process and endpoint."""
    executable = os.path.join(BIN, "moto_server")
    if not os.path.exists(executable):
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    log = workdir / "moto.log"
    for _attempt in range(3):
        port = _free_port()
        endpoint = "http://127.0.0.1:%d" % port
        with open(log, "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [executable, "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=str(workdir),
            )
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline and not _answers(endpoint):
            time.sleep(0.1)
        if proc.poll() is None and _answers(endpoint):
            return proc, endpoint
        _stop(proc)  # the port was taken meanwhile, or it did not come up: try another port
    raise RuntimeError("moto_server did not start; see %s:\n%s" % (log, log.read_text(errors="replace")[-2000:]))


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """A running moto server on 127.0.0.1 for this test module."""
    workdir = tmp_path_factory.mktemp("moto")
    recording = workdir / "recording.jsonl"
    env = clean_aws_env()
    env.update(MOTO_ENABLE_RECORDING="1", MOTO_RECORDER_FILEPATH=str(recording))
    proc, endpoint = start_moto(workdir, env)
    try:
        yield MotoServer(endpoint=endpoint, pid=proc.pid, recording=recording, log=workdir / "moto.log")
    finally:
        _stop(proc)


def aws_client(server: MotoServer, service: str):
    """A boto3 client talking to the moto server with the fake credentials."""
    import boto3  # pylint: disable=import-outside-toplevel

    return boto3.session.Session(
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=REGION,
    ).client(service, endpoint_url=server.endpoint)


def connection(server: MotoServer) -> dict:
    """The AWS options of a module or deploy entry that reach the moto server with the fake credentials."""
    return {
        "endpoint_url": server.endpoint,
        "region": REGION,
        "aws_access_key_id": FAKE_KEY_ID,
        "aws_secret_access_key": FAKE_SECRET_KEY,
        "aws_session_token": FAKE_SESSION_TOKEN,
    }


def classic_elb(server: MotoServer, name: str, certificate_arn: str, plain_http: bool = False) -> None:
    """A classic ELB ``name`` with an HTTPS listener on ``certificate_arn`` (and one for plain HTTP, if asked)."""
    listeners = [
        {
            "Protocol": "HTTPS",
            "LoadBalancerPort": 443,
            "InstanceProtocol": "HTTP",
            "InstancePort": 80,
            "SSLCertificateId": certificate_arn,
        }
    ]
    if plain_http:
        listeners.append({"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80})
    aws_client(server, "elb").create_load_balancer(
        LoadBalancerName=name, Listeners=listeners, AvailabilityZones=[REGION + "a"]
    )


def https_listeners(server: MotoServer, name: str, cidr_prefix: str, certificate_arn: str, ports) -> dict:
    """An ALB ``name`` in a new VPC (``<cidr_prefix>.0.0/16``) with one HTTPS listener per port on a certificate.

    Returns the listener ARNs by port.
    """
    ec2 = aws_client(server, "ec2")
    elbv2 = aws_client(server, "elbv2")
    vpc = ec2.create_vpc(CidrBlock="%s.0.0/16" % cidr_prefix)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock="%s.%d.0/24" % (cidr_prefix, index), AvailabilityZone=REGION + zone)[
            "Subnet"
        ]["SubnetId"]
        for index, zone in enumerate("ab")
    ]
    balancer = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name=name + "-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    return {
        port: elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            Protocol="HTTPS",
            Port=port,
            Certificates=[{"CertificateArn": certificate_arn}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )["Listeners"][0]["ListenerArn"]
        for port in ports
    }


def txt_set(client, zone_id: str, name: str) -> dict | None:
    """The TXT record set at ``name`` in one hosted zone, read straight from moto."""
    response = client.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name + ".", StartRecordType="TXT", MaxItems="1"
    )
    for rrset in response["ResourceRecordSets"]:
        if rrset["Name"].rstrip(".") == name and rrset["Type"] == "TXT":
            return rrset
    return None


@pytest.fixture(scope="module")
def route53_zones(moto_server):
    """Public and private hosted zones both named example.test; returns their ids and a client."""
    route53 = aws_client(moto_server, "route53")
    ec2 = aws_client(moto_server, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # The private twin is created first, so a provider taking the first match would pick it.
    private = route53.create_hosted_zone(
        Name=PUBLIC_ZONE,
        CallerReference=str(uuid.uuid4()),
        HostedZoneConfig={"Comment": "private twin", "PrivateZone": True},
        VPC={"VPCRegion": REGION, "VPCId": vpc},
    )["HostedZone"]["Id"].split("/")[-1]
    public = route53.create_hosted_zone(
        Name=PUBLIC_ZONE,
        CallerReference=str(uuid.uuid4()),
        HostedZoneConfig={"Comment": "public", "PrivateZone": False},
    )["HostedZone"]["Id"].split("/")[-1]
    route53.change_resource_record_sets(
        HostedZoneId=private,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": DECOY_NAME + ".",
                        "Type": "TXT",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": '"%s"' % DECOY_VALUE}],
                    },
                }
            ]
        },
    )
    return {"public": public, "private": private, "vpc": vpc, "client": route53}


def provider_entry(server: MotoServer, **extra) -> dict:
    """A route53 provider entry pointing at the moto server, with explicit fake keys."""
    entry = {
        "name": "aws-moto",
        "type": "route53",
        "zones": [PUBLIC_ZONE],
        "aws_access_key_id": FAKE_KEY_ID,
        "aws_secret_access_key": FAKE_SECRET_KEY,
        "aws_session_token": FAKE_SESSION_TOKEN,
        "endpoint_url": server.endpoint,
        "allow_plain_http": True,  # moto serves http on loopback
        "region": REGION,
        "wait_timeout": 30,
    }
    entry.update(extra)
    return entry


def run_aws_adhoc(module: str, args: dict, *flags: str) -> tuple[dict, str]:
    """Run one collection module ad hoc without any AWS settings of the machine: its result and all output."""
    return run_adhoc(module, args, *flags, env=clean_aws_env())
