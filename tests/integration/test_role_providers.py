# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml end to end through PowerDNS alone and through a zone dual-hosted on BIND and PowerDNS."""

from __future__ import annotations

import secrets
import subprocess

import pytest
from cryptography import x509
from playbook_runner import role_vars, run_renew
from test_role import assert_names_empty

pytestmark = pytest.mark.rig

CERTIFICATES = [
    {"name": "pdns-only", "names": ["x.pdns.test"]},
    {"name": "dual", "names": ["dual.test", "*.dual.test"]},
    # A BIND-only zone in the same run, next to the two PowerDNS ones.
    {"name": "bind-only", "names": ["providers.example3.test"]},
]


def challenge_names(certificates) -> set[str]:
    return {"_acme-challenge." + name.removeprefix("*.") for cert in certificates for name in cert["names"]}


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
def pebble_root(rig, rig_module, tmp_path_factory):
    path = tmp_path_factory.mktemp("root") / "root.pem"
    path.write_text(rig_module.pebble_root(rig))
    return path


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("providers")
    state = tmp / "state"
    providers = [rig["provider"], rig["powerdns_provider"]]
    variables = role_vars(rig, state, CERTIFICATES, letsencrypt_dns_providers=providers)
    run = run_renew(variables, tmp)
    assert run.rc == 0, run.text()[-4000:]
    return {"state": state, "vars": variables, "tmp": tmp, "run": run}


@pytest.mark.parametrize("cert", CERTIFICATES, ids=lambda cert: cert["name"])
def test_certificate_is_issued_and_verifies(issued, pebble_root, cert):
    directory = issued["state"] / cert["name"]
    leaf = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(sans) == sorted(cert["names"])
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(pebble_root), "-untrusted", str(directory / "chain.pem")]
        + [str(directory / "cert.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not (directory / "order.json").exists()


def test_no_challenge_value_left_at_either_provider(rig, issued):
    assert_no_challenge_values(rig, CERTIFICATES)


def test_the_api_key_is_not_in_the_output(rig, issued):
    assert rig["powerdns"]["api_key"] not in issued["run"].text()


def test_second_run_changes_nothing(issued):
    before = {path: path.read_bytes() for path in issued["state"].rglob("*.pem")}
    again = run_renew(issued["vars"], issued["tmp"])
    assert again.rc == 0, again.text()[-4000:]
    assert again.stats["changed"] == 0
    assert {path: path.read_bytes() for path in issued["state"].rglob("*.pem")} == before


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
