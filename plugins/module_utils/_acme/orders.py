# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create (or resume) one ACME order per certificate and report its TXT records.

Ordering is the first half of issuance: it ends with the records the DNS
modules must publish. Nothing here answers a challenge, so publishing,
waiting for propagation and finalizing can all happen in between, in other
tasks, for the whole batch at once.

Two newOrder fields come from extensions the library's NewOrder does not
fully know, so the request body is built here as plain JSON:

* ``profile`` (draft-ietf-acme-profiles): checked against the directory's
  ``meta.profiles`` before anything is ordered, so a typo fails that
  certificate with the list of what the CA offers instead of an opaque
  ``invalidProfile`` (or, worse, a CA silently ignoring the field).
* ``replaces`` (RFC 9773 section 5): the ARI id of the certificate being
  renewed, sent only when the directory has ``renewalInfo``. If the CA
  refuses it (``alreadyReplaced``, or another error about ``replaces``), the
  order is sent once more without it: a renewal must not fail over a hint.
"""

from __future__ import annotations

import json

from ansible_collections.certfleet.acme.plugins.module_utils._acme.challenges import (
    authorization_records,
    group_records,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeSession,
    offered_profiles,
    renewal_info_url,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.order_state import (
    can_resume_status,
    delete_saved_order,
    load_saved_order,
    order_document,
    resumable_url,
    save_order,
    saved_order_matches,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import (
    CertificateFailure,
    exception_problem,
    local_problem,
    problem_text,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import run_batch
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.acme import HAS_ACME, acme_errors, messages
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED

WOULD_ORDER = "would_order"

# What became of a certificate's ``replaces`` (the ``replaces_status`` result).
REPLACES_SENT = "sent"
REPLACES_UNSUPPORTED = "unsupported"
REPLACES_DROPPED = "dropped"

ALREADY_REPLACED = "urn:ietf:params:acme:error:alreadyReplaced"
# Problem types that never mean "the CA did not like replaces", whatever their detail says.
_NOT_ABOUT_REPLACES = ("badNonce", "rateLimited", "serverInternal", "unauthorized", "accountDoesNotExist")


def order_result(spec: CertSpec, **fields) -> dict:
    """One entry of the ``orders`` return value."""
    result = {
        "name": spec.name,
        "names": list(spec.names),
        "key_type": spec.key_type,
        "profile": spec.profile,
        "order_url": None,
        "status": None,
        "resumed": False,
        "replaces": None,
        "replaces_status": None,
        "notes": [],
        "records": [],
    }
    result.update(fields)
    return result


class JsonBody:
    """A request payload given as plain JSON, for what ``messages.NewOrder`` cannot express.

    The library's network signs whatever has ``json_dumps``.
    """

    def __init__(self, body: dict) -> None:
        self.body = body

    def json_dumps(self, **kwargs) -> str:
        return json.dumps(self.body, **kwargs)


def new_order_body(spec: CertSpec, replaces: str | None = None) -> dict:
    """The newOrder payload: identifiers, and ``profile`` and ``replaces`` when given."""
    body = {"identifiers": [{"type": "dns", "value": name} for name in spec.names]}
    if spec.profile:
        body["profile"] = spec.profile
    if replaces:
        body["replaces"] = replaces
    return body


def profile_problem(spec: CertSpec, offered: dict | None, directory_url: str) -> dict | None:
    """Why the certificate's profile cannot be ordered from this CA, or None when it can (or has none)."""
    if not spec.profile:
        return None
    if not offered:
        return local_problem(
            "certificate %r: field 'profile' value %r cannot be requested: the CA at %s offers no profiles "
            "(its directory has no meta.profiles); remove the profile for this CA"
            % (spec.name, spec.profile, directory_url)
        )
    if spec.profile not in offered:
        return local_problem(
            "certificate %r: field 'profile' value %r is not offered by the CA at %s; it offers: %s"
            % (spec.name, spec.profile, directory_url, ", ".join(sorted(offered)))
        )
    return None


def refused_for_replaces(error) -> bool:
    """Whether a newOrder that carried ``replaces`` was refused because of it.

    ``alreadyReplaced`` says so (RFC 9773 section 5); some CAs answer
    ``malformed`` or ``conflict`` with a detail about the replaced
    certificate instead (unknown to them, not this account's, ...). A bare
    409 without a problem document (the library's ConflictError) counts too.
    """
    if HAS_ACME and isinstance(error, acme_errors.ConflictError):
        return True
    if not (HAS_ACME and isinstance(error, messages.Error)):
        return False
    kind = str(error.typ or "")
    if kind == ALREADY_REPLACED or kind.endswith(":alreadyReplaced"):
        return True
    if kind.rsplit(":", 1)[-1] in _NOT_ABOUT_REPLACES:
        return False
    return "replace" in (error.detail or "").lower()


def _fetch(session: AcmeSession, url: str, parse):
    response = session.post_as_get(url)
    return parse(response.json()), response


def fetch_order(session: AcmeSession, url: str):
    """``(order, response)``: the current state of an order; the response carries Retry-After."""
    return _fetch(session, url, messages.Order.from_json)


def fetch_authorization(session: AcmeSession, url: str):
    """``(authorization, response)``; the response carries Retry-After."""
    return _fetch(session, url, messages.Authorization.from_json)


def fetch_authorizations(session: AcmeSession, order) -> list:
    """Every authorization of an order, in the order's sequence."""
    return [fetch_authorization(session, url)[0] for url in order.authorizations]


def _post_new_order(session: AcmeSession, spec: CertSpec, replaces: str | None):
    response = session.post(session.directory["newOrder"], JsonBody(new_order_body(spec, replaces)))
    url = response.headers.get("Location")
    if not url:
        raise CertificateFailure({"type": "about:blank", "detail": "the CA returned a new order without a URL"})
    return url, messages.Order.from_json(response.json())


def create_order(session: AcmeSession, spec: CertSpec):
    """POST newOrder for the certificate's names; returns ``(order_url, order, replaces, replaces_status, notes)``.

    The order is built from the names directly instead of from a CSR: the
    real key and CSR are only made at finalize time, so a key never exists
    for an order that is never finalized. ``replaces`` is the ARI id the
    order was accepted with (or None), ``replaces_status`` what became of the
    certificate's ``replaces`` (None when it has none).
    """
    if not spec.replaces:
        url, order = _post_new_order(session, spec, None)
        return url, order, None, None, []
    if not renewal_info_url(session.directory):
        note = "replaces %s not sent: the CA's directory has no renewalInfo (no ARI)" % spec.replaces
        url, order = _post_new_order(session, spec, None)
        return url, order, None, REPLACES_UNSUPPORTED, [note]
    try:
        url, order = _post_new_order(session, spec, spec.replaces)
    except (messages.Error, acme_errors.ConflictError) as error:
        if not refused_for_replaces(error):
            raise
        if isinstance(error, messages.Error):
            why = problem_text({"type": error.typ, "detail": error.detail})
        else:
            why = "HTTP 409 Conflict"
        note = "the CA refused replaces %s (%s); ordered again without replaces" % (spec.replaces, why)
        url, order = _post_new_order(session, spec, None)
        return url, order, None, REPLACES_DROPPED, [note]
    return url, order, spec.replaces, REPLACES_SENT, []


def order_is_gone(exc: Exception) -> bool:
    """Whether fetching a saved order failed because the CA no longer has it for us.

    An ACME problem (not found, unauthorized: another account) or a plain
    4xx answer means the order is gone or not ours; order anew. Anything
    else (5xx, a proxy error page) is a real failure and is reported.
    """
    if isinstance(exc, messages.Error):
        return True
    response = exc.args[0] if exc.args else None
    status = getattr(response, "status_code", None)
    return status is not None and 400 <= status < 500


def _resume(session: AcmeSession, spec: CertSpec, state_dir: str):
    """The saved order if it still applies and the CA still has it pending or ready, else None."""
    url = resumable_url(load_saved_order(state_dir, spec.name), spec, session.settings.directory_url)
    if not url:
        return None
    try:
        order, _response = fetch_order(session, url)
    except (messages.Error, acme_errors.ClientError) as exc:
        if not order_is_gone(exc):
            raise
        return None
    if not can_resume_status(order.status.name):
        return None
    return url, order


def order_certificate(session: AcmeSession, spec: CertSpec, state_dir: str) -> dict:
    """Create or resume the order of one certificate and collect its TXT records."""
    resumed = _resume(session, spec, state_dir)
    if resumed:
        url, order = resumed
        saved = load_saved_order(state_dir, spec.name) or {}
        replaces, replaces_status, notes = saved.get("replaces"), saved.get("replaces_status"), []
    else:
        url, order, replaces, replaces_status, notes = create_order(session, spec)
        document = order_document(spec, url, session.settings.directory_url, replaces, replaces_status)
        save_order(state_dir, spec.name, document)
    common = {
        "order_url": url,
        "resumed": bool(resumed),
        "replaces": replaces,
        "replaces_status": replaces_status,
        "notes": notes,
    }
    try:
        pairs = []
        for authz in fetch_authorizations(session, order):
            pairs.extend(authorization_records(authz, session.account_key))
    except CertificateFailure as failure:
        # An authorization that can no longer become valid dooms the order.
        delete_saved_order(state_dir, spec.name)
        return order_result(spec, status=FAILED, error=failure.problem, **common)
    except Exception as exc:  # noqa: BLE001 - the order exists; report its URL with the error
        return order_result(spec, status=FAILED, error=exception_problem(exc), **common)
    return order_result(spec, status=order.status.name, records=group_records(pairs), **common)


def order_all(session: AcmeSession, specs: list[CertSpec], state_dir: str) -> list[dict]:
    """Order every certificate concurrently; each failure stays with its certificate.

    A certificate asking for a profile the CA does not offer fails before
    its order is created (or a saved one resumed).
    """
    offered = offered_profiles(session.directory)
    directory_url = session.settings.directory_url

    def work(spec: CertSpec) -> dict:
        problem = profile_problem(spec, offered, directory_url)
        if problem:
            return order_result(spec, status=FAILED, error=problem)
        return order_certificate(session, spec, state_dir)

    return run_batch(
        specs,
        work,
        lambda spec, exc: order_result(spec, status=FAILED, error=exception_problem(exc)),
    )


def planned_orders(specs: list[CertSpec], state_dir: str, directory_url: str) -> list[dict]:
    """What ``order_all`` would do, without contacting the CA (check mode).

    A matching saved order is reported as the one that would be resumed if
    the CA still has it pending.
    """
    results = []
    for spec in specs:
        saved = load_saved_order(state_dir, spec.name)
        matches = saved_order_matches(saved, spec, directory_url)
        results.append(
            order_result(
                spec,
                order_url=saved["order_url"] if matches else None,
                status=WOULD_ORDER,
                resumed=matches,
            )
        )
    return results
