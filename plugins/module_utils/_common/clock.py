# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time as the state files and reports write it: timezone-aware, UTC, whole seconds.

Certificate dates from cryptography are timezone-aware; a naive ``now`` would
not compare with them, so every stage takes the time from here.
"""

from __future__ import annotations

import datetime
import re


def iso_utc(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and whole seconds, e.g. ``2025-03-01T12:00:00Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime.datetime:
    """The current time, timezone-aware, so it compares with certificate dates."""
    return datetime.datetime.now(datetime.timezone.utc)


def parse_iso(text: str) -> datetime.datetime | None:
    """An ISO 8601 time as the modules and some APIs write it, as an aware datetime; None when it is not one.

    ``Z`` and ``+0000`` offsets are read (Python before 3.11 knows neither); a time without an offset is UTC.
    """
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment
