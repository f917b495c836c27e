# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_deploy run by ansible against real nginx, apache2 and haproxy on loopback ports.

The servers are started by tests/integration/webservers.py from their own
configuration files in a temporary directory, serving an "old" certificate;
the module deploys a "new" one. No rig is needed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from playbook_runner import REPO, adhoc_command, ansible_env, run_module
from webservers import (
    CERT,
    SERVERS,
    SNI,
    DecoyTLS,
    DeployCA,
    assert_no_key,
    available,
    served_serial,
    wait_for_serial,
    write_deployed,
)

KINDS = ["nginx", "apache", "haproxy"]


@pytest.fixture(scope="module")
def ca():
    return DeployCA()


@pytest.fixture
def leaves(ca):
    """Old, new and an unrelated certificate (for the decoy), each with its own key and serial."""
    return {"old": ca.leaf(), "new": ca.leaf(), "other": ca.leaf(("other.deploy.test",))}


def started(kind: str, tmp_path, leaf):
    """A server of ``kind`` on ``leaf`` for one test (skipped when not installed), stopped after it."""
    if not available(kind):
        pytest.skip("%s is not installed (bash scripts/install-system-deps.sh)" % kind)
    instance = SERVERS[kind](tmp_path / kind, leaf).start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=KINDS)
def server(request, tmp_path, leaves):
    yield from started(request.param, tmp_path, leaves["old"])


@pytest.fixture
def nginx(tmp_path, leaves):
    yield from started("nginx", tmp_path, leaves["old"])


def file_text(server, kind: str = "fullchain") -> str:
    if server.bundle:
        return (server.dest / ("%s.pem" % CERT)).read_text()
    return (server.dest / CERT / ("%s.pem" % kind)).read_text()


def test_deploy_then_nothing_to_do(server, leaves):
    old, new = leaves["old"], leaves["new"]
    args = server.deploy_args(new)

    checked = run_module("cert_deploy", args, check=True)
    assert checked["changed"] is True, checked
    assert all(entry["changed"] for entry in checked["files"] if entry["kind"] != "chain")
    assert checked["reload"] is None and checked["validate"] is None
    assert server.reloads() == 0
    assert old.cert in file_text(server)
    assert served_serial(server.port) == old.serial

    result = run_module("cert_deploy", args)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["rolled_back"] is False
    assert result["expected_serial"] == new.serial
    assert result["previous_serial"] == old.serial
    assert result["served_serial"] == new.serial
    assert result["validate"]["rc"] == 0 and result["reload"]["rc"] == 0
    assert server.reloads() == 1
    assert served_serial(server.port) == new.serial
    assert new.fullchain in file_text(server)
    assert stat.S_IMODE(os.stat(server.key_path()).st_mode) == 0o600
    if not server.bundle:
        assert stat.S_IMODE(os.stat(server.dest / CERT / "cert.pem").st_mode) == 0o644
        assert (server.dest / CERT / "privkey.pem").read_text() == new.privkey
        assert (server.dest / CERT / "chain.pem").read_text() == new.chain
    else:
        assert file_text(server) == new.privkey + new.fullchain
    pids = server.current_pids() if server.kind == "haproxy" else None

    again = run_module("cert_deploy", args)
    assert not again.get("failed"), again
    assert again["changed"] is False
    assert again["validate"] is None and again["reload"] is None
    assert again["served_serial"] == new.serial
    assert server.reloads() == 1
    if pids is not None:
        assert server.current_pids() == pids
    assert_no_key(json.dumps([checked, result, again]), old, new)


def test_broken_configuration_keeps_the_old_certificate(server, leaves):
    old, new = leaves["old"], leaves["new"]
    before = file_text(server)
    server.break_config()
    try:
        result = run_module("cert_deploy", server.deploy_args(new))
    finally:
        server.repair_config()
    assert result.get("failed") is True, result
    assert result["rolled_back"] is True
    assert result["validate"]["rc"] != 0
    assert result["reload"] is None
    assert "configuration test" in result["msg"]
    assert "'%s'" % CERT in result["msg"]
    assert result["served_serial"] == old.serial
    assert server.reloads() == 0
    assert file_text(server) == before
    assert stat.S_IMODE(os.stat(server.key_path()).st_mode) == 0o600
    assert served_serial(server.port) == old.serial
    assert_no_key(json.dumps(result), old, new)


def test_verify_failure_rolls_back(server, leaves, tmp_path):
    old, new, other = leaves["old"], leaves["new"], leaves["other"]
    before = file_text(server)
    decoy = DecoyTLS(other, tmp_path / "decoy")
    try:
        args = server.deploy_args(new, verify={"host": "127.0.0.1", "port": decoy.port, "sni": SNI, "timeout": 3})
        args.update(verify_retries=2, verify_delay=0.2)
        result = run_module("cert_deploy", args)
    finally:
        decoy.stop()
    assert result.get("failed") is True, result
    assert result["rolled_back"] is True
    message = result["msg"]
    assert "'%s'" % CERT in message
    assert "127.0.0.1:%d" % decoy.port in message
    assert "serial %s" % other.serial in message
    assert new.serial in message
    assert result["reload"]["rc"] == 0 and result["rollback_reload"]["rc"] == 0
    assert server.reloads() == 2
    assert file_text(server) == before
    # The rollback reloaded the old files: the server itself serves the old certificate again.
    assert wait_for_serial(server.port, old.serial) == old.serial
    assert_no_key(json.dumps(result), old, new)


def test_first_deploy_rolls_back_to_nothing(tmp_path, leaves):
    """A files deploy whose reload fails leaves no file behind when there were none before."""
    new = leaves["new"]
    dest = tmp_path / "tls"
    result = run_module(
        "cert_deploy",
        {"cert": CERT, "type": "files", "dest": str(dest), "reload_command": "exit 3", **new.module_args()},
    )
    assert result.get("failed") is True, result
    assert result["rolled_back"] is True
    assert result["reload"]["rc"] == 3
    assert not dest.exists()


def test_files_type(tmp_path, leaves):
    new = leaves["new"]
    dest = tmp_path / "out" / "tls"
    marker = tmp_path / "reloaded"
    args = {
        "cert": CERT,
        "type": "files",
        "dest": str(dest),
        "privkey": new.privkey,
        "fullchain_pem": new.fullchain,
        "group": str(os.getgid()),
        "mode": "0640",
        "reload_command": "echo reload >> %s" % marker,
    }
    checked = run_module("cert_deploy", args, check=True)
    assert checked["changed"] is True and not dest.exists()

    result = run_module("cert_deploy", args)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["validate"] is None
    assert result["served_serial"] is None
    assert marker.read_text() == "reload\n"
    assert sorted(entry["kind"] for entry in result["files"]) == ["cert", "chain", "fullchain", "privkey"]
    assert (dest / CERT / "cert.pem").read_text() == new.cert
    assert (dest / CERT / "chain.pem").read_text() == new.chain
    assert (dest / CERT / "fullchain.pem").read_text() == new.fullchain
    assert (dest / CERT / "privkey.pem").read_text() == new.privkey
    assert stat.S_IMODE(os.stat(dest / CERT / "privkey.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest / CERT / "cert.pem").st_mode) == 0o640

    again = run_module("cert_deploy", args)
    assert again["changed"] is False
    assert marker.read_text() == "reload\n"

    os.chmod(dest / CERT / "cert.pem", 0o600)
    fixed = run_module("cert_deploy", args)
    assert fixed["changed"] is True
    assert [entry["changes"] for entry in fixed["files"] if entry["changed"]] == [["mode"]]
    assert stat.S_IMODE(os.stat(dest / CERT / "cert.pem").st_mode) == 0o640
    assert_no_key(json.dumps([checked, result, again, fixed]), new)


def run_adhoc(args: dict, *extra: str) -> subprocess.CompletedProcess:
    """ansible localhost -m certfleet.acme.cert_deploy with extra flags (-vvv, --diff), its whole output."""
    command = adhoc_command("cert_deploy", args, *extra)
    # ansible-core 2.21 returns the invocation (the masked arguments) only when asked to; older ones always do.
    env = dict(ansible_env(), ANSIBLE_INJECT_INVOCATION="1")
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=REPO, check=False)


def test_nginx_verbose_diff_shows_no_key(nginx, leaves):
    old, new = leaves["old"], leaves["new"]
    args = nginx.deploy_args(new)
    checked = run_adhoc(args, "-vvv", "--diff", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert str(nginx.dest / CERT / "privkey.pem") in checked.stdout
    assert "certificate serial %s" % new.serial in checked.stdout
    assert nginx.reloads() == 0

    deployed = run_adhoc(args, "-vvv", "--diff")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert '"served_serial": "%s"' % new.serial in deployed.stdout
    assert served_serial(nginx.port) == new.serial
    for run in (checked, deployed):
        assert_no_key(run.stdout + run.stderr, old, new)
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout


def test_bad_input_changes_nothing(tmp_path, leaves):
    old, new = leaves["old"], leaves["new"]
    dest = tmp_path / "tls"
    mismatched = dict(new.module_args(), privkey=old.privkey)
    result = run_module("cert_deploy", {"cert": CERT, "type": "files", "dest": str(dest), **mismatched})
    assert result.get("failed") is True
    assert "privkey is not the key of the certificate" in result["msg"]
    assert not dest.exists()
    bad_name = run_module("cert_deploy", {"cert": "../x", "type": "files", "dest": str(dest), **new.module_args()})
    assert "cert value '../x'" in bad_name["msg"]
    assert_no_key(json.dumps([result, bad_name]), old, new)


def test_files_in_place_but_not_loaded_are_reloaded(nginx, leaves):
    """A run that ended after writing and before its reload left the new files on an old server."""
    old, new = leaves["old"], leaves["new"]
    write_deployed(nginx.dest, CERT, new)
    args = nginx.deploy_args(new)
    checked = run_module("cert_deploy", args, check=True)
    assert checked["changed"] is True
    assert not any(entry["changed"] for entry in checked["files"])
    assert checked["served_serial"] == old.serial
    assert nginx.reloads() == 0

    result = run_module("cert_deploy", args)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["reload"]["rc"] == 0
    assert result["served_serial"] == new.serial
    assert nginx.reloads() == 1
    assert served_serial(nginx.port) == new.serial
