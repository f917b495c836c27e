# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide which certificates are due for renewal (or for deployment), and why.

This runs at the start of every renewal for the whole fleet, so it reads the
files in-process with cryptography (no ``openssl`` subprocess per
certificate), and does everything that waits on the network (the CA's
renewal information, the endpoints' served certificates) concurrently.

Reasons, the first that applies wins (:data:`REASONS`):

``missing``
    no readable certificate;
``force``
    renewal asked for, globally or for this certificate;
``names_changed`` / ``key_type_changed``
    the inventory wants other names or another key type;
``ari_window``
    the CA offers ACME Renewal Information (RFC 9773) and the time drawn
    inside its suggested window has come (see :mod:`.ari`);
``expiring``
    without ARI: fewer than ``renew_days`` days left or, by default, a third
    of the lifetime left (half of it for lifetimes of ten days or less); with
    ARI only once the certificate has expired;
``not_deployed``
    nothing to renew, but the endpoint serves an older certificate than
    the one on disk: it needs deploying, not renewing.

The time drawn in the ARI window is kept in ``<state_dir>/<name>/cert.json``
under ``ari``, with the window and the time the CA may be asked again, so
every run does not draw (and ask) anew. That write is bookkeeping: atomic,
never in check mode, and not a change of the managed state.
"""

from __future__ import annotations

import datetime
import random

from ansible_collections.certfleet.acme.plugins.module_utils._common.batch import map_concurrently
from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._plan import ari as ari_lib
from ansible_collections.certfleet.acme.plugins.module_utils._plan.ari_state import (
    DEFAULT_TIMEOUT,
    ari_job,
    ari_state,
    due_for_fetch,
    load_state,
    write_job,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import (
    certificate_info,
    load_certificate,
    not_after,
    not_before,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import (
    DEFAULT_PORT,
    ServedCertError,
    fetch_served_certificate,
    sni_for,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import CERT, CERT_INFO, cert_file

REASONS = ("missing", "force", "names_changed", "key_type_changed", "ari_window", "expiring", "not_deployed")
#: Reasons that call for a new certificate; ``not_deployed`` only calls for a deploy.
RENEWAL_REASONS = REASONS[:-1]

#: Lifetimes up to this long renew at half of it; longer ones at a third.
SHORT_LIFETIME = datetime.timedelta(days=10)

MAX_WORKERS = 32

_DAY = 86400.0


#: The fact of one certificate, in the order the module returns it.
FACT_KEYS = (
    "exists",
    "not_after",
    "days_left",
    "lifetime_days",
    "names",
    "issuer",
    "serial",
    "key_type",
    "needs_renewal",
    "needs_deploy",
    "reason",
    "renew_at",
    "renew_source",
    "ari",
    "replaces",
)


def _fact(**known) -> dict:
    """A fact with every key: what is ``known``, else nothing decided (None, no names, nothing needed)."""
    fact = dict.fromkeys(FACT_KEYS)
    fact.update(names=[], needs_renewal=False, needs_deploy=False)
    fact.update(known)
    return fact


def missing_fact() -> dict:
    """The fact for a certificate that is not there (or not readable as one)."""
    return _fact(exists=False, needs_renewal=True, reason="missing")


# ---------------------------------------------------------------- the day rule


def day_rule_renew_at(expires: datetime.datetime, starts: datetime.datetime, renew_days=None) -> datetime.datetime:
    """When a certificate is due without ARI.

    ``renew_days`` set: that many days before expiry. Unset: when a third of
    the lifetime is left, or half of it for lifetimes of ten days or less, so
    a 90-day certificate renews with 30 days left and a 6-day one with 3.
    """
    if renew_days is not None:
        return expires - datetime.timedelta(days=renew_days)
    lifetime = expires - starts
    share = 2 if lifetime <= SHORT_LIFETIME else 3
    return expires - lifetime / share


# ---------------------------------------------------------------- one certificate


class _Entry:
    """Everything known about one requested certificate while the run decides."""

    __slots__ = (
        "item",
        "name",
        "path",
        "cert",
        "fact",
        "identifier",
        "document",
        "state_file",
        "stored",
        "info",
        "fresh",
        "ari_error",
        "served",
        "served_error",
        "warnings",
    )

    def __init__(self, item: dict, path: str, state_file: str | None) -> None:
        self.item = item
        self.name = item["name"]
        self.path = path
        self.state_file = state_file
        self.cert = None
        self.fact = None
        self.identifier = None
        self.document = None
        self.stored = None
        self.info = None
        self.fresh = None
        self.ari_error = None
        self.served = None
        self.served_error = None
        self.warnings = []


def _read(entry: _Entry) -> None:
    """Load the certificate file; a file that does not parse counts as missing (with a warning)."""
    try:
        with open(entry.path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return
    except OSError as exc:
        entry.warnings.append("cannot read %s: %s" % (entry.path, exc))
        return
    try:
        entry.cert = load_certificate(data)
    except ValueError as exc:
        entry.warnings.append("%s is not a PEM certificate (%s); treating it as missing" % (entry.path, exc))


def _base_fact(cert, now) -> dict:
    info = certificate_info(cert)
    expires = not_after(cert)
    remaining = expires - now
    return _fact(
        exists=True,
        not_after=info["not_after"],
        days_left=int(remaining.total_seconds() // _DAY),
        lifetime_days=int(round((expires - not_before(cert)).total_seconds() / _DAY)),
        names=info["names"],
        issuer=info["issuer"],
        serial=info["serial"],
        key_type=info["key_type"],
    )


def _names_differ(wanted_names, names: list) -> bool:
    return wanted_names is not None and {normalize(name) for name in wanted_names} != set(names)


def _shares_a_name(wanted_names, names: list) -> bool:
    return wanted_names is None or bool({normalize(name) for name in wanted_names} & set(names))


def _endpoint(item: dict, names: list) -> tuple[str, int, str | None]:
    endpoint = item["endpoint"]
    sni = endpoint.get("sni") or sni_for(item.get("names")) or sni_for(names)
    return endpoint["host"], int(endpoint.get("port") or DEFAULT_PORT), sni


def _served_fact(entry: _Entry) -> dict:
    if entry.served_error is not None:
        return {"error": entry.served_error}
    served = entry.served
    serial = format_serial(served.serial_number)
    return {
        "serial": serial,
        "not_after": iso_utc(not_after(served)),
        "matches": entry.cert is not None and entry.cert.serial_number == served.serial_number,
    }


def _newer_than_served(cert, served, now) -> bool:
    """The certificate on disk is valid now and newer than the different one being served."""
    if served is None or cert.serial_number == served.serial_number:
        return False
    if not not_before(cert) <= now < not_after(cert):
        return False
    return (not_after(cert), not_before(cert)) > (not_after(served), not_before(served))


def _decide(entry: _Entry, options: dict, ari_on: bool, now) -> None:
    """Fill in reason, needs_renewal, needs_deploy, renew_at, ari and replaces of an existing certificate."""
    item = entry.item
    cert = entry.cert
    fact = entry.fact
    state = entry.fresh or (entry.stored if entry.ari_error is None else None)
    expires = not_after(cert)
    if state is not None:
        renew_at = ari_lib.parse_timestamp(state["selected_time"])
        fact["renew_source"] = "ari"
        fact["ari"] = {
            key: state.get(key)
            for key in ("cert_id", "window_start", "window_end", "selected_time", "next_check", "explanation_url")
        }
    else:
        renew_at = day_rule_renew_at(expires, not_before(cert), options["renew_days"])
        fact["renew_source"] = "renew_days" if options["renew_days"] is not None else "lifetime"
    fact["renew_at"] = iso_utc(renew_at)
    if ari_on and entry.identifier and _shares_a_name(item.get("names"), fact["names"]):
        fact["replaces"] = entry.identifier

    if options["force"] or item.get("force"):
        reason = "force"
    elif _names_differ(item.get("names"), fact["names"]):
        reason = "names_changed"
    elif item.get("key_type") and item["key_type"] != fact["key_type"]:
        reason = "key_type_changed"
    elif state is not None and renew_at <= now:
        reason = "ari_window"
    elif state is None and now > renew_at:
        reason = "expiring"
    elif state is not None and now >= expires:
        reason = "expiring"  # the CA's window is past expiry: never keep an expired certificate
    elif _newer_than_served(cert, entry.served, now):
        reason = "not_deployed"
    else:
        reason = None
    fact["reason"] = reason
    fact["needs_renewal"] = reason in RENEWAL_REASONS
    fact["needs_deploy"] = reason == "not_deployed"


# ---------------------------------------------------------------- the fleet


def _run_concurrently(jobs: list, max_workers: int) -> None:
    """Run callables that keep their own results and errors."""
    map_concurrently(lambda job: job(), jobs, max_workers)


def _served_job(entry: _Entry, fetch_served, timeout: float):
    def job():
        host, port, sni = _endpoint(entry.item, entry.fact["names"] if entry.fact else [])
        try:
            entry.served = fetch_served(host, port, sni, timeout)
        except ServedCertError as exc:
            entry.served_error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported per certificate
            entry.served_error = "%s:%s: %s: %s" % (host, port, type(exc).__name__, exc)

    return job


def expiry_facts(
    certificates: list[dict],
    state_dir: str | None,
    renew_days: int | None = None,
    now=None,
    *,
    force: bool = False,
    ari=None,
    check_mode: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    rng=None,
    fetch_served=fetch_served_certificate,
    max_workers: int = MAX_WORKERS,
):
    """Facts for every certificate, keyed by name, plus the warnings met on the way.

    Each entry of ``certificates`` has ``name`` and optionally ``path``,
    ``names``, ``key_type``, ``force`` and ``endpoint`` (``host``, ``port``,
    ``sni``); without ``path`` the file is looked up under ``state_dir``.
    ``ari`` is an :class:`AriClient` (or anything with ``fetch(cert_id)``)
    when the CA offers renewal information, else None. ``fetch_served`` and
    ``rng`` are there so tests can stand in for the network and the dice.
    """
    now = now or utc_now()
    rng = rng or random.SystemRandom()
    options = {"renew_days": renew_days, "force": force}
    entries = []
    for item in certificates:
        path = item.get("path") or cert_file(state_dir, item["name"], CERT)
        entry = _Entry(item, path, cert_file(state_dir, item["name"], CERT_INFO) if state_dir else None)
        _read(entry)
        if entry.cert is not None:
            entry.fact = _base_fact(entry.cert, now)
            if ari is not None and ari_lib.authority_key_identifier(entry.cert) is not None:
                entry.identifier = ari_lib.cert_id(entry.cert)
        entries.append(entry)

    jobs = []
    for entry in entries:
        if ari is not None and entry.identifier:
            load_state(entry)
            if due_for_fetch(entry, now):
                jobs.append(ari_job(entry, ari))
        if entry.item.get("endpoint"):
            jobs.append(_served_job(entry, fetch_served, timeout))
    _run_concurrently(jobs, max_workers)

    facts = {}
    warnings = []
    writes = []
    for entry in entries:
        if entry.cert is None:
            fact = missing_fact()
        else:
            if entry.info is not None:
                # Drawn here, in input order, so a seeded rng gives the same times whatever the threads did.
                entry.fresh = ari_state(entry.info, entry.identifier, entry.stored, now, rng)
            _decide(entry, options, ari is not None, now)
            fact = entry.fact
            if entry.fresh is not None and entry.state_file and not check_mode:
                writes.append(write_job(entry))
        if entry.item.get("endpoint"):
            fact["served"] = _served_fact(entry)
        facts[entry.name] = fact
    _run_concurrently(writes, max_workers)

    for entry in entries:
        prefix = "certificate %r: " % entry.name
        warnings.extend(prefix + warning for warning in entry.warnings)
        if entry.ari_error:
            warnings.append(
                prefix + "ACME renewal information unavailable, deciding by remaining lifetime: " + entry.ari_error
            )
        if entry.served_error:
            warnings.append(prefix + "cannot read the served certificate: " + entry.served_error)
    return facts, warnings


def due_names(facts: dict) -> list[str]:
    """The names of the certificates that need renewal, in input order."""
    return [name for name, fact in facts.items() if fact["needs_renewal"]]


def undeployed_names(facts: dict) -> list[str]:
    """The names of the certificates whose newer file is not what the endpoint serves."""
    return [name for name, fact in facts.items() if fact.get("needs_deploy")]
