# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create (or resume) one ACME order per certificate and report its TXT records.

Ordering is the first half of issuance: it ends with the records the DNS
modules must publish. Nothing here answers a challenge, so publishing,
waiting for propagation and finalizing can all happen in between, in other
tasks, for the whole batch at once.
"""

from __future__ import annotations

import traceback

from ansible_collections.certfleet.acme.plugins.module_utils.acme_batch import run_batch
from ansible_collections.certfleet.acme.plugins.module_utils.acme_challenges import (
    authorization_records,
    group_records,
)
from ansible_collections.certfleet.acme.plugins.module_utils.acme_client import AcmeSession
from ansible_collections.certfleet.acme.plugins.module_utils.acme_order_state import (
    can_resume_status,
    delete_saved_order,
    load_saved_order,
    resumable_url,
    save_order,
    saved_order_matches,
)
from ansible_collections.certfleet.acme.plugins.module_utils.acme_problems import (
    CertificateFailure,
    exception_problem,
)
from ansible_collections.certfleet.acme.plugins.module_utils.acme_specs import CertSpec

try:
    from acme import errors as acme_errors
    from acme import messages

    HAS_ACME = True
    ACME_IMPORT_ERROR = None
except ImportError:
    HAS_ACME = False
    ACME_IMPORT_ERROR = traceback.format_exc()

FAILED = "failed"
WOULD_ORDER = "would_order"


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
        "records": [],
    }
    result.update(fields)
    return result


def fetch_order(session: AcmeSession, url: str):
    """The current state of an order."""
    return messages.Order.from_json(session.post_as_get(url).json())


def fetch_authorizations(session: AcmeSession, order) -> list:
    """Every authorization of an order, in the order's sequence."""
    return [messages.Authorization.from_json(session.post_as_get(url).json()) for url in order.authorizations]


def create_order(session: AcmeSession, spec: CertSpec):
    """POST newOrder for the certificate's names; returns ``(order_url, order)``.

    The order is built from the names directly instead of from a CSR: the
    real key and CSR are only made at finalize time, so a key never exists
    for an order that is never finalized.
    """
    identifiers = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name) for name in spec.names]
    fields = {"identifiers": identifiers}
    if spec.profile:
        fields["profile"] = spec.profile
    response = session.post(session.directory["newOrder"], messages.NewOrder(**fields))
    url = response.headers.get("Location")
    if not url:
        raise CertificateFailure({"type": "about:blank", "detail": "the CA returned a new order without a URL"})
    return url, messages.Order.from_json(response.json())


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
        order = fetch_order(session, url)
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
    else:
        url, order = create_order(session, spec)
        save_order(state_dir, spec, url, session.settings.directory_url)
    try:
        pairs = []
        for authz in fetch_authorizations(session, order):
            pairs.extend(authorization_records(authz, session.account_key))
    except CertificateFailure as failure:
        # An authorization that can no longer become valid dooms the order.
        delete_saved_order(state_dir, spec.name)
        return order_result(spec, order_url=url, status=FAILED, resumed=bool(resumed), error=failure.problem)
    except Exception as exc:  # noqa: BLE001 - the order exists; report its URL with the error
        return order_result(spec, order_url=url, status=FAILED, resumed=bool(resumed), error=exception_problem(exc))
    return order_result(
        spec, order_url=url, status=order.status.name, resumed=bool(resumed), records=group_records(pairs)
    )


def order_all(session: AcmeSession, specs: list[CertSpec], state_dir: str) -> list[dict]:
    """Order every certificate concurrently; each failure stays with its certificate."""
    return run_batch(
        specs,
        lambda spec: order_certificate(session, spec, state_dir),
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
