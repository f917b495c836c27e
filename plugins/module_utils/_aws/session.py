# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to reach AWS: the boto3 session and clients, their botocore settings and their only retry layer.

Route 53 (a DNS provider) and the AWS deploy targets take the same connection
options and talk to AWS with the same timeouts and retry rules; both build
their sessions and clients here, so a change to either (a timeout, the retry
mode) reaches every AWS call of a run.

Retries are botocore's alone (its standard mode: throttling and transient
errors, with backoff), configured once in :func:`client_config`; wrapping the
calls in a retry loop of our own as well would multiply the attempts and the
waits. ``aws_config`` is merged over these settings, so a user can choose
``retries: {mode: adaptive}`` or another ``max_attempts``.
"""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error
from ansible_collections.certfleet.acme.plugins.module_utils._aws.options import connection_settings
from ansible_collections.certfleet.acme.plugins.module_utils._common.libs.boto import (
    AWS_ERRORS,
    HAS_BOTO3,
    boto3,
    botocore,
)

#: botocore's retry mode and its attempts, the first call included (botocore's ``total_max_attempts``).
RETRY_MODE = "standard"
MAX_ATTEMPTS = 6


class AwsSetupError(Exception):
    """No session or client could be made (no region, an unknown profile, a bad endpoint); safe to show."""


def client_config(aws_config: dict | None = None):
    """The botocore settings of every client: botocore's retries, bounded waits, our user agent, then ``aws_config``.

    ``aws_config`` (the option of that name) is merged over ours; its
    ``retries`` is merged key by key, so ``{retries: {mode: adaptive}}`` keeps
    our attempts; ``max_attempts`` (botocore's count of retries after the first
    call) given there replaces ours. Raises AwsSetupError for settings botocore
    refuses.
    """
    config = botocore.config.Config(
        retries={"mode": RETRY_MODE, "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="certfleet.acme",
    )
    if not aws_config:
        return config
    if not isinstance(aws_config, dict):
        raise AwsSetupError("aws_config must be a dictionary of botocore Config settings")
    settings = dict(aws_config)
    if isinstance(settings.get("retries"), dict):
        retries = dict(config.retries)
        if "max_attempts" in settings["retries"]:
            del retries["total_max_attempts"]  # botocore takes one of the two
        settings["retries"] = dict(retries, **settings["retries"])
    try:
        return config.merge(botocore.config.Config(**settings))
    except TypeError as exc:
        raise AwsSetupError("aws_config is not a valid botocore Config: %s" % exc) from None
    except AWS_ERRORS as exc:
        raise AwsSetupError("aws_config is not a valid botocore Config: %s" % describe_error(exc)) from None


def verify_setting(validate_certs=True, aws_ca_bundle: str | None = None):
    """botocore's ``verify``: False without validation, the CA bundle's path, or None for its default."""
    if validate_certs is False:
        return False
    return aws_ca_bundle or None


def new_session(
    region: str | None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
):
    """A boto3 session: explicit keys, else a profile, else boto3's own credential chain (raises AWS_ERRORS).

    A profile may itself assume a role (``role_arn`` with ``source_profile``
    or ``credential_source`` in the AWS config file): boto3 does that.
    """
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


def new_client(session, service: str, endpoint_url: str | None, verify=None, config=None):
    """A client of ``service`` (raises AWS_ERRORS, or ValueError for an unusable ``endpoint_url``)."""
    return session.client(
        service, endpoint_url=endpoint_url, verify=verify, config=config if config is not None else client_config()
    )


class AwsSession:
    """boto3 clients for one set of connection options, made on first use; ``clients`` injects stubs.

    ``params`` may name the options by any of their names (``access_key`` or
    ``aws_access_key_id``, ...); the module's parameters, a role entry or a
    provider entry all work.
    """

    def __init__(self, params: dict, clients: dict | None = None, default_region: str | None = None):
        settings, _conflicts = connection_settings(params)  # conflicts are refused by each caller's own check
        self.region = settings.get("region") or default_region
        self.endpoint_url = settings.get("endpoint_url")
        self._access_key_id = settings.get("access_key")
        self._secret_access_key = settings.get("secret_key")
        self._session_token = settings.get("session_token")
        self.profile = settings.get("profile")
        self.verify = verify_setting(settings.get("validate_certs", True), settings.get("aws_ca_bundle"))
        self.aws_config = settings.get("aws_config")
        self._clients = dict(clients or {})
        self._session = None

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
                    "no AWS region: set region (or AWS_REGION / AWS_DEFAULT_REGION, or a region in the profile)"
                )
            self._session = session
        return self._session

    def client(self, service: str):
        """The client of ``service``; raises AwsSetupError when it cannot be made."""
        if service not in self._clients:
            if not HAS_BOTO3:
                raise AwsSetupError("the Python library boto3 is required")
            config = client_config(self.aws_config)
            try:
                self._clients[service] = new_client(
                    self._boto_session(), service, self.endpoint_url, verify=self.verify, config=config
                )
            except AWS_ERRORS as exc:
                raise AwsSetupError("cannot set up the %s client: %s" % (service, describe_error(exc))) from None
            except ValueError as exc:
                raise AwsSetupError("cannot set up the %s client: %s" % (service, exc)) from None
        return self._clients[service]

    def call(self, service: str, operation: str, **params) -> dict:
        """One API call; botocore retries throttling and transient errors, other AWS errors propagate."""
        return getattr(self.client(service), operation)(**params)
