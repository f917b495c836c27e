# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml's deploy stage when the served certificate is not the new one: rolled back, named, the rest deployed.

Apache's entry verifies at a decoy endpoint that serves an unrelated
certificate, as when ``verify`` names the wrong port or a load balancer in
front still serves something else. apache2 itself accepts the new files, but
the check after the reload cannot see them: the role's deploy must put the
previous files back, reload again, and fail the run naming host and
certificate, while nginx on the same host gets its new certificate. One run.
"""

from __future__ import annotations

import pytest
from playbook_runner import role_vars, run_renew
from webservers import (
    DecoyTLS,
    DeployCA,
    Leaf,
    assert_no_key,
    deploy_results,
    expected_files,
    failure_message,
    role_cert,
    wait_for_serial,
)

KINDS = ("apache", "nginx")


@pytest.fixture
def decoy(tmp_path):
    endpoint = DecoyTLS(DeployCA("decoy CA").leaf(("decoy.deploy.test",)), tmp_path / "decoy")
    try:
        yield endpoint
    finally:
        endpoint.stop()


def test_role_rolls_back_a_deploy_whose_verify_fails(rig, tmp_path, servers, decoy):
    apache, nginx = servers["apache"], servers["nginx"]
    state = tmp_path / "state"
    deploy = [
        apache.role_entry(
            verify={"host": "127.0.0.1", "port": decoy.port, "sni": apache.sni, "timeout": 3},
            verify_retries=2,
            verify_delay=0.5,
        ),
        nginx.role_entry(),
    ]
    variables = role_vars(rig, state, [role_cert(kind) for kind in KINDS], letsencrypt_dns_deploy=deploy)

    run = run_renew(variables, tmp_path)
    assert run.rc != 0, run.text()[-4000:]
    issued = {server.cert: Leaf.issued(state, server.cert) for server in servers.values()}
    result = deploy_results(run)[apache.cert]
    assert result["rolled_back"] is True, result
    assert result["reload"]["rc"] == 0 and result["rollback_reload"]["rc"] == 0
    assert apache.reloads() == 2
    # The previous files are back on disk, and after the second reload apache serves them again.
    assert apache.files() == expected_files(apache.old)
    assert wait_for_serial(apache.port, apache.old.serial, sni=apache.sni) == apache.old.serial

    message = failure_message(run)
    assert "%s (deploy: apache on localhost" % apache.cert in message
    assert "127.0.0.1:%d" % decoy.port in message
    assert "serves serial %s, SHA-256 " % decoy.serial in message
    assert ", not the new certificate (serial %s, SHA-256 " % issued[apache.cert].serial in message
    assert "%s (deploy" % nginx.cert not in message

    assert not deploy_results(run)[nginx.cert].get("failed")
    assert nginx.served() == issued[nginx.cert].serial
    assert nginx.files() == expected_files(issued[nginx.cert])
    assert "PRIVATE KEY" not in run.text()
    assert_no_key(run.text(), apache.old, *issued.values())
