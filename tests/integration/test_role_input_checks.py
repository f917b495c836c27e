# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role refuses what a person most often gets wrong, before anything changes, with one short error.

A misspelt variable or an empty certificate list used to succeed with "0 certificates", so a cron job stayed green
while nothing was renewed; a wrong type printed the role's whole argument spec. No CA or DNS server is needed: the
run stops before either is asked.
"""

from __future__ import annotations

import os
import sys

import pytest
from playbook_runner import PLAYBOOK, _run, ansible_command, ansible_env, run_renew, write_vars

GOOD = [{"name": "www", "names": ["www.example.test"]}]
PROVIDERS = [{"name": "bind", "type": "manual", "zones": ["example.test"]}]
#: A refused run prints its task lines, one error and the recap: far below the 20 KB of an argument spec.
SHORT_OUTPUT = 8192


def base(tmp_path, **variables) -> dict:
    settings = {
        "letsencrypt_dns_terms_agreed": True,
        "letsencrypt_dns_dir": str(tmp_path / "state"),
        "letsencrypt_dns_providers": PROVIDERS,
    }
    return dict(settings, **variables)


def assert_refused(run, tmp_path, *fragments: str) -> str:
    """The run failed with one error block that says every fragment, and wrote nothing."""
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-3000:]
    assert output.count("[ERROR]") == 1, output[-6000:]
    error = output[output.index("[ERROR]") :]
    for fragment in fragments:
        assert fragment in error, error[:3000]
    assert not (tmp_path / "state").exists(), "the state directory was written before the input was refused"
    return output


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_misspelt_variable_is_refused_with_a_suggestion(tmp_path, check):
    variables = base(tmp_path, letsencrypt_dns_certificate=GOOD)
    run = run_renew(variables, tmp_path, *(["--check"] if check else []))
    assert_refused(
        run,
        tmp_path,
        "unknown variable letsencrypt_dns_certificate: did you mean letsencrypt_dns_certificates?",
        "letsencrypt_dns_certificates is empty",
    )


def test_empty_certificate_list_is_refused(tmp_path):
    run = run_renew(base(tmp_path, letsencrypt_dns_certificates=[]), tmp_path)
    assert_refused(run, tmp_path, "letsencrypt_dns_certificates is empty", "letsencrypt_dns_allow_empty: true")


def test_empty_certificate_list_runs_when_allowed(tmp_path):
    run = run_renew(base(tmp_path, letsencrypt_dns_allow_empty=True), tmp_path)
    assert run.rc == 0, (run.stdout + run.stderr)[-4000:]
    assert "[ERROR]" not in run.stdout + run.stderr


def test_wrong_type_is_said_in_one_short_line(tmp_path):
    run = run_renew(base(tmp_path, letsencrypt_dns_certificates=GOOD), tmp_path, "-e", "letsencrypt_dns_ttl=abc")
    output = assert_refused(run, tmp_path, "letsencrypt_dns_ttl: 'abc' is not an integer")
    assert len(output) < SHORT_OUTPUT, output
    assert "Validating arguments" not in output and "argument_spec" not in output


def test_every_problem_is_named_in_the_one_error_and_secrets_are_not(tmp_path):
    variables = base(
        tmp_path,
        letsencrypt_dns_terms_agreed=False,
        letsencrypt_dns_certificates=GOOD,
        letsencrypt_dns_key_type="ec512",
        letsencrypt_dns_credential_provider_cloudflare="very-secret-token",
        letsencrypt_dns_propagaton_timeout=10,
    )
    output = assert_refused(
        run_renew(variables, tmp_path),
        tmp_path,
        "letsencrypt_dns_terms_agreed is False",
        "letsencrypt_dns_key_type: 'ec512' is not one of ec256, ec384, rsa2048, rsa3072, rsa4096",
        "letsencrypt_dns_credential_provider_cloudflare: (hidden) is not a mapping",
        "did you mean letsencrypt_dns_propagation_timeout?",
    )
    assert "very-secret-token" not in output


def test_a_second_use_of_the_role_in_the_play_is_not_refused(tmp_path):
    """The facts and results the first use left are the role's own names, not misspelt variables."""
    playbook = tmp_path / "twice.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        + "".join(
            "    - name: Use the role (%d)\n      ansible.builtin.include_role:\n"
            "        name: certfleet.acme.letsencrypt_dns\n" % number
            for number in (1, 2)
        )
    )
    vars_file = write_vars(base(tmp_path, letsencrypt_dns_allow_empty=True), tmp_path)
    proc = _run(ansible_command("ansible-playbook", str(playbook), "-e", "@%s" % vars_file), ansible_env(), 600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "[ERROR]" not in proc.stdout + proc.stderr


def test_a_misspelt_variable_in_the_vars_of_one_host_is_refused_naming_the_host(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "web1 ansible_connection=local\nweb2 ansible_connection=local letsencrypt_dns_deploi=[]\n"
        "[all:vars]\nansible_python_interpreter=%s\n" % sys.executable
    )
    vars_file = write_vars(base(tmp_path, letsencrypt_dns_certificates=GOOD), tmp_path)
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = _run([playbook, PLAYBOOK, "-i", str(inventory), "-e", "@%s" % vars_file], ansible_env(), 600)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and output.count("[ERROR]") == 1, output[-4000:]
    assert (
        "unknown variable letsencrypt_dns_deploi: did you mean letsencrypt_dns_deploy? (in the vars of web2)" in output
    )
    assert not (tmp_path / "state").exists()
