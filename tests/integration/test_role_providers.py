# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml end to end through PowerDNS alone and through a zone dual-hosted on BIND and PowerDNS."""

from __future__ import annotations

import secrets

import pytest
from playbook_runner import role_vars, run_renew
from test_role import assert_issued_for, assert_names_empty, assert_second_run_changes_nothing, challenge_names, issue

pytestmark = pytest.mark.rig

CERTIFICATES = [
    {"name": "pdns-only", "names": ["x.pdns.test"]},
    {"name": "dual", "names": ["dual.test", "*.dual.test"]},
    # A BIND-only zone in the same run, next to the two PowerDNS ones.
    {"name": "bind-only", "names": ["providers.example3.test"]},
]


def servers_of(rig: dict, name: str) -> list[str]:
    """Every server that holds a copy of the zone of ``name``: BIND's primary and secondaries, PowerDNS."""
    servers = []
    if not name.endswith(".pdns.test"):
        servers += [rig["primary"]] + rig["secondaries"]
    if name.endswith((".pdns.test", ".dual.test")):
        servers.append(rig["powerdns"]["address"])
    return servers


def assert_no_challenge_values(rig: dict, certificates, lag: float = 30.0) -> None:
    """No value left on any server of either provider (secondaries get their NOTIFY lag)."""
    assert_names_empty(rig, challenge_names(certificates), lag, servers_of)


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    providers = [rig["provider"], rig["powerdns_provider"]]
    return issue(rig, tmp_path_factory.mktemp("providers"), CERTIFICATES, letsencrypt_dns_providers=providers)


@pytest.mark.parametrize("cert", CERTIFICATES, ids=lambda cert: cert["name"])
def test_certificate_is_issued_and_verifies(issued, pebble_root_file, cert):
    directory = issued["state"] / cert["name"]
    assert_issued_for(directory, cert["names"], pebble_root_file)
    assert not (directory / "order.json").exists()


def test_no_challenge_value_left_at_either_provider(rig, issued):
    assert_no_challenge_values(rig, CERTIFICATES)


def test_the_api_key_is_not_in_the_output(rig, issued):
    assert rig["powerdns"]["api_key"] not in issued["run"].text()


def test_second_run_changes_nothing(issued):
    assert_second_run_changes_nothing(issued)


def test_a_failing_provider_of_the_dual_hosted_zone_costs_only_its_certificates(rig, tmp_path):
    state = tmp_path / "state"
    broken = dict(rig["powerdns_provider"], api_key="wrong-" + secrets.token_urlsafe(12))
    certificates = [
        {"name": "dual-broken", "names": ["broken.dual.test"]},
        {"name": "bind-kept", "names": ["kept.example3.test"]},
    ]
    run = run_renew(role_vars(rig, state, certificates, letsencrypt_dns_providers=[rig["provider"], broken]), tmp_path)
    assert run.rc != 0
    assert (state / "bind-kept" / "cert.pem").exists()
    assert not (state / "dual-broken" / "cert.pem").exists()
    text = run.text()
    assert "dual-broken" in text and "rig-pdns" in text
    assert broken["api_key"] not in text and rig["powerdns"]["api_key"] not in text
    # What landed at BIND for the dual-hosted name is gone again.
    assert_no_challenge_values(rig, certificates)
