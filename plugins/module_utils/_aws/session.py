# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to reach AWS: the boto3 session and clients, and retried calls.

Route 53 (a DNS provider) and the AWS deploy targets take the same connection
options and talk to AWS with the same timeouts and retry rules; both build
their sessions and clients here, so a change to either (a timeout, a retried
error code) reaches every AWS call of a run.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error, is_retryable
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import (
    AWS_ERRORS,
    HAS_BOTO3,
    boto3,
    botocore,
)
from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import retry_call

RETRY_ATTEMPTS = 6
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 10.0


class AwsSetupError(Exception):
    """No session or client could be made (no region, an unknown profile, a bad endpoint); safe to show."""


def client_config():
    """The botocore settings of every client: botocore's standard retries, bounded waits, our user agent."""
    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="certfleet.acme",
    )


def new_session(
    region: str | None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
):
    """A boto3 session: explicit keys, else a profile, else boto3's own credential chain (raises AWS_ERRORS)."""
    args: dict = {}
    if access_key_id:
        args.update(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
        )
    if profile:
        args["profile_name"] = profile
    return boto3.session.Session(region_name=region, **args)


def new_client(session, service: str, endpoint_url: str | None):
    """A client of ``service`` (raises AWS_ERRORS, or ValueError for an unusable ``endpoint_url``)."""
    return session.client(service, endpoint_url=endpoint_url, config=client_config())


def call_with_retries(fn: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> Any:
    """``fn()``, tried again with backoff while AWS answers "slow down"; other errors propagate."""
    return retry_call(
        fn,
        attempts=RETRY_ATTEMPTS,
        base_delay=RETRY_BASE_DELAY,
        max_delay=RETRY_MAX_DELAY,
        is_retryable=is_retryable,
        sleep=sleep,
    )


class AwsSession:
    """boto3 clients for one set of connection options, made on first use; ``clients`` injects stubs."""

    def __init__(self, params: dict, clients: dict | None = None, sleep=time.sleep):
        self.region = params.get("region")
        self.endpoint_url = params.get("endpoint_url")
        self._access_key_id = params.get("aws_access_key_id")
        self._secret_access_key = params.get("aws_secret_access_key")
        self._session_token = params.get("aws_session_token")
        self.profile = params.get("aws_profile")
        self._clients = dict(clients or {})
        self._session = None
        self.sleep = sleep

    def __repr__(self):
        return "AwsSession(region=%r, endpoint_url=%r, profile=%r)" % (self.region, self.endpoint_url, self.profile)

    def _boto_session(self):
        if self._session is None:
            try:
                session = new_session(
                    self.region, self._access_key_id, self._secret_access_key, self._session_token, self.profile
                )
            except AWS_ERRORS as exc:
                raise AwsSetupError("cannot set up the AWS session: %s" % describe_error(exc)) from None
            if not session.region_name:
                raise AwsSetupError(
                    "no AWS region: set region (or AWS_REGION / AWS_DEFAULT_REGION, or a region in aws_profile)"
                )
            self._session = session
        return self._session

    def client(self, service: str):
        """The client of ``service``; raises AwsSetupError when it cannot be made."""
        if service not in self._clients:
            if not HAS_BOTO3:
                raise AwsSetupError("the Python library boto3 is required")
            try:
                self._clients[service] = new_client(self._boto_session(), service, self.endpoint_url)
            except AWS_ERRORS as exc:
                raise AwsSetupError("cannot set up the %s client: %s" % (service, describe_error(exc))) from None
            except ValueError as exc:
                raise AwsSetupError("cannot set up the %s client: %s" % (service, exc)) from None
        return self._clients[service]

    def call(self, service: str, operation: str, **params) -> dict:
        """One API call, retried while AWS asks to slow down; AWS errors propagate."""
        method = getattr(self.client(service), operation)
        return call_with_retries(lambda: method(**params), sleep=self.sleep)
