# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 state backend against a moto server: conditional writes, SSE-KMS on every object, the lease, speed.

moto enforces S3's conditional writes (If-None-Match / If-Match on PutObject,
If-Match on DeleteObject) and reports the SSE-KMS key of each object, so what
these tests see is what two runners sharing a bucket would see.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
import time

import pytest
from s3_fixture import CREDENTIALS

from ansible_collections.certfleet.acme.plugins.module_utils._state import lease
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StoreConflict,
    StoreError,
)
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.options import open_store
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.s3 import S3Store

T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def store_of(server, bucket, prefix="fleet/prod", **extra) -> S3Store:
    options = {"type": "s3", "bucket": bucket, "prefix": prefix}
    options.update(server.connection())
    options.update(extra)
    return open_store(options)


def test_conditional_writes_refuse_a_second_create_and_a_stale_version_naming_the_object(s3_server, s3_bucket):
    store = store_of(s3_server, s3_bucket)
    where = "s3://%s/fleet/prod/www/cert.json" % s3_bucket
    first = store.put("www/cert.json", b'{"n": 1}', expect=ABSENT)
    assert store.get("www/cert.json").data == b'{"n": 1}' and store.version("www/cert.json") == first
    with pytest.raises(StoreConflict, match="^%s changed meanwhile .*PreconditionFailed" % where):
        store.put("www/cert.json", b'{"n": 2}', expect=ABSENT)
    second = store.put("www/cert.json", b'{"n": 2}', expect=first)
    with pytest.raises(StoreConflict, match="^%s changed meanwhile" % where):
        store.put("www/cert.json", b'{"n": 3}', expect=first)
    with pytest.raises(StoreConflict, match="^%s changed meanwhile" % where):
        store.delete("www/cert.json", expect=first)
    assert store.get("www/cert.json").data == b'{"n": 2}'
    store.delete("www/cert.json", expect=second)
    assert store.get("www/cert.json") is None and store.version("www/cert.json") is None
    store.delete("www/cert.json", expect=second)  # already gone: no error
    with pytest.raises(StoreConflict, match="it was removed after version"):
        store.put("www/cert.json", b'{"n": 4}', expect=second)
    store.put("www/cert.json", b"x", expect=ANY)
    store.put("www/cert.json", b"y", expect=ANY)
    assert store.get("www/cert.json").data == b"y"


def test_two_writers_racing_to_create_one_object_exactly_one_wins(s3_server, s3_bucket):
    store = store_of(s3_server, s3_bucket)
    start = threading.Barrier(8)

    def create(number: int) -> str:
        start.wait()
        try:
            return store.put("www/order.json", b"writer %d" % number, expect=ABSENT)
        except StoreConflict:
            return "lost"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert outcomes.count("lost") == 7
    assert store.version("www/order.json") == [outcome for outcome in outcomes if outcome != "lost"][0]


def test_every_object_is_sse_kms_under_the_bucket_default_key_or_the_given_one(s3_server):
    keys = (".acme/account.key", ".acme/account.json", "www/privkey.pem", "www/cert.pem", ".txt-journal.json")
    default_bucket = s3_server.new_bucket()
    store = store_of(s3_server, default_bucket)
    for key in keys:
        store.put(key, b"data of " + key.encode(), expect=ABSENT)
    store.put("www/cert.pem", b"renewed", expect=store.version("www/cert.pem"))
    encryption = s3_server.encryption_of_every_object(default_bucket)
    assert sorted(encryption) == sorted("fleet/prod/" + key for key in keys)
    assert set(encryption.values()) == {("aws:kms", s3_server.default_key)}

    given_bucket = s3_server.new_bucket()
    store = store_of(s3_server, given_bucket, kms_key_id=s3_server.other_key)
    for key in keys:
        store.put(key, b"data", expect=ABSENT)
    assert set(s3_server.encryption_of_every_object(given_bucket).values()) == {("aws:kms", s3_server.other_key)}
    assert store.head("www/privkey.pem")["SSEKMSKeyId"] == s3_server.other_key


def test_the_prefix_keeps_stores_apart_and_list_reads_only_layout_keys(s3_server, s3_bucket):
    prod = store_of(s3_server, s3_bucket, prefix="fleet/prod")
    test = store_of(s3_server, s3_bucket, prefix="fleet/test/")
    root = store_of(s3_server, s3_bucket, prefix="")
    prod.put("www/cert.pem", b"prod", expect=ABSENT)
    test.put("www/cert.pem", b"test", expect=ABSENT)
    s3_server.client("s3").put_object(Bucket=s3_bucket, Key="fleet/prod/folder/", Body=b"")
    assert list(prod.list()) == ["www/cert.pem"] and test.get("www/cert.pem").data == b"test"
    assert sorted(root.list()) == ["fleet/prod/www/cert.pem", "fleet/test/www/cert.pem"]
    assert prod.list("api/") == {} and test.describe() == "s3://%s/fleet/test" % s3_bucket


def test_list_pages_and_get_many_reads_two_thousand_objects_concurrently(s3_server, s3_bucket):
    store = store_of(s3_server, s3_bucket)
    keys = ["cert-%04d/%s" % (number, name) for number in range(1000) for name in ("cert.json", "cert.pem")]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        versions = dict(zip(keys, pool.map(lambda key: store.put(key, key.encode() * 20, expect=ABSENT), keys)))
    listed = store.list()
    assert listed == versions  # more than one page of ListObjectsV2 (1,000 keys each)
    started = time.monotonic()
    found = store.get_many(keys + ["cert-9999/cert.json"])
    concurrent_seconds = time.monotonic() - started
    assert sorted(found) == sorted(keys)
    assert all(found[key].data == key.encode() * 20 and found[key].version == versions[key] for key in keys)
    started = time.monotonic()
    for key in keys[:200]:
        store.get(key)
    serial_seconds = (time.monotonic() - started) * len(keys) / 200
    print(
        "\nget_many of %d objects: %.2f s; one at a time (estimated from 200): %.2f s"
        % (len(keys), concurrent_seconds, serial_seconds)
    )


def test_the_lease_is_held_refused_and_taken_over_after_expiry(s3_server, s3_bucket):
    store = store_of(s3_server, s3_bucket)
    first = lease.acquire(store, "run-a", "runner-a", 11, 60, now=T0)
    with pytest.raises(
        lease.LeaseHeld,
        match=r"^state s3://%s/fleet/prod is held by run run-a on runner-a \(pid 11\) "
        r"until 2025-03-01T12:01:00Z \(in 30 s\)" % s3_bucket,
    ):
        lease.acquire(store, "run-b", "runner-b", 22, 60, now=T0 + datetime.timedelta(seconds=30))
    renewed = lease.renew(store, "run-a", first["version"], 60, now=T0 + datetime.timedelta(seconds=40))
    taken = lease.acquire(store, "run-b", "runner-b", 22, 60, now=T0 + datetime.timedelta(seconds=200))
    assert taken["previous"]["run_id"] == "run-a"
    assert taken["warnings"][0].startswith(
        "took over the lease of s3://%s/fleet/prod from run run-a on runner-a (pid 11), which expired at "
        "2025-03-01T12:01:40Z (100 s ago)" % s3_bucket
    )
    with pytest.raises(StoreConflict):
        lease.renew(store, "run-a", renewed, 60)
    assert lease.release(store, "run-a") is False
    assert lease.release(store, "run-b") is True and store.get(".lock") is None


def test_racing_runs_for_one_expired_lease_exactly_one_takes_it(s3_server, s3_bucket):
    store = store_of(s3_server, s3_bucket)
    lease.acquire(store, "run-killed", "runner-k", 1, 60, now=T0)
    start = threading.Barrier(6)

    def take(number: int) -> str:
        start.wait()
        try:
            return lease.acquire(store, "run-%d" % number, "h", number, 60, now=T0 + datetime.timedelta(hours=1))[
                "lease"
            ]["run_id"]
        except lease.LeaseHeld:
            return "held"

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(take, range(6)))
    assert outcomes.count("held") == 5
    assert lease.release(store, [outcome for outcome in outcomes if outcome != "held"][0]) is True


def test_failures_name_the_object_and_never_a_credential(s3_server):
    missing = store_of(s3_server, "certfleet-no-such-bucket")
    with pytest.raises(StoreError) as caught:
        missing.get("www/cert.pem")
    assert str(caught.value).startswith(
        "s3://certfleet-no-such-bucket/fleet/prod/www/cert.pem: GetObject: NoSuchBucket"
    )
    with pytest.raises(StoreError) as listed:
        missing.list()
    unreachable = store_of(
        s3_server, "b", endpoint_url="http://127.0.0.1:9", aws_config={"retries": {"max_attempts": 0}}
    )
    with pytest.raises(StoreError) as refused:
        unreachable.put("www/privkey.pem", b"-----BEGIN PRIVATE KEY-----", expect=ABSENT)
    assert str(refused.value).startswith("s3://b/fleet/prod/www/privkey.pem: ")
    for message in (str(caught.value), str(listed.value), str(refused.value)):
        assert not any(secret in message for secret in CREDENTIALS) and "PRIVATE KEY" not in message
