# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``aws_alb``: import into ACM as ``aws_acm`` does, then attach the certificate to an ELBv2 listener.

``role=default`` makes it the listener's default certificate (and puts the
previous one back when the listener does not report the switch);
``role=sni`` adds it to the listener's SNI certificates and removes the other
SNI certificates tagged with the same certificate name.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.acm import AcmDeployer
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import stale_sni


class AlbDeployer(AcmDeployer):
    """ACM import (as aws_acm), then the default or an SNI certificate of an ELBv2 listener."""

    TYPE = "aws_alb"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.listener_arn = self.params["listener_arn"]
        self.role = self.params.get("role") or "default"
        self.target = "listener %s" % self.listener_arn

    def listener(self) -> dict:
        response = self.call("elbv2", "describe_listeners", ListenerArns=[self.listener_arn])
        found = (response or {}).get("Listeners") or []
        if not found:
            raise self.fail("no such listener in this region and account")
        return found[0]

    def default_arn(self) -> str | None:
        certificates = self.listener().get("Certificates") or []
        for entry in certificates:
            if entry.get("IsDefault", True):
                return entry.get("CertificateArn")
        return None

    def listener_certificates(self) -> list[dict]:
        return list(self.pages("elbv2", "describe_listener_certificates", ListenerArn=self.listener_arn))

    def run(self) -> dict:
        # Reads first: a wrong listener fails before anything is imported.
        listener = self.listener()
        if listener.get("Protocol") not in ("HTTPS", "TLS"):
            raise self.fail(
                "is a %s listener; only HTTPS and TLS listeners hold certificates" % listener.get("Protocol")
            )
        current = self.plan_acm()
        arn = self.ensure_acm(current)
        self.result["arn"] = arn
        if self.role == "default":
            self.make_default(arn)
        else:
            self.add_sni(arn)
        return self.result

    def set_default(self, arn: str | None) -> None:
        self.session.call(
            "elbv2", "modify_listener", ListenerArn=self.listener_arn, Certificates=[{"CertificateArn": arn}]
        )

    def make_default(self, arn: str | None) -> None:
        before = self.default_arn()
        if arn is not None and before == arn:
            return
        self.result["previous"] = self.previous(before) if before else None
        if not self.act(
            "make %s the default certificate of %s" % (arn or "the imported certificate", self.listener_arn)
        ):
            return
        self.call("elbv2", "modify_listener", ListenerArn=self.listener_arn, Certificates=[{"CertificateArn": arn}])
        if not self.wait_for(lambda: self.default_arn() == arn):
            self.put_back(before, lambda: self.set_default(before), "restored %s as the default certificate" % before)
            raise self.fail(
                "the listener does not report %s as its default certificate after %ds" % (arn, self.wait_timeout)
            )

    def add_sni(self, arn: str | None) -> None:
        attached = self.listener_certificates()
        if arn is None or not any(entry.get("CertificateArn") == arn for entry in attached):
            if self.act(
                "add %s to the SNI certificates of %s" % (arn or "the imported certificate", self.listener_arn)
            ):
                self.call(
                    "elbv2",
                    "add_listener_certificates",
                    ListenerArn=self.listener_arn,
                    Certificates=[{"CertificateArn": arn}],
                )
                if not self.wait_for(
                    lambda: any(entry.get("CertificateArn") == arn for entry in self.listener_certificates())
                ):
                    raise self.fail("the listener does not list %s after %ds" % (arn, self.wait_timeout))
                attached = self.listener_certificates()
        stale = stale_sni(attached, arn, self.tagged_ours)
        if not stale:
            return
        self.result["removed"] = stale
        if self.result["previous"] is None:
            self.result["previous"] = self.previous(stale[0])
        if self.act("remove %s from the SNI certificates of %s" % (", ".join(stale), self.listener_arn)):
            self.call(
                "elbv2",
                "remove_listener_certificates",
                ListenerArn=self.listener_arn,
                Certificates=[{"CertificateArn": other} for other in stale],
            )
