# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_aws session: the same botocore settings and retries for every AWS client, and clear set-up errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import (
    RETRY_ATTEMPTS,
    AwsSession,
    AwsSetupError,
    call_with_retries,
    client_config,
    new_client,
    new_session,
)

SECRET_KEY = "unit/test+secret+access+key+0000000000"


@pytest.fixture
def no_aws_environment(monkeypatch):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_clients_share_one_configuration(no_aws_environment):
    config = client_config()
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout, config.user_agent_extra) == (10, 60, "certfleet.acme")
    session = new_session("eu-west-1", "AKIAXXX", SECRET_KEY, "token")
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIAXXX", SECRET_KEY, "token")
    client = new_client(session, "acm", "http://127.0.0.1:5000")
    assert client.meta.endpoint_url == "http://127.0.0.1:5000" and client.meta.region_name == "eu-west-1"


def test_throttling_is_retried_up_to_the_attempts():
    calls = []

    def throttled():
        calls.append(1)
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Op")

    with pytest.raises(ClientError):
        call_with_retries(throttled, sleep=lambda seconds: None)
    assert len(calls) == RETRY_ATTEMPTS


def test_no_region_and_bad_endpoint_are_setup_errors(no_aws_environment):
    with pytest.raises(AwsSetupError, match="no AWS region: set region"):
        AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY}).client("acm")
    with pytest.raises(AwsSetupError, match="cannot set up the acm client"):
        AwsSession({"region": "eu-west-1", "endpoint_url": "not a url"}).client("acm")


def test_session_repr_hides_credentials():
    session = AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY, "region": "eu-west-1"})
    assert SECRET_KEY not in repr(session) and "AKIAXXX" not in repr(session)
