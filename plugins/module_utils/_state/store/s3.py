# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state in an S3 bucket, encrypted with KMS, written only with S3's conditional writes.

Runners that share no disk (AWX containers, two cron controllers) share the
bucket. Each key of the layout is one object under ``<prefix>/``; its
version is the object's ETag.

* At rest: every PutObject asks for ``ServerSideEncryption='aws:kms'`` (with
  ``SSEKMSKeyId`` when a key is configured, else the bucket's default KMS
  key), so no object, private keys included, is ever stored in plain text,
  whatever the bucket's default encryption says.
* Concurrency: a create sends ``If-None-Match: *``, a replace
  ``If-Match: <etag>``, a delete ``If-Match: <etag>``; S3 answers 412
  PreconditionFailed (or 409 ConditionalRequestConflict for two racing
  conditional writes) and this class raises :class:`StoreConflict`.

moto 5.2.5 (the test server) enforces all three: If-None-Match and If-Match
on PutObject (412), If-Match on DeleteObject (412), and answers NoSuchKey to
an If-Match on a missing key; so no read-compare-delete fallback is needed or
kept. A missing key under If-Match on a put is a conflict (the object the
caller read is gone); on a delete it is no error.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterable

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error, error_code
from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import AwsSession, AwsSetupError
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import AWS_ERRORS
from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import (
    ABSENT,
    ANY,
    StateStore,
    StoreConflict,
    StoredObject,
    StoreError,
    check_key,
)

#: How many objects get_many fetches at once (and the size of botocore's connection pool).
WORKERS = 16
#: From this many keys on, get_many lists the keys' common prefix first and asks only for the objects that are
#: there: a nothing-due run asks for each certificate's pending order and commit marker, nearly always absent,
#: and one LIST page (1,000 keys) costs what one GET does. On moto (bench/state_backends.py, 1,000 certificates)
#: the run's pull went from 4,004 GETs, half of them answered 404, to 5 LISTs and 2,000 GETs.
LIST_FIRST = 100
#: Error codes of a conditional request that found another version, or lost a race for it.
_CONFLICT_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
#: Error codes of an object that is not there.
_MISSING_CODES = ("NoSuchKey", "404", "NotFound")


def object_prefix(prefix: str | None) -> str:
    """``prefix`` as the start of object keys: ``""`` or ``"a/b/"``."""
    parts = [part for part in (prefix or "").split("/") if part]
    return "/".join(parts) + "/" if parts else ""


class S3Store(StateStore):
    """Objects under ``s3://bucket/prefix/``; ``connection`` holds AWS options by any of their names."""

    kind = "s3"
    lists_cheaply = True

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        kms_key_id: str | None = None,
        connection: dict | None = None,
        session: AwsSession | None = None,
    ):
        self.bucket = bucket
        self.prefix = object_prefix(prefix)
        self.kms_key_id = kms_key_id or None
        if session is None:
            params = dict(connection or {})
            # A connection per worker of get_many; the user's aws_config still wins.
            params["aws_config"] = dict({"max_pool_connections": WORKERS}, **(params.get("aws_config") or {}))
            session = AwsSession(params)
        self._session = session

    def describe(self) -> str:
        return "s3://%s/%s" % (self.bucket, self.prefix.rstrip("/"))

    def _where(self, key: str) -> str:
        return "s3://%s/%s%s" % (self.bucket, self.prefix, key)

    def _client(self):
        """The S3 client, made once before any worker thread needs it (boto3 sessions are not thread-safe)."""
        try:
            return self._session.client("s3")
        except AwsSetupError as exc:
            raise StoreError("cannot reach %s: %s" % (self.describe(), exc)) from None

    def _call(self, operation: str, key: str | None, hide: bool = False, **params) -> dict:
        """One S3 call; setup and AWS errors become StoreError naming the object (never a credential)."""
        where = self._where(key) if key is not None else self.describe()
        client = self._client()
        try:
            return getattr(client, operation)(Bucket=self.bucket, **params)
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code in _CONFLICT_CODES:
                raise StoreConflict(
                    "%s changed meanwhile (another runner wrote it first): %s" % (where, describe_error(exc))
                ) from None
            if code in _MISSING_CODES:
                raise _Missing() from None
            raise StoreError("%s: %s" % (where, describe_error(exc, hide_parameters=hide))) from None

    def get(self, key: str) -> StoredObject | None:
        name = self.prefix + check_key(key)
        try:
            response = self._call("get_object", key, Key=name)
            data = response["Body"].read()
        except _Missing:
            return None
        except AWS_ERRORS as exc:  # the body's stream failed half-way
            raise StoreError("%s: %s" % (self._where(key), describe_error(exc))) from None
        return StoredObject(key, data, response["ETag"])

    def put(self, key: str, data: bytes, *, expect) -> str:
        params = {"Key": self.prefix + check_key(key), "Body": data, "ServerSideEncryption": "aws:kms"}
        if self.kms_key_id:
            params["SSEKMSKeyId"] = self.kms_key_id
        if expect is ABSENT:
            params["IfNoneMatch"] = "*"
        elif expect is not ANY:
            params["IfMatch"] = expect
        try:
            return self._call("put_object", key, hide=True, **params)["ETag"]
        except _Missing:
            raise StoreConflict(
                "%s changed meanwhile: it was removed after version %s was read" % (self._where(key), expect)
            ) from None

    def delete(self, key: str, *, expect) -> None:
        params = {"Key": self.prefix + check_key(key)}
        if expect is ABSENT:
            return
        if expect is not ANY:
            params["IfMatch"] = expect
        try:
            self._call("delete_object", key, **params)
        except _Missing:
            return

    def version(self, key: str) -> str | None:
        try:
            return self._call("head_object", key, Key=self.prefix + check_key(key))["ETag"]
        except _Missing:
            return None

    def list(self, prefix: str = "") -> dict[str, str]:
        found: dict[str, str] = {}
        token = None
        while True:
            params = {"Prefix": self.prefix + prefix}
            if token:
                params["ContinuationToken"] = token
            try:
                page = self._call("list_objects_v2", None, **params)
            except _Missing:
                raise StoreError("%s: the bucket does not exist" % self.describe()) from None
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                try:
                    found[check_key(key)] = item["ETag"]
                except StoreError:
                    continue  # a folder marker ("x/") or a name no layout path has: not state
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return found

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredObject]:
        """The objects among ``keys``, fetched :data:`WORKERS` at a time (a nothing-due run reads thousands)."""
        keys = [check_key(key) for key in dict.fromkeys(keys)]
        if len(keys) >= LIST_FIRST:
            there = self.list(os.path.commonprefix(keys))
            keys = [key for key in keys if key in there]
        if len(keys) < 2:
            return super().get_many(keys)
        self._client()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(WORKERS, len(keys))) as pool:
            results = list(pool.map(self.get, keys))
        return {item.key: item for item in results if item is not None}

    def head(self, key: str) -> dict:
        """The object's metadata (encryption, KMS key id) as S3 reports it; StoreError when it is missing."""
        try:
            return self._call("head_object", key, Key=self.prefix + check_key(key))
        except _Missing:
            raise StoreError("%s does not exist" % self._where(key)) from None


class _Missing(Exception):
    """Inside this module only: S3 said the object (or bucket) is not there."""
