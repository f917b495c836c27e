# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Answer the challenges of an order, finalize it with a fresh key and store the result.

This is the second half of issuance and runs after the TXT records are
visible on every nameserver. Every wait has a deadline per order and honours
the CA's Retry-After, and the private key is generated only after the order
is ready, so a key exists only for a certificate that is about to be issued.

A call may be one round of a longer wait (``_common.rounds``): an order still
waiting for validation when the round ends comes back ``in_progress`` and is
resumed by the next call, which finds its challenges answered (they are
posted only while ``pending``) and polls on. A round never ends between the
CSR and the download: the key of that CSR lives only in this process.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_document import certificate_document
from ansible_collections.certfleet.acme.plugins.module_utils._acme.cert_files import (
    discard_staging,
    write_certificate_files,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.chains import (
    alternate_urls,
    chain_issuer,
    select_chain,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.challenges import dns01_challenge
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    PEM_CHAIN_CONTENT_TYPE,
    AcmeSession,
    poll_interval,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import (
    generate_private_key,
    make_csr,
    private_key_pem,
    public_key_der,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.order_state import delete_saved_order
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import fetch_authorization, fetch_order
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import (
    GENERIC_TYPE,
    CertificateFailure,
    authorization_problem,
    exception_problem,
    local_problem,
    problem_dict,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import MAX_WORKERS, run_batch
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import messages
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.crypto import x509
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED, ISSUED
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import Deadline, DeadlineExceeded
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import (
    NO_ROUND,
    Round,
    RoundDeadline,
    RoundOver,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import (
    certificate_info,
    load_certificate,
    split_pem_chain,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import cert_dir, certificate_paths

WOULD_FINALIZE = "would_finalize"
#: An order the round ended on before it was done; only in a call with a round, for the next call to resume.
IN_PROGRESS = "in_progress"
NOT_STARTED = "its turn"


class OrderDoomed(CertificateFailure):
    """The order can never lead to a certificate; its saved state must be dropped."""


def certificate_result(spec: CertSpec, state_dir: str, **fields) -> dict:
    """One entry of the ``certificates`` return value."""
    result = {
        "name": spec.name,
        "status": None,
        "serial": None,
        "not_after": None,
        "names": list(spec.names),
        "key_type": spec.key_type,
        "chain_issuer": None,
        "warnings": [],
        "paths": certificate_paths(state_dir, spec.name),
    }
    result.update(fields)
    return result


def failed_authorizations_problem(authzs: list) -> dict:
    """The problem of the failed authorization, or one problem listing several as subproblems."""
    problems = [authorization_problem(authz) for authz in authzs]
    if len(problems) == 1:
        return problems[0]
    names = ", ".join(problem.get("identifier", {}).get("value", "?") for problem in problems)
    return {
        "type": problems[0]["type"],
        "detail": "%d authorizations failed: %s" % (len(problems), names),
        "subproblems": problems,
    }


def invalid_order_problem(session: AcmeSession, order) -> dict:
    """Why an order is invalid: its failed authorizations first, as they name the identifier."""
    invalid = []
    for url in order.authorizations or ():
        try:
            authz, _response = fetch_authorization(session, url)
        except messages.Error:
            continue
        if authz.status.name == "invalid":
            invalid.append(authz)
    if invalid:
        return failed_authorizations_problem(invalid)
    if order.error is not None:
        return problem_dict(order.error)
    return local_problem("the order is invalid and the CA gave no reason")


def answer_challenges(session: AcmeSession, authzs: list) -> None:
    """Tell the CA to validate every pending dns-01 challenge (the TXT records are published)."""
    for _url, authz in authzs:
        if authz.status.name != "pending":
            continue
        challb = dns01_challenge(authz)
        if challb is None:
            raise OrderDoomed(local_problem("the CA offers no dns-01 challenge for %s" % authz.identifier.value))
        if challb.status.name == "pending":
            session.post(challb.uri, challb.chall.response(session.account_key))


def wait_for_authorizations(session: AcmeSession, urls: list, deadline: Deadline) -> None:
    """Poll until no authorization is pending; raise OrderDoomed with the problem if any failed."""
    pending = list(urls)
    failed = []
    attempt = 0
    while True:
        last_response = None
        still = []
        for url in pending:
            authz, last_response = fetch_authorization(session, url)
            status = authz.status.name
            if status == "pending":
                still.append(url)
            elif status != "valid":
                failed.append(authz)
        pending = still
        if failed:
            # One invalid authorization makes the whole order invalid: stop here.
            raise OrderDoomed(failed_authorizations_problem(failed))
        if not pending:
            return
        deadline.sleep(poll_interval(last_response, attempt), "validation of %d authorization(s)" % len(pending))
        attempt += 1


def wait_for_order(session: AcmeSession, url: str, deadline: Deadline, waiting: tuple, what: str):
    """Poll the order while its status is in ``waiting``; return it once it is not."""
    attempt = 0
    while True:
        order, response = fetch_order(session, url)
        if order.status.name not in waiting:
            return order
        deadline.sleep(poll_interval(response, attempt), what)
        attempt += 1


def submit_csr(session: AcmeSession, order, url: str, csr_pem: bytes, deadline: Deadline):
    """POST the CSR to the order's finalize URL, waiting out ``orderNotReady`` if the CA says so."""
    request = messages.CertificateRequest(csr=x509.load_pem_x509_csr(csr_pem))
    attempt = 0
    while True:
        try:
            return messages.Order.from_json(session.post(order.finalize, request).json())
        except messages.Error as error:
            if error.code != "orderNotReady":
                raise
        order = wait_for_order(session, url, deadline, ("pending",), "the order to become ready")
        if order.status.name != "ready":
            return order
        deadline.sleep(poll_interval(None, attempt), "the order to accept the CSR")
        attempt += 1


def _fetch_chain(session: AcmeSession, url: str):
    """``(PEM blocks, response)`` of one certificate chain URL."""
    response = session.post_as_get(url, accept=PEM_CHAIN_CONTENT_TYPE)
    blocks = split_pem_chain(response.text)
    if not blocks:
        raise CertificateFailure(local_problem("the CA returned no certificate at %s" % url))
    return blocks, response


def download_chain(session: AcmeSession, order, preferred_chain: str | None = None) -> tuple[list, list]:
    """The issued chain as PEM blocks, leaf first, and warnings about the chain choice.

    With ``preferred_chain``, a default chain that does not lead to that
    root is swapped for the first alternate (``Link: rel="alternate"``) that
    does; when none does, the default is kept with a warning.
    """
    blocks, response = _fetch_chain(session, order.certificate)
    if not preferred_chain:
        return blocks, []
    alternates = alternate_urls(response)
    return select_chain(blocks, alternates, lambda url: _fetch_chain(session, url)[0], preferred_chain)


def _prepare(session: AcmeSession, spec: CertSpec, deadline: Deadline):
    """Bring the order to ``ready`` (answering and polling as needed) and return it."""
    order, _response = fetch_order(session, spec.order_url)
    status = order.status.name
    if status in ("processing", "valid"):
        raise OrderDoomed(
            local_problem(
                "order %s is already %s: it was finalized by an earlier run whose key was not kept; "
                "run acme_dns01_order again for a new order" % (spec.order_url, status)
            )
        )
    if status == "pending":
        authzs = [(url, fetch_authorization(session, url)[0]) for url in order.authorizations]
        answer_challenges(session, authzs)
        wait_for_authorizations(session, [url for url, _authz in authzs], deadline)
        order = wait_for_order(session, spec.order_url, deadline, ("pending",), "the order to become ready")
    if order.status.name == "invalid":
        raise OrderDoomed(invalid_order_problem(session, order))
    if order.status.name != "ready":
        raise CertificateFailure(local_problem("order %s is %s, not ready" % (spec.order_url, order.status.name)))
    return order


def _issue(session: AcmeSession, spec: CertSpec, order, deadline: Deadline, preferred_chain: str | None = None):
    """Finalize with a fresh key; return ``(key, chain blocks, warnings)``."""
    key = generate_private_key(spec.key_type)
    order = submit_csr(session, order, spec.order_url, make_csr(key, list(spec.names)), deadline)
    if order.status.name in ("processing", "ready", "pending"):
        order = wait_for_order(
            session, spec.order_url, deadline, ("processing", "ready", "pending"), "the certificate to be issued"
        )
    if order.status.name == "invalid":
        raise OrderDoomed(invalid_order_problem(session, order))
    if order.status.name != "valid" or not order.certificate:
        raise CertificateFailure(
            local_problem("order %s ended %s without a certificate" % (spec.order_url, order.status.name))
        )
    blocks, warnings = download_chain(session, order, preferred_chain)
    if public_key_der(load_certificate(blocks[0]).public_key()) != public_key_der(key):
        raise CertificateFailure(local_problem("the certificate the CA returned is not for the key in the CSR"))
    return key, blocks, warnings


def in_progress(spec: CertSpec, state_dir: str, waited: float, waiting_for: str) -> dict:
    """The result of an order a round ended on: how long it has waited, and for what."""
    return certificate_result(spec, state_dir, status=IN_PROGRESS, waited=waited, waiting_for=waiting_for)


def finalize_certificate(
    session: AcmeSession,
    spec: CertSpec,
    state_dir: str,
    timeout: int,
    preferred_chain: str | None = None,
    round_: Round = NO_ROUND,
    waited: float = 0.0,
) -> dict:
    """Validate, finalize, download and store one certificate; failures come back as its result.

    ``waited`` seconds of the order's ``timeout`` went to earlier rounds; when
    ``round_`` ends while the order waits for validation, it comes back
    ``in_progress``.
    """
    if not spec.order_url:
        problem = local_problem("no order_url: acme_dns01_order did not create an order for this certificate")
        return certificate_result(spec, state_dir, status=FAILED, error=problem)
    deadline = RoundDeadline(timeout, waited, round_)
    discard_staging(state_dir, spec.name)
    try:
        order = _prepare(session, spec, deadline)
        # The key made next lives only in this process: no round may end before the certificate is stored.
        key, blocks, warnings = _issue(session, spec, order, deadline.without_round(), preferred_chain)
    except RoundOver as over:
        return in_progress(spec, state_dir, deadline.spent(), str(over))
    except OrderDoomed as doomed:
        delete_saved_order(state_dir, spec.name)
        return certificate_result(spec, state_dir, status=FAILED, error=doomed.problem)
    except DeadlineExceeded as exc:
        return certificate_result(spec, state_dir, status=FAILED, error={"type": GENERIC_TYPE, "detail": str(exc)})
    info = certificate_info(load_certificate(blocks[0]))
    issuer_of_chain = chain_issuer(blocks)
    document = certificate_document(spec.name, spec.key_type, blocks, spec.order_url)
    try:
        paths = write_certificate_files(state_dir, spec.name, private_key_pem(key), blocks[0], blocks[1:], document)
    except OSError as exc:
        # Nothing of the new set replaced the old one (see _acme.cert_files), but its key is lost with the
        # failed write, so this finalized order can never be used again: the next run orders anew.
        delete_saved_order(state_dir, spec.name)
        problem = local_problem(
            "the CA issued serial %s, but writing its files in %s failed, so the previous files were kept: %s"
            % (info["serial"], cert_dir(state_dir, spec.name), exc)
        )
        return certificate_result(spec, state_dir, status=FAILED, error=problem)
    delete_saved_order(state_dir, spec.name)
    return certificate_result(
        spec,
        state_dir,
        status=ISSUED,
        serial=info["serial"],
        not_after=info["not_after"],
        names=info["names"],
        chain_issuer=issuer_of_chain,
        warnings=warnings,
        paths=paths,
    )


def finalize_all(
    session: AcmeSession,
    specs: list[CertSpec],
    state_dir: str,
    timeout: int,
    preferred_chain: str | None = None,
    round_: Round = NO_ROUND,
    waited: dict | None = None,
) -> list[dict]:
    """Finalize every order concurrently; each failure stays with its certificate.

    With a round, an order that would start after the round's end waits for
    the next call (``in_progress``), except the first pool's worth: every
    round moves at least those forward. ``waited`` maps names to the seconds
    their orders spent in earlier rounds.
    """
    waited = waited or {}

    def work(item: tuple[int, CertSpec]) -> dict:
        index, spec = item
        already = float(waited.get(spec.name) or 0.0)
        if index >= MAX_WORKERS and round_.over():
            return in_progress(spec, state_dir, already, NOT_STARTED)
        return finalize_certificate(session, spec, state_dir, timeout, preferred_chain, round_, already)

    return run_batch(
        list(enumerate(specs)),
        work,
        lambda item, exc: certificate_result(item[1], state_dir, status=FAILED, error=exception_problem(exc)),
    )


def planned_certificates(specs: list[CertSpec], state_dir: str) -> list[dict]:
    """What ``finalize_all`` would do (check mode): every order would be finalized."""
    return [certificate_result(spec, state_dir, status=WOULD_FINALIZE) for spec in specs]
