# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml end to end on the rig: real Pebble, real BIND9 with lagging secondaries."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from playbook_runner import role_vars, run_module, run_renew, txt_values

CERTIFICATES = [
    {"name": "single", "names": ["one.example.test"]},
    {"name": "multi", "names": ["example.test", "www.example.test"], "key_type": "ec384"},
    {"name": "wild", "names": ["example2.test", "*.example2.test"]},
    {"name": "deep", "names": ["api.deep.sub.example2.test", "*.deep.sub.example2.test"], "key_type": "rsa2048"},
    {"name": "three", "names": ["mail.example3.test"], "key_type": "rsa3072"},
]


def key_type_of(public_key) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ec%d" % public_key.curve.key_size
    assert isinstance(public_key, rsa.RSAPublicKey)
    return "rsa%d" % public_key.key_size


def challenge_names(certificates) -> set[str]:
    return {"_acme-challenge." + name.removeprefix("*.") for cert in certificates for name in cert["names"]}


def assert_no_challenge_values(rig, certificates, lag: float = 30.0):
    """Nothing at any _acme-challenge name of ``certificates`` (see :func:`assert_names_empty`)."""
    assert_names_empty(rig, challenge_names(certificates), lag)


def assert_names_empty(rig, names, lag: float = 30.0, servers_of=None):
    """Nothing on the primary now; nothing on the other servers once their NOTIFY lag has passed.

    ``servers_of(rig, name)`` lists the servers that hold ``name``'s zone; by
    default BIND's primary and secondaries.
    """
    names = set(names)
    servers_of = servers_of or (lambda rig_, name_: [rig_["primary"], *rig_["secondaries"]])
    for name in names:
        if rig["primary"] in servers_of(rig, name):
            assert txt_values(rig["primary"], name) == set(), "the primary still has TXT values at %s" % name
    deadline = time.monotonic() + lag
    left = {(server, name) for name in names for server in servers_of(rig, name)}
    while left:
        left = {(server, name) for server, name in left if txt_values(server, name)}
        if left and time.monotonic() > deadline:
            raise AssertionError("TXT values still served after %.0f s: %s" % (lag, sorted(left)))
        if left:
            time.sleep(0.5)


def assert_verifies(root, directory) -> None:
    """``openssl verify`` accepts ``directory``'s cert.pem up to ``root`` through its chain.pem."""
    command = ["openssl", "verify", "-CAfile", str(root), "-untrusted", str(directory / "chain.pem")]
    verify = subprocess.run(command + [str(directory / "cert.pem")], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def issue(rig, tmp, certificates, **overrides) -> dict:
    """One renew.yml run on the rig that must succeed: its state folder, variables, temp folder and run."""
    state = tmp / "state"
    variables = role_vars(rig, state, certificates, **overrides)
    run = run_renew(variables, tmp)
    assert run.rc == 0, run.text()[-4000:]
    return {"state": state, "vars": variables, "tmp": tmp, "run": run}


def assert_issued_for(directory, names, root):
    """``directory``'s certificate names exactly ``names`` and verifies up to ``root``; returns it."""
    leaf = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(sans) == sorted(names)
    assert_verifies(root, directory)
    return leaf


def assert_second_run_changes_nothing(issued: dict) -> None:
    """The same run again (as :func:`issue` made it) succeeds, changes nothing and rewrites no PEM file."""
    before = {path: path.read_bytes() for path in issued["state"].rglob("*.pem")}
    again = run_renew(issued["vars"], issued["tmp"])
    assert again.rc == 0, again.text()[-4000:]
    assert again.stats["changed"] == 0
    assert {path: path.read_bytes() for path in issued["state"].rglob("*.pem")} == before


@pytest.fixture(scope="module")
def issued(rig, tmp_path_factory):
    return issue(rig, tmp_path_factory.mktemp("issued"), CERTIFICATES)


@pytest.mark.parametrize("cert", CERTIFICATES, ids=lambda cert: cert["name"])
def test_certificate_is_issued_as_asked(issued, pebble_root_file, cert):
    directory = issued["state"] / cert["name"]
    leaf = assert_issued_for(directory, cert["names"], pebble_root_file)
    assert key_type_of(leaf.public_key()) == cert.get("key_type", "ec256")
    fullchain = (directory / "fullchain.pem").read_text()
    assert fullchain.startswith((directory / "cert.pem").read_text().strip())
    assert (directory / "chain.pem").read_text().strip() in fullchain

    key_path = directory / "privkey.pem"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(serialization.Encoding.PEM, public) == leaf.public_key().public_bytes(
        serialization.Encoding.PEM, public
    )

    meta = json.loads((directory / "cert.json").read_text())
    assert meta["serial"].lower().lstrip("0") == format(leaf.serial_number, "x")
    assert not (directory / "order.json").exists()


def test_no_challenge_value_left_on_any_server(rig, issued):
    assert_no_challenge_values(rig, CERTIFICATES)


def test_account_key_is_private(issued):
    account_key = issued["state"] / ".acme" / "account.key"
    assert stat.S_IMODE(os.stat(account_key).st_mode) == 0o600


def summary_of(run) -> dict:
    """The job summary the role hands to AWX with set_stats (per_host: false, so under "_run")."""
    return run.result["custom"]["_run"]["letsencrypt_dns_summary"]


def test_job_summary_names_what_was_issued(issued):
    summary = summary_of(issued["run"])
    names = sorted(cert["name"] for cert in CERTIFICATES)
    assert summary["ok"] is True and summary["check_mode"] is False
    assert sorted(summary["issued"]) == names
    assert summary["renewed"] == summary["failed"] == summary["not_deployed"] == summary["deployed"] == []
    assert summary["expiring"] == [] and summary["errors"] == []
    assert summary["counts"] == {
        "issued": len(names),
        "renewed": 0,
        "failed": 0,
        "not_deployed": 0,
        "would_issue": 0,
        "expiring": 0,
        "deployed": 0,
        "deploys": 0,
    }


def test_second_run_changes_nothing(issued):
    assert_second_run_changes_nothing(issued)


def test_check_mode_writes_nothing(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": "checked", "names": ["checked.example.test"]}]
    run = run_renew(role_vars(rig, state, certificates), tmp_path, "--check")
    assert run.rc == 0, run.text()[-4000:]
    assert not state.exists() or not any(state.rglob("*"))
    ordered = run.task_results("Create one ACME order per due certificate")
    assert ordered and ordered[0]["orders"][0]["status"] == "would_order"
    assert_no_challenge_values(rig, certificates)


BAD_INPUTS = [
    ({"name": "stray", "names": ["www.elsewhere.test"]}, {}, ["stray", "www.elsewhere.test", "no zone"]),
    ({"name": "malformed", "names": ["bad_name.example.test"]}, {}, ["malformed", "bad_name.example.test"]),
    ({"name": "midwild", "names": ["www.*.example.test"]}, {}, ["midwild", "www.*.example.test", "wildcard"]),
    (
        {"name": "terms", "names": ["terms.example.test"]},
        {"letsencrypt_dns_terms_agreed": False},
        ["letsencrypt_dns_terms_agreed", "terms of service"],
    ),
]


@pytest.mark.parametrize(("cert", "overrides", "expected"), BAD_INPUTS, ids=[c[0]["name"] for c in BAD_INPUTS])
def test_bad_input_fails_before_any_change(rig, tmp_path, cert, overrides, expected):
    state = tmp_path / "state"
    good = {"name": "good", "names": ["good.example.test"]}
    run = run_renew(role_vars(rig, state, [good, cert], **overrides), tmp_path)
    assert run.rc != 0
    text = run.text()
    for fragment in expected:
        assert fragment in text
    assert not state.exists(), "the state directory was touched before the input was refused"
    assert rig["tsig"]["key_secret"] not in text
    assert_no_challenge_values(rig, [good, cert])


def test_run_interrupted_after_ordering_resumes_the_same_order(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": "resumed", "names": ["resumed.example.test"], "key_type": "ec256"}]
    ordered = run_module(
        "acme_dns01_order",
        {
            "acme_directory": rig["acme_directory"],
            "acme_ca_bundle": rig["ca_bundle"],
            "state_dir": str(state),
            "terms_agreed": True,
            "certificates": certificates,
            "resolvers": [rig["resolver"]],
        },
    )
    order_url = ordered["orders"][0]["order_url"]
    assert json.loads((state / "resumed" / "order.json").read_text())["order_url"] == order_url

    run = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    resumed = run.task_results("Create one ACME order per due certificate")[0]["orders"][0]
    assert resumed["resumed"] is True
    assert resumed["order_url"] == order_url
    assert json.loads((state / "resumed" / "cert.json").read_text())["order_url"] == order_url
    assert_no_challenge_values(rig, certificates)


def run_with_a_broken_provider(rig, tmp_path, label: str = "") -> tuple:
    """A run where example3.test's provider has a wrong TSIG secret: "kept" is issued, "lost" is not.

    Checks what every such run must show: the failure message names "lost",
    the stage and the provider, never "kept"; no secret is in the output; no
    TXT value is left. Returns the run, its state folder and the certificates.
    """
    state = tmp_path / "state"
    wrong_secret = base64.b64encode(os.urandom(32)).decode()
    working = dict(rig["provider"], zones=[zone for zone in rig["zones"] if zone != "example3.test"])
    broken = dict(rig["provider"], name="broken", zones=["example3.test"], key_secret=wrong_secret)
    certificates = [
        {"name": "kept", "names": ["kept%s.example.test" % label]},
        {"name": "lost", "names": ["lost%s.example3.test" % label]},
    ]
    run = run_renew(role_vars(rig, state, certificates, letsencrypt_dns_providers=[working, broken]), tmp_path)
    assert run.rc != 0
    assert (state / "kept" / "cert.pem").exists()
    assert not (state / "lost" / "cert.pem").exists()
    failed = run.task_results("Fail naming every certificate that was not issued")[0]
    assert "lost (publish:" in failed["msg"] and "broken" in failed["msg"]
    assert "kept" not in failed["msg"]
    text = run.text()
    assert wrong_secret not in text and rig["tsig"]["key_secret"] not in text
    assert wrong_secret not in json.dumps(run.result.get("custom", {}))
    assert_no_challenge_values(rig, certificates)
    return run, state, certificates


def test_failing_provider_costs_only_its_certificates(rig, tmp_path):
    run, state, certificates = run_with_a_broken_provider(rig, tmp_path)
    # The job summary is handed over before the run fails.
    summary = summary_of(run)
    assert summary["ok"] is False
    assert (summary["issued"], summary["failed"]) == (["kept"], ["lost"])
    assert summary["counts"]["issued"] == summary["counts"]["failed"] == 1

    # Once the provider is fixed, the next run issues what is missing and resumes its pending order.
    pending = json.loads((state / "lost" / "order.json").read_text())["order_url"]
    again = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert json.loads((state / "lost" / "cert.json").read_text())["order_url"] == pending
    assert_no_challenge_values(rig, certificates)


def test_provider_from_an_awx_credential(rig, tmp_path):
    # What the credential type extensions/awx/credential_types/dns_rfc2136.yml injects: strings only, zones as one
    # string, unset inputs empty; the role adds it to letsencrypt_dns_providers (empty here).
    provider = rig["provider"]
    injected = {
        "name": "awx-rfc2136",
        "type": "rfc2136",
        "zones": ", ".join(provider["zones"]),
        "server": provider["server"],
        "port": str(provider["port"]),
        "key_name": provider["key_name"],
        "key_secret": provider["key_secret"],
        "key_algorithm": provider["key_algorithm"],
        "timeout": "",
    }
    certificates = [{"name": "awx", "names": ["awx.example.test"]}]
    variables = role_vars(
        rig,
        tmp_path / "state",
        certificates,
        letsencrypt_dns_providers=[],
        letsencrypt_dns_credential_provider_rfc2136=injected,
    )
    run = run_renew(variables, tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    assert (tmp_path / "state" / "awx" / "cert.pem").exists()
    assert summary_of(run)["issued"] == ["awx"]
    assert provider["key_secret"] not in run.text()


def test_tag_report_takes_the_lock_and_reports_without_issuing(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [{"name": "tagged", "names": ["tagged.example.test"]}]
    run = run_renew(role_vars(rig, state, certificates), tmp_path, "--tags", "report")
    assert run.rc == 0, run.text()[-4000:]
    assert run.task_results("Lock the state directory against concurrent runs")
    assert run.task_results("Release the state directory lock")
    assert run.task_results("Write the run report and send the alerts")
    assert not run.task_results("Create one ACME order per due certificate")
    assert not (state / "tagged" / "cert.pem").exists() and not (state / ".lock").exists()
    # The report still checks what is due: the due certificate is named as not issued.
    summary = summary_of(run)
    assert summary["issued"] == [] and summary["failed"] == ["tagged"] and summary["ok"] is False

    # --skip-tags deploy issues, under the lock, and deploys nothing.
    run = run_renew(role_vars(rig, state, certificates), tmp_path, "--skip-tags", "deploy")
    assert run.rc == 0, run.text()[-4000:]
    assert (state / "tagged" / "cert.pem").exists()
    assert summary_of(run)["issued"] == ["tagged"]
    assert not run.task_results("Deploy to the servers of this host, verified, rolled back on failure")
