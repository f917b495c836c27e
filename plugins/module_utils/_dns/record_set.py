# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of the ``records`` input that publishing and the propagation wait both take.

``dns_txt_record`` (publish) and ``dns_wait_propagated`` (wait) read the same
list of ``{name, values}`` entries and must agree on what is valid and how
entries with one name merge; keeping that here lets the wait stage use it
without importing the publishing code.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize, owner_name_error
from ansible_collections.certfleet.acme.plugins.module_utils._dns.txt import MAX_STRING

#: What a module's ``state`` may ask for a set of values.
STATES = ("present", "absent")

#: The ``records`` option of the DNS modules, as an Ansible argument spec entry.
RECORDS_ARGUMENT = dict(
    type="list",
    elements="dict",
    required=True,
    options=dict(
        name=dict(type="str", required=True),
        # txt_values: what acme_dns01_order returns them as, so its records pass through unchanged.
        values=dict(type="list", elements="str", required=True, aliases=["txt_values"]),
    ),
)

#: The ``state`` option of the DNS modules.
STATE_ARGUMENT = dict(type="str", choices=list(STATES), default="present")


class RecordInputError(ValueError):
    """The ``records`` (or other) input is unusable; lists every problem at once."""


def values_by_name(records: Any) -> dict[str, list[str]]:
    """Validate ``records`` and return ``{normalized name: values}``, values in first-seen order, no repeats.

    Two orders can ask for the same TXT name (a wildcard and its apex in
    different certificates); the provider must get one name with the union of
    the values, not two writes racing each other.
    """
    if not isinstance(records, (list, tuple)):
        raise RecordInputError("records: must be a list of {name, values}, got %s" % type(records).__name__)
    problems: list[str] = []
    merged: dict[str, list[str]] = {}
    for index, record in enumerate(records):
        where = "records[%d]" % index
        if not isinstance(record, dict):
            problems.append("%s: must be a dictionary with name and values, got %r" % (where, record))
            continue
        name = record.get("name")
        problem = owner_name_error(name)
        if problem:
            problems.append("%s: name %r %s" % (where, name, problem))
            continue
        values = record.get("values")
        if isinstance(values, str) or not isinstance(values, (list, tuple)):
            problems.append("%s (%s): values must be a list of strings, got %r" % (where, name, values))
            continue
        bucket = merged.setdefault(normalize(name), [])
        for value in values:
            if not isinstance(value, str) or not value:
                problems.append("%s (%s): value %r must be a non-empty string" % (where, name, value))
            elif len(value.encode("utf-8")) > MAX_STRING:
                problems.append(
                    "%s (%s): value %r is longer than %d bytes" % (where, name, value[:20] + "...", MAX_STRING)
                )
            elif value not in bucket:
                bucket.append(value)
    if problems:
        raise RecordInputError("invalid records: " + "; ".join(problems))
    return merged
