# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_alb: the ACM import, then the default or an SNI certificate of an ELBv2 listener."""

from __future__ import annotations

import pytest
from aws_world import LISTENER, World, acm_arn, aws_error, pem, run

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.names import TAG_KEY, DeployError


def alb_world(default_arn: str, sni=()) -> World:
    world = World()
    world.listeners[LISTENER] = {"Protocol": "HTTPS", "default": default_arn, "sni": list(sni)}
    return world


def test_alb_default_role_imports_then_switches_the_default(files):
    world = alb_world(acm_arn(50))
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {}, "type": "IMPORTED"}
    result, _warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    new = result["arn"]
    assert result["changed"] and world.listeners[LISTENER]["default"] == new
    assert result["previous"] == {
        "arn": acm_arn(50),
        "name": None,
        "serial": "50",
        "not_after": result["previous"]["not_after"],
    }
    world.calls.clear()
    again, _warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    assert not again["changed"] and world.writes() == []


def test_alb_sni_role_adds_ours_and_removes_stale_ones_of_the_same_name(files):
    world = alb_world(acm_arn(50), sni=[acm_arn(60), acm_arn(61)])
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}  # the default: kept
    world.acm[acm_arn(60)] = {"pem": pem(0x60), "tags": {TAG_KEY: "www"}, "type": "IMPORTED"}
    world.acm[acm_arn(61)] = {"pem": pem(0x61), "tags": {TAG_KEY: "api"}, "type": "IMPORTED"}
    world.acm[acm_arn(70)] = {"pem": pem(0x70), "tags": {}, "type": "IMPORTED"}
    result, _warnings = run(
        world, files, type="aws_alb", listener_arn=LISTENER, role="sni", certificate_arn=acm_arn(70)
    )
    assert result["changed"] and result["removed"] == [acm_arn(60)]
    assert world.listeners[LISTENER] == {"Protocol": "HTTPS", "default": acm_arn(50), "sni": [acm_arn(61), acm_arn(70)]}
    order = [op for service, op in world.writes() if service == "elbv2"]
    assert order == ["add_listener_certificates", "remove_listener_certificates"]
    world.calls.clear()
    assert not run(world, files, type="aws_alb", listener_arn=LISTENER, role="sni", certificate_arn=acm_arn(70))[0][
        "changed"
    ]


def test_alb_wrong_listener_fails_before_the_import(files):
    world = alb_world(acm_arn(50))
    world.listeners[LISTENER]["Protocol"] = "HTTP"
    with pytest.raises(DeployError, match="is a HTTP listener"):
        run(world, files, type="aws_alb", listener_arn=LISTENER)
    with pytest.raises(DeployError, match="ListenerNotFound"):
        run(world, files, type="aws_alb", listener_arn=LISTENER.replace("fedcba", "000000"))
    assert world.writes() == [] and world.acm == {}


def test_alb_previous_certificate_we_may_not_read_is_only_a_warning(files):
    world = alb_world(acm_arn(50))
    world.acm[acm_arn(50)] = {"pem": pem(0x50), "tags": {}, "type": "IMPORTED"}
    world.fail("acm", "get_certificate", aws_error("AccessDeniedException", "GetCertificate", "not yours"))
    result, warnings = run(world, files, type="aws_alb", listener_arn=LISTENER)
    assert result["changed"] and world.listeners[LISTENER]["default"] == result["arn"]
    assert result["previous"] == {"arn": acm_arn(50), "name": None, "serial": None, "not_after": None}
    assert len(warnings) == 1 and "cannot read %s" % acm_arn(50) in warnings[0] and "not yours" in warnings[0]
