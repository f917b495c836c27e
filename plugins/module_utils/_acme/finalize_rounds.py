# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``acme_finalize`` in rounds: what one call hands the next, and the line the task prints in between.

The action plugin of ``acme_finalize`` calls the module once per round (see
``_common.rounds``). Each call finalizes only the orders no earlier round
finished, gets the finished ones back through ``round.finished`` and returns
every certificate in the order of ``orders``: the last call's result is that
of one long call, and the module's own checks (changed, the failure naming
every certificate) run on all of them, in one place.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import IN_PROGRESS, NOT_STARTED
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import CertSpec
from ansible_collections.certfleet.acme.plugins.module_utils._common.outcomes import FAILED, ISSUED


def finished_by_name(round_option: dict | None) -> dict[str, dict]:
    """The results of the orders earlier rounds finished, by certificate name."""
    return {cert["name"]: cert for cert in (round_option or {}).get("finished") or [] if cert.get("name")}


def merge_round(specs: list[CertSpec], finished: dict[str, dict], results: list[dict]) -> list[dict]:
    """Every certificate in the order of ``specs``: this call's results and the earlier rounds' ones."""
    by_name = dict(finished)
    by_name.update((cert["name"], cert) for cert in results)
    return [by_name[spec.name] for spec in specs]


def finalize_progress(certificates: list[dict], timeout: int) -> str:
    """One short line on a batch a round ended on: counts, and the order closest to its timeout."""
    counts = {status: 0 for status in (ISSUED, FAILED, IN_PROGRESS)}
    not_started = 0
    for cert in certificates:
        counts[cert["status"]] = counts.get(cert["status"], 0) + 1
        if cert["status"] == IN_PROGRESS and cert.get("waiting_for") == NOT_STARTED:
            not_started += 1
    line = "%d/%d issued, %d failed, %d in progress" % (
        counts[ISSUED],
        len(certificates),
        counts[FAILED],
        counts[IN_PROGRESS],
    )
    if counts[IN_PROGRESS]:
        line += " (%d validating, %d not started)" % (counts[IN_PROGRESS] - not_started, not_started)
        longest = max((cert for cert in certificates if cert["status"] == IN_PROGRESS), key=lambda c: c["waited"])
        line += "; longest wait %s, %d s of %d s" % (longest["name"], longest["waited"], timeout)
    return line


def round_returned(round_option: dict | None, certificates: list[dict], timeout: int) -> dict:
    """The ``round`` return value (empty without rounds): done, or the progress line and the next call's option."""
    if not round_option:
        return {}
    waiting = [cert for cert in certificates if cert["status"] == IN_PROGRESS]
    if not waiting:
        return {"round": {"done": True, "progress": ""}}
    return {
        "round": {
            "done": False,
            "progress": finalize_progress(certificates, timeout),
            "next": {
                "seconds": round_option["seconds"],
                "waited": {cert["name"]: cert["waited"] for cert in waiting},
                "finished": [cert for cert in certificates if cert["status"] != IN_PROGRESS],
            },
        }
    }
