# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renewal decisions through the role on the rig: force, per-certificate force, nothing due."""

from __future__ import annotations

import json

from playbook_runner import role_vars, run_renew

CERTIFICATES = [
    {"name": "kept", "names": ["kept.example3.test"]},
    {"name": "forced", "names": ["forced.example3.test"]},
]


def serial(state, name) -> str:
    return json.loads((state / name / "cert.json").read_text())["serial"]


def test_force_renews_now_and_only_what_it_names(rig, tmp_path):
    state = tmp_path / "state"
    first = run_renew(role_vars(rig, state, CERTIFICATES), tmp_path)
    assert first.rc == 0, first.text()[-4000:]
    before = {cert["name"]: serial(state, cert["name"]) for cert in CERTIFICATES}

    # Pebble's certificates live for years: with the default lifetime rule nothing is due.
    idle = run_renew(role_vars(rig, state, CERTIFICATES), tmp_path)
    assert idle.rc == 0 and idle.stats["changed"] == 0
    facts = idle.task_results("Decide which certificates are due")[0]
    assert facts["due"] == []
    assert facts["certificates"]["kept"]["renew_source"] == "lifetime"

    per_cert = [CERTIFICATES[0], dict(CERTIFICATES[1], force=True)]
    one = run_renew(role_vars(rig, state, per_cert), tmp_path)
    assert one.rc == 0, one.text()[-4000:]
    assert one.task_results("Decide which certificates are due")[0]["certificates"]["forced"]["reason"] == "force"
    assert serial(state, "kept") == before["kept"]
    assert serial(state, "forced") != before["forced"]

    everything = run_renew(role_vars(rig, state, CERTIFICATES, letsencrypt_dns_force=True), tmp_path)
    assert everything.rc == 0, everything.text()[-4000:]
    assert serial(state, "kept") != before["kept"]
