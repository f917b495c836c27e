# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The short role run that `make matrix` makes on each older supported ansible-core release.

The whole suite runs on the newest release; on the others, three things prove
the role works as users run it there: certificates are issued, the same run
again changes nothing, and a failure stops the run naming the certificate and
its cause while the other certificate is still issued and nothing is left in
DNS. Each run checks that it used the ansible-core of this test's venv.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from playbook_runner import ansible_command
from test_role import (
    assert_issued_for,
    assert_no_challenge_values,
    assert_second_run_changes_nothing,
    issue,
    run_with_a_broken_provider,
)

CERTIFICATES = [
    {"name": "site", "names": ["matrix.example.test", "www.matrix.example.test"]},
    {"name": "wild", "names": ["matrix.example2.test", "*.matrix.example2.test"], "key_type": "rsa2048"},
]


def test_runs_on_the_ansible_core_of_this_venv():
    """The playbooks below run this venv's ansible-playbook, so the release under test is the one make chose."""
    import ansible.release  # pylint: disable=import-outside-toplevel

    program = ansible_command("ansible-playbook")[0]
    version = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    assert "core %s]" % ansible.release.__version__ in version
    assert "python version = %d.%d." % sys.version_info[:2] in version


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    return issue(rig, tmp_path_factory.mktemp("matrix"), CERTIFICATES)


def test_issues_then_a_second_run_changes_nothing(rig, issued, pebble_root_file):
    for cert in CERTIFICATES:
        assert_issued_for(issued["state"] / cert["name"], cert["names"], pebble_root_file)
    assert_no_challenge_values(rig, CERTIFICATES)
    assert_second_run_changes_nothing(issued)


def test_a_failing_provider_names_the_certificate_and_the_cause(rig, tmp_path):
    run = run_with_a_broken_provider(rig, tmp_path, label=".matrix")[0]
    # What a person reads: the failure line itself names the certificate and the provider.
    headline = next(line for line in run.stdout.splitlines() if line.startswith("fatal:"))
    assert "lost" in headline and "broken" in headline, headline
    assert "failed_when" not in run.stdout + run.stderr
