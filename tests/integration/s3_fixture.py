# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A moto server on loopback standing in for S3 and KMS, for the tests of the S3 state backend.

Its fixtures are the integration tests' own (conftest.py imports them).
``s3_server`` starts ``moto_server -H 127.0.0.1 -p <free port>`` once per
test module (without moto's request recorder, which would slow the thousands
of small requests a state run makes), creates two KMS keys, and stops the
server by its pid at the end. ``s3_bucket`` makes a fresh bucket for one test
whose default encryption is SSE-KMS under the first key, so a test can tell
the bucket's default key from a ``kms_key_id`` given to the store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from moto_fixture import (
    CREDENTIALS,
    FAKE_KEY_ID,
    FAKE_SECRET_KEY,
    REGION,
    _stop,
    clean_aws_env,
    start_moto,
)


@dataclass
class S3Server:
    endpoint: str
    pid: int
    log: Path
    #: The KMS key every bucket of :meth:`new_bucket` encrypts with by default.
    default_key: str = ""
    #: Another KMS key, for stores given a ``kms_key_id``.
    other_key: str = ""
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        """A boto3 client of the server with the fake credentials (one per service, shared)."""
        if service not in self._clients:
            import boto3  # pylint: disable=import-outside-toplevel

            self._clients[service] = boto3.session.Session(
                aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET_KEY, region_name=REGION
            ).client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    def connection(self) -> dict:
        """The AWS options of a state backend reaching this server (amazon.aws names)."""
        return {
            "endpoint_url": self.endpoint,
            "region": REGION,
            "access_key": FAKE_KEY_ID,
            "secret_key": FAKE_SECRET_KEY,
        }

    def new_bucket(self, name: str | None = None) -> str:
        """A new bucket whose default encryption is SSE-KMS under :attr:`default_key`."""
        name = name or "certfleet-state-%s" % uuid.uuid4().hex[:12]
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": self.default_key,
                        }
                    }
                ]
            },
        )
        return name

    def encryption_of_every_object(self, bucket: str) -> dict[str, tuple]:
        """Each object of ``bucket`` with ``(ServerSideEncryption, SSEKMSKeyId)`` as head_object reports them."""
        s3 = self.client("s3")
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", ()):
                head = s3.head_object(Bucket=bucket, Key=item["Key"])
                found[item["Key"]] = (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId"))
        return found


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A running moto server on 127.0.0.1 with two KMS keys, for this test module."""
    workdir = tmp_path_factory.mktemp("moto-s3")
    log = workdir / "moto.log"
    proc, endpoint = start_moto(workdir, clean_aws_env())
    try:
        server = S3Server(endpoint=endpoint, pid=proc.pid, log=log)
        kms = server.client("kms")
        server.default_key = kms.create_key(Description="bucket default")["KeyMetadata"]["KeyId"]
        server.other_key = kms.create_key(Description="kms_key_id")["KeyMetadata"]["KeyId"]
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh bucket with default SSE-KMS encryption, for one test."""
    return s3_server.new_bucket()


__all__ = ["CREDENTIALS", "S3Server", "s3_bucket", "s3_server"]
