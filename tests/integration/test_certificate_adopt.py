# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates from certbot, dehydrated and dnscontrol layouts adopted by the role on the rig, not re-issued.

The sources are real Pebble certificates: issued by the collection into a scratch state directory, then laid
out as each client lays them out (certbot's live/ links into archive/, dehydrated's dated files, dnscontrol's
get-certs files). The adopting runs start from an empty state directory.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from playbook_runner import label, role_vars, run_module, run_renew
from test_role import issue

ORDER_TASK = "Create one ACME order per due certificate"
ADOPT_TASK = "Adopt the certificates other ACME clients issued"


def certbot_layout(source, base, name):
    archive, live = base / "archive" / name, base / "live" / name
    archive.mkdir(parents=True)
    live.mkdir(parents=True)
    for part in ("privkey", "cert", "chain", "fullchain"):
        shutil.copy(source / ("%s.pem" % part), archive / ("%s1.pem" % part))
        os.symlink("../../archive/%s/%s1.pem" % (name, part), live / ("%s.pem" % part))


def dehydrated_layout(source, base, name):
    directory = base / "certs" / name
    directory.mkdir(parents=True)
    for part in ("privkey", "cert", "chain", "fullchain"):
        shutil.copy(source / ("%s.pem" % part), directory / ("%s-1733000000.pem" % part))
        os.symlink("%s-1733000000.pem" % part, directory / ("%s.pem" % part))


def dnscontrol_layout(source, base, name):
    directory = base / "certificates" / name
    directory.mkdir(parents=True)
    shutil.copy(source / "fullchain.pem", directory / ("%s.crt" % name))
    shutil.copy(source / "privkey.pem", directory / ("%s.key" % name))
    resource = {"domain": name, "certUrl": "https://pebble.test/cert", "certStableUrl": "https://pebble.test/cert"}
    (directory / ("%s.json" % name)).write_text(json.dumps(resource))


@pytest.fixture(scope="module")
def sources(rig, tmp_path_factory):
    """Three Pebble certificates, each in one client's layout; the certificate entries that adopt them."""
    return make_sources(rig, tmp_path_factory.mktemp("scratch"), tmp_path_factory.mktemp("clients"))


def make_sources(rig, scratch, base) -> dict:
    """Issue three certificates into ``scratch`` and lay them out under ``base`` as certbot, dehydrated, dnscontrol."""
    certificates = [
        {"name": "cb", "names": ["%s.example.test" % label("cb")], "key_type": "rsa2048"},
        {"name": "dh", "names": ["%s.example2.test" % label("dh")]},
        {"name": "dc", "names": ["%s.example3.test" % label("dc"), "%s.example3.test" % label("dc")]},
    ]
    issued = issue(rig, scratch, certificates)
    certbot_layout(issued["state"] / "cb", base / "letsencrypt", "cb.lineage")
    dehydrated_layout(issued["state"] / "dh", base / "dehydrated", certificates[1]["names"][0])
    dnscontrol_layout(issued["state"] / "dc", base / "dnscontrol", "dc-cert")
    adopt = [
        {"cert": "cb", "from": "certbot", "path": str(base / "letsencrypt"), "source_name": "cb.lineage"},
        {
            "cert": "dh",
            "from": "dehydrated",
            "path": str(base / "dehydrated"),
            "source_name": certificates[1]["names"][0],
        },
        {"cert": "dc", "from": "dnscontrol", "path": str(base / "dnscontrol"), "source_name": "dc-cert"},
    ]
    return {"certificates": certificates, "adopt": adopt, "scratch": issued["state"], "base": base}


def facts_of(certificates, state_dir=None) -> dict:
    args = {"certificates": certificates, "renew_days": 30}
    if state_dir:
        args["state_dir"] = str(state_dir)
    result = run_module("certfleet.acme.cert_expiry_facts", args)
    assert not result["failed"], result
    return result["certificates"]


def nothing_ordered(run) -> None:
    for result in run.task_results(ORDER_TASK):
        assert result.get("skipped"), result


def test_adopted_once_then_nothing_changes(rig, sources, tmp_path):
    state = tmp_path / "state"
    variables = role_vars(rig, state, sources["certificates"], letsencrypt_dns_adopt=sources["adopt"])
    first = run_renew(variables, tmp_path)
    assert first.rc == 0, first.text()[-4000:]
    [adopted] = first.task_results(ADOPT_TASK)
    assert adopted["changed"] is True
    assert [(cert["name"], cert["result"]) for cert in adopted["certificates"]] == [
        ("cb", "adopted"),
        ("dh", "adopted"),
        ("dc", "adopted"),
    ]
    assert "PRIVATE KEY" not in json.dumps(adopted)
    assert first.stats["changed"] == 1, first.stats
    nothing_ordered(first)
    assert not (state / ".acme" / "account.json").exists()  # no order, so no account registered either
    for name in ("cb", "dh", "dc"):
        assert (state / name / "cert.pem").read_bytes() == (sources["scratch"] / name / "cert.pem").read_bytes()
        assert not (state / name / "privkey.pem").is_symlink()

    second = run_renew(variables, tmp_path)
    assert second.rc == 0, second.text()[-4000:]
    assert second.stats["changed"] == 0, second.stats
    [again] = second.task_results(ADOPT_TASK)
    assert {cert["result"] for cert in again["certificates"]} == {"unchanged"}
    nothing_ordered(second)

    adopted_facts = facts_of(sources["certificates"], state)
    source_facts = facts_of(
        [dict(cert, path=str(sources["scratch"] / cert["name"] / "cert.pem")) for cert in sources["certificates"]]
    )
    for name in ("cb", "dh", "dc"):
        assert adopted_facts[name]["exists"] and adopted_facts[name]["serial"]
        for field in ("exists", "serial", "not_after", "names", "key_type", "needs_renewal", "reason"):
            assert adopted_facts[name][field] == source_facts[name][field], (name, field)


def refused(rig, sources, tmp_path, adopt, *fragments):
    state = tmp_path / "state"
    variables = role_vars(rig, state, sources["certificates"], letsencrypt_dns_adopt=adopt)
    run = run_renew(variables, tmp_path)
    assert run.rc != 0, run.text()[-3000:]
    for fragment in fragments:
        assert fragment in run.stdout, run.stdout[-3000:]
    nothing_ordered(run)
    assert not any((state / name / "cert.pem").exists() for name in ("cb", "dh", "dc"))
    return run


def test_key_that_does_not_match_is_refused(rig, sources, tmp_path):
    base = tmp_path / "dnscontrol"
    shutil.copytree(sources["base"] / "dnscontrol", base)
    other = sources["scratch"] / "dh" / "privkey.pem"
    shutil.copy(other, base / "certificates" / "dc-cert" / "dc-cert.key")
    adopt = [dict(sources["adopt"][2], path=str(base))]
    refused(
        rig,
        sources,
        tmp_path,
        adopt,
        "certificate 'dc' (dnscontrol): %s/certificates/dc-cert/dc-cert.key: the private key does not match" % base,
    )


def test_names_not_covered_are_refused(rig, sources, tmp_path):
    adopt = [dict(sources["adopt"][0], cert="dh")]
    refused(rig, sources, tmp_path, adopt, "certificate 'dh' (certbot):", "the certificate does not cover")


def test_unknown_layout_and_unknown_certificate_are_refused(rig, sources, tmp_path):
    adopt = [dict(sources["adopt"][0], **{"from": "acme.sh"})]
    run = refused(rig, sources, tmp_path, adopt, "letsencrypt_dns_adopt[0].from", "certbot, dehydrated, dnscontrol")
    assert not run.task_results(ADOPT_TASK) or run.task_results(ADOPT_TASK)[0].get("skipped")
    adopt = [dict(sources["adopt"][0], cert="nope")]
    (tmp_path / "unknown").mkdir()
    refused(rig, sources, tmp_path / "unknown", adopt, "letsencrypt_dns_adopt[0]: cert 'nope' is the name of no entry")
