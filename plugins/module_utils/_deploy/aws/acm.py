# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``aws_acm``: import into ACM; a renewal is re-imported under the same ARN.

Every listener, distribution or API that uses the ARN keeps working and picks
up the new certificate without being touched. The ARN is the one given as
``certificate_arn``, or the imported certificate tagged
``certfleet:name=<cert_name>``. ``aws_alb`` builds on this (alb.py).
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import same_serial
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import Deployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import pem_facts
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import (
    TAG_KEY,
    DeployError,
    pick_tagged,
    tag_value,
)

#: ListCertificates returns only RSA 2048 certificates unless asked for the other key types.
ACM_KEY_TYPES = (
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
)


class AcmDeployer(Deployer):
    """Import into ACM; a renewal is re-imported under the same ARN."""

    TYPE = "aws_acm"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = "certificate %s" % (
            self.params.get("certificate_arn") or "tagged %s=%s" % (TAG_KEY, self.cert_name)
        )

    def tagged_ours(self, arn: str) -> bool:
        response = self.call(
            "acm", "list_tags_for_certificate", allow=("ResourceNotFoundException",), CertificateArn=arn
        )
        return response is not None and tag_value(response.get("Tags")) == self.cert_name

    def find_tagged(self) -> str | None:
        found = []
        for summary in self.pages("acm", "list_certificates", Includes={"keyTypes": list(ACM_KEY_TYPES)}):
            arn = summary.get("CertificateArn")
            if not arn or summary.get("Type", "IMPORTED") != "IMPORTED":
                continue
            if self.tagged_ours(arn):
                found.append(arn)
        try:
            return pick_tagged(self.cert_name, found)
        except DeployError as exc:
            raise self.fail(str(exc)) from None

    def plan_acm(self) -> dict:
        """The ACM certificate as it is now: ``{arn, serial, key_type, not_after, tag}`` (arn None when absent)."""
        arn = self.params.get("certificate_arn") or self.find_tagged()
        if not arn:
            return {"arn": None}
        # A missing ARN fails here with AWS's own words (ResourceNotFoundException), before anything changes.
        described = self.call("acm", "describe_certificate", CertificateArn=arn) or {}
        kind = (described.get("Certificate") or {}).get("Type", "IMPORTED")
        if kind != "IMPORTED":
            raise self.fail("%s is a %s certificate; only imported certificates can be re-imported" % (arn, kind))
        tags = (self.call("acm", "list_tags_for_certificate", CertificateArn=arn) or {}).get("Tags")
        tag = tag_value(tags)
        if tag not in (None, self.cert_name):
            raise self.fail("%s is tagged %s=%s, another certificate's; refusing to overwrite it" % (arn, TAG_KEY, tag))
        current = pem_facts(self.acm_pem(arn))
        current.update(arn=arn, tag=tag)
        return current

    def import_body(self) -> dict:
        body = {
            "Certificate": self.files.cert.encode("ascii"),
            "PrivateKey": self.files.privkey.encode("ascii"),
        }
        if self.files.chain:
            body["CertificateChain"] = self.files.chain.encode("ascii")
        return body

    def ensure_acm(self, current: dict) -> str | None:
        """Import or re-import as needed and tag; the ARN (None in check mode when nothing exists yet)."""
        arn = current.get("arn")
        tag = [{"Key": TAG_KEY, "Value": self.cert_name}]
        if arn is None:
            if self.act("import %s into ACM" % self.cert_name):
                response = self.call("acm", "import_certificate", Tags=tag, **self.import_body())
                arn = response["CertificateArn"]
            return arn
        if not same_serial(current.get("serial"), self.files.serial):
            if current.get("key_type") and self.files.key_type and current["key_type"] != self.files.key_type:
                raise self.fail(
                    "%s holds a %s key and the new certificate a %s key; ACM cannot change the key type on "
                    "re-import (import it as a new certificate: remove the tag %s from the old one, or set "
                    "certificate_arn)" % (arn, current["key_type"], self.files.key_type, TAG_KEY)
                )
            self.result["previous"] = self.previous(arn, facts=current)
            if self.act(
                "re-import %s into %s (serial %s -> %s)"
                % (self.cert_name, arn, current.get("serial"), self.files.serial)
            ):
                # No Tags here: ACM refuses tags on re-import. The tag is checked (again) below.
                self.call("acm", "import_certificate", CertificateArn=arn, **self.import_body())
                current["tag"] = tag_value(
                    (self.call("acm", "list_tags_for_certificate", CertificateArn=arn) or {}).get("Tags")
                )
        if current.get("tag") != self.cert_name:
            if self.act("tag %s with %s=%s" % (arn, TAG_KEY, self.cert_name)):
                self.call("acm", "add_tags_to_certificate", CertificateArn=arn, Tags=tag)
        return arn

    def run(self) -> dict:
        current = self.plan_acm()
        if current.get("arn"):
            self.target = "certificate %s" % current["arn"]
        self.result["arn"] = self.ensure_acm(current)
        return self.result
