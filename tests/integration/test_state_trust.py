# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A state directory another local user could steer is refused; the state tree is private whatever the umask.

Finding "The state directory is trusted whatever it holds and whoever can
write it" of issue 13. Each test tries one way in through the state directory
with the whole role against the rig, and asserts the run stops with an error
naming the path and the problem, and that nothing was written, moved or
removed: (a) umask 0, (b) a writable state directory, (c) a file of another
user, (d) a certificate directory that is a symlink, (e) a planted
``.commit/``, (f) a forged TXT journal entry (an SPF value at a zone apex, a
crafted name for a hook).
"""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import dns.query
import dns.update
import pytest
from playbook_runner import role_vars, run_renew, txt_values
from test_acme_modules import _keyring

pytestmark = pytest.mark.rig

NOBODY = pwd.getpwnam("nobody")
HOOK = """#!/bin/sh
echo "$@" >> "%s"
"""


def certificate(name: str) -> list[dict]:
    return [{"name": name, "names": ["%s.example.test" % name]}]


def tree(state: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``state`` with its mode and owner, links not followed."""
    return {
        str(path.relative_to(state)): (stat.S_IMODE(path.lstat().st_mode), path.lstat().st_uid)
        for path in sorted(state.rglob("*"))
    }


def refused(run, path, problem: str) -> str:
    """The run failed with the refusal naming ``path`` and ``problem``; returns the output."""
    text = run.text()
    assert run.rc != 0, text[-4000:]
    flat = " ".join(text.split())
    assert "refusing the state directory: %s %s" % (path, problem) in flat, text[-4000:]
    return flat


def _txt(rig, zone: str, name: str, value: str, add: bool) -> None:
    update = dns.update.UpdateMessage(zone, **_keyring(rig))
    if add:
        update.add(name + ".", 300, "TXT", '"%s"' % value)
    else:
        update.delete(name + ".", "TXT", '"%s"' % value)
    response = dns.query.tcp(update, rig["primary"], port=53, timeout=10)
    assert response.rcode() == 0, response


# -- (a) umask 0


def test_with_umask_0_the_state_tree_is_private(rig, tmp_path):
    state = tmp_path / "state"
    previous = os.umask(0)
    try:
        run = run_renew(role_vars(rig, state, certificate("trust-umask")), tmp_path)
    finally:
        os.umask(previous)
    assert run.rc == 0, run.text()[-4000:]
    modes = tree(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    directories = {path: mode for path, (mode, _uid) in modes.items() if (state / path).is_dir()}
    assert directories == {".acme": 0o700, "trust-umask": 0o700}, modes
    assert modes[".acme/account.key"][0] == 0o600
    assert modes["trust-umask/privkey.pem"][0] == 0o600
    assert not [path for path, (mode, _uid) in modes.items() if mode & 0o022], modes


# -- (b) a state directory writable by group or others


@pytest.mark.parametrize(("bits", "who"), [(0o770, "its group"), (0o777, "its group and others")])
def test_a_writable_state_directory_is_refused_and_nothing_written(rig, tmp_path, bits, who):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(bits)
    run = run_renew(role_vars(rig, state, certificate("trust-writable")), tmp_path)
    refused(run, state, "is writable by %s (mode %04o)" % (who, bits))
    assert tree(state) == {}


# -- (c) a file in it owned by another user


def test_a_file_of_another_user_is_refused(rig, tmp_path):
    state = tmp_path / "state"
    (state / "trust-owner").mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    planted = state / "trust-owner" / "cert.json"
    planted.write_text("{}")
    os.chown(planted, NOBODY.pw_uid, NOBODY.pw_gid)
    before = tree(state)
    run = run_renew(role_vars(rig, state, certificate("trust-owner")), tmp_path)
    refused(run, planted, "is owned by uid %d, not by this user (uid %d)" % (NOBODY.pw_uid, os.geteuid()))
    assert tree(state) == before


# -- (d) a certificate directory that is a symlink


def test_a_certificate_directory_that_is_a_symlink_is_refused(rig, tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (state / "trust-link").symlink_to(elsewhere)
    run = run_renew(role_vars(rig, state, certificate("trust-link")), tmp_path)
    refused(run, state / "trust-link", "is a symbolic link (to %s)" % elsewhere)
    assert list(elsewhere.iterdir()) == []
    assert tree(state) == {"trust-link": (0o777, os.geteuid())}


# -- (e) a planted .commit/ folder


@pytest.mark.parametrize("how", ["other-owner", "group-writable"])
def test_a_planted_commit_folder_is_refused_and_not_moved(rig, tmp_path, how):
    state = tmp_path / "state"
    commit = state / "trust-commit" / ".commit"
    commit.mkdir(parents=True)
    state.chmod(0o700)
    (state / "trust-commit").chmod(0o700)
    (commit / "privkey.pem").write_text("planted key")
    (commit / "cert.pem").write_text("planted certificate")
    for path in (commit / "privkey.pem", commit / "cert.pem"):
        path.chmod(0o600)
    if how == "other-owner":
        commit.chmod(0o700)
        os.chown(commit, NOBODY.pw_uid, NOBODY.pw_gid)
        problem = "is owned by uid %d, not by this user (uid %d)" % (NOBODY.pw_uid, os.geteuid())
    else:
        commit.chmod(0o770)
        problem = "is writable by its group (mode 0770)"
    before = tree(state)
    run = run_renew(role_vars(rig, state, certificate("trust-commit")), tmp_path)
    refused(run, commit, problem)
    assert tree(state) == before, "nothing moved"
    assert (commit / "privkey.pem").read_text() == "planted key"


# -- (f) a forged TXT journal


def test_a_forged_journal_entry_is_refused_and_nothing_removed(rig, tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    spf = "v=spf1 ip4:192.0.2.1 -all"
    hook_log = tmp_path / "hook.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK % hook_log)
    hook.chmod(0o700)
    crafted = "$(touch pwned).validation.test"
    hook_provider = {"name": "sitehook", "type": "hook", "zones": ["validation.test"], "hook": str(hook)}
    provider = rig["provider"]
    journal = state / ".txt-journal.json"
    journal.write_text(
        json.dumps(
            {
                "version": 1,
                "entries": [
                    {"provider": provider["name"], "zone": "example.test", "name": "example.test", "values": [spf]},
                    {"provider": "sitehook", "zone": "validation.test", "name": crafted, "values": ["x"]},
                ],
            }
        )
    )
    journal.chmod(0o600)
    _txt(rig, "example.test", "example.test", spf, add=True)
    try:
        variables = role_vars(rig, state, certificate("trust-journal"))
        variables["letsencrypt_dns_providers"] = [provider, hook_provider]
        run = run_renew(variables, tmp_path)
        text = run.text()
        assert run.rc != 0, text[-4000:]
        flat = " ".join(text.split())
        assert "lists entries this collection never writes, so nothing in it is removed" in flat, text[-4000:]
        assert (
            "entry (provider %r, zone 'example.test', name 'example.test'): name 'example.test' is neither an "
            "_acme-challenge name" % provider["name"]
        ) in flat
        assert "entry (provider 'sitehook', zone 'validation.test', name %r)" % crafted in flat
        assert spf in txt_values(rig["primary"], "example.test"), "the SPF record stays"
        assert not hook_log.exists(), "the hook was never called"
        assert json.loads(journal.read_text())["entries"][0]["values"] == [spf], "the journal is left for a human"
        assert not (state / "trust-journal").exists(), "nothing was ordered"
    finally:
        _txt(rig, "example.test", "example.test", spf, add=False)
