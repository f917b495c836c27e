# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn everything that can go wrong with one certificate into one result dict.

A batch reports failures per certificate instead of raising, so every error
(an ACME problem document, a timeout, a refused connection) becomes the same
shape: an RFC 7807 problem with at least ``type`` and ``detail``. ACME
problems keep their identifiers and subproblems, which is what tells the user
which name failed validation and why.
"""

from __future__ import annotations

import datetime
import math

from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import NoDirectoryError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import HAS_ACME, acme_errors, messages
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import TlsVerifyError

# RFC 7807: "about:blank" means no type-specific semantics beyond the detail.
GENERIC_TYPE = "about:blank"


class CertificateFailure(Exception):
    """Ends the work on one certificate with a problem document for its result."""

    def __init__(self, problem: dict) -> None:
        super().__init__(problem.get("detail") or problem.get("type"))
        self.problem = problem


RATE_LIMITED_TYPE = "urn:ietf:params:acme:error:rateLimited"


class RateLimited(Exception):
    """The CA answered HTTP 429: do not ask again before ``retry_at``.

    Not a :class:`CertificateFailure`: code that drops a saved order on a
    certificate failure must keep it here, since the order itself is fine and
    the next run (after the retry time) resumes it.
    """

    def __init__(self, url: str, detail: str | None, retry_after: float | None, now: datetime.datetime | None = None):
        self.url = url
        self.ca_detail = detail
        self.retry_after = retry_after
        now = now or datetime.datetime.now(datetime.timezone.utc)
        self.retry_at = None if retry_after is None else now + datetime.timedelta(seconds=math.ceil(retry_after))
        #: How many times the client already waited out a Retry-After for this request before giving up.
        self.waited = 0
        super().__init__(url, detail, retry_after)

    def __str__(self) -> str:
        """What the user reads: rate limited, by whom, and when it may be tried again."""
        text = "rate limited by the CA at %s" % self.url
        if self.ca_detail:
            text += " (%s)" % self.ca_detail
        if self.waited:
            text += ", still after waiting %d time(s)" % self.waited
        if self.retry_at is None:
            return text + "; the CA gave no Retry-After, so no retry was made: try again later"
        return text + "; retry after %s (in %d s)" % (
            self.retry_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            math.ceil(self.retry_after),
        )

    @property
    def problem(self) -> dict:
        """The RFC 7807 document for the certificate's result, with the retry time as extra members."""
        problem = {"type": RATE_LIMITED_TYPE, "detail": str(self)}
        if self.retry_at is not None:
            problem["retry_after"] = self.retry_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            problem["retry_after_seconds"] = math.ceil(self.retry_after)
        return problem


def local_problem(detail: str) -> dict:
    """A problem that did not come from the ACME server (timeout, bad state, ...)."""
    return {"type": GENERIC_TYPE, "detail": detail}


def identifier_dict(identifier) -> dict | None:
    """An ACME identifier as ``{type, value}``."""
    if identifier is None:
        return None
    return {"type": getattr(identifier.typ, "name", str(identifier.typ)), "value": identifier.value}


def problem_dict(error, identifier=None) -> dict:
    """An ``acme.messages.Error`` as a plain problem document.

    ``identifier`` is added when the problem itself names none, so a failed
    authorization's problem always says which name it is about.
    """
    problem = {"type": error.typ, "detail": error.detail}
    if error.title:
        problem["title"] = error.title
    ident = identifier_dict(error.identifier) or identifier_dict(identifier)
    if ident:
        problem["identifier"] = ident
    if error.subproblems:
        problem["subproblems"] = [problem_dict(sub) for sub in error.subproblems]
    return problem


def exception_problem(exc: BaseException) -> dict:
    """Any exception met while working on one certificate, as a problem document."""
    if isinstance(exc, (CertificateFailure, RateLimited)):
        return exc.problem
    if isinstance(exc, (TlsVerifyError, NoDirectoryError)):
        return local_problem(str(exc))
    if HAS_ACME and isinstance(exc, messages.Error):
        return problem_dict(exc)
    if HAS_ACME and isinstance(exc, acme_errors.TimeoutError):
        return local_problem("timed out waiting for the ACME server")
    text = str(exc) or type(exc).__name__
    return local_problem("%s: %s" % (type(exc).__name__, text))


def authorization_problem(authz) -> dict:
    """Why an authorization is invalid: its failed challenge's problem, else a generic one."""
    for challb in authz.challenges or ():
        if challb.error is not None:
            return problem_dict(challb.error, authz.identifier)
    detail = "authorization for %s is %s" % (authz.identifier.value, authz.status.name)
    return {"type": GENERIC_TYPE, "detail": detail, "identifier": identifier_dict(authz.identifier)}


def problem_text(problem: dict | None) -> str:
    """A one-line summary of a problem for ``msg``: the ACME error type (if any) and the detail."""
    if not problem:
        return "unknown error"
    detail = problem.get("detail") or ""
    kind = problem.get("type") or GENERIC_TYPE
    if kind == GENERIC_TYPE:
        return detail or "unknown error"
    kind = kind.rsplit(":", 1)[-1]
    return "%s: %s" % (kind, detail) if detail else kind
