# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of published TXT values, so a killed run's values can be removed by the next run.

A run removes the values it published in an ``always`` step, but a run that
is killed (SIGKILL, OOM, power loss) never gets there. Its order is resumed
by the next run, and if the dead run had already answered the challenges,
the resumed order needs no records: nothing would ever remove those values.

So ``dns_txt_record`` writes down every value **before** it asks a provider
to add it (provider name, zone, owner name, value), and strikes it once the
removal is confirmed (the value is gone). Whatever is still listed when the
next run starts was published by a run that never cleaned up, and is
removed first: exactly those values at exactly those providers, nothing
else. Listing a value that never made it to DNS (killed between the journal
and the write) is harmless: removing it finds nothing to remove.

Concurrent runs are kept out of one state directory by ``state_lock`` (a
SIGKILLed run's lock is taken over), so the values found by a run that holds
the lock are never those of a live run.

The journal steers removals, so what it lists is not taken on trust: the
file and its directory must be this user's and not writable by others
(``_state.trust``), and every entry must be one this collection could have
written: an ``_acme-challenge`` name, or a CNAME target recorded with the
``_acme-challenge`` names it serves (``for``), strictly below a configured
zone of a configured provider. A journal with any other entry is refused
whole, naming the entry, and nothing it lists is removed (a forged entry
could otherwise remove any record, such as an SPF value at a zone apex, or
hand a crafted name to a hook script). The journal file itself is only
changed under ``flock`` on its directory, and replaced in one rename, so
even modules called outside the role never lose each other's entries or
leave a half-written file; temporary files of a writer that was killed are
removed on the next change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ansible_collections.certfleet.acme.plugins.module_utils._common.clock import iso_utc, utc_now
from ansible_collections.certfleet.acme.plugins.module_utils._common.files import (
    atomic_write_json,
    directory_lock,
    fsync_dir,
    read_json,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import (
    CHALLENGE_LABEL,
    normalize,
    owner_name_error,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state import workspace
from ansible_collections.certfleet.acme.plugins.module_utils._state.trust import StateTrustError, check_dir, check_path

VERSION = 1


class JournalError(Exception):
    """The journal cannot be read or written; the message names the file."""


def entry_key(entry: dict) -> tuple[str, str, str]:
    """What identifies an entry: provider name, zone and owner name."""
    return (entry["provider"], entry["zone"], entry["name"])


def _valid_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(key), str) and entry[key] for key in ("provider", "zone", "name"))
        and isinstance(entry.get("values"), list)
        and all(isinstance(value, str) for value in entry["values"])
        and isinstance(entry.get("for", []), list)
        and all(isinstance(name, str) for name in entry.get("for", []))
    )


def is_challenge_name(name: str) -> bool:
    """Whether ``name`` is an ``_acme-challenge.<domain>`` name."""
    return normalize(name).startswith(CHALLENGE_LABEL + ".")


def entry_problem(entry: dict, zones: Mapping[str, set], zone_of: Callable[[str], str | None]) -> str | None:
    """Why this collection cannot have written ``entry``, or None.

    ``zones`` maps each configured provider to its zones (normalized); an entry of a provider not in it is left
    to the caller (it cannot be removed from here anyway). ``zone_of`` gives the zone a name is routed to.
    """
    name, zone = entry["name"], entry["zone"]
    problem = owner_name_error(name)
    if problem:
        return "name %r %s" % (name, problem)
    if name != normalize(name) or zone != normalize(zone):
        return "name %r or zone %r is not written as this collection writes it (lower case, no final dot)" % (
            name,
            zone,
        )
    served = entry.get("for", [])
    if not is_challenge_name(name) and not (served and all(is_challenge_name(other) for other in served)):
        return "name %r is neither an %s name nor a CNAME target recorded with the %s names it serves" % (
            name,
            CHALLENGE_LABEL,
            CHALLENGE_LABEL,
        )
    if not name.endswith("." + zone):
        return "name %r does not lie below its zone %r (a zone apex is never written)" % (name, zone)
    if entry["provider"] in zones:
        if zone not in zones[entry["provider"]]:
            return "zone %r is not a configured zone of provider %r" % (zone, entry["provider"])
        if zone_of(name) != zone:
            return "name %r belongs to zone %r, not %r" % (name, zone_of(name), zone)
    return None


def refuse_foreign_entries(
    path: str, entries: list[dict], zones: Mapping[str, set], zone_of: Callable[[str], str | None]
) -> None:
    """Raise JournalError naming every entry this collection could not have written; nothing is acted on then."""
    problems = []
    for entry in entries:
        problem = entry_problem(entry, zones, zone_of)
        if problem:
            problems.append(
                "entry (provider %r, zone %r, name %r): %s" % (entry["provider"], entry["zone"], entry["name"], problem)
            )
    if problems:
        raise JournalError(
            "the TXT journal %s lists entries this collection never writes, so nothing in it is removed: %s. "
            "Someone else may have edited it; check the records and remove the file by hand"
            % (path, "; ".join(problems))
        )


def _check(path: str) -> None:
    """Refuse a journal, or its directory, that another user could have changed."""
    try:
        check_dir(os.path.dirname(os.path.abspath(path)))
        check_path(path)
    except StateTrustError as exc:
        raise JournalError(str(exc)) from None


def _read(path: str) -> list[dict]:
    _check(path)
    try:
        document = read_json(path)
    except (OSError, ValueError) as exc:
        raise JournalError("cannot read the TXT journal %s: %s" % (path, exc)) from None
    if document is None:
        return []
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(_valid_entry(entry) for entry in entries):
        raise JournalError(
            "the TXT journal %s is not a list of {provider, zone, name, values} entries; remove the values it "
            "lists by hand, then delete it" % path
        )
    return entries


def _sweep_temporaries(path: str) -> None:
    """Remove temporary files of a journal write that was killed (the caller holds the guard)."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    for name in os.listdir(directory):
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def _write(path: str, entries: list[dict]) -> None:
    """Write the journal, and with a remote state save it to the store before any value is published."""
    _sweep_temporaries(path)
    if entries:
        atomic_write_json(path, {"version": VERSION, "entries": entries}, mode=0o600)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        fsync_dir(os.path.dirname(os.path.abspath(path)))
    try:
        workspace.sync(os.path.dirname(os.path.abspath(path)))
    except workspace.WorkspaceError as exc:
        raise JournalError("cannot save the TXT journal %s to the state store: %s" % (path, exc)) from None


def load(path: str) -> list[dict]:
    """The entries now listed: ``[{provider, zone, name, values, since}]`` (empty without a journal)."""
    if not os.path.exists(path):
        return []
    _check(path)
    with directory_lock(os.path.dirname(os.path.abspath(path)), create=False):
        return _read(path)


def _changes(changes) -> dict[tuple[str, str, str], list[str]]:
    merged: dict[tuple[str, str, str], list[str]] = {}
    for provider, zone, name, values in changes:
        bucket = merged.setdefault((provider, zone, name), [])
        bucket.extend(value for value in values if value not in bucket)
    return {key: values for key, values in merged.items() if values}


def record(path: str, changes, delegations: Mapping[str, str] | None = None) -> None:
    """List ``(provider, zone, name, values)`` before they are added; values already listed stay once.

    ``delegations`` maps ``_acme-challenge`` names to the CNAME targets written instead; a target's entry records
    the names it serves under ``for``, so a later recovery knows the collection wrote it.

    Raises :class:`JournalError` when it cannot be written (disk full, no
    permission): the caller must then not publish, or the values could be
    left behind without a trace.
    """
    wanted = _changes(changes)
    if not wanted:
        return
    served: dict[str, set[str]] = {}
    for challenge, target in (delegations or {}).items():
        served.setdefault(normalize(target), set()).add(normalize(challenge))
    try:
        with directory_lock(os.path.dirname(os.path.abspath(path)), create=True):
            entries = _read(path)
            by_key = {entry_key(entry): entry for entry in entries}
            for key, values in wanted.items():
                entry = by_key.get(key)
                if entry is None:
                    provider, zone, name = key
                    entry = {
                        "provider": provider,
                        "zone": zone,
                        "name": name,
                        "values": [],
                        "since": iso_utc(utc_now()),
                    }
                    entries.append(entry)
                    by_key[key] = entry
                entry["values"].extend(value for value in values if value not in entry["values"])
                if key[2] in served:
                    entry["for"] = sorted(served[key[2]] | set(entry.get("for", [])))
            _write(path, entries)
    except OSError as exc:
        raise JournalError("cannot record the TXT values to publish in %s: %s" % (path, exc)) from None


def strike(path: str, changes) -> None:
    """Drop ``(provider, zone, name, values)`` that are confirmed gone; an empty journal is deleted."""
    gone = _changes(changes)
    if not gone or not os.path.exists(path):
        return
    try:
        with directory_lock(os.path.dirname(os.path.abspath(path)), create=False):
            entries = _read(path)
            kept = []
            changed = False
            for entry in entries:
                removed = gone.get(entry_key(entry), ())
                values = [value for value in entry["values"] if value not in removed]
                changed = changed or len(values) != len(entry["values"])
                if values:
                    kept.append(dict(entry, values=values))
            if changed:
                _write(path, kept)
    except OSError as exc:
        raise JournalError("cannot update the TXT journal %s: %s" % (path, exc)) from None
