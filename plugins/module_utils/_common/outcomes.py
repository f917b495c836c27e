# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What happened to one certificate, in the words every stage's results use.

The ACME modules write these into each certificate's ``status``, the role's
hand-offs decide on them and the run report counts them; one spelling keeps a
renamed status from silently dropping a failure out of the report.
"""

from __future__ import annotations

#: A certificate whose new files were written.
ISSUED = "issued"
#: A certificate (or its order) that failed; the result then carries ``error``.
FAILED = "failed"
