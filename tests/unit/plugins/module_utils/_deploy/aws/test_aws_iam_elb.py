# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_iam_elb: dated uploads, the listener switch and its rollback, and the cleanup of old certificates."""

from __future__ import annotations

import pytest
from aws_world import LISTENER, World, acm_arn, aws_error, iam_arn, run

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import DeployError


def iam_world(current_serial: int = 0x100) -> World:
    world = World()
    old = world.add_iam("www-20250101000000", current_serial)
    world.elb["web"] = {443: {"Protocol": "HTTPS", "SSLCertificateId": old}, 80: {"Protocol": "HTTP"}}
    return world


def iam_params(**extra):
    return dict(type="aws_iam_elb", load_balancer_name="web", **extra)


def test_iam_upload_switch_then_delete_the_old_one(files):
    world = iam_world()
    result, warnings = run(world, files, **iam_params())
    assert result["changed"] and result["name"] == "www-20250301120000" and not warnings
    assert world.elb["web"][443]["SSLCertificateId"] == iam_arn("www-20250301120000")
    assert result["previous"]["name"] == "www-20250101000000" and result["previous"]["serial"] == "0100"
    assert result["removed"] == ["www-20250101000000"] and list(world.iam) == ["www-20250301120000"]
    order = world.writes()
    assert order == [
        ("iam", "upload_server_certificate"),
        ("elb", "set_load_balancer_listener_ssl_certificate"),
        ("iam", "delete_server_certificate"),
    ]
    world.calls.clear()
    again, _warnings = run(world, files, **iam_params())
    assert not again["changed"] and again["name"] == "www-20250301120000" and world.writes() == []


def test_iam_check_mode_plans_everything_and_does_nothing(files):
    world = iam_world()
    result, _warnings = run(world, files, check_mode=True, **iam_params())
    assert result["changed"] and result["arn"] is None and result["name"] == "www-20250301120000"
    assert result["removed"] == ["www-20250101000000"] and world.writes() == []
    assert all(action.startswith("would ") for action in result["actions"])


def test_iam_a_failed_switch_keeps_the_old_certificate_and_deletes_nothing(files):
    world = iam_world()
    world.fail(
        "elb",
        "set_load_balancer_listener_ssl_certificate",
        aws_error("AccessDenied", "SetLoadBalancerListenerSSLCertificate", "no"),
    )
    with pytest.raises(DeployError) as caught:
        run(world, files, **iam_params())
    message = str(caught.value)
    assert message.startswith(
        "aws_iam_elb load balancer web port 443: SetLoadBalancerListenerSSLCertificate: AccessDenied"
    )
    assert "still uses its previous certificate" in message
    assert world.elb["web"][443]["SSLCertificateId"] == iam_arn("www-20250101000000")
    assert "www-20250101000000" in world.iam and ("iam", "delete_server_certificate") not in world.writes()
    assert caught.value.result["changed"] and caught.value.result["name"] == "www-20250301120000"
    # The next run reuses what the failed one uploaded and finishes the job.
    world.calls.clear()
    result, _warnings = run(world, files, **iam_params())
    assert ("iam", "upload_server_certificate") not in world.writes()
    assert result["name"] == "www-20250301120000" and result["removed"] == ["www-20250101000000"]


def test_iam_listener_that_never_reports_the_new_certificate_is_rolled_back(files):
    world = iam_world()
    world.elb_ignores_switch = True
    with pytest.raises(DeployError, match="does not report"):
        run(world, files, **iam_params())
    switches = [params["SSLCertificateId"] for service, op, params in world.calls if op.startswith("set_load")]
    assert switches == [iam_arn("www-20250301120000"), iam_arn("www-20250101000000")]
    assert "www-20250101000000" in world.iam


def test_iam_certificate_not_found_right_after_upload_is_retried(files):
    world = iam_world()
    world.fail(
        "elb",
        "set_load_balancer_listener_ssl_certificate",
        aws_error("CertificateNotFound"),
        aws_error("CertificateNotFound"),
    )
    result, _warnings = run(world, files, **iam_params())
    assert result["changed"] and world.elb["web"][443]["SSLCertificateId"] == result["arn"]


def test_iam_name_taken_elsewhere_moves_a_second_on(files):
    world = iam_world()
    world.add_iam("www-20250301120000", 0x5, path="/elsewhere/")
    result, _warnings = run(world, files, **iam_params())
    assert result["name"] == "www-20250301120001"


def test_iam_keeps_certificates_other_listeners_use_and_what_it_cannot_check(files):
    world = iam_world()
    world.add_iam("www-20241201000000", 0x50)
    world.elb["other"] = {443: {"Protocol": "HTTPS", "SSLCertificateId": iam_arn("www-20241201000000")}}
    world.listeners[LISTENER] = {"Protocol": "HTTPS", "default": acm_arn(1), "sni": [iam_arn("www-20250101000000")]}
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and not warnings
    assert {"www-20241201000000", "www-20250101000000"} <= set(world.iam)

    world = iam_world()
    world.fail("elbv2", "describe_load_balancers", aws_error("AccessDenied", "DescribeLoadBalancers", "no elbv2"))
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and "www-20250101000000" in world.iam
    assert len(warnings) == 1 and "cannot tell whether they are in use" in warnings[0] and "no elbv2" in warnings[0]

    world = iam_world()
    world.fail("iam", "delete_server_certificate", aws_error("DeleteConflict", "DeleteServerCertificate", "in use"))
    result, warnings = run(world, files, **iam_params())
    assert result["removed"] == [] and "kept IAM server certificate www-20250101000000" in warnings[0]


def test_iam_bad_targets_fail_before_any_upload(files):
    world = iam_world()
    with pytest.raises(
        DeployError, match="aws_iam_elb load balancer nope port 443: DescribeLoadBalancers: LoadBalancerNotFound"
    ):
        run(world, files, type="aws_iam_elb", load_balancer_name="nope")
    with pytest.raises(DeployError, match="no listener on port 8443"):
        run(world, files, **iam_params(listener_port=8443))
    with pytest.raises(DeployError, match="is a HTTP listener"):
        run(world, files, **iam_params(listener_port=80))
    assert world.writes() == []


def test_iam_cleanup_off_deletes_nothing(files):
    world = iam_world()
    result, _warnings = run(world, files, **iam_params(cleanup=False))
    assert result["changed"] and result["removed"] == [] and "www-20250101000000" in world.iam
