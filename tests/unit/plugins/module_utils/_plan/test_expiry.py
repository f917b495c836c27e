# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime
import json
import os
import random
import time

import pytest
from certgen import cached_key, make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial
from ansible_collections.certfleet.acme.plugins.module_utils._plan import ari
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import (
    certificate_info,
    load_certificate,
    split_pem_chain,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.expiry import (
    due_names,
    expiry_facts,
    undeployed_names,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import ServedCertError

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
NAMES = ["example.org", "*.example.org"]


def write(state_dir, name, pem):
    os.makedirs(os.path.join(state_dir, name), exist_ok=True)
    with open(os.path.join(state_dir, name, "cert.pem"), "wb") as handle:
        handle.write(pem)


@pytest.fixture
def fleet(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "fresh", make_cert(NAMES, days_left=60, now=NOW))
    write(state_dir, "expiring", make_cert(NAMES, days_left=10, now=NOW))
    write(state_dir, "expired", make_cert(NAMES, days_left=-3, now=NOW))
    write(state_dir, "renamed", make_cert(["example.org"], days_left=60, now=NOW))
    write(state_dir, "rekeyed", make_cert(NAMES, key_type="rsa2048", days_left=60, now=NOW))
    write(state_dir, "garbage", b"not a certificate\n")
    return state_dir


def facts_for(state_dir, **overrides):
    wanted = {"names": ["*.EXAMPLE.org.", "example.org"], "key_type": "ec256"}
    wanted.update(overrides)
    items = [
        dict(wanted, name=name) for name in ("fresh", "expiring", "expired", "renamed", "rekeyed", "missing", "garbage")
    ]
    return expiry_facts(items, state_dir, 30, now=NOW)


def test_reasons(fleet):
    facts, warnings = facts_for(fleet)
    assert {name: fact["reason"] for name, fact in facts.items()} == {
        "fresh": None,
        "expiring": "expiring",
        "expired": "expiring",
        "renamed": "names_changed",
        "rekeyed": "key_type_changed",
        "missing": "missing",
        "garbage": "missing",
    }
    assert due_names(facts) == ["expiring", "expired", "renamed", "rekeyed", "missing", "garbage"]
    assert len(warnings) == 1 and "garbage" in warnings[0]


def test_fact_fields(fleet):
    facts, _warnings = facts_for(fleet)
    fresh = facts["fresh"]
    assert fresh["exists"] is True
    assert fresh["needs_renewal"] is False
    assert fresh["days_left"] == 60
    assert fresh["lifetime_days"] == 90
    assert fresh["not_after"] == "2025-04-30T12:00:00Z"
    assert fresh["names"] == ["example.org", "*.example.org"]
    assert fresh["issuer"] == "CN=Test CA"
    assert fresh["key_type"] == "ec256"
    assert int(fresh["serial"], 16) > 0
    assert facts["expired"]["days_left"] == -3
    assert facts["rekeyed"]["key_type"] == "rsa2048"
    assert facts["missing"] == {
        "exists": False,
        "not_after": None,
        "days_left": None,
        "lifetime_days": None,
        "names": [],
        "issuer": None,
        "serial": None,
        "key_type": None,
        "needs_renewal": True,
        "needs_deploy": False,
        "reason": "missing",
        "renew_at": None,
        "renew_source": None,
        "ari": None,
        "replaces": None,
    }


def test_names_and_key_type_only_compared_when_given(fleet):
    facts, _warnings = facts_for(fleet, names=None, key_type=None)
    assert facts["renamed"]["reason"] is None
    assert facts["rekeyed"]["reason"] is None


def test_renew_window_boundary(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "edge", make_cert(NAMES, days_left=30, now=NOW))
    facts, _warnings = expiry_facts([{"name": "edge"}], state_dir, 30, now=NOW)
    assert facts["edge"]["needs_renewal"] is False
    facts, _warnings = expiry_facts([{"name": "edge"}], state_dir, 31, now=NOW)
    assert facts["edge"]["reason"] == "expiring"


def test_explicit_path_and_full_chain(tmp_path):
    path = tmp_path / "chain.pem"
    path.write_bytes(make_cert(["a.test"], now=NOW) + make_cert(["ca.test"], now=NOW))
    facts, _warnings = expiry_facts([{"name": "x", "path": str(path), "names": ["a.test"]}], None, 30, now=NOW)
    assert facts["x"]["names"] == ["a.test"]
    assert facts["x"]["reason"] is None


def test_split_chain_and_info():
    leaf = make_cert(["a.test"], now=NOW)
    ca = make_cert(["ca.test"], key_type="ec384", now=NOW)
    blocks = split_pem_chain(leaf + b"\n" + ca)
    assert blocks == [leaf.decode(), ca.decode()]
    info = certificate_info(load_certificate(blocks[1]))
    assert info["names"] == ["ca.test"] and info["key_type"] == "ec384"


def test_thousand_certificates_each_get_their_own_verdict(tmp_path):
    # Speed over 1,000 certificates is measured by bench/expiry_1000.py; here, that a large fleet is
    # judged certificate by certificate (no cache mixing up entries that share a PEM).
    state_dir = str(tmp_path)
    pems = [make_cert(["n%d.example.org" % i], days_left=i * 4, now=NOW, key=cached_key("ec256")) for i in range(20)]
    items = []
    for i in range(1000):
        write(state_dir, "c%d" % i, pems[i % 20])
        items.append({"name": "c%d" % i, "names": ["n%d.example.org" % (i % 20)], "key_type": "ec256"})
    facts, _warnings = expiry_facts(items, state_dir, 30, now=NOW)
    assert len(facts) == 1000
    due = sorted(int(name[1:]) for name, fact in facts.items() if fact["needs_renewal"])
    assert due == [i for i in range(1000) if (i % 20) * 4 < 30]
    assert {facts[name]["reason"] for name in ("c%d" % i for i in due)} == {"expiring"}


# --------------------------------------------------------------------------
# the day rule without ARI

DAY = datetime.timedelta(days=1)


def reason_of(state_dir, name="c", renew_days=None, now=NOW, **item):
    facts, _warnings = expiry_facts([dict(item, name=name)], state_dir, renew_days, now=now)
    return facts[name]


def test_six_day_certificate_on_a_daily_schedule_renews_once_before_expiry(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "short", make_cert(NAMES, days_left=6, lifetime=6, now=NOW))
    renewed = []
    for day in range(7):
        now = NOW + day * DAY
        fact = reason_of(state_dir, "short", now=now)
        assert fact["days_left"] > 0, "expired on day %d" % day
        if fact["needs_renewal"]:
            assert fact["reason"] == "expiring"
            renewed.append((day, fact["days_left"]))
            write(state_dir, "short", make_cert(NAMES, days_left=6, lifetime=6, now=now))  # what a renewal does
    assert renewed == [(4, 2)]


def test_six_day_certificate_over_a_month_never_renews_daily_and_never_expires(tmp_path):
    state_dir = str(tmp_path)
    run_at = NOW + datetime.timedelta(hours=3)  # the daily job runs a little after the first issuance
    write(state_dir, "short", make_cert(NAMES, days_left=6, lifetime=6, now=NOW))
    renewed = []
    for day in range(31):
        now = run_at + day * DAY
        fact = reason_of(state_dir, "short", now=now)
        assert fact["days_left"] >= 0
        if fact["needs_renewal"]:
            renewed.append(day)
            write(state_dir, "short", make_cert(NAMES, days_left=6, lifetime=6, now=now))
    gaps = {later - earlier for earlier, later in zip(renewed, renewed[1:])}
    assert gaps == {4}, renewed  # renewed with 2 of 6 days left, every fourth run


@pytest.mark.parametrize(
    "lifetime, due_left, not_due_left",
    [
        (90, 29, 30),  # a third: the old default of 30 days
        (45, 14, 15),  # a third
        (30, 9, 10),
        (11, 3, 4),  # longer than 10 days: still a third (3.67 days)
        (10, 4, 5),  # 10 days or less: half
        (6, 2, 3),
    ],
)
def test_default_window_is_a_share_of_the_lifetime(tmp_path, lifetime, due_left, not_due_left):
    state_dir = str(tmp_path)
    write(state_dir, "due", make_cert(NAMES, days_left=due_left, lifetime=lifetime, now=NOW))
    write(state_dir, "fine", make_cert(NAMES, days_left=not_due_left, lifetime=lifetime, now=NOW))
    assert reason_of(state_dir, "due")["reason"] == "expiring"
    fine = reason_of(state_dir, "fine")
    assert fine["reason"] is None and fine["renew_source"] == "lifetime"
    assert fine["renew_at"] >= "2025-03-01T12:00:00Z"


def test_renew_at_of_a_ninety_day_certificate(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "c", make_cert(NAMES, days_left=60, now=NOW))
    fact = reason_of(state_dir)
    assert fact["renew_at"] == "2025-03-31T12:00:00Z"  # 30 days before 2025-04-30
    fact = reason_of(state_dir, renew_days=10)
    assert fact["renew_at"] == "2025-04-20T12:00:00Z" and fact["renew_source"] == "renew_days"


def test_renew_days_replaces_the_share(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "c", make_cert(NAMES, days_left=20, now=NOW))
    assert reason_of(state_dir)["reason"] == "expiring"
    assert reason_of(state_dir, renew_days=15)["reason"] is None
    assert reason_of(state_dir, renew_days=21)["reason"] == "expiring"
    assert reason_of(state_dir, renew_days=0)["reason"] is None


# --------------------------------------------------------------------------
# force and the order of reasons


def test_force_global_and_per_certificate(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "a", make_cert(NAMES, days_left=60, now=NOW))
    write(state_dir, "b", make_cert(NAMES, days_left=60, now=NOW))
    items = [{"name": "a"}, {"name": "b", "force": True}, {"name": "gone", "force": True}]
    facts, _warnings = expiry_facts(items, state_dir, None, now=NOW)
    assert [facts[name]["reason"] for name in ("a", "b", "gone")] == [None, "force", "missing"]
    assert facts["b"]["needs_renewal"] is True
    facts, _warnings = expiry_facts(items, state_dir, None, now=NOW, force=True)
    assert [facts[name]["reason"] for name in ("a", "b", "gone")] == ["force", "force", "missing"]
    assert due_names(facts) == ["a", "b", "gone"]


def test_reasons_come_in_order(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "c", make_cert(["other.example"], key_type="rsa2048", days_left=1, now=NOW))
    wanted = {"names": NAMES, "key_type": "ec256"}
    assert reason_of(state_dir, **wanted, force=True)["reason"] == "force"
    assert reason_of(state_dir, **wanted)["reason"] == "names_changed"
    assert reason_of(state_dir, key_type="ec256")["reason"] == "key_type_changed"
    assert reason_of(state_dir)["reason"] == "expiring"


# --------------------------------------------------------------------------
# ACME Renewal Information

AKI = bytes(range(20))


class FakeAri:
    """Stands in for AriClient: a window per certificate id, every fetch counted."""

    def __init__(self, start, end, retry_after=6 * 3600.0, explanation=None):
        self.window = (start, end)
        self.windows: dict = {}
        self.retry_after = retry_after
        self.explanation = explanation
        self.error = None
        self.calls: list = []

    def fetch(self, identifier):
        self.calls.append(identifier)
        if self.error:
            raise ari.AriError(self.error)
        start, end = self.windows.get(identifier, self.window)
        return ari.RenewalInfo(start, end, self.explanation, self.retry_after)


def ari_cert(state_dir, name="www", days_left=20, serial=0x1234, lifetime=90):
    pem = make_cert(NAMES, days_left=days_left, lifetime=lifetime, now=NOW, aki=AKI, serial=serial)
    write(state_dir, name, pem)
    return ari.cert_id(load_certificate(pem))


def run_ari(state_dir, fake, now=NOW, seed=0, check_mode=False, items=None, **options):
    items = items or [{"name": "www", "names": NAMES}]
    return expiry_facts(
        items, state_dir, None, now=now, ari=fake, rng=random.Random(seed), check_mode=check_mode, **options
    )


def stored(state_dir, name="www"):
    with open(os.path.join(state_dir, name, "cert.json"), encoding="utf-8") as handle:
        return json.load(handle)


def at(text):
    return ari.parse_timestamp(text)


def test_ari_window_in_the_future_is_not_due_and_the_choice_is_kept(tmp_path):
    state_dir = str(tmp_path)
    identifier = ari_cert(state_dir, days_left=20)  # the day rule alone would renew (20 < 30 days left)
    start, end = NOW + 10 * DAY, NOW + 12 * DAY
    fake = FakeAri(start, end, explanation="https://ca.test/why")
    facts, warnings = run_ari(state_dir, fake, seed=1)
    fact = facts["www"]
    assert warnings == []
    assert fake.calls == [identifier]
    assert fact["reason"] is None and fact["needs_renewal"] is False
    assert fact["renew_source"] == "ari"
    assert fact["replaces"] == identifier
    chosen = fact["ari"]["selected_time"]
    assert start <= at(chosen) < end and fact["renew_at"] == chosen
    assert fact["ari"] == {
        "cert_id": identifier,
        "window_start": "2025-03-11T12:00:00Z",
        "window_end": "2025-03-13T12:00:00Z",
        "selected_time": chosen,
        "next_check": "2025-03-01T18:00:00Z",
        "explanation_url": "https://ca.test/why",
    }
    assert stored(state_dir)["ari"] == fact["ari"]

    # Before next_check: the CA is not asked, nothing is drawn again (another seed would draw elsewhere).
    again, _warnings = run_ari(state_dir, fake, now=NOW + datetime.timedelta(hours=5), seed=2)
    assert fake.calls == [identifier]
    assert again["www"]["ari"] == fact["ari"] and again["www"]["reason"] is None

    # After next_check the CA is asked again; the same window keeps the same time.
    later = NOW + datetime.timedelta(hours=7)
    again, _warnings = run_ari(state_dir, fake, now=later, seed=3)
    assert fake.calls == [identifier, identifier]
    assert again["www"]["ari"]["selected_time"] == chosen
    assert again["www"]["ari"]["next_check"] == "2025-03-02T01:00:00Z"
    assert stored(state_dir)["ari"]["next_check"] == "2025-03-02T01:00:00Z"


def test_the_chosen_time_comes_and_the_certificate_is_due(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir, days_left=60)
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    chosen = at(run_ari(state_dir, fake)[0]["www"]["ari"]["selected_time"])
    before, _warnings = run_ari(state_dir, fake, now=chosen - datetime.timedelta(seconds=1))
    assert before["www"]["reason"] is None
    due, _warnings = run_ari(state_dir, fake, now=chosen)
    assert due["www"]["reason"] == "ari_window" and due["www"]["needs_renewal"] is True


def test_ari_window_in_the_past_renews_now(tmp_path):
    state_dir = str(tmp_path)
    identifier = ari_cert(state_dir, days_left=60)  # the day rule alone would wait a month
    fake = FakeAri(NOW - 3 * DAY, NOW - 1 * DAY, explanation="https://ca.test/incident")
    facts, _warnings = run_ari(state_dir, fake)
    fact = facts["www"]
    assert fact["reason"] == "ari_window" and fact["needs_renewal"] is True
    assert at(fact["ari"]["selected_time"]) < NOW
    assert fact["replaces"] == identifier
    assert fact["ari"]["explanation_url"] == "https://ca.test/incident"


def test_window_moved_by_the_ca_is_drawn_again(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir, days_left=60)
    fake = FakeAri(NOW + 20 * DAY, NOW + 22 * DAY)
    first = run_ari(state_dir, fake)[0]["www"]["ari"]
    fake.window = (NOW + 2 * DAY, NOW + 3 * DAY)  # e.g. ahead of a mass revocation
    later = NOW + 7 * datetime.timedelta(hours=1)
    moved = run_ari(state_dir, fake, now=later, seed=5)[0]["www"]
    assert len(fake.calls) == 2
    assert moved["ari"]["window_start"] == "2025-03-03T12:00:00Z"
    assert NOW + 2 * DAY <= at(moved["ari"]["selected_time"]) < NOW + 3 * DAY
    assert moved["ari"]["selected_time"] != first["selected_time"]
    assert stored(state_dir)["ari"] == moved["ari"]
    assert moved["reason"] is None

    fake.window = (NOW - 2 * DAY, NOW - DAY)  # and now into the past
    now = later + datetime.timedelta(hours=7)
    assert run_ari(state_dir, fake, now=now)[0]["www"]["reason"] == "ari_window"


def test_retry_after_is_respected(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir, days_left=60)
    fake = FakeAri(NOW + 20 * DAY, NOW + 22 * DAY, retry_after=12 * 3600.0)
    facts, _warnings = run_ari(state_dir, fake)
    assert facts["www"]["ari"]["next_check"] == "2025-03-02T00:00:00Z"
    for hours in (1, 6, 11, 11.99):
        run_ari(state_dir, fake, now=NOW + datetime.timedelta(hours=hours))
    assert len(fake.calls) == 1
    run_ari(state_dir, fake, now=NOW + datetime.timedelta(hours=12))
    assert len(fake.calls) == 2


def test_ari_errors_fall_back_to_the_day_rule(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir, "soon", days_left=20, serial=0x51)
    ari_cert(state_dir, "later", days_left=60, serial=0x52)
    fake = FakeAri(NOW + 20 * DAY, NOW + 22 * DAY)
    fake.error = "GET https://ca.test/ari/x answered HTTP 503"
    items = [{"name": "soon"}, {"name": "later"}]
    facts, warnings = run_ari(state_dir, fake, items=items)
    assert facts["soon"]["reason"] == "expiring" and facts["later"]["reason"] is None
    assert facts["soon"]["ari"] is None and facts["soon"]["renew_source"] == "lifetime"
    assert len(warnings) == 2 and all("HTTP 503" in warning for warning in warnings)
    assert not os.path.exists(os.path.join(state_dir, "soon", "cert.json"))

    # A choice kept earlier is left alone while the CA cannot be asked.
    fake.error = None
    kept = run_ari(state_dir, fake, items=items)[0]["later"]["ari"]
    fake.error = "connection refused"
    facts, warnings = run_ari(state_dir, fake, now=NOW + DAY, items=items)
    assert facts["later"]["ari"] is None and facts["later"]["renew_source"] == "lifetime"
    assert stored(state_dir, "later")["ari"] == kept
    assert len(fake.calls) == 6


def test_check_mode_keeps_nothing(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir)
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    facts, _warnings = run_ari(state_dir, fake, check_mode=True)
    assert facts["www"]["ari"]["selected_time"]
    assert not os.path.exists(os.path.join(state_dir, "www", "cert.json"))


def test_cert_json_keeps_its_other_keys_and_a_new_certificate_starts_over(tmp_path):
    state_dir = str(tmp_path)
    first_id = ari_cert(state_dir, serial=0x71)
    with open(os.path.join(state_dir, "www", "cert.json"), "w", encoding="utf-8") as handle:
        json.dump({"name": "www", "serial": "71", "issued_at": "2025-01-01T00:00:00Z"}, handle)
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    run_ari(state_dir, fake)
    document = stored(state_dir)
    assert document["issued_at"] == "2025-01-01T00:00:00Z" and document["ari"]["cert_id"] == first_id

    second_id = ari_cert(state_dir, serial=0x72)  # renewed: the kept choice belongs to the old one
    facts, _warnings = run_ari(state_dir, fake, now=NOW + datetime.timedelta(hours=1))
    assert fake.calls == [first_id, second_id]
    assert facts["www"]["ari"]["cert_id"] == second_id == facts["www"]["replaces"]


def test_ari_needs_an_authority_key_identifier_and_a_directory(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "plain", make_cert(NAMES, days_left=20, now=NOW))
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    facts, warnings = run_ari(state_dir, fake, items=[{"name": "plain"}, {"name": "gone"}])
    assert fake.calls == [] and warnings == []
    assert facts["plain"]["reason"] == "expiring" and facts["plain"]["replaces"] is None
    assert facts["gone"]["replaces"] is None

    ari_cert(state_dir, "www", days_left=60)
    facts, _warnings = expiry_facts([{"name": "www"}], state_dir, None, now=NOW)  # no ARI: no replaces
    assert facts["www"]["replaces"] is None and facts["www"]["ari"] is None


def test_replaces_only_for_a_certificate_sharing_a_name(tmp_path):
    state_dir = str(tmp_path)
    identifier = ari_cert(state_dir)
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    same = run_ari(state_dir, fake, items=[{"name": "www", "names": ["example.org", "new.example.org"]}])[0]
    assert same["www"]["reason"] == "names_changed" and same["www"]["replaces"] == identifier
    other = run_ari(state_dir, fake, items=[{"name": "www", "names": ["unrelated.example"]}])[0]
    assert other["www"]["replaces"] is None


def test_expired_certificate_is_renewed_whatever_the_window(tmp_path):
    state_dir = str(tmp_path)
    ari_cert(state_dir, days_left=-1)
    fake = FakeAri(NOW + 10 * DAY, NOW + 12 * DAY)
    assert run_ari(state_dir, fake)[0]["www"]["reason"] == "expiring"


# --------------------------------------------------------------------------
# what the endpoint serves


class FakeEndpoints:
    def __init__(self, served=None, error=None, delay=0.0):
        self.served = served
        self.error = error
        self.delay = delay
        self.calls: list = []

    def __call__(self, host, port, sni, timeout):
        self.calls.append((host, port, sni, timeout))
        if self.delay:
            time.sleep(self.delay)
        if self.error:
            raise ServedCertError(self.error)
        return load_certificate(self.served)


def endpoint_facts(state_dir, fetch, items=None, renew_days=None):
    items = items or [{"name": "www", "names": NAMES, "endpoint": {"host": "127.0.0.1", "port": 8443}}]
    return expiry_facts(items, state_dir, renew_days, now=NOW, fetch_served=fetch, timeout=3)


def test_newer_certificate_on_disk_is_not_deployed(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", make_cert(NAMES, days_left=85, now=NOW))
    old = make_cert(NAMES, days_left=25, now=NOW)
    fetch = FakeEndpoints(old)
    facts, warnings = endpoint_facts(state_dir, fetch)
    fact = facts["www"]
    assert warnings == []
    assert fact["reason"] == "not_deployed"
    assert fact["needs_renewal"] is False and fact["needs_deploy"] is True
    assert fact["served"] == {
        "serial": format_serial(load_certificate(old).serial_number),
        "not_after": "2025-03-26T12:00:00Z",
        "matches": False,
    }
    assert due_names(facts) == [] and undeployed_names(facts) == ["www"]
    # SNI: the first wanted name, with the wildcard's "*." removed for the second one.
    assert fetch.calls == [("127.0.0.1", 8443, "example.org", 3)]


def test_served_certificate_matches(tmp_path):
    state_dir = str(tmp_path)
    pem = make_cert(NAMES, days_left=85, now=NOW)
    write(state_dir, "www", pem)
    facts, _warnings = endpoint_facts(state_dir, FakeEndpoints(pem))
    assert facts["www"]["reason"] is None and facts["www"]["needs_deploy"] is False
    assert facts["www"]["served"]["matches"] is True
    assert undeployed_names(facts) == []


def test_a_renewal_reason_wins_over_not_deployed(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", make_cert(NAMES, days_left=20, now=NOW))
    facts, _warnings = endpoint_facts(state_dir, FakeEndpoints(make_cert(NAMES, days_left=5, now=NOW)))
    assert facts["www"]["reason"] == "expiring" and facts["www"]["needs_deploy"] is False


def test_an_endpoint_serving_something_newer_or_other_is_not_not_deployed(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", make_cert(NAMES, days_left=60, now=NOW))
    newer = make_cert(NAMES, days_left=89, now=NOW)
    facts, _warnings = endpoint_facts(state_dir, FakeEndpoints(newer))
    assert facts["www"]["reason"] is None and facts["www"]["served"]["matches"] is False


def test_endpoint_errors_are_warnings(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "www", make_cert(NAMES, days_left=60, now=NOW))
    facts, warnings = endpoint_facts(state_dir, FakeEndpoints(error="127.0.0.1:8443: connection refused"))
    assert facts["www"]["served"] == {"error": "127.0.0.1:8443: connection refused"}
    assert facts["www"]["reason"] is None
    assert warnings == ["certificate 'www': cannot read the served certificate: 127.0.0.1:8443: connection refused"]


def test_endpoint_defaults_and_a_missing_certificate(tmp_path):
    state_dir = str(tmp_path)
    write(state_dir, "wild", make_cert(["*.example.net", "example.net"], days_left=60, now=NOW))
    fetch = FakeEndpoints(make_cert(["x.test"], now=NOW))
    items = [
        {"name": "wild", "endpoint": {"host": "127.0.0.2"}},
        {"name": "gone", "names": ["gone.example"], "endpoint": {"host": "127.0.0.3", "sni": "sni.example"}},
    ]
    facts, _warnings = endpoint_facts(state_dir, fetch, items)
    assert sorted(fetch.calls) == [("127.0.0.2", 443, "example.net", 3), ("127.0.0.3", 443, "sni.example", 3)]
    assert facts["gone"]["reason"] == "missing" and facts["gone"]["served"]["matches"] is False
    assert "served" not in reason_of(state_dir, "wild")


def test_endpoints_are_read_concurrently(tmp_path):
    state_dir = str(tmp_path)
    pem = make_cert(NAMES, days_left=60, now=NOW)
    items = []
    for index in range(20):
        write(state_dir, "c%d" % index, pem)
        items.append({"name": "c%d" % index, "endpoint": {"host": "127.0.0.1", "port": 9000 + index}})
    start = time.monotonic()
    facts, _warnings = endpoint_facts(state_dir, FakeEndpoints(pem, delay=0.3), items)
    assert time.monotonic() - start < 1.5  # one after the other would take 6 s
    assert all(fact["served"]["matches"] for fact in facts.values())
