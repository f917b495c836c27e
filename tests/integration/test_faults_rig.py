# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection on the rig: renew.yml while a part of the world misbehaves.

Each fault must end with a clear error naming the certificates and the
cause, no TXT value left on any server, no half-written file, the
certificates that were fine still fine, and the next run (fault gone)
completing the work. The faults:

* Pebble rejecting 30% of good nonces (a Pebble of its own).
* The DNS primary stopped while the propagation wait runs, or before the
  clean-up, and started again before the next run.
* A secondary that never receives updates: the propagation wait times out
  naming that server.
* Pebble's resolver answering a wrong TXT value for one name among twenty,
  while every authoritative server has the right one.

Faults that change the rig act on ``fault_rig``, a rig of this module's own
(in the session slot's directory and on a /24 of its own), so a test that
fails before undoing its fault cannot disturb any other test module; each
test still undoes its fault in ``finally`` for the next test here.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playbook_runner import acme_settings, role_vars, run_renew, txt_values
from test_acme_modules import publish, unpublish
from test_role import assert_names_empty, challenge_names

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import open_session
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import finalize_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import order_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_certificates, parse_orders
from ansible_collections.certfleet.acme.plugins.module_utils._state.journal import load
from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import (
    ACCOUNT_DIR,
    JOURNAL_FILE,
    journal_path,
)

pytestmark = pytest.mark.rig

STEADY = {"name": "steady", "names": ["steady.example.test"]}
FAILED_FINAL_TASK = "Fail naming every certificate that was not issued"


def _side_net(rig: dict, third_octet: int) -> str:
    """A loopback /24 inside the session slot's 127.N.0.0/16 (test_rig.py's second rig uses .99)."""
    first, second = rig["primary"].split(".")[:2]
    return f"{first}.{second}.{third_octet}"


@pytest.fixture(scope="module")
def fault_rig(rig, rig_module):
    """A rig for this module alone, next to the session's: its faults never reach other modules."""
    state = Path(rig["dir"] + "-faults")
    rig_module.down(state)
    # A NOTIFY delay of 3 s (the default is 2) leaves the primary-stop test a wider window on a busy machine.
    info = rig_module.up(state, notify_delay=3, net=_side_net(rig, 98))
    try:
        yield info
    finally:
        rig_module.down(state)


@pytest.fixture(scope="module")
def steady_state(fault_rig, tmp_path_factory):
    """A state directory (the account and one certificate, STEADY) that each test copies and must not harm.

    Issued in this process with the modules' own code, as test_acme_eab_chains
    does: the same files a run writes, for a fraction of a playbook run's CPU.
    """
    state = tmp_path_factory.mktemp("steady") / "state"
    settings = acme_settings(fault_rig, state)
    session = open_session(settings)
    orders = order_all(session, parse_certificates([dict(STEADY, key_type="ec256")]), str(state))
    records = [record for order in orders for record in order["records"]]
    publish(fault_rig, records)
    try:
        issued = finalize_all(session, parse_orders(orders), str(state), 90)
    finally:
        unpublish(fault_rig, records)
    assert issued[0]["status"] == "issued", issued
    return state


def copy_state(steady_state: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A copy of the steady state directory, and the bytes of its certificate files to compare later."""
    state = tmp_path / "state"
    shutil.copytree(steady_state, state)
    return state, file_bytes(state / STEADY["name"])


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}


def assert_state_sound(state: Path, issued: list[str], missing: list[str] = ()) -> None:
    """No temporary, staging or lock file; each issued certificate complete, its key matching; missing ones absent.

    The TXT journal is no temporary file: it lists what a run could not remove.
    """
    stray = [str(path) for path in state.rglob(".*") if path.name not in (ACCOUNT_DIR, JOURNAL_FILE)]
    assert stray == [], "half-written or left-over files: %s" % stray
    for name in issued:
        directory = state / name
        assert {"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "cert.json"} <= set(file_bytes(directory))
        leaf = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "privkey.pem").read_bytes(), password=None)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        assert key.public_key().public_bytes(serialization.Encoding.DER, spki) == leaf.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ), name
        meta = json.loads((directory / "cert.json").read_text())
        assert meta["serial"].lower().lstrip("0") == format(leaf.serial_number, "x"), name
        assert (directory / "fullchain.pem").read_text().startswith((directory / "cert.pem").read_text().strip())
        assert not (directory / "order.json").exists(), name
    for name in missing:
        assert not (state / name / "cert.pem").exists() and not (state / name / "privkey.pem").exists(), name


def final_message(run) -> str:
    """The message of the role's last task, which fails naming what was not done."""
    failed = run.task_results(FAILED_FINAL_TASK)
    assert failed and failed[0].get("failed"), run.text()[-4000:]
    return failed[0]["msg"]


def until(check, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "not within %.0f s: %s" % (limit, what)
        time.sleep(0.1)


def run_renew_with_fault(variables: dict, tmp_path: Path, fault) -> object:
    """Run renew.yml in a thread while ``fault(future)`` acts on the rig in this one; return the run."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_renew, variables, tmp_path)
        try:
            fault(future)
        finally:
            run = future.result()
    return run


# ---------------------------------------------------------------------------
# 1. Pebble rejects 30% of good nonces


@pytest.fixture(scope="module")
def nonce_pebble(fault_rig, rig_module, tmp_path_factory):
    """A Pebble that answers badNonce to 30% of the requests with a good nonce, validating through the rig."""
    state = tmp_path_factory.mktemp("pebble-nonce")
    info = rig_module.start_pebble(
        state,
        address=fault_rig["primary"].rsplit(".", 1)[0] + ".2",
        resolver=fault_rig["resolver"],
        env={"PEBBLE_WFE_NONCEREJECT": "30"},
    )
    try:
        yield info
    finally:
        rig_module.down(state)


def test_nonce_rejections_are_retried_and_every_certificate_issued(fault_rig, nonce_pebble, tmp_path):
    certificates = [
        {"name": "nonce-one", "names": ["nonce-one.example.test"]},
        {"name": "nonce-wild", "names": ["example3.test", "*.example3.test"]},
        {"name": "nonce-multi", "names": ["a.nonce.example2.test", "b.nonce.example2.test"], "key_type": "rsa2048"},
        {"name": "nonce-deep", "names": ["nonce.deep.sub.example2.test"]},
    ]
    state = tmp_path / "state"
    variables = role_vars(
        fault_rig,
        state,
        certificates,
        letsencrypt_dns_acme_directory=nonce_pebble["acme_directory"],
        letsencrypt_dns_acme_ca_bundle=nonce_pebble["ca_bundle"],
    )
    run = run_renew(variables, tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    log = (Path(nonce_pebble["dir"]) / "pebble.log").read_text()
    assert "Configured to reject 30% of good nonces" in log
    assert_state_sound(state, [cert["name"] for cert in certificates])
    assert_names_empty(fault_rig, challenge_names(certificates))


# ---------------------------------------------------------------------------
# 2. The DNS primary stops mid-run and is started again before the next run


def journal_names(state: Path) -> set[str]:
    """The TXT names the journal lists as published and not yet removed."""
    return {entry["name"] for entry in load(journal_path(str(state)))}


def run_with_primary_stopped(fault_rig, rig_module, variables, tmp_path, ready) -> object:
    """Run renew.yml, stop the primary as soon as ``ready()`` holds, start it again once the run ended."""

    def stop_primary(future) -> None:
        until(lambda: future.done() or ready(), 120, "the moment to stop the primary")
        assert not future.done(), "the run ended before the primary was stopped"
        rig_module.stop_part(fault_rig["dir"], "primary")

    try:
        return run_renew_with_fault(variables, tmp_path, stop_primary)
    finally:
        rig_module.start_part(fault_rig["dir"], "primary")


def assert_cleanup_failed_on_the_primary(run, primary: str, names: set[str]) -> None:
    """The clean-up failed for each record because the primary was down, and the run's last message says so."""
    cleaned = run.task_results("Remove every TXT value this run published")[0]
    errors = {item["name"]: item["error"] or "" for item in cleaned["records"]}
    assert set(errors) == names, cleaned
    assert all(primary in error and "Connection refused" in error for error in errors.values()), errors
    message = final_message(run)
    assert primary in message and "Connection refused" in message, message
    for name in names:
        assert name in message, name


def test_primary_stopped_during_the_wait_fails_clearly_and_the_next_run_cleans_up(
    fault_rig, rig_module, steady_state, tmp_path
):
    certificates = [
        STEADY,
        {"name": "stop-a", "names": ["stop-a.example.test"]},
        {"name": "stop-b", "names": ["stop-b.example2.test", "*.stop-b.example2.test"]},
    ]
    new = certificates[1:]
    names = challenge_names(new)
    state, steady_before = copy_state(steady_state, tmp_path)
    variables = role_vars(fault_rig, state, certificates, letsencrypt_dns_propagation_timeout=5)
    primary = fault_rig["primary"]

    # Stopped once it has every value: the relay passes the NOTIFY on notify_delay
    # seconds later, so no secondary gets the values and the wait times out.
    run = run_with_primary_stopped(
        fault_rig, rig_module, variables, tmp_path, lambda: all(txt_values(primary, name) for name in names)
    )

    assert run.rc != 0
    message = final_message(run)
    for cert in new:
        assert "%s (propagation:" % cert["name"] in message, message
    # Each certificate's table has its own record's rows (one per secondary), the clean-up line one more.
    assert message.count("_acme-challenge.stop-a.example.test") == 3, message
    assert "steady" not in message
    assert_cleanup_failed_on_the_primary(run, primary, names)
    assert file_bytes(state / "steady") == steady_before
    assert_state_sound(state, ["steady"], ["stop-a", "stop-b"])
    for cert in new:
        assert (state / cert["name"] / "order.json").exists(), "the pending order is kept for the next run"
    # What could not be removed is still on the (restarted) primary, and listed in the journal.
    assert all(txt_values(primary, name) for name in names)
    assert journal_names(state) == names

    again = run_renew(dict(variables, letsencrypt_dns_propagation_timeout=60), tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    ordered = again.task_results("Create one ACME order per due certificate")[0]["orders"]
    assert {order["name"] for order in ordered} == {"stop-a", "stop-b"}
    assert all(order["resumed"] for order in ordered), ordered
    assert file_bytes(state / "steady") == steady_before
    assert_state_sound(state, ["steady", "stop-a", "stop-b"])
    assert journal_names(state) == set()
    assert_names_empty(fault_rig, names)


def test_primary_stopped_before_the_cleanup_leaves_nothing_after_the_next_run(
    fault_rig, rig_module, steady_state, tmp_path
):
    certificates = [STEADY, {"name": "stop-c", "names": ["stop-c.example3.test"]}]
    names = challenge_names(certificates[1:])
    state, steady_before = copy_state(steady_state, tmp_path)
    variables = role_vars(fault_rig, state, certificates)
    primary = fault_rig["primary"]

    # Stopped once both secondaries have the values: the wait and the validation
    # succeed, and only the clean-up finds the primary gone.
    run = run_with_primary_stopped(
        fault_rig,
        rig_module,
        variables,
        tmp_path,
        lambda: all(txt_values(server, name) for server in fault_rig["secondaries"] for name in names),
    )

    assert run.rc != 0
    message = final_message(run)
    assert "stop-c (" not in message and "steady (" not in message, message
    assert_cleanup_failed_on_the_primary(run, primary, names)
    assert file_bytes(state / "steady") == steady_before
    assert_state_sound(state, ["steady", "stop-c"])
    assert journal_names(state) == names

    # Nothing is due, yet the next run removes what the journal lists.
    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert again.task_results("Decide which certificates are due")[0]["due"] == []
    assert journal_names(state) == set()
    assert_state_sound(state, ["steady", "stop-c"])
    assert_names_empty(fault_rig, names)


# ---------------------------------------------------------------------------
# 3. A secondary that never receives updates


def test_stale_secondary_times_out_naming_that_server(fault_rig, rig_module, steady_state, tmp_path):
    certificates = [STEADY, {"name": "stale-a", "names": ["stale-a.example3.test"]}]
    state, steady_before = copy_state(steady_state, tmp_path)
    variables = role_vars(fault_rig, state, certificates, letsencrypt_dns_propagation_timeout=10)
    good, stale = fault_rig["secondaries"]
    name = "_acme-challenge.stale-a.example3.test"

    rig_module.hold_notifies(fault_rig["dir"], stale)
    try:
        run = run_renew(variables, tmp_path)
        # The failed run removed its values from the primary; the good secondary follows.
        assert_names_empty(fault_rig, [name], servers_of=lambda rig, record: [rig["primary"], good])
    finally:
        rig_module.release_notifies(fault_rig["dir"])

    assert run.rc != 0
    waited = run.task_results("Wait until every authoritative nameserver shows every value")[0]
    table = waited["msg"]
    assert table.startswith("timed out after 10s"), table
    # One row per server that lacks the value: the stale one, named with its answer, and no other.
    rows = [line for line in table.splitlines() if line.startswith(name)]
    assert len(rows) == 1 and stale in rows[0] and "missing" in rows[0], table
    assert good not in table
    message = final_message(run)
    assert "stale-a (propagation:" in message and stale in message, message
    assert "steady" not in message
    assert file_bytes(state / "steady") == steady_before
    assert_state_sound(state, ["steady"], ["stale-a"])
    assert journal_names(state) == set()

    again = run_renew(dict(variables, letsencrypt_dns_propagation_timeout=60), tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert_state_sound(state, ["steady", "stale-a"])
    assert_names_empty(fault_rig, [name])


# ---------------------------------------------------------------------------
# 4. Pebble's resolver answers a wrong value for one name among twenty

TWENTY = [
    {"name": "v%02d" % number, "names": ["v%02d.example%s.test" % (number, ("", "3")[number % 2])]}
    for number in range(1, 21)
]
BAD = TWENTY[6]


def test_one_failed_validation_among_twenty_costs_only_that_certificate(fault_rig, rig_module, tmp_path):
    state = tmp_path / "state"
    variables = role_vars(fault_rig, state, TWENTY)
    bad_name = challenge_names([BAD]).pop()

    rig_module.override_txt(fault_rig["dir"], bad_name, ["not-the-key-authorization"])
    try:
        run = run_renew(variables, tmp_path)
    finally:
        rig_module.clear_overrides(fault_rig["dir"])

    assert run.rc != 0
    finalized = {
        cert["name"]: cert
        for cert in run.task_results("Answer the challenges, finalize and write the certificates")[0]["certificates"]
    }
    assert finalized[BAD["name"]]["status"] == "failed"
    problem = finalized[BAD["name"]]["error"]
    assert problem["type"] == "urn:ietf:params:acme:error:unauthorized", problem
    assert {cert["name"] for cert in TWENTY if finalized[cert["name"]]["status"] == "issued"} == {
        cert["name"] for cert in TWENTY if cert is not BAD
    }
    message = final_message(run)
    assert message.count("(finalize:") == 1 and "%s (finalize:" % BAD["name"] in message, message
    assert "unauthorized" in message and BAD["names"][0] in message, message
    others = [cert["name"] for cert in TWENTY if cert is not BAD]
    assert_state_sound(state, others, [BAD["name"]])
    assert journal_names(state) == set()
    assert_names_empty(fault_rig, challenge_names(TWENTY))
    issued_before = {name: file_bytes(state / name) for name in others}

    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert [
        order["name"] for order in again.task_results("Create one ACME order per due certificate")[0]["orders"]
    ] == [BAD["name"]]
    assert_state_sound(state, [cert["name"] for cert in TWENTY])
    assert {name: file_bytes(state / name) for name in others} == issued_before
    assert_names_empty(fault_rig, challenge_names(TWENTY))
