# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The results of one run that the report tests build their rows and reports from."""

from __future__ import annotations

import datetime

NOW = datetime.datetime(2025, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)

CERTIFICATES = [
    {"name": "fresh", "names": ["fresh.example.test"]},
    {"name": "renewed", "names": ["renewed.example.test"]},
    {"name": "lost", "names": ["lost.example3.test"]},
    {"name": "calm", "names": ["calm.example.test"]},
    {"name": "acme", "names": ["acme.example.test"]},
]

EXPIRY = {
    "fresh": {"exists": False, "days_left": None, "not_after": None, "needs_renewal": True, "reason": "missing"},
    "renewed": {
        "exists": True,
        "days_left": 20,
        "not_after": "2025-05-21T12:00:00Z",
        "needs_renewal": True,
        "reason": "expiring",
    },
    "lost": {
        "exists": True,
        "days_left": 5,
        "not_after": "2025-05-06T13:00:00Z",
        "needs_renewal": True,
        "reason": "expiring",
    },
    "calm": {"exists": True, "days_left": 60, "not_after": "2025-06-30T12:00:00Z", "needs_renewal": False},
    "acme": {"exists": False, "days_left": None, "not_after": None, "needs_renewal": True, "reason": "missing"},
}

FINALIZED = [
    {"name": "fresh", "status": "issued", "serial": "0a1b", "not_after": "2025-07-30T12:00:00Z"},
    {"name": "renewed", "status": "issued", "serial": "c2d", "not_after": "2025-07-30T11:00:00Z"},
    {
        "name": "acme",
        "status": "failed",
        "error": {
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "Incorrect TXT record",
            "subproblems": [{"type": "urn:ietf:params:acme:error:dns", "detail": "NXDOMAIN at _acme-challenge"}],
        },
    },
]

FAILURES = [
    {
        "name": "lost",
        "stage": "publish",
        "error": "provider 'broken' record '_acme-challenge.lost.example3.test': BADSIG",
    },
    {"name": "acme", "stage": "finalize", "error": FINALIZED[2]["error"]},
]


def rows_by_name(rows):
    return {row["certificate"]: row for row in rows}
