# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A certificate the client does not trust: the test CAs pass strict verification, and every message says the fix.

Python 3.13 verifies strictly by default (``VERIFY_X509_STRICT``), so the
rig's and the fakes' CAs must carry the RFC 5280 extensions; the tests here
turn the flag on themselves, so they hold on every supported Python. The
servers are TLS listeners on 127.0.0.1 with throwaway CAs from tests/fakes.
"""

from __future__ import annotations

import http.server
import importlib.util
import socket
import ssl
import sys
import threading
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings, fetch_directory
from ansible_collections.certfleet.acme.plugins.module_utils._acme.problems import exception_problem, problem_text
from ansible_collections.certfleet.acme.plugins.module_utils._aws.errors import describe_error
from ansible_collections.certfleet.acme.plugins.module_utils._common.http import JsonApi, TransportError
from ansible_collections.certfleet.acme.plugins.module_utils._common.tls import (
    TlsVerifyError,
    tls_error_hint,
    verify_failure,
)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import ProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import build_provider
from ansible_collections.certfleet.acme.plugins.module_utils._plan import ari

TESTS = Path(__file__).resolve().parents[4]
STRICT = ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)


def load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


testca = load("testca", TESTS / "fakes" / "testca.py")  # the name the rig imports it by


def strict_context(cafile) -> ssl.SSLContext:
    """A client context as Python 3.13 makes it by default: strict RFC 5280 checks."""
    context = ssl.create_default_context(cafile=str(cafile))
    context.verify_flags |= STRICT
    return context


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        body = b'{"renewalInfo": "https://127.0.0.1/ari", "newNonce": "https://127.0.0.1/nonce"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a refused handshake is what the tests want
        pass


class TlsServer:
    """An HTTPS listener on 127.0.0.1 with the given certificate and key, in a thread."""

    def __init__(self, cert_path, key_path):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.socket = testca.server_context(str(cert_path), str(key_path)).wrap_socket(
            self.httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = self.httpd.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def handshake(context: ssl.SSLContext, port: int, host: str = "localhost") -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host):
            pass


def write_tls(directory: Path, usage: bool = True, ski: bool = True):
    """(ca.pem, listener.pem, listener.key) for 127.0.0.1 and localhost; ``usage``/``ski`` as make_ca takes them."""
    directory.mkdir(parents=True, exist_ok=True)
    start = testca.now()
    name = testca.x509_name("certfleet test CA")
    # No path length: with one, OpenSSL names that ("Path length given without key usage keyCertSign") first.
    ca_key, ca = testca.make_ca(name, start - testca.DAY, start + testca.DAY, usage=usage, ski=ski, path_length=None)
    key = testca.ec.generate_private_key(testca.ec.SECP256R1())
    aki = testca.x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    sans = [testca.x509.DNSName("localhost"), testca.x509.IPAddress(testca.ipaddress.ip_address("127.0.0.1"))]
    leaf = testca.make_leaf(
        ca_key, name, key.public_key(), sans, start - testca.DAY, start + testca.DAY, extensions=((aki, False),)
    )
    paths = directory / "ca.pem", directory / "listener.pem", directory / "listener.key"
    paths[0].write_text(testca.pem(ca))
    paths[1].write_text(testca.pem(leaf))
    testca.write_private(str(paths[2]), testca.key_pem(key))
    return paths


@pytest.fixture(autouse=True)
def no_ca_variables(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def untrusted(tmp_path):
    """A listener whose CA the client does not know."""
    _ca, cert, key = write_tls(tmp_path / "untrusted")
    with TlsServer(cert, key) as server:
        yield server


@pytest.fixture
def no_key_usage(tmp_path):
    """(server, its CA file): a CA without keyUsage, which only strict verification refuses."""
    ca, cert, key = write_tls(tmp_path / "nokeyusage", usage=False)
    with TlsServer(cert, key) as server:
        yield server, ca


# ------------------------------------------------------------------ the test CAs


@pytest.mark.skipif(not hasattr(ssl, "VERIFY_X509_STRICT"), reason="no strict verification in this ssl")
def test_rig_ca_and_listener_pass_strict_verification(tmp_path):
    rig = load("certfleet_rig_for_tls_test", TESTS / "rig" / "rig.py")
    ca, cert, key = rig._listener_tls(tmp_path, "127.0.0.1")  # pylint: disable=protected-access
    with TlsServer(cert, key) as server:
        handshake(strict_context(ca), server.port)
        handshake(strict_context(ca), server.port, host="127.0.0.1")


def test_fake_listener_tls_passes_strict_verification(tmp_path):
    ca, cert, key = testca.write_listener_tls(str(tmp_path), "127.0.0.1", testca.x509_name("certfleet fake CA"))
    with TlsServer(cert, key) as server:
        handshake(strict_context(ca), server.port)


def test_a_ca_without_key_usage_is_refused_in_strict_mode_only(no_key_usage):
    server, ca = no_key_usage
    lenient = ssl.create_default_context(cafile=str(ca))
    lenient.verify_flags &= ~STRICT
    handshake(lenient, server.port)  # the default before Python 3.13 lets it pass
    default = ssl.create_default_context(cafile=str(ca))
    strict_by_default = sys.version_info >= (3, 13)
    assert bool(default.verify_flags & ssl.VERIFY_X509_STRICT) is strict_by_default
    if strict_by_default:
        with pytest.raises(ssl.SSLCertVerificationError, match="CA cert does not include key usage extension"):
            handshake(default, server.port)
    else:
        handshake(default, server.port)
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        handshake(strict_context(ca), server.port)
    assert refused.value.verify_message == "CA cert does not include key usage extension"
    hint = tls_error_hint(server.url + "/dir", refused.value, "acme_ca_bundle")
    assert hint.startswith("TLS verification of %s/dir failed: certificate verify failed: CA cert" % server.url)
    assert "docs/docsite/rst/operations.rst" in hint


# ------------------------------------------------------------------ recognising a failure


def test_other_errors_are_not_tls_failures():
    assert verify_failure(ValueError("boom")) is None
    assert tls_error_hint("https://x.test", ConnectionRefusedError(111, "refused"), "opt") is None


def test_the_reason_is_found_in_text_when_the_ssl_error_is_gone():
    text = (
        "HTTPSConnectionPool(host='ca.test', port=443): Max retries exceeded with url: /dir (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "self-signed certificate in certificate chain (_ssl.c:1006)')))"
    )
    hint = tls_error_hint("https://user:pw@ca.test/dir?token=s3cret", RuntimeError(text), "acme_ca_bundle")
    assert hint == (
        "TLS verification of https://ca.test/dir failed: certificate verify failed: "
        "self-signed certificate in certificate chain; give the CA certificate with acme_ca_bundle"
    )


# ------------------------------------------------------------------ the messages


def test_acme_directory_fetch_names_url_reason_and_option(untrusted, tmp_path):
    url = untrusted.url + "/dir"
    with pytest.raises(TlsVerifyError) as failed:
        fetch_directory(AcmeSettings(directory_url=url, state_dir=str(tmp_path), request_timeout=5))
    message = problem_text(exception_problem(failed.value))
    assert message.startswith("TLS verification of %s failed: certificate verify failed: " % url)
    assert "unable to get local issuer certificate" in message
    assert message.endswith("give the CA certificate with acme_ca_bundle (role: letsencrypt_dns_acme_ca_bundle)")


def test_acme_directory_fetch_names_the_bundle_in_use(untrusted, tmp_path):
    other_ca, _cert, _key = write_tls(tmp_path / "other")
    settings = AcmeSettings(untrusted.url + "/dir", str(tmp_path), ca_bundle=str(other_ca), request_timeout=5)
    with pytest.raises(TlsVerifyError, match="acme_ca_bundle .*, now %s" % other_ca):
        fetch_directory(settings)


def test_acme_directory_fetch_with_its_ca_works(tmp_path):
    ca, cert, key = write_tls(tmp_path / "good")
    with TlsServer(cert, key) as server:
        directory = fetch_directory(AcmeSettings(server.url + "/dir", str(tmp_path), ca_bundle=str(ca)))
    assert directory["newNonce"] == "https://127.0.0.1/nonce"


def test_json_api_names_url_reason_and_requests_variable(untrusted):
    api = JsonApi(5, attempts=1)
    with pytest.raises(TransportError) as failed:
        api.request("GET", untrusted.url + "/client/v4/zones", params={"name": "example.com"})
    assert failed.value.tls
    assert failed.value.message == (
        "TLS verification of %s/client/v4/zones failed: certificate verify failed: "
        "unable to get local issuer certificate; give the CA certificate with the REQUESTS_CA_BUNDLE "
        "environment variable (a PEM file) where the module runs" % untrusted.url
    )


def test_powerdns_names_requests_variable_and_validate_certs(untrusted):
    provider = build_provider(
        {
            "name": "pdns",
            "type": "powerdns",
            "zones": ["example.com"],
            "api_url": untrusted.url,
            "api_key": "k3y-s3cret",
        }
    )
    with pytest.raises(ProviderError) as failed:
        provider.read_values("example.com", "_acme-challenge.example.com")
    message = str(failed.value)
    assert "TLS verification of %s/api/v1/servers/localhost/zones/example.com." % untrusted.url in message
    assert "unable to get local issuer certificate" in message
    # The API key goes with every request: the message never advises turning verification off.
    assert "REQUESTS_CA_BUNDLE" in message and "validate_certs" not in message
    assert "k3y-s3cret" not in message


class _StrictAdapter(HTTPAdapter):
    """What urllib3 does on Python 3.13: strict verification flags in its default context."""

    def init_poolmanager(self, *args, **kwargs):
        context = ssl.create_default_context()
        context.verify_flags |= STRICT
        kwargs["ssl_context"] = context
        return super().init_poolmanager(*args, **kwargs)


def test_ari_fetch_under_strict_verification_names_the_missing_extension(no_key_usage):
    server, ca = no_key_usage
    session = requests.Session()
    session.mount("https://", _StrictAdapter())
    with pytest.raises(ari.AriError) as failed:
        ari.fetch_renewal_info_url(server.url + "/dir", verify=str(ca), timeout=5, session=session)
    message = str(failed.value)
    assert message.startswith(
        "TLS verification of %s/dir failed: certificate verify failed: "
        "CA cert does not include key usage extension; give the CA certificate with acme_ca_bundle "
        "(role: letsencrypt_dns_acme_ca_bundle); Python 3.13 and later verify strictly" % server.url
    )


def test_ari_fetch_names_url_reason_and_option(untrusted):
    with pytest.raises(ari.AriError, match="failed: certificate verify failed: .*; give the CA .* acme_ca_bundle"):
        ari.fetch_renewal_info_url(untrusted.url + "/dir", timeout=5)


def test_aws_error_names_url_reason_and_aws_ca_bundle(untrusted):
    botocore_exceptions = pytest.importorskip("botocore.exceptions")
    urllib3_exceptions = pytest.importorskip("urllib3.exceptions")
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        handshake(ssl.create_default_context(), untrusted.port, host="127.0.0.1")
    inner = urllib3_exceptions.SSLError(refused.value)
    endpoint = untrusted.url + "/2013-04-01/hostedzone?maxitems=1"
    error = botocore_exceptions.SSLError(endpoint_url=endpoint, error=inner)
    assert describe_error(error) == (
        "TLS verification of %s/2013-04-01/hostedzone failed: certificate verify failed: unable to get local "
        "issuer certificate; give the CA certificate with aws_ca_bundle (or the AWS_CA_BUNDLE environment variable)"
        % untrusted.url
    )
