# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml issues on the rig, then deploys to a real nginx: verified, idempotent, rolled back when broken."""

from __future__ import annotations

import json

import pytest
from playbook_runner import role_vars, run_renew
from webservers import CERT, DeployCA, Nginx, available, served_serial

NAME = "deploy-www.example.test"


def issued_serial(state) -> int:
    return int(json.loads((state / CERT / "cert.json").read_text())["serial"], 16)


@pytest.fixture
def nginx(tmp_path):
    if not available("nginx"):
        pytest.skip("nginx is not installed (bash scripts/install-system-deps.sh)")
    server = Nginx(tmp_path / "nginx", DeployCA().leaf((NAME,))).start()
    try:
        yield server
    finally:
        server.stop()


def test_role_deploys_verifies_and_rolls_back(rig, tmp_path, nginx):
    state = tmp_path / "state"
    deploy = [
        {
            "cert": CERT,
            "type": "nginx",
            "dest": str(nginx.dest),
            "verify": {"host": "127.0.0.1", "port": nginx.port, "sni": NAME},
            "validate_command": nginx.validate_command,
            "reload_command": nginx.reload_command,
        }
    ]
    variables = role_vars(rig, state, [{"name": CERT, "names": [NAME]}], letsencrypt_dns_deploy=deploy)

    first = run_renew(variables, tmp_path)
    assert first.rc == 0, first.text()[-4000:]
    served = int(served_serial(nginx.port, NAME), 16)
    assert served == issued_serial(state)
    reloads = nginx.reloads()
    assert reloads == 1

    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert again.stats["changed"] == 0
    assert nginx.reloads() == reloads

    # A broken configuration: the renewed certificate is issued, its deploy fails validation and is rolled
    # back, nginx keeps serving the previous certificate, and the run fails naming host and certificate.
    nginx.break_config()
    try:
        broken = run_renew(dict(variables, letsencrypt_dns_force=True), tmp_path)
    finally:
        nginx.repair_config()
    assert broken.rc != 0
    assert issued_serial(state) != served
    assert int(served_serial(nginx.port, NAME), 16) == served
    failed = broken.task_results("Fail naming every certificate that was not issued")[0]
    assert "%s (deploy: nginx on localhost" % CERT in failed["msg"]
    deployed = broken.task_results("Deploy certificates to the web servers of this host")[0]
    assert deployed["results"][0]["rolled_back"] is True
    assert "PRIVATE KEY" not in broken.text()
