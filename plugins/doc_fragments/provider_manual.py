# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a DNS provider entry of type C(manual), a person applying the records (checked against its class by a unit test)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - >-
    Provider type C(manual) (a person or other automation changes DNS) takes the
    options C(path) file where the records are written as JSON.
    Nothing is written to DNS; the records to create or delete are shown as warnings and returned in RV(notices).
"""
