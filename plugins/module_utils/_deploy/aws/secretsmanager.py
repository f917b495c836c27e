# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``aws_secretsmanager``: one JSON secret with key, certificate, chains, serial and expiry.

For consumers that fetch their certificate themselves. A new secret is
created tagged with the certificate name; an existing one gets a new version
only when the serial it holds differs, and a secret tagged for another
certificate is never overwritten.
"""

from __future__ import annotations

import json

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial, same_serial
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import Deployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import (
    TAG_KEY,
    tag_value,
)


class SecretDeployer(Deployer):
    """One JSON secret with key, certificate, chains, serial and expiry."""

    TYPE = "aws_secretsmanager"

    @property
    def secret_id(self) -> str:
        """The secret's name or ARN, as given."""
        return self.params["secret_name"]

    def target_name(self) -> str:
        return "secret %s" % self.secret_id

    def stored_serial(self) -> str | None:
        response = self.call(
            "secretsmanager", "get_secret_value", allow=("ResourceNotFoundException",), SecretId=self.secret_id
        )
        text = (response or {}).get("SecretString")
        if not text:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document.get("serial") if isinstance(document, dict) else None

    def create(self, tag: list[dict]) -> dict:
        if self.secret_id.startswith("arn:"):
            raise self.fail("no such secret (a new secret needs a name, not an ARN)")
        self.result["name"] = self.secret_id
        if self.act("create secret %s" % self.secret_id):
            body = {
                "Name": self.secret_id,
                "Description": "TLS certificate %s (certfleet.acme)" % self.cert_name,
                "SecretString": self.files.secret_document(),
                "Tags": tag,
            }
            if self.params.get("secret_kms_key_id"):
                body["KmsKeyId"] = self.params["secret_kms_key_id"]
            response = self.call("secretsmanager", "create_secret", **body)
            self.result["arn"] = response.get("ARN")
        return self.result

    def run(self) -> dict:
        tag = [{"Key": TAG_KEY, "Value": self.cert_name}]
        described = self.call(
            "secretsmanager", "describe_secret", allow=("ResourceNotFoundException",), SecretId=self.secret_id
        )
        if described is None:
            return self.create(tag)
        arn = described.get("ARN")
        self.result.update(arn=arn, name=described.get("Name") or self.secret_id)
        if described.get("DeletedDate"):
            raise self.fail("is scheduled for deletion; restore it (RestoreSecret) or choose another secret_name")
        owner = tag_value(described.get("Tags"))
        if owner not in (None, self.cert_name):
            raise self.fail("is tagged %s=%s, another certificate's; refusing to overwrite it" % (TAG_KEY, owner))
        stored = self.stored_serial()
        if not same_serial(stored, self.files.serial):
            self.result["previous"] = {
                "arn": arn,
                "name": self.result["name"],
                "serial": format_serial(stored),
                "not_after": None,
            }
            if self.act("store serial %s in secret %s" % (self.files.serial, self.result["name"])):
                self.call(
                    "secretsmanager",
                    "put_secret_value",
                    SecretId=arn or self.secret_id,
                    SecretString=self.files.secret_document(),
                )
        if owner is None:
            if self.act("tag secret %s with %s=%s" % (self.result["name"], TAG_KEY, self.cert_name)):
                self.call("secretsmanager", "tag_resource", SecretId=arn or self.secret_id, Tags=tag)
        return self.result
