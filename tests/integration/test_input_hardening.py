# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 13, Low findings about input: each bad input is tried and must be refused locally, naming it.

* a plain ``http://`` ACME directory (RFC 8555 requires HTTPS), unless the test-server option allows it;
* certificate names that are no plain folder name (``www\\n``, ``../outside``, ``-x\\n``), by the role and by
  cert_expiry_facts and cert_deploy run directly, with nothing written outside the state directory or ``dest``;
* IP addresses and invalid punycode as DNS names, refused before any order;
* a CNAME at ``_acme-challenge`` pointing at a zone's apex or out of every configured zone, refused at once
  (a chain that leaves the zones is not followed into a resolver timeout).

The first three need no rig (the input is refused before a CA or DNS server is asked); the IP and CNAME cases
run against the rig, so a module that did reach the CA or the resolver would show it.
"""

from __future__ import annotations

import time
import uuid

import dns.exception
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver
import dns.update
import pytest
from playbook_runner import role_vars, run_module, run_renew
from test_acme_modules import _keyring
from test_role_input_checks import GOOD, assert_refused, base
from webservers import DeployCA

PLAIN_HTTP = "http://ca.example.test/directory"
NAME_RULE = "must start with a letter or digit and contain only letters, digits, '.', '_' and '-', without '..'"


def files_under(path) -> list[str]:
    return sorted(str(entry.relative_to(path)) for entry in path.rglob("*")) if path.exists() else []


# -- (a) plain http:// ACME directory


def test_role_refuses_a_plain_http_directory_naming_the_variable_and_value(tmp_path):
    run = run_renew(
        base(tmp_path, letsencrypt_dns_certificates=GOOD, letsencrypt_dns_acme_directory=PLAIN_HTTP), tmp_path
    )
    assert_refused(
        run,
        tmp_path,
        "letsencrypt_dns_acme_directory: %s is a plain http:// URL: RFC 8555 requires HTTPS" % PLAIN_HTTP,
        "letsencrypt_dns_acme_allow_plain_http: true",
    )


def test_acme_modules_refuse_a_plain_http_directory_before_any_request(tmp_path):
    state = tmp_path / "state"
    result = run_module(
        "acme_dns01_order",
        {
            "acme_directory": PLAIN_HTTP,
            "state_dir": str(state),
            "terms_agreed": True,
            "follow_cnames": False,
            "certificates": [{"name": "www", "names": ["www.example.test"]}],
        },
    )
    assert result["failed"], result
    assert result["msg"] == (
        "acme_directory value '%s' is a plain http:// URL: RFC 8555 requires HTTPS (allow plain HTTP only for a "
        "local test server, with acme_allow_plain_http)" % PLAIN_HTTP
    )
    assert not state.exists(), "no account key or order may be written for a refused directory"


def test_cert_expiry_facts_asks_a_plain_http_ca_only_when_allowed(tmp_path):
    args = {
        "certificates": [{"name": "www", "path": str(tmp_path / "missing.pem")}],
        "acme_directory": "http://127.0.0.1:9/directory",
    }
    refused = run_module("cert_expiry_facts", args)
    assert (
        refused["failed"]
        and "acme_directory value 'http://127.0.0.1:9/directory' is a plain http:// URL" in (refused["msg"])
    )
    allowed = run_module("cert_expiry_facts", dict(args, acme_allow_plain_http=True))
    assert not allowed["failed"], allowed
    assert allowed["certificates"]["www"]["reason"] == "missing"


# -- (b) certificate names that are no plain folder name


def test_role_refuses_certificate_names_with_a_newline_or_a_path(tmp_path):
    certificates = [
        {"name": "www\n", "names": ["www.example.test"]},
        {"name": "../outside", "names": ["api.example.test"]},
    ]
    run = run_renew(base(tmp_path, letsencrypt_dns_certificates=certificates), tmp_path)
    output = assert_refused(run, tmp_path, "field 'name' value '../outside' %s" % NAME_RULE)
    assert "'www\\\\n'" in output or "'www\\n'" in output, output[-3000:]
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("name", ["../outside", "www\n", "-x\n"])
def test_cert_expiry_facts_refuses_a_certificate_name_that_leaves_the_state_dir(tmp_path, name):
    state = tmp_path / "state"
    state.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    result = run_module(
        "cert_expiry_facts",
        {"certificates": [{"name": name, "names": ["www.example.test"]}], "state_dir": str(state)},
    )
    assert result["failed"], result
    assert result["msg"] == "certificate %r: field 'name' value %r %s (at most 128 characters)" % (
        name,
        name,
        NAME_RULE,
    )
    assert files_under(state) == [] and files_under(outside) == [], "nothing may be written for a refused name"


@pytest.mark.parametrize("name", ["../outside", "-x\n", "www\n"])
def test_cert_deploy_refuses_a_certificate_name_that_is_no_plain_file_name(tmp_path, name):
    dest = tmp_path / "dest"
    dest.mkdir()
    leaf = DeployCA().leaf()
    result = run_module("cert_deploy", dict(leaf.module_args(), cert=name, type="files", dest=str(dest)))
    assert result["failed"], result
    assert "cert value %r %s" % (name, NAME_RULE) in result["msg"], result["msg"]
    assert files_under(tmp_path) == ["dest"], "nothing may be written for a refused name"


# -- (c) IP addresses and invalid punycode


def test_role_refuses_ip_addresses_and_invalid_punycode_before_any_order(rig, tmp_path):
    state = tmp_path / "state"
    certificates = [
        {"name": "v4", "names": ["192.0.2.1"]},
        {"name": "v6", "names": ["::1"]},
        {"name": "puny", "names": ["xn--zz.example.test"]},
    ]
    run = run_renew(role_vars(rig, state, certificates), tmp_path)
    assert run.rc != 0
    text = run.text()
    assert "certificate 'v4': field 'names' value '192.0.2.1' is an IP address" in text, text[-4000:]
    assert "certificate 'v6': field 'names' value '::1' is an IP address" in text
    assert "certificate 'puny': field 'names' value 'xn--zz.example.test' has a label 'xn--zz' that is no valid" in text
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
    assert not state.exists(), "no account or order may be created for names the CA would refuse"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("192.0.2.1", "is an IP address: DNS-01 validates DNS names only"),
        ("::1", "is an IP address: DNS-01 validates DNS names only"),
        ("xn--zz.example.test", "has a label 'xn--zz' that is no valid IDNA (punycode) encoding"),
    ],
)
def test_acme_dns01_order_refuses_ip_addresses_and_invalid_punycode_locally(rig, tmp_path, value, problem):
    state = tmp_path / "state"
    result = run_module(
        "acme_dns01_order",
        {
            "acme_directory": rig["acme_directory"],
            "acme_ca_bundle": rig["ca_bundle"],
            "state_dir": str(state),
            "terms_agreed": True,
            "certificates": [{"name": "bad", "names": [value]}],
        },
    )
    assert result["failed"], result
    assert result["msg"] == "certificate 'bad': field 'names' value %r %s" % (value, problem)
    assert not state.exists(), "no account or order may be created"


# -- (d) CNAME targets at a zone apex or outside every configured zone


def _set_cnames(rig, cnames: dict, add: bool) -> None:
    update = dns.update.UpdateMessage("example.test", **_keyring(rig))
    for name, target in cnames.items():
        if add:
            update.add(name + ".", 30, "CNAME", target + ".")
        else:
            update.delete(name + ".", "CNAME")
    response = dns.query.tcp(update, rig["primary"], port=53, timeout=10)
    assert response.rcode() == 0, response


def _wait_resolvable(rig, cnames: dict) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [rig["resolver"]]
    resolver.lifetime = 3
    deadline = time.monotonic() + 60
    for name, target in cnames.items():
        while True:
            try:
                answer = resolver.resolve(name, dns.rdatatype.CNAME, raise_on_no_answer=False)
                if answer.rrset is not None and answer.rrset[0].target.to_text().rstrip(".") == target:
                    break
            except dns.exception.DNSException:
                pass
            assert time.monotonic() < deadline, "the resolver does not serve %s yet" % name
            time.sleep(0.5)


@pytest.fixture
def bad_cnames(rig):
    """Fresh names (no negative cache): one CNAME to the apex of validation.test, one out of every zone."""
    tag = uuid.uuid4().hex[:8]
    cnames = {
        "_acme-challenge.apex-%s.example.test" % tag: "validation.test",
        "_acme-challenge.out-%s.example.test" % tag: "hop.outside-%s.net" % tag,
    }
    _set_cnames(rig, cnames, add=True)
    try:
        _wait_resolvable(rig, cnames)
        yield tag, cnames
    finally:
        _set_cnames(rig, cnames, add=False)


def test_cname_to_a_zone_apex_or_out_of_the_zones_is_refused_at_once(rig, tmp_path, bad_cnames):
    tag, cnames = bad_cnames
    state = tmp_path / "state"
    certificates = [
        {"name": "apex", "names": ["apex-%s.example.test" % tag]},
        {"name": "out", "names": ["out-%s.example.test" % tag]},
    ]
    timeout = 600
    started = time.monotonic()
    run = run_renew(role_vars(rig, state, certificates, letsencrypt_dns_propagation_timeout=timeout), tmp_path)
    elapsed = time.monotonic() - started
    assert run.rc != 0
    refused = run.task_results("Refuse the certificates whose challenge names lie in no zone of the providers")[0]
    assert [entry["name"] for entry in refused["refused"]] == ["apex", "out"]
    errors = {entry["name"]: entry["error"] for entry in refused["refused"]}
    apex_name, out_name = list(cnames)
    assert (
        "%s is delegated by CNAME to validation.test, the apex of the zone validation.test: a CNAME target must lie "
        "below a configured zone, not at its apex" % apex_name in errors["apex"]
    ), errors
    assert (
        "%s is delegated by CNAME to hop.outside-%s.net, which lies in no zone of the providers (" % (out_name, tag)
        in errors["out"]
    ), errors
    assert "example.test" in errors["out"] and "a CNAME target must lie below a configured zone" in errors["out"]
    assert "cannot look up" not in errors["out"], "the target outside the zones must not be looked up"
    assert all(result.get("skipped") for result in run.task_results("Create one ACME order per due certificate"))
    assert not state.exists()
    assert elapsed < timeout / 5, "refused after %.0f s: far from at once" % elapsed
