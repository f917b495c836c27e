# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as users get it: the tarball ``ansible-galaxy collection build`` makes, installed, run by name.

Run as ``ansible-playbook certfleet.acme.renew`` from an installed collection, the playbook's folder lies inside
the collection, and an upgrade (``ansible-galaxy collection install --force``) deletes whatever a run left there:
the account key and every private key. These runs check that a run without ``letsencrypt_dns_dir`` keeps its
state in the per-user data folder and writes nothing inside the collection, and that a ``letsencrypt_dns_dir``
inside it is refused before anything is written. The ``installed_collection`` fixture builds and installs once
per file; more cases of a first contact with the installed collection belong here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from playbook_runner import REPO, PlaybookRun, _run, ansible_command, ansible_env, label, role_vars, write_vars

pytestmark = pytest.mark.rig

GALAXY = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
# The working tree reaches ansible through these in a developer's shell and in make; the installed copy must not
# be shadowed by it.
TREE_SETTINGS = ("PYTHONPATH", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG")


@dataclass(frozen=True)
class Installed:
    """An installed copy of the collection: its collections path and the collection's own folder."""

    collections_path: Path
    collection: Path


def tree_free_env() -> dict:
    """This process's environment without the settings that point ansible at the working tree."""
    return {name: value for name, value in os.environ.items() if name not in TREE_SETTINGS}


def galaxy(*args: str, cwd) -> str:
    """``ansible-galaxy collection <args>``; its output, or the test fails showing it."""
    command = [GALAXY, "collection", *args]
    proc = subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, env=tree_free_env(), timeout=600, check=False
    )
    assert proc.returncode == 0, "%s failed:\n%s%s" % (" ".join(command), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory) -> Installed:
    """The tarball built from the working tree as a release is built, installed into a collections path of its own."""
    build = tmp_path_factory.mktemp("build")
    galaxy("build", "--output-path", str(build), cwd=REPO)
    tarballs = sorted(build.glob("certfleet-acme-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    collections_path = tmp_path_factory.mktemp("collections")
    galaxy("install", "--offline", str(tarballs[0]), "-p", str(collections_path), cwd=build)
    collection = collections_path / "ansible_collections" / "certfleet" / "acme"
    assert (collection / "playbooks" / "renew.yml").is_file()
    return Installed(collections_path, collection)


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, relative to it."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def run_installed(installed: Installed, variables: dict, tmp_path: Path, *extra: str) -> tuple[PlaybookRun, dict]:
    """``ansible-playbook certfleet.acme.renew`` from ``installed``, with HOME and XDG_DATA_HOME under ``tmp_path``.

    Returns the run and the folders it was given (``home``, ``data``), so a test can look where state went.
    """
    folders = {"home": tmp_path / "home", "data": tmp_path / "data"}
    for folder in folders.values():
        folder.mkdir(parents=True)
    env = ansible_env(dict(tree_free_env(), ANSIBLE_COLLECTIONS_PATH=str(installed.collections_path)))
    env.update(HOME=str(folders["home"]), XDG_DATA_HOME=str(folders["data"]))
    results = tmp_path / "results.json"
    env["CERTFLEET_RESULTS_FILE"] = str(results)
    command = ansible_command("ansible-playbook", *extra, "-e", "@%s" % write_vars(variables, tmp_path))
    proc = _run(command, env, timeout=600)
    result = json.loads(results.read_text()) if results.exists() else {}
    return PlaybookRun(proc.returncode, result, proc.stdout, proc.stderr), folders


def test_a_run_without_a_state_setting_keeps_its_state_in_the_data_folder(installed_collection, rig, tmp_path):
    before = listing(installed_collection.collection)
    variables = role_vars(rig, None, [{"name": "www", "names": ["%s.example.test" % label("installed")]}])
    del variables["letsencrypt_dns_dir"]
    run, folders = run_installed(installed_collection, variables, tmp_path, "certfleet.acme.renew")
    assert run.rc == 0, run.text()[-4000:]
    state = folders["data"] / "certfleet.acme"
    assert (state / ".acme" / "account.key").is_file()
    for name in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json"):
        assert (state / "www" / name).is_file(), name
    assert listing(installed_collection.collection) == before
    assert not (installed_collection.collection / "playbooks" / "certificates").exists()
    assert listing(folders["home"]) <= {".ansible", ".ansible/tmp"}


def test_a_state_folder_inside_the_installed_collection_is_refused(installed_collection, rig, tmp_path):
    before = listing(installed_collection.collection)
    inside = installed_collection.collection / "playbooks" / "certificates"
    variables = role_vars(rig, inside, [{"name": "www", "names": ["%s.example.test" % label("inside")]}])
    run, folders = run_installed(installed_collection, variables, tmp_path, "certfleet.acme.renew")
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-4000:]
    assert (
        "letsencrypt_dns_dir (module option state_dir) is %s, inside the installed collection %s"
        % (
            inside,
            installed_collection.collection,
        )
        in output
    ), output[-4000:]
    assert "an upgrade of that collection" in output
    assert listing(installed_collection.collection) == before
    assert listing(folders["data"]) == set()


def test_an_earlier_release_s_state_beside_the_playbook_stops_the_run(installed_collection, rig, tmp_path):
    playbooks = tmp_path / "site"
    (playbooks / "certificates" / ".acme").mkdir(parents=True)
    (playbooks / "certificates" / ".acme" / "account.key").write_text("an earlier release's account key")
    # The playbook of an earlier release's layout, beside its certificates folder: a play that uses the role.
    (playbooks / "renew.yml").write_text(
        "- name: Renew\n  hosts: all\n  gather_facts: false\n  roles:\n    - role: certfleet.acme.letsencrypt_dns\n"
    )
    variables = role_vars(rig, None, [{"name": "www", "names": ["%s.example.test" % label("legacy")]}])
    del variables["letsencrypt_dns_dir"]
    run, folders = run_installed(installed_collection, variables, tmp_path, str(playbooks / "renew.yml"))
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-4000:]
    assert "letsencrypt_dns_dir is not set, and its default has moved" in output, output[-4000:]
    assert (
        "Set letsencrypt_dns_dir: %s to keep using it, or move it to %s"
        % (
            playbooks / "certificates",
            folders["data"] / "certfleet.acme",
        )
        in output
    ), output[-4000:]
    assert listing(folders["data"]) == set()
    assert listing(playbooks / "certificates") == {".acme", ".acme/account.key"}


def assert_refused_before_any_change(run: PlaybookRun, folders: dict, *expected: str) -> str:
    """A refused run: non-zero, one error block holding every ``expected`` text, nothing in the data folder."""
    output = run.stdout + run.stderr
    assert run.rc != 0, output[-4000:]
    assert output.count("[ERROR]") == 1, output[-6000:]
    for text in expected:
        assert text in output, (text, output[-4000:])
    assert listing(folders["data"]) == set()
    return output


def test_a_misspelt_role_variable_is_refused_with_a_suggestion(installed_collection, rig, tmp_path):
    before = listing(installed_collection.collection)
    variables = role_vars(rig, None, [{"name": "www", "names": ["%s.example.test" % label("typo")]}])
    del variables["letsencrypt_dns_dir"]
    variables["letsencrypt_dns_certificate"] = variables.pop("letsencrypt_dns_certificates")
    run, folders = run_installed(installed_collection, variables, tmp_path, "certfleet.acme.renew")
    assert_refused_before_any_change(
        run,
        folders,
        "unknown variable letsencrypt_dns_certificate: did you mean letsencrypt_dns_certificates?",
    )
    assert listing(installed_collection.collection) == before


def test_an_empty_certificate_list_is_refused_unless_intended(installed_collection, rig, tmp_path):
    variables = role_vars(rig, None, [])
    del variables["letsencrypt_dns_dir"]
    run, folders = run_installed(installed_collection, variables, tmp_path / "refused", "certfleet.acme.renew")
    assert_refused_before_any_change(
        run, folders, "letsencrypt_dns_certificates is empty", "letsencrypt_dns_allow_empty: true"
    )
    # Said to be intended (a run that only reports): it succeeds, and says so in its report.
    variables["letsencrypt_dns_allow_empty"] = True
    run, _folders = run_installed(installed_collection, variables, tmp_path / "allowed", "certfleet.acme.renew")
    assert run.rc == 0, run.text()[-4000:]
    assert "0 certificates" in run.stdout, run.stdout[-3000:]


def test_a_name_in_no_zone_is_refused_at_validation(installed_collection, rig, tmp_path):
    stray = "%s.elsewhere.test" % label("stray")
    certificates = [
        {"name": "good", "names": ["%s.example.test" % label("good")]},
        {"name": "stray", "names": [stray]},
    ]
    variables = role_vars(rig, None, certificates)
    del variables["letsencrypt_dns_dir"]
    run, folders = run_installed(installed_collection, variables, tmp_path, "certfleet.acme.renew")
    assert_refused_before_any_change(
        run, folders, "certificate 'stray': field 'names' value '%s'" % stray, "lies in no zone of the providers"
    )
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
