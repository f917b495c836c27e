# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory changes in whole steps: no account key without a CA, no key beside another certificate.

Issue 13, Low findings:

- "A run that fails before it reaches the CA leaves a new account key
  behind": a run against a wrong or unreachable ACME directory must leave no
  ``.acme`` at all (test_a_run_that_never_reaches_the_ca_leaves_no_account_key).
- "A kill during the commit can leave a new key beside the old certificate":
  a process SIGKILLed at each step of the switch leaves the old pair, the new
  pair or no directory, never a mismatch, and the next run finishes the switch
  (test_a_kill_at_each_step_of_the_switch_never_shows_a_mismatched_pair); a
  reader running through hundreds of switches never reads a key with another
  certificate (test_a_reader_never_sees_a_mismatched_pair_while_sets_switch).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import testca
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playbook_runner import ansible_env, role_vars, run_renew
from test_faults_state import key_matches_cert, state_files

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import public_key_der
from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import read_file_set

FILE_SET = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json")
KILL_POINTS = ("commit", "rename-1", "rename-2", "rmtree")
A_YEAR = datetime.timedelta(days=365)

# Writes the set in NEW_SET (a JSON file) for certificate NAME in STATE and SIGKILLs itself at KILL_POINT
# ("none": no kill; with LOOP, alternates between NEW_SET and OLD_SET that many times).
WRITER = textwrap.dedent(
    """
    import json, os, shutil, signal, sys
    from ansible_collections.certfleet.acme.plugins.module_utils._acme import cert_files
    from ansible_collections.certfleet.acme.plugins.module_utils._state.commit import retired_dir

    state, name, point = os.environ["STATE"], os.environ["NAME"], os.environ["KILL_POINT"]
    sets = [json.load(open(os.environ[var])) for var in ("NEW_SET", "OLD_SET") if os.environ.get(var)]
    renames = []
    real_rename, real_rmtree, real_fsync_dir = os.rename, shutil.rmtree, cert_files.fsync_dir

    def kill():
        os.kill(os.getpid(), signal.SIGKILL)

    def rename(src, dst):
        renames.append(dst)
        real_rename(src, dst)
        if point == "rename-%d" % (len(renames) - 1):
            kill()

    def rmtree(path, *args, **kwargs):
        if point == "rmtree" and path == retired_dir(state, name):
            kill()
        real_rmtree(path, *args, **kwargs)

    def fsync_dir(path):
        if point == "commit" and path == os.path.join(state, name):
            kill()
        real_fsync_dir(path)

    os.rename, shutil.rmtree, cert_files.fsync_dir = rename, rmtree, fsync_dir
    for index in range(int(os.environ.get("LOOP", "1"))):
        files = sets[index % len(sets)]
        renames.clear()
        cert_files.write_certificate_files(
            state, name, files["privkey.pem"].encode(), files["cert.pem"], [files["chain.pem"]],
            json.loads(files["cert.json"]),
        )
    """
)


def write_set(state: Path, name: str, point: str, new_set: Path, old_set: Path | None = None, loop: int = 1):
    """Start the writer process; the caller waits for it."""
    env = ansible_env()
    env.update(STATE=str(state), NAME=name, KILL_POINT=point, NEW_SET=str(new_set), LOOP=str(loop))
    if old_set is not None:
        env["OLD_SET"] = str(old_set)
    return subprocess.Popen([sys.executable, "-c", WRITER], env=env)


def saved_set(directory: Path, target: Path) -> Path:
    """The five files of a certificate directory, as one JSON file the writer reads."""
    target.write_text(json.dumps({name: (directory / name).read_text() for name in FILE_SET}))
    return target


def pair_of(directory: Path) -> str:
    """The serial of the set ``directory`` holds, read as one set, after checking the key is the certificate's."""
    files = read_file_set(str(directory), FILE_SET)
    key = serialization.load_pem_private_key(files["privkey.pem"], password=None)
    leaf = x509.load_pem_x509_certificate(files["cert.pem"])
    assert public_key_der(key) == public_key_der(leaf.public_key()), "a key beside another certificate"
    assert files["fullchain.pem"] == files["cert.pem"] + files["chain.pem"]
    return "%x" % leaf.serial_number


@pytest.mark.rig
@pytest.mark.parametrize("wrong", ["missing path", "closed port"])
def test_a_run_that_never_reaches_the_ca_leaves_no_account_key(rig, tmp_path, wrong):
    url = urlsplit(rig["acme_directory"])
    if wrong == "missing path":
        directory = urlunsplit(url._replace(path="/wrong", query="", fragment=""))
    else:
        directory = urlunsplit(url._replace(netloc="%s:1" % url.hostname, path="/dir", query="", fragment=""))
    state = tmp_path / "state"
    cert = {"name": "no-account", "names": ["no-account.example.test"]}
    run = run_renew(role_vars(rig, state, [cert], letsencrypt_dns_acme_directory=directory), tmp_path)
    assert run.rc != 0, run.text()[-3000:]
    assert directory in run.stdout + run.stderr, run.text()[-3000:]
    assert not (state / ".acme").exists(), sorted(state_files(state))
    assert not any(path.startswith(".acme") for path in state_files(state))


@pytest.mark.rig
def test_a_kill_at_each_step_of_the_switch_never_shows_a_mismatched_pair(rig, tmp_path):
    """The old pair is issued in one state directory, the new pair (same names) in another; then, for each
    step of the switch, a copy of the old state gets the new pair from a process SIGKILLed at that step."""
    cert = {"name": "atomic", "names": ["atomic.example.test"]}
    issued = {}
    for which in ("old", "new"):
        run = run_renew(role_vars(rig, tmp_path / which, [cert]), tmp_path)
        assert run.rc == 0, run.text()[-4000:]
        issued[which] = pair_of(tmp_path / which / "atomic")
    assert issued["old"] != issued["new"]
    new_set = saved_set(tmp_path / "new" / "atomic", tmp_path / "new-set.json")

    for point in KILL_POINTS:
        state = tmp_path / ("killed-at-" + point)
        shutil.copytree(tmp_path / "old", state)
        (state / "atomic" / "order.json").write_text('{"kept": true}')
        writer = write_set(state, "atomic", point, new_set)
        assert writer.wait(timeout=60) == -signal.SIGKILL, point
        # What any reader sees now: the whole old pair, the whole new pair, or (between the renames) nothing.
        expected = {"commit": "old", "rename-1": None, "rename-2": "new", "rmtree": "new"}[point]
        if expected is None:
            assert not (state / "atomic").exists(), point
        else:
            assert pair_of(state / "atomic") == issued[expected], point
            assert key_matches_cert(state / "atomic"), point

        # The next run takes the lock, finishes the switch, and finds the new certificate not due.
        again = run_renew(role_vars(rig, state, [cert]), tmp_path)
        assert again.rc == 0, again.text()[-4000:]
        output = again.stdout + again.stderr
        assert "certificate 'atomic': finished writing its files" in output, (point, output[-3000:])
        assert pair_of(state / "atomic") == issued["new"], point
        assert key_matches_cert(state / "atomic"), point
        assert json.loads((state / "atomic" / "order.json").read_text()) == {"kept": True}, point
        assert sorted(os.listdir(state / "atomic")) == sorted((*FILE_SET, "order.json")), point
        assert not [entry for entry in os.listdir(state) if entry.endswith(".old")], point


def test_a_reader_never_sees_a_mismatched_pair_while_sets_switch(tmp_path):
    """A writer switches between two pairs 200 times while this process reads the pair as one set."""
    ca_key, ca = testca.make_ca(testca.x509_name("atomic test CA"), testca.now(), testca.now() + A_YEAR)
    sets = []
    for which in ("one", "two"):
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = testca.make_leaf(
            ca_key, ca.subject, key.public_key(), ["%s.test" % which], testca.now(), testca.now() + A_YEAR
        )
        files = {
            "privkey.pem": testca.key_pem(key),
            "cert.pem": testca.pem(leaf),
            "chain.pem": testca.pem(ca),
            "fullchain.pem": testca.pem(leaf) + testca.pem(ca),
            "cert.json": json.dumps({"serial": leaf.serial_number}),
        }
        sets.append(tmp_path / ("%s.json" % which))
        sets[-1].write_text(json.dumps(files))
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    first = write_set(state, "www", "none", sets[0])
    assert first.wait(timeout=60) == 0
    writer = write_set(state, "www", "none", sets[1], sets[0], loop=200)
    reads = set()
    try:
        while writer.poll() is None:
            reads.add(pair_of(state / "www"))
            time.sleep(0.001)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.wait() == 0
    assert len(reads) == 2, "the reader saw both pairs switch in"
    assert sorted(os.listdir(state)) == ["www"]
