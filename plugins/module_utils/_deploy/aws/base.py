# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every AWS target does alike: the result, check mode, AWS calls whose errors name type and target.

Every target compares serial numbers to decide whether anything is to do, so
a second run changes nothing. All reads happen before the first write: a
wrong listener or load balancer fails before anything is uploaded. Check mode
runs the reads and reports the planned writes in ``actions``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any, Callable

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error, error_code
from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import AwsSession, AwsSetupError
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import AWS_ERRORS
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import poll_until
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import CertificateFiles, pem_facts
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import (
    DeployError,
    iam_name_from_arn,
    is_acm_arn,
)

#: The AWS services the targets use.
SERVICES = ("acm", "iam", "elb", "elbv2", "secretsmanager")
WAIT_FIRST_DELAY = 1.0
WAIT_MAX_DELAY = 5.0
#: Upper bound for paging loops, so a misbehaving endpoint cannot keep a run going forever.
MAX_PAGES = 1000
#: The paged list operations the targets use: (service, operation) -> (items key, request token, response token).
PAGED = {
    ("acm", "list_certificates"): ("CertificateSummaryList", "NextToken", "NextToken"),
    ("iam", "list_server_certificates"): ("ServerCertificateMetadataList", "Marker", "Marker"),
    ("elb", "describe_load_balancers"): ("LoadBalancerDescriptions", "Marker", "NextMarker"),
    ("elbv2", "describe_load_balancers"): ("LoadBalancers", "Marker", "NextMarker"),
    ("elbv2", "describe_listeners"): ("Listeners", "Marker", "NextMarker"),
    ("elbv2", "describe_listener_certificates"): ("Certificates", "Marker", "NextMarker"),
}


def describe(exc: BaseException) -> str:
    """AWS's words for a failure, never the request's parameter values (they may hold the private key)."""
    return describe_error(exc, hide_parameters=True)


class Deployer:
    """The common part: result, actions, AWS calls with errors that name type and target."""

    TYPE = ""

    def __init__(
        self,
        params: dict,
        files: CertificateFiles,
        session: AwsSession,
        check_mode: bool = False,
        now: Callable[[], datetime.datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.params = params
        self.files = files
        self.session = session
        self.check_mode = check_mode
        self.now = now
        self.clock = clock
        self.sleep = sleep
        self.cert_name = params["cert_name"]
        self.wait_timeout = params.get("wait_timeout", 120)
        self.target = self.target_name()
        self.warnings: list[str] = []
        self.result: dict = {
            "changed": False,
            "type": self.TYPE,
            "arn": None,
            "name": None,
            "serial": files.serial,
            "not_after": files.not_after,
            "previous": None,
            "removed": [],
            "actions": [],
        }

    def target_name(self) -> str:
        """What the deployment changes, in the words of its messages (a subclass may refine it later)."""
        return ""

    # -- plumbing
    def fail(self, message: str) -> DeployError:
        return DeployError("%s %s: %s" % (self.TYPE, self.target, message), dict(self.result))

    def call(self, service: str, operation: str, allow: tuple = (), **params) -> dict | None:
        """``session.call``; an error code in ``allow`` returns None, any other error fails the deployment."""
        try:
            return self.session.call(service, operation, **params)
        except AWS_ERRORS as exc:
            if error_code(exc) in allow:
                return None
            raise self.fail(describe(exc)) from None
        except AwsSetupError as exc:  # no region, an unknown profile, ...: found when the first client is made
            raise self.fail(str(exc)) from None

    def pages(self, service: str, operation: str, **params) -> Iterator[dict]:
        """Every item of a paged list operation (one of PAGED), page after page."""
        key, token_in, token_out = PAGED[(service, operation)]
        for _page in range(MAX_PAGES):
            response = self.call(service, operation, **params) or {}
            yield from response.get(key) or []
            token = response.get(token_out)
            if not token:
                return
            params[token_in] = token

    def act(self, description: str) -> bool:
        """Record a change; True when it is to be carried out (not in check mode)."""
        self.result["actions"].append(description if not self.check_mode else "would " + description)
        self.result["changed"] = True
        return not self.check_mode

    def wait_for(self, condition: Callable[[], bool]) -> bool:
        """Poll ``condition`` with growing pauses for at most ``wait_timeout`` seconds."""
        return poll_until(
            condition, self.wait_timeout, WAIT_FIRST_DELAY, WAIT_MAX_DELAY, clock=self.clock, sleep=self.sleep
        )

    def put_back(self, before: str | None, undo: Callable[[], Any], done: str) -> None:
        """After a failed switch, ``undo()`` puts ``before`` back (best effort); ``actions`` tells how it went."""
        if not before:
            return
        try:
            undo()
            self.result["actions"].append(done)
        except AWS_ERRORS as exc:
            self.result["actions"].append("could not restore %s: %s" % (before, describe(exc)))

    def run(self) -> dict:
        raise NotImplementedError

    # -- reading certificates by ARN, whichever service holds them
    def acm_pem(self, arn: str) -> str | None:
        response = self.call("acm", "get_certificate", allow=("ResourceNotFoundException",), CertificateArn=arn)
        return (response or {}).get("Certificate")

    def iam_pem(self, name: str) -> str | None:
        response = self.call("iam", "get_server_certificate", allow=("NoSuchEntity",), ServerCertificateName=name)
        return ((response or {}).get("ServerCertificate") or {}).get("CertificateBody")

    def facts_of_arn(self, arn: str | None) -> dict:
        """Serial, expiry and key type of the certificate an ARN names (ACM or IAM); empty when unreadable."""
        if not arn:
            return {}
        try:
            if is_acm_arn(arn):
                return pem_facts(self.acm_pem(arn))
            name = iam_name_from_arn(arn)
            if name:
                return pem_facts(self.iam_pem(name))
        except DeployError as exc:
            # Only used to compare and to report: a certificate we may not read counts as another one.
            self.warnings.append("cannot read %s: %s" % (arn, exc))
        return {}

    def previous(self, arn: str | None, name: str | None = None, facts: dict | None = None) -> dict:
        """The ``previous`` result entry for what ``arn`` (and ``name``) held before."""
        facts = self.facts_of_arn(arn) if facts is None else facts
        return {"arn": arn, "name": name, "serial": facts.get("serial"), "not_after": facts.get("not_after")}
