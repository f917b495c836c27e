# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ARI side of a renewal decision: where to ask, and the renewal time kept between runs.

:mod:`.ari` speaks the protocol (identifiers, fetching, parsing); this keeps
what a run makes of the answers. The time drawn inside the CA's window is
kept in ``cert.json`` under ``ari`` with the window and the time the CA may be
asked again, so runs do not draw (and ask) anew; :mod:`.expiry` reads and
writes it, and decides with it.
"""

from __future__ import annotations

import datetime

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import atomic_write_json, read_json
from ansible_collections.certfleet.acme.plugins.module_utils._plan import ari as ari_lib

#: Seconds for each request to the CA (and each TLS handshake with an endpoint).
DEFAULT_TIMEOUT = 10


class AriClient:
    """Where a run asks for renewal information: the directory's ``renewalInfo`` URL and how to connect."""

    def __init__(self, renewal_info_url: str, verify=True, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.renewal_info_url = renewal_info_url
        self.verify = verify
        self.timeout = timeout

    def fetch(self, identifier: str) -> ari_lib.RenewalInfo:
        """GET the renewal information of one certificate; AriError on failure."""
        return ari_lib.fetch_renewal_info(self.renewal_info_url, identifier, self.verify, self.timeout)


def open_ari(directory_url: str | None, ca_bundle: str | None = None, timeout: float = DEFAULT_TIMEOUT):
    """(AriClient or None, warning or None) for the CA at ``directory_url``.

    None without a directory, or when the CA does not offer ``renewalInfo``
    (then the day rule decides, quietly). A CA that cannot be reached is
    a warning, never a failure: the day rule decides then too. A URL that
    answers with no directory raises NoDirectoryError: the caller says it
    once (the order step fails with that very message).
    """
    if not directory_url:
        return None, None
    verify = ca_bundle or True
    try:
        url = ari_lib.fetch_renewal_info_url(directory_url, verify, timeout)
    except ari_lib.AriError as exc:
        return None, "ACME renewal information unavailable, deciding by remaining lifetime: %s" % exc
    if not url:
        return None, None
    return AriClient(url, verify, timeout), None


def stored_ari(document, identifier: str) -> dict | None:
    """The ARI choice kept in ``cert.json`` for this very certificate, or None."""
    if not isinstance(document, dict):
        return None
    state = document.get("ari")
    if not isinstance(state, dict) or state.get("cert_id") != identifier:
        return None
    try:
        for key in ("window_start", "window_end", "selected_time", "next_check"):
            ari_lib.parse_timestamp(state[key])
    except (KeyError, ari_lib.AriError):
        return None
    return state


def ari_state(info: ari_lib.RenewalInfo, identifier: str, previous: dict | None, now, rng) -> dict:
    """The ARI choice after a fresh answer: keep the drawn time while the window stays the same."""
    window_start = iso_utc(info.start)
    window_end = iso_utc(info.end)
    if previous and previous.get("window_start") == window_start and previous.get("window_end") == window_end:
        selected = previous["selected_time"]
    else:
        selected = iso_utc(ari_lib.choose_renewal_time(info.start, info.end, rng))
    return {
        "cert_id": identifier,
        "window_start": window_start,
        "window_end": window_end,
        "selected_time": selected,
        "next_check": iso_utc(now + datetime.timedelta(seconds=info.retry_after_seconds)),
        "explanation_url": info.explanation_url,
    }


def ari_job(entry, client):
    """A job that asks the CA about ``entry`` and keeps the answer, or the error, on it."""

    def job():
        try:
            info = client.fetch(entry.identifier)
        except ari_lib.AriError as exc:
            entry.ari_error = str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - one certificate's trouble is a warning, never the run's failure
            entry.ari_error = "%s: %s" % (type(exc).__name__, exc)
            return
        entry.info = info

    return job


def write_job(entry):
    """A job that keeps the fresh ARI choice of ``entry`` in its ``cert.json`` (a failure is a warning)."""

    def job():
        document = dict(entry.document or {})
        document["ari"] = entry.fresh
        try:
            atomic_write_json(entry.state_file, document)
        except OSError as exc:
            entry.warnings.append("cannot keep the ARI renewal time in %s: %s" % (entry.state_file, exc))

    return job


def load_state(entry) -> None:
    """Read ``cert.json`` for the stored ARI choice; a broken one is left alone (and not rewritten)."""
    if entry.state_file is None:
        return
    try:
        entry.document = read_json(entry.state_file)
    except (OSError, ValueError) as exc:
        entry.warnings.append("cannot read %s (%s); the ARI renewal time is not kept" % (entry.state_file, exc))
        entry.state_file = None
        return
    if entry.document is not None and not isinstance(entry.document, dict):
        entry.warnings.append("%s is not a JSON object; the ARI renewal time is not kept" % entry.state_file)
        entry.state_file = None
        entry.document = None
        return
    entry.stored = stored_ari(entry.document, entry.identifier)


def due_for_fetch(entry, now) -> bool:
    """Whether the CA may be asked again about ``entry``: nothing kept, or its ``next_check`` has come."""
    if entry.stored is None:
        return True
    return ari_lib.parse_timestamp(entry.stored["next_check"]) <= now
