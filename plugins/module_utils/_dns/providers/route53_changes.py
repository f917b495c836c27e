# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Route 53's record-set shape: TXT values in its quoting, and the changes that add or remove single values.

Route 53 changes whole record sets, so adding or removing one value means
sending the set it must become. Planning those changes needs no AWS call,
which is why it lives apart from the client code in ``route53.py``.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._dns import txt

# Limits of one ChangeResourceRecordSets request (an UPSERT counts twice).
MAX_BATCH_RECORDS = 1000
MAX_BATCH_CHARACTERS = 32000


# --------------------------------------------------------------- TXT values
# Route 53 writes the three-digit escapes of its TXT values in octal, not in the zone-file decimal.
def txt_quote(value: str) -> str:
    """A TXT value as Route 53's API wants it: quoted, escaped, split into 255-byte strings."""
    return txt.quote(value, octal=True)


def txt_strings(text: str) -> list[bytes]:
    """The character-strings of a Route 53 TXT ``Value`` (never raises, see ``txt.parse_strings``)."""
    return txt.parse_strings(text, octal=True)


def txt_unquote(text: str) -> str:
    """The value of a Route 53 TXT ``Value``: its strings joined, as a resolver's client reads them."""
    return txt.unquote(text, octal=True)


# ------------------------------------------------------------ change batches
def rrset_values(rrset: dict | None) -> list[str]:
    """The raw ``Value`` of every record of a Route 53 record set (none for None)."""
    return [record["Value"] for record in (rrset or {}).get("ResourceRecords", [])]


def add_change(fqdn: str, current: dict | None, values: list[str], ttl: int) -> dict | None:
    """The change that adds ``values`` at ``fqdn`` to the ``current`` record set (None: nothing to do).

    Values already there stay exactly as Route 53 holds them; the set gets
    ``ttl``, as a dynamic update adding a record would give it.
    """
    existing = rrset_values(current)
    have = {txt_unquote(raw) for raw in existing}
    new = []
    for value in values:
        if value not in have:
            have.add(value)
            new.append(txt_quote(value))
    if not new:
        return None
    name = current["Name"] if current else fqdn + "."
    return {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": name,
            "Type": "TXT",
            "TTL": int(ttl),
            "ResourceRecords": [{"Value": raw} for raw in existing + new],
        },
    }


def remove_change(fqdn: str, current: dict | None, values: list[str]) -> dict | None:
    """The change that removes ``values`` from the ``current`` record set (None: nothing to do).

    Other values stay, with the set's TTL; when nothing stays, the set is
    deleted with exactly the values and TTL Route 53 holds, as DELETE demands.
    """
    existing = rrset_values(current)
    drop = set(values)
    remainder = [raw for raw in existing if txt_unquote(raw) not in drop]
    if not existing or len(remainder) == len(existing):
        return None
    if not remainder:
        return {
            "Action": "DELETE",
            "ResourceRecordSet": {
                "Name": current["Name"],
                "Type": "TXT",
                "TTL": current["TTL"],
                "ResourceRecords": [{"Value": raw} for raw in existing],
            },
        }
    return {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": current["Name"],
            "Type": "TXT",
            "TTL": current["TTL"],
            "ResourceRecords": [{"Value": raw} for raw in remainder],
        },
    }


def split_changes(changes: list[dict]) -> list[list[dict]]:
    """Changes grouped into as few requests as Route 53's per-request limits allow (usually one)."""
    batches: list[list[dict]] = []
    current: list[dict] = []
    records = characters = 0
    for change in changes:
        factor = 2 if change["Action"] == "UPSERT" else 1
        values = rrset_values(change["ResourceRecordSet"])
        weight = factor * len(values)
        size = factor * sum(len(value) for value in values)
        if current and (records + weight > MAX_BATCH_RECORDS or characters + size > MAX_BATCH_CHARACTERS):
            batches.append(current)
            current, records, characters = [], 0, 0
        current.append(change)
        records += weight
        characters += size
    if current:
        batches.append(current)
    return batches
