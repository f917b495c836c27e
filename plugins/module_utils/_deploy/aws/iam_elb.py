# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``aws_iam_elb``: an IAM server certificate under a dated name, behind a classic ELB listener.

IAM certificates cannot be replaced in place, hence the dated names
``<prefix>-<YYYYmmddHHMMSS>``. The certificate is uploaded, the listener
pointed at it, and only once the listener reports it are the older
certificates of the same prefix deleted that no listener uses any more.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import error_code
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import AWS_ERRORS
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import poll_until
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import same_serial
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.base import (
    WAIT_FIRST_DELAY,
    WAIT_MAX_DELAY,
    Deployer,
    describe,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import pem_facts
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import (
    NAME_ATTEMPTS,
    TAG_KEY,
    DeployError,
    cleanup_candidates,
    free_dated_name,
    iam_name_from_arn,
    ours,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import DEFAULT_IAM_PATH


class IamElbDeployer(Deployer):
    """IAM server certificate under a dated name, then a classic ELB listener, then cleanup."""

    TYPE = "aws_iam_elb"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lb_name = self.params["load_balancer_name"]
        self.port = self.params.get("listener_port") or 443
        self.prefix = self.params.get("name_prefix") or self.cert_name
        self.path = self.params.get("iam_path") or DEFAULT_IAM_PATH
        self.cleanup = self.params.get("cleanup", True)
        self.target = "load balancer %s port %d" % (self.lb_name, self.port)

    def listener(self) -> dict:
        response = self.call("elb", "describe_load_balancers", LoadBalancerNames=[self.lb_name])
        balancers = (response or {}).get("LoadBalancerDescriptions") or []
        if not balancers:
            raise self.fail("no such classic load balancer in this region and account")
        for description in balancers[0].get("ListenerDescriptions") or []:
            listener = description.get("Listener") or {}
            if int(listener.get("LoadBalancerPort") or 0) == self.port:
                return listener
        raise self.fail("the load balancer has no listener on port %d" % self.port)

    def listener_arn(self) -> str | None:
        return self.listener().get("SSLCertificateId") or None

    def iam_certificates(self) -> list[dict]:
        return list(self.pages("iam", "list_server_certificates", PathPrefix=self.path))

    def in_use(self, skip_this_listener: bool = False) -> set[str]:
        """Every certificate ARN a classic or ELBv2 listener of this region uses."""
        arns: set[str] = set()
        for balancer in self.pages("elb", "describe_load_balancers"):
            for description in balancer.get("ListenerDescriptions") or []:
                listener = description.get("Listener") or {}
                if (
                    skip_this_listener
                    and balancer.get("LoadBalancerName") == self.lb_name
                    and int(listener.get("LoadBalancerPort") or 0) == self.port
                ):
                    continue
                if listener.get("SSLCertificateId"):
                    arns.add(listener["SSLCertificateId"])
        for balancer in self.pages("elbv2", "describe_load_balancers"):
            for listener in self.pages("elbv2", "describe_listeners", LoadBalancerArn=balancer["LoadBalancerArn"]):
                if listener.get("Protocol") not in ("HTTPS", "TLS"):
                    continue
                arns.update(entry.get("CertificateArn") for entry in listener.get("Certificates") or [])
                for entry in self.pages("elbv2", "describe_listener_certificates", ListenerArn=listener["ListenerArn"]):
                    arns.add(entry.get("CertificateArn"))
        arns.discard(None)
        return arns

    def find_uploaded(self, certificates: list[dict]) -> dict | None:
        """One of our dated certificates that already holds this serial (an earlier run uploaded it)."""
        for meta in ours(self.prefix, self.path, certificates):
            if same_serial(pem_facts(self.iam_pem(meta["ServerCertificateName"])).get("serial"), self.files.serial):
                return meta
        return None

    def upload(self, taken: set) -> dict:
        body = {
            "Path": self.path,
            "CertificateBody": self.files.cert,
            "PrivateKey": self.files.privkey,
            "Tags": [{"Key": TAG_KEY, "Value": self.cert_name}],
        }
        if self.files.chain:
            body["CertificateChain"] = self.files.chain
        for _attempt in range(NAME_ATTEMPTS):
            name = free_dated_name(self.prefix, self.now(), taken)
            try:
                response = self.session.call("iam", "upload_server_certificate", ServerCertificateName=name, **body)
            except AWS_ERRORS as exc:
                if error_code(exc) == "EntityAlreadyExists":
                    taken.add(name)  # a certificate of that name lives under another path
                    continue
                raise self.fail(describe(exc)) from None
            return response["ServerCertificateMetadata"]
        raise self.fail("no free name for prefix %s after %d attempts" % (self.prefix, NAME_ATTEMPTS))

    def set_listener_certificate(self, arn: str) -> None:
        self.session.call(
            "elb",
            "set_load_balancer_listener_ssl_certificate",
            LoadBalancerName=self.lb_name,
            LoadBalancerPort=self.port,
            SSLCertificateId=arn,
        )

    def switch(self, arn: str) -> None:
        """Point the listener at ``arn``; right after an upload IAM may not have it everywhere yet."""
        refused: list[BaseException] = []

        def switched() -> bool:
            try:
                self.set_listener_certificate(arn)
            except AWS_ERRORS as exc:
                if error_code(exc) != "CertificateNotFound":
                    raise self.fail(describe(exc) + " (the listener still uses its previous certificate)") from None
                refused[:] = [exc]
                return False
            return True

        if not poll_until(
            switched, self.wait_timeout, WAIT_FIRST_DELAY, WAIT_MAX_DELAY, clock=self.clock, sleep=self.sleep
        ):
            raise self.fail(describe(refused[0]) + " (the listener still uses its previous certificate)")

    def run(self) -> dict:
        listener = self.listener()
        if listener.get("Protocol", "").upper() not in ("HTTPS", "SSL"):
            raise self.fail(
                "is a %s listener; only HTTPS and SSL listeners hold certificates" % listener.get("Protocol")
            )
        before = listener.get("SSLCertificateId") or None
        certificates = self.iam_certificates()
        by_arn = {meta.get("Arn"): meta for meta in certificates}
        current = self.facts_of_arn(before)
        if before and same_serial(current.get("serial"), self.files.serial):
            keep = by_arn.get(before, {}).get("ServerCertificateName") or iam_name_from_arn(before)
            self.result.update(arn=before, name=keep)
        else:
            keep = self.replace(before, current, certificates)
        if self.cleanup:
            self.remove_old(certificates, keep)
        return self.result

    def replace(self, before: str | None, current: dict, certificates: list[dict]) -> str:
        """Upload (or reuse) the new certificate and switch the listener to it; the name kept."""
        if before:
            self.result["previous"] = self.previous(before, iam_name_from_arn(before), current)
        uploaded = self.find_uploaded(certificates)
        if uploaded:
            keep = uploaded["ServerCertificateName"]
            self.result.update(arn=uploaded.get("Arn"), name=keep)
            self.result["actions"].append(
                "%sreuse IAM server certificate %s (uploaded before)" % ("would " if self.check_mode else "", keep)
            )
        else:
            taken = {meta.get("ServerCertificateName") for meta in certificates}
            keep = free_dated_name(self.prefix, self.now(), taken)
            self.result["name"] = keep
            if self.act("upload IAM server certificate %s%s" % (self.path, keep)):
                meta = self.upload(taken)
                keep = meta["ServerCertificateName"]
                self.result.update(arn=meta["Arn"], name=keep)
        if self.act("point %s at %s" % (self.target, self.result["arn"] or keep)):
            arn = self.result["arn"]
            self.switch(arn)
            if not self.wait_for(lambda: self.listener_arn() == arn):
                self.put_back(
                    before, lambda: self.set_listener_certificate(before), "restored %s on the listener" % before
                )
                raise self.fail("the listener does not report %s after %ds" % (arn, self.wait_timeout))
        return keep

    def remove_old(self, certificates: list[dict], keep: str | None) -> None:
        """Delete our other dated certificates once nothing uses them; only after the switch was verified."""
        if not cleanup_candidates(self.prefix, self.path, certificates, keep, ()):
            return
        try:
            in_use = self.in_use(skip_this_listener=self.check_mode)
        except DeployError as exc:
            self.warnings.append(
                "kept the old certificates of %s: cannot tell whether they are in use: %s" % (self.prefix, exc)
            )
            return
        for meta in cleanup_candidates(self.prefix, self.path, certificates, keep, in_use):
            name = meta["ServerCertificateName"]
            if not self.act("delete IAM server certificate %s%s" % (self.path, name)):
                self.result["removed"].append(name)
                continue
            try:
                self.session.call("iam", "delete_server_certificate", ServerCertificateName=name)
            except AWS_ERRORS as exc:
                code = error_code(exc)
                if code == "NoSuchEntity":
                    continue
                self.warnings.append("kept IAM server certificate %s: %s" % (name, describe(exc)))
                continue
            self.result["removed"].append(name)
