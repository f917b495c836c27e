# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy sequence with a fake server: commands and handshakes are recorded, files are real."""

from __future__ import annotations

import json
import os
import time

import pytest
from certgen import make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key, private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import pem_material, plan_targets
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.identity import Identity, pem_identity
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.server import (
    Deployment,
    default_commands,
    explain,
    pick_command,
    shell_runner,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import ServedCertError

VERIFY = {"host": "127.0.0.1", "port": 8443, "sni": "www.example.org", "timeout": 1}


def material(key=None, serial=None):
    key = key or generate_private_key("ec256")
    pem = make_cert(["www.example.org"], key=key, serial=serial).decode()
    return pem_material(private_key_pem(key).decode(), pem, None, None)


@pytest.fixture(scope="module")
def old():
    return material()


@pytest.fixture(scope="module")
def new():
    return material()


class FakeServer:
    """Loads the cert file on reload; serves what it loaded (or what ``serving`` forces), as an Identity."""

    def __init__(self, cert_path: str, loaded: str | None, fail: dict | None = None):
        self.cert_path = cert_path
        self.loaded = loaded
        self.fail = fail or {}
        self.commands: list[str] = []
        self.handshakes = 0
        self.serving = None

    def runner(self, command, timeout):
        self.commands.append(command)
        rc = self.fail.get(command, 0)
        if command == "reload" and rc == 0:
            with open(self.cert_path, encoding="ascii") as handle:
                pem = handle.read()
            self.loaded = pem_identity(pem)
        return {"command": command, "rc": rc, "stdout": "", "stderr": "boom\n" if rc else ""}

    def fetch(self, host, port, sni, timeout):
        self.handshakes += 1
        if self.serving == "down":
            raise ServedCertError("%s:%s refused" % (host, port))
        return self.serving or self.loaded


def deployment(tmp_path, material_, server, **extra):
    targets = plan_targets("www", "nginx", str(tmp_path / "tls"), material_, (0o644, 0o600))
    settings = {
        "validate_command": "validate",
        "reload_command": "reload",
        "verify": VERIFY,
        "verify_retries": 3,
        "verify_delay": 0,
        "runner": server.runner,
        "fetch": server.fetch,
        "sleep": lambda seconds: None,
    }
    settings.update(extra)
    return Deployment("www", "nginx", targets, material_.identity, **settings)


def install(tmp_path, material_):
    for target in plan_targets("www", "nginx", str(tmp_path / "tls"), material_, (0o644, 0o600)):
        os.makedirs(os.path.dirname(target.path), exist_ok=True)
        with open(target.path, "wb") as handle:
            handle.write(target.content)
        os.chmod(target.path, target.mode)


def cert_file(tmp_path) -> str:
    return str(tmp_path / "tls" / "www" / "cert.pem")


def snapshot(tmp_path) -> dict:
    found = {}
    for directory, _dirs, files in os.walk(tmp_path / "tls"):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[path] = (handle.read(), os.stat(path).st_mode)
    return found


def no_key(result, *materials) -> None:
    text = json.dumps(result)
    for item in materials:
        for line in item.privkey.splitlines()[1:-1]:
            assert line not in text


def test_default_commands():
    assert default_commands("nginx") == ("nginx -t", "nginx -s reload")
    assert default_commands("apache", which=lambda name: "/usr/sbin/apache2ctl") == (
        "apache2ctl configtest",
        "apache2ctl graceful",
    )
    assert default_commands("apache", which=lambda name: None) == ("apachectl configtest", "apachectl graceful")
    assert default_commands("haproxy") == ("haproxy -c -f /etc/haproxy/haproxy.cfg", "systemctl reload haproxy")
    assert default_commands("files") == (None, None)
    assert pick_command(None, "nginx -t") == "nginx -t"
    assert pick_command("  ", "nginx -t") is None
    assert pick_command("mine", "nginx -t") == "mine"


@pytest.fixture
def run_command(ansible_module):
    """The runner cert_deploy uses: /bin/sh -c through a real AnsibleModule's run_command."""
    return shell_runner(ansible_module.run_command)


def test_run_command_keeps_tails_and_codes(run_command):
    output = run_command("for i in $(seq 1 50); do echo line$i; done; echo oops >&2; exit 4", 10)
    assert output["rc"] == 4
    assert output["stdout"].splitlines()[-1] == "line50" and "line1\n" not in output["stdout"]
    assert output["stderr"] == "oops"
    assert (
        explain(output)
        == "'for i in $(seq 1 50); do echo line$i; done; echo oops >&2; exit 4' exited with code 4: oops"
    )


def test_run_command_does_not_wait_for_a_daemon_it_started(run_command):
    started = time.monotonic()
    output = run_command("sleep 5 & echo started", 10)
    assert output["rc"] == 0 and output["stdout"] == "started"
    assert time.monotonic() - started < 3


def test_run_command_timeout(run_command, tmp_path):
    marker = tmp_path / "still-running"
    output = run_command("(sleep 2; touch %s) & sleep 5" % marker, 0.3)
    assert output["rc"] is None and output["stderr"] == "no exit within 0.3s; stopped it and what it started"
    time.sleep(2.5)
    assert not marker.exists(), "the command's children are stopped too"


def test_first_deploy(tmp_path, new):
    server = FakeServer(cert_file(tmp_path), None)
    result = deployment(tmp_path, new, server).run()
    assert "failed" not in result, result
    assert result["changed"] and not result["rolled_back"]
    assert result["served_serial"] == result["expected_serial"] == new.serial
    assert result["served_fingerprint"] == result["expected_fingerprint"] == new.identity.fingerprint
    assert len(new.identity.fingerprint) == 64
    assert result["previous_serial"] is None and result["previous_fingerprint"] is None
    assert server.commands == ["validate", "reload"]
    assert oct(os.stat(tmp_path / "tls" / "www" / "privkey.pem").st_mode & 0o777) == "0o600"
    no_key(result, new)


def test_unchanged_runs_nothing(tmp_path, new):
    install(tmp_path, new)
    server = FakeServer(cert_file(tmp_path), new.identity)
    result = deployment(tmp_path, new, server).run()
    assert result["changed"] is False and server.commands == []
    assert result["validate"] is None and result["reload"] is None
    assert server.handshakes == 1


def test_unchanged_but_never_loaded_is_reloaded(tmp_path, old, new):
    install(tmp_path, new)
    server = FakeServer(cert_file(tmp_path), old.identity)
    checked = deployment(tmp_path, new, server).run(check_mode=True)
    assert checked["changed"] is True and server.commands == []
    result = deployment(tmp_path, new, server).run()
    assert result["changed"] is True and "failed" not in result
    assert server.commands == ["validate", "reload"]
    assert result["served_serial"] == new.serial


def test_unchanged_and_endpoint_down_is_a_warning(tmp_path, new):
    install(tmp_path, new)
    server = FakeServer(cert_file(tmp_path), new.identity)
    server.serving = "down"
    run = deployment(tmp_path, new, server)
    result = run.run()
    assert result["changed"] is False and "failed" not in result
    assert run.warnings and "refused" in run.warnings[0]


def test_check_mode_changes_nothing(tmp_path, old, new):
    install(tmp_path, old)
    before = snapshot(tmp_path)
    server = FakeServer(cert_file(tmp_path), old.identity)
    result = deployment(tmp_path, new, server).run(check_mode=True, diff=True)
    assert result["changed"] is True
    assert [entry["kind"] for entry in result["files"] if entry["changed"]] == ["privkey", "cert", "fullchain"]
    assert snapshot(tmp_path) == before and server.commands == []
    assert new.serial in result["diff"]["after"] and old.serial in result["diff"]["before"]
    assert "privkey.pem: mode 0600" in result["diff"]["before"]
    no_key(result, old, new)


def rolled_back(tmp_path, old, new, fail=None, serving=None) -> tuple[dict, FakeServer]:
    """Deploy ``new`` over ``old`` on a server that fails as told: it must fail, rolled back to the old files."""
    install(tmp_path, old)
    before = snapshot(tmp_path)
    server = FakeServer(cert_file(tmp_path), old.identity, fail=fail or {})
    if serving:
        server.serving = serving
    result = deployment(tmp_path, new, server).run()
    assert result["failed"] and result["rolled_back"]
    assert snapshot(tmp_path) == before
    return result, server


def test_validate_failure_restores_and_does_not_reload(tmp_path, old, new):
    result, server = rolled_back(tmp_path, old, new, fail={"validate": 1})
    assert server.commands == ["validate"]
    assert result["served_serial"] == old.serial
    assert "the configuration test 'validate' exited with code 1: boom" in result["msg"]
    assert "nothing was reloaded" in result["msg"]
    assert "serves the previous certificate (%s)" % old.identity in result["msg"]
    assert result["served_fingerprint"] == old.identity.fingerprint
    no_key(result, old, new)


def test_reload_failure_restores_and_reloads_again(tmp_path, old, new):
    result, server = rolled_back(tmp_path, old, new, fail={"reload": 1})
    assert server.commands == ["validate", "reload", "reload"]
    assert "the reload 'reload' exited with code 1" in result["msg"]


def test_verify_mismatch_rolls_back(tmp_path, old, new):
    stranger = Identity("AB" * 32, "ABC123")
    result, server = rolled_back(tmp_path, old, new, serving=stranger)
    assert server.commands == ["validate", "reload", "reload"]
    assert server.handshakes == 8  # 1 + 3 retries for the new one, as many for the old one
    message = result["msg"]
    assert message.startswith("certificate 'www' (nginx): after the reload 127.0.0.1:8443 (SNI www.example.org)")
    assert (
        "serves serial ABC123, SHA-256 ABABABABABABABAB, not the new certificate (serial %s, SHA-256 %s)"
        % (new.serial, new.identity.fingerprint[:16])
        in message
    )
    assert (
        "NOT the previous certificate (serial %s, SHA-256 %s)" % (old.serial, old.identity.fingerprint[:16]) in message
    )
    assert (result["served_serial"], result["served_fingerprint"]) == ("ABC123", "AB" * 32)


def test_same_serial_other_certificate_is_not_the_new_one(tmp_path):
    """A serial can be shared: the served certificate counts only when its DER has the SHA-256 of the new one."""
    key = generate_private_key("ec256")
    old, new, impostor = (material(key, serial=4242) for _copy in range(3))
    assert old.serial == new.serial == impostor.serial == "1092"
    assert len({old.identity.fingerprint, new.identity.fingerprint, impostor.identity.fingerprint}) == 3
    result, _server = rolled_back(tmp_path, old, new, serving=impostor.identity)
    assert result["served_serial"] == result["expected_serial"] == "1092"
    assert result["served_fingerprint"] == impostor.identity.fingerprint
    assert result["expected_fingerprint"] == new.identity.fingerprint
    assert result["previous_fingerprint"] == old.identity.fingerprint
    assert "not the new certificate (serial 1092, SHA-256 %s)" % new.identity.fingerprint[:16] in result["msg"]
    assert "serves serial 1092, SHA-256 %s" % impostor.identity.fingerprint[:16] in result["msg"]


def test_verify_waits_for_the_server(tmp_path, old, new):
    install(tmp_path, old)
    server = FakeServer(cert_file(tmp_path), old.identity)
    answers = iter([old.identity, old.identity])
    real_fetch = server.fetch

    def slow(*args):
        return next(answers, None) or real_fetch(*args)

    naps = []
    result = deployment(tmp_path, new, server, fetch=slow, verify_delay=0.5, sleep=naps.append).run()
    assert "failed" not in result and result["served_serial"] == new.serial
    assert naps == [0.5, 0.5]


def test_without_verify_nothing_is_asked(tmp_path, new):
    server = FakeServer(cert_file(tmp_path), None)
    result = deployment(tmp_path, new, server, verify=None, validate_command=None).run()
    assert "failed" not in result and server.commands == ["reload"] and server.handshakes == 0
    assert result["served_serial"] is None and "not verified" in result["msg"]
