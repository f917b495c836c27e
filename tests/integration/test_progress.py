# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress during the long waits: a role run shows the propagation wait round by round, and finalize resumes.

AWX on Kubernetes has been seen to stop a task that printed nothing for about
five minutes. The propagation wait and the ACME polling run in rounds (their
action plugins); these tests check on the rig that a wait longer than one
round prints its progress at default verbosity and still succeeds, and that
an order a round left behind (its challenge answered, or already ready) is
finished by the next call without a second answer.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playbook_runner import acme_settings, role_vars, start_renew
from test_acme_modules import publish, unpublish
from test_role import assert_names_empty

from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import open_session
from ansible_collections.certfleet.acme.plugins.module_utils._acme.challenges import dns01_challenge
from ansible_collections.certfleet.acme.plugins.module_utils._acme.finalize import answer_challenges, finalize_all
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import (
    fetch_authorization,
    fetch_order,
    order_all,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.specs import parse_certificates, parse_orders
from ansible_collections.certfleet.acme.plugins.module_utils._common.rounds import Round

pytestmark = pytest.mark.rig

WAIT_LINE = re.compile(
    r"^certfleet\.acme\.dns_wait_propagated: (\d+)/(\d+) values seen on every nameserver; "
    r"still waiting on (\S+) \((\S+)\) for (\S+)(?: \(and \d+ more\))?; (\d+) s of 120 s$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def progress_rig(rig, rig_module):
    """A rig of this module's own (a /24 next to the session's): holding back its NOTIFYs disturbs no other test."""
    state = Path(rig["dir"] + "-progress")
    first, second = rig["primary"].split(".")[:2]
    rig_module.down(state)
    info = rig_module.up(state, net="%s.%s.97" % (first, second))
    try:
        yield info
    finally:
        rig_module.down(state)


def wait_for(path: Path, pattern: re.Pattern, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(path.read_text(encoding="utf-8"))
        if found:
            return found
        time.sleep(1)
    raise AssertionError("no line matching %s within %ss:\n%s" % (pattern.pattern, timeout, path.read_text()[-3000:]))


def test_a_wait_longer_than_a_round_shows_progress_at_default_verbosity_and_succeeds(
    progress_rig, rig_module, tmp_path
):
    certificates = [{"name": "slow", "names": ["slow.example.test", "slow.example3.test"]}]
    variables = role_vars(progress_rig, tmp_path / "state", certificates, letsencrypt_dns_propagation_timeout=120)
    stale = progress_rig["secondaries"][1]
    rig_module.hold_notifies(progress_rig["dir"], stale)
    try:
        run = start_renew(variables, tmp_path, "slow")
        line = wait_for(tmp_path / "slow.log", WAIT_LINE, 90)
    finally:
        rig_module.release_notifies(progress_rig["dir"])
    assert run.wait(timeout=300) == 0, (tmp_path / "slow.log").read_text()[-4000:]
    output = (tmp_path / "slow.log").read_text()
    seen, total, server, address, name, elapsed = line.groups()
    # Two names, two values; the good secondary and the primary have them, the held one does not.
    assert int(total) == 2 and int(seen) < 2 and address == stale and server.startswith("ns")
    assert name.startswith("_acme-challenge.slow.example") and 30 <= int(elapsed) < 120
    # Printed while the wait task ran, before the next task began.
    wait_task = output.index("TASK [certfleet.acme.letsencrypt_dns : Wait until every authoritative nameserver")
    finalize_task = output.index("TASK [certfleet.acme.letsencrypt_dns : Answer the challenges")
    assert wait_task < line.start() < finalize_task
    assert (tmp_path / "state" / "slow" / "fullchain.pem").is_file()
    assert_names_empty(progress_rig, ["_acme-challenge.slow.example.test", "_acme-challenge.slow.example3.test"])


def test_finalize_resumes_orders_a_round_left_answered_or_ready(progress_rig, tmp_path):
    """The next call after a round: no second answer, the order finished with a key made in that call."""
    state = tmp_path / "state"
    settings = acme_settings(progress_rig, state)
    session = open_session(settings)
    wanted = [
        {"name": "answered", "names": ["answered.example.test"]},
        {"name": "ready", "names": ["ready.example.test"]},
    ]
    orders = order_all(session, parse_certificates([dict(item, key_type="ec256") for item in wanted]), str(state))
    records = [record for order in orders for record in order["records"]]
    publish(progress_rig, records)
    try:
        specs = parse_orders(orders)
        # What a round leaves: the challenges answered (both), and one order already ready.
        challenges = set()
        for spec in specs:
            order, _response = fetch_order(session, spec.order_url)
            authzs = [(url, fetch_authorization(session, url)[0]) for url in order.authorizations]
            challenges.update(dns01_challenge(authz).uri for _url, authz in authzs)
            answer_challenges(session, authzs)
        deadline = time.monotonic() + 30
        while fetch_order(session, specs[1].order_url)[0].status.name != "ready":
            assert time.monotonic() < deadline, "the order did not become ready"
            time.sleep(0.5)
        posted = []
        original = session.post

        def post(url, obj, *args, **kwargs):
            posted.append(url)
            return original(url, obj, *args, **kwargs)

        session.post = post
        results = finalize_all(session, specs, str(state), 60, round_=Round(30), waited={"answered": 3.0})
    finally:
        unpublish(progress_rig, records)
    assert [(cert["name"], cert["status"]) for cert in results] == [("answered", "issued"), ("ready", "issued")]
    # The CSRs and downloads were posted, no challenge a second time.
    assert posted and challenges and not challenges & set(posted), posted
    for cert in results:
        assert Path(cert["paths"]["fullchain"]).is_file()
        assert not (state / cert["name"] / "order.json").exists()
