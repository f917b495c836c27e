# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message that fails a run: what a person reads first in cron mail, AWX or a CI log.

It names every certificate that was not issued or not deployed with its
stage and cause, the TXT values that clean-up could not confirm gone, and
what stopped the run. Causes read as the report table writes them
(:func:`failure_cause`), so the headline and the table never disagree.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._report.rows import failure_cause


def failure_line(failure: dict) -> str:
    """'name (stage on host: cause)' for one entry of run_failures or deploy_failures."""
    return "%s (%s)" % (failure.get("name"), failure_cause(failure))


def failure_message(failures, cleanup_errors=(), journal: str | None = None, run_error: str | None = None) -> str:
    """The whole message, sentence by sentence; empty when nothing failed.

    ``journal`` is the TXT journal file, given only when it exists: the message names it only then, so it never
    sends a person to a file that is not there.
    """
    failures = [failure for failure in failures or [] if isinstance(failure, dict)]
    sentences = []
    if failures:
        sentences.append(
            "%d certificate(s) not issued or not deployed: %s."
            % (len(failures), "; ".join(failure_line(failure) for failure in failures))
        )
    if cleanup_errors:
        values = "; ".join(map(str, cleanup_errors))
        if journal:
            sentences.append(
                "Clean-up could not confirm that these TXT values are gone; they stay listed in %s and the next run "
                "tries again to remove them: %s." % (journal, values)
            )
        else:
            # No journal file: nothing lists them, so no later run will remove them (they may never have been added).
            sentences.append(
                "Clean-up could not confirm that these TXT values are gone, and they could not be listed for the "
                "next run; check the zones and remove them by hand where they exist: %s." % values
            )
    if run_error:
        sentences.append("The run stopped: %s" % run_error)
    return " ".join(sentences)
