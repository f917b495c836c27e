# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one function per certificate concurrently, and keep failures per certificate.

ACME work is mostly waiting (HTTP round trips, the CA's validation), so a
fleet is processed by a bounded thread pool. The bound keeps a thousand-cert
run from opening a thousand connections to the CA at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

MAX_WORKERS = 16


def run_batch(items: list, work, on_error, max_workers: int = MAX_WORKERS) -> list:
    """``work(item)`` for every item, results in input order.

    An exception escaping ``work`` becomes ``on_error(item, exc)`` for that
    item only, so one certificate can never stop the others.
    """
    if not items:
        return []

    def guarded(item):
        try:
            return work(item)
        except Exception as exc:  # noqa: BLE001 - reported per certificate, never swallowed
            return on_error(item, exc)

    return map_concurrently(guarded, items, max_workers)


def map_concurrently(fn, items, max_workers: int = MAX_WORKERS) -> list:
    """``[fn(item) for item in items]`` on a bounded thread pool, results in input order.

    The one pool helper of the collection: callers that keep failures per
    item catch them in ``fn`` (or use :func:`run_batch`); an exception that
    escapes ``fn`` is raised here.
    """
    items = list(items)
    if not items:
        return []
    workers = max(1, min(max_workers, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certfleet-acme") as pool:
        return list(pool.map(fn, items))
