# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_aws session: one botocore configuration (and its retries, the only ones) for every client, clear set-up errors."""

from __future__ import annotations

import http.server
import threading

import pytest
from botocore.retries import standard

from ansible_collections.certfleet.acme.plugins.module_utils._aws.session import (
    MAX_ATTEMPTS,
    AwsSession,
    AwsSetupError,
    client_config,
    new_client,
    new_session,
    verify_setting,
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
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert (config.connect_timeout, config.read_timeout, config.user_agent_extra) == (10, 60, "certfleet.acme")
    session = new_session("eu-west-1", "AKIAXXX", SECRET_KEY, "token")
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIAXXX", SECRET_KEY, "token")
    client = new_client(session, "acm", "http://127.0.0.1:5000")
    assert client.meta.endpoint_url == "http://127.0.0.1:5000" and client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}


def test_aws_config_is_merged_over_ours_and_bad_settings_are_setup_errors():
    config = client_config({"retries": {"mode": "adaptive"}, "read_timeout": 120})
    assert config.retries == {"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS}
    assert (config.read_timeout, config.connect_timeout) == (120, 10)
    assert client_config({"retries": {"max_attempts": 2}}).retries == {"mode": "standard", "max_attempts": 2}
    assert client_config({"retries": {"total_max_attempts": 3}}).retries["total_max_attempts"] == 3
    with pytest.raises(AwsSetupError, match="aws_config is not a valid botocore Config"):
        client_config({"no_such_setting": 1})
    with pytest.raises(AwsSetupError, match="aws_config is not a valid botocore Config"):
        client_config({"retries": {"mode": "sometimes"}})


def test_new_and_old_names_and_certificate_verification(no_aws_environment, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read until a request is made")
    new = AwsSession({"access_key": "AKIAXXX", "secret_key": SECRET_KEY, "aws_region": "eu-west-1"})
    old = AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY, "region": "eu-west-1"})
    for session in (new, old):
        assert session.region == "eu-west-1" and session.verify is None
        assert session.client("acm").meta.region_name == "eu-west-1"
        assert session._boto_session().get_credentials().secret_key == SECRET_KEY
    assert verify_setting(False, str(bundle)) is False and verify_setting(True, str(bundle)) == str(bundle)
    assert AwsSession({"region": "eu-west-1", "aws_ca_bundle": str(bundle)}).verify == str(bundle)
    assert AwsSession({"region": "eu-west-1", "validate_certs": False}).verify is False
    tuned = AwsSession({"region": "eu-west-1", "aws_config": {"retries": {"mode": "adaptive"}}}).client("acm")
    assert tuned.meta.config.retries == {"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS}


def test_no_region_and_bad_endpoint_are_setup_errors(no_aws_environment):
    with pytest.raises(AwsSetupError, match="no AWS region: set region"):
        AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY}).client("acm")
    with pytest.raises(AwsSetupError, match="cannot set up the acm client"):
        AwsSession({"region": "eu-west-1", "endpoint_url": "not a url"}).client("acm")


def test_session_repr_hides_credentials():
    session = AwsSession({"aws_access_key_id": "AKIAXXX", "aws_secret_access_key": SECRET_KEY, "region": "eu-west-1"})
    assert SECRET_KEY not in repr(session) and "AKIAXXX" not in repr(session)


class _Throttling(http.server.BaseHTTPRequestHandler):
    """An AWS JSON endpoint that answers every request with ThrottlingException, counting them."""

    requests = 0

    def do_POST(self):  # noqa: N802 - the name http.server calls
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_throttled_call_is_tried_max_attempts_times_in_all(no_aws_environment, monkeypatch):
    """One retry layer: botocore tries MAX_ATTEMPTS times in all, and nothing of ours multiplies that."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = AwsSession(
            {
                "region": "us-east-1",
                "access_key": "AKIAXXX",
                "secret_key": SECRET_KEY,
                "endpoint_url": "http://127.0.0.1:%d" % server.server_address[1],
            }
        )
        with pytest.raises(Exception, match="ThrottlingException"):
            session.call("acm", "list_certificates")
    finally:
        server.shutdown()
        server.server_close()
    assert _Throttling.requests == MAX_ATTEMPTS
