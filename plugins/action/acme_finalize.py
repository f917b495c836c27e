# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.acme_finalize: the ACME polling in rounds, with a progress line each.

Validation and issuance of a large batch can take minutes, long enough for AWX
on Kubernetes to stop a task that prints nothing. The module runs in rounds of
about 30 seconds (its ``round`` option); each round resumes the orders the
last one left while they were being validated, and a line such as
``certfleet.acme.acme_finalize: 12/40 issued, 0 failed, 28 in progress (25
validating, 3 not started); longest wait www, 31 s of 120 s`` shows between two
of them, at default verbosity.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.plugin_utils.rounds import RoundsAction


class ActionModule(RoundsAction):
    MODULE = "certfleet.acme.acme_finalize"
