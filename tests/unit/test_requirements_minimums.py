# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's requirements admit no release with a known advisory.

requirements.txt is what an execution environment installs for the collection: a minimum below a fixed release
would let a new image pick a vulnerable one. The fixed releases are those named by the advisories.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
FIXED = {
    "requests": "2.32.4",  # CVE-2024-47081
    "dnspython": "2.6.1",  # CVE-2023-29483
    "cryptography": "42.0.4",  # CVE-2024-26130
    "acme": "5.0",  # the current major release
}


def requirements() -> dict[str, Requirement]:
    lines = (line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    parsed = (Requirement(line) for line in lines if line)
    return {requirement.name: requirement for requirement in parsed}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_no_release_below_the_fixed_one_is_admitted(name):
    requirement = requirements()[name]
    minimums = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", ">")]
    assert minimums, "%s has no minimum version" % requirement
    assert max(minimums) >= Version(FIXED[name]), requirement
    assert Version(FIXED[name]) in requirement.specifier or max(minimums) > Version(FIXED[name])
