# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_expiry_facts run by ansible as users run it, against real local servers.

No rig is needed: the CA's renewal information comes from the local ACME
fake (tests/fakes/acme_ari_fake.py, HTTPS on 127.0.0.1 with its own CA, so
``acme_ca_bundle`` is exercised too), and the endpoints are TLS servers
started here with Python's ssl module on 127.0.0.1. Every address is a
loopback literal: nothing asks a resolver.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import ssl
import threading
from pathlib import Path

import acme_ari_fake
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playbook_runner import run_module

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial

UTC = datetime.timezone.utc
DAY = datetime.timedelta(days=1)


@pytest.fixture
def ca():
    with acme_ari_fake.AcmeAriFake() as fake:
        yield fake


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def at(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def put(state_dir: Path, name: str, pem: str) -> None:
    (state_dir / name).mkdir(parents=True, exist_ok=True)
    (state_dir / name / "cert.pem").write_text(pem)


def facts_args(ca, state_dir: Path, certificates: list, **extra) -> dict:
    args = {
        "state_dir": str(state_dir),
        "acme_directory": ca.directory_url,
        "acme_ca_bundle": ca.ca_bundle,
        "request_timeout": 5,
        "certificates": certificates,
    }
    args.update(extra)
    return args


def cert_json(state_dir: Path, name: str) -> dict:
    return json.loads((state_dir / name / "cert.json").read_text())


# --------------------------------------------------------------------------
# ACME Renewal Information


def test_future_window_is_not_due_and_the_chosen_time_is_kept(ca, tmp_path):
    state_dir = tmp_path / "state"
    pem, cert_id = ca.issue_certificate(["www.example.test"])
    put(state_dir, "www", pem)
    (state_dir / "www" / "cert.json").write_text(json.dumps({"name": "www", "issued_at": "2025-01-01T00:00:00Z"}))
    start, end = now() + 10 * DAY, now() + 12 * DAY
    ca.set_renewal_info(cert_id, start, end, explanation_url="https://ca.test/why", retry_after=3600)
    certificates = [{"name": "www", "names": ["www.example.test"], "key_type": "ec256"}]

    first = run_module("cert_expiry_facts", facts_args(ca, state_dir, certificates))
    assert first.get("failed") is not True, first
    fact = first["certificates"]["www"]
    assert first["changed"] is False
    assert first["due"] == [] and fact["reason"] is None and fact["needs_renewal"] is False
    assert first["renewal_info_url"] == ca.renewal_info_url
    assert fact["replaces"] == cert_id and fact["renew_source"] == "ari"
    assert start.replace(microsecond=0) <= at(fact["ari"]["selected_time"]) < end
    assert fact["renew_at"] == fact["ari"]["selected_time"]
    assert fact["ari"]["cert_id"] == cert_id
    assert fact["ari"]["explanation_url"] == "https://ca.test/why"
    assert 3500 < (at(fact["ari"]["next_check"]) - now()).total_seconds() <= 3600
    assert first["ansible_facts"]["cert_expiry"]["www"] == fact
    stored = cert_json(state_dir, "www")
    assert stored["ari"] == fact["ari"] and stored["issued_at"] == "2025-01-01T00:00:00Z"
    assert ca.renewal_info_requests == [cert_id]

    # Next run, before next_check: the same time, and the CA is not asked again.
    second = run_module("cert_expiry_facts", facts_args(ca, state_dir, certificates))
    assert second["certificates"]["www"]["ari"] == fact["ari"]
    assert second["changed"] is False and second["due"] == []
    assert ca.renewal_info_requests == [cert_id]


def test_past_window_is_due_now(ca, tmp_path):
    state_dir = tmp_path / "state"
    pem, cert_id = ca.issue_certificate(["api.example.test"])
    put(state_dir, "api", pem)
    ca.set_renewal_info(cert_id, now() - 3 * DAY, now() - DAY, explanation_url="https://ca.test/incident")
    result = run_module("cert_expiry_facts", facts_args(ca, state_dir, [{"name": "api"}]))
    fact = result["certificates"]["api"]
    assert result["due"] == ["api"]
    assert fact["reason"] == "ari_window" and fact["needs_renewal"] is True
    assert fact["replaces"] == cert_id
    assert at(fact["ari"]["selected_time"]) < now()
    assert result["changed"] is False


def test_check_mode_and_ca_errors(ca, tmp_path):
    state_dir = tmp_path / "state"
    known, known_id = ca.issue_certificate(["known.example.test"])
    put(state_dir, "known", known)
    # Issued by the fake's issuer key, but the fake has no record of it: its renewalInfo answers 404.
    stranger = acme_ari_fake.AcmeAriFake()
    stranger.issuer_key, stranger.issuer_cert = ca.issuer_key, ca.issuer_cert
    unknown, unknown_id = stranger.issue_certificate(["unknown.example.test"], lifetime=30 * DAY)
    put(state_dir, "unknown", unknown)
    certificates = [{"name": "known"}, {"name": "unknown"}]

    checked = run_module("cert_expiry_facts", facts_args(ca, state_dir, certificates), check=True)
    assert checked.get("failed") is not True, checked
    assert checked["certificates"]["known"]["ari"]["cert_id"] == known_id
    assert not (state_dir / "known" / "cert.json").exists()
    # The 30-day certificate has 30 days left: by lifetime it is not due; the 404 is a warning.
    unknown_fact = checked["certificates"]["unknown"]
    assert unknown_fact["ari"] is None and unknown_fact["renew_source"] == "lifetime"
    assert unknown_fact["reason"] is None
    assert any("unknown" in warning and "404" in warning for warning in checked["warnings"]), checked["warnings"]
    assert sorted(ca.renewal_info_requests) == sorted([known_id, unknown_id])


def test_a_ca_without_renewal_info_and_a_dead_ca(tmp_path):
    fake = acme_ari_fake.AcmeAriFake(renewal_info=False).start()
    try:
        state_dir = tmp_path / "state"
        pem, _cert_id = fake.issue_certificate(["plain.example.test"])
        put(state_dir, "plain", pem)
        result = run_module("cert_expiry_facts", facts_args(fake, state_dir, [{"name": "plain"}]))
        fact = result["certificates"]["plain"]
        assert result["renewal_info_url"] is None and not result.get("warnings")
        assert fact["ari"] is None and fact["replaces"] is None and fact["renew_source"] == "lifetime"
        assert fake.renewal_info_requests == []
        dead = dict(facts_args(fake, state_dir, [{"name": "plain"}]), acme_directory="https://127.0.0.1:9/dir")
        result = run_module("cert_expiry_facts", dead)
        assert result.get("failed") is not True and result["due"] == []
        assert any("renewal information unavailable" in warning for warning in result["warnings"])
    finally:
        fake.stop()


def test_set_facts_false_returns_the_result_without_the_fact(tmp_path):
    state_dir = tmp_path / "state"
    key = ec.generate_private_key(ec.SECP256R1())
    issued = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "test CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - DAY)
        .not_valid_after(now() + 89 * DAY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("quiet.example.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    put(state_dir, "quiet", issued.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    certificates = [{"name": "quiet", "names": ["quiet.example.test"], "key_type": "ec256"}, {"name": "absent"}]
    args = {"state_dir": str(state_dir), "certificates": certificates}

    with_fact = run_module("cert_expiry_facts", args)
    without = run_module("cert_expiry_facts", dict(args, set_facts=False))
    assert without.get("failed") is not True, without
    assert "cert_expiry" not in without.get("ansible_facts", {})
    assert without["certificates"] == with_fact["ansible_facts"]["cert_expiry"] == with_fact["certificates"]
    assert without["due"] == with_fact["due"] == ["absent"]
    assert without["certificates"]["quiet"]["reason"] is None and without["certificates"]["quiet"]["days_left"] >= 88


# --------------------------------------------------------------------------
# what a TLS endpoint serves


class TlsEndpoint:
    """A TLS server on 127.0.0.1 that completes handshakes with one certificate and records the SNI sent."""

    def __init__(self, cert_pem: str, key, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        cert_file = directory / "served.pem"
        key_file = directory / "served.key"
        cert_file.write_text(cert_pem)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert_file), str(key_file))
        self.context.sni_callback = self._record_sni
        self.server_names: list = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _record_sni(self, _ssl_socket, server_name, _context):
        self.server_names.append(server_name)

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _address = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                conn.settimeout(5)
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the client closes
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def __enter__(self) -> TlsEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_endpoint_serving_an_older_certificate_is_not_deployed(ca, tmp_path):
    state_dir = tmp_path / "state"
    key = ec.generate_private_key(ec.SECP256R1())
    old, _old_id = ca.issue_certificate(["www.example.test", "example.test"], key=key, lifetime=30 * DAY)
    new, _new_id = ca.issue_certificate(["www.example.test", "example.test"], key=key, lifetime=90 * DAY)
    put(state_dir, "www", new)
    old_serial = format_serial(x509.load_pem_x509_certificate(old.encode()).serial_number)
    new_serial = format_serial(x509.load_pem_x509_certificate(new.encode()).serial_number)
    names = ["www.example.test", "example.test"]

    with TlsEndpoint(old, key, tmp_path / "old") as endpoint:
        certificates = [{"name": "www", "names": names, "endpoint": {"host": "127.0.0.1", "port": endpoint.port}}]
        result = run_module("cert_expiry_facts", {"state_dir": str(state_dir), "certificates": certificates})
        assert endpoint.server_names == ["www.example.test"]
    assert result.get("failed") is not True, result
    fact = result["certificates"]["www"]
    assert fact["reason"] == "not_deployed"
    assert fact["needs_deploy"] is True and fact["needs_renewal"] is False
    assert fact["served"]["serial"] == old_serial and fact["served"]["matches"] is False
    assert result["undeployed"] == ["www"] and result["due"] == []
    assert result["changed"] is False

    with TlsEndpoint(new, key, tmp_path / "new") as endpoint:
        certificates = [
            {
                "name": "www",
                "names": names,
                "endpoint": {"host": "127.0.0.1", "port": endpoint.port, "sni": "example.test"},
            },
            {"name": "down", "names": ["down.example.test"], "endpoint": {"host": "127.0.0.1", "port": free_port()}},
        ]
        result = run_module("cert_expiry_facts", {"state_dir": str(state_dir), "certificates": certificates})
        assert endpoint.server_names == ["example.test"]
    fact = result["certificates"]["www"]
    assert fact["reason"] is None and fact["needs_deploy"] is False
    assert fact["served"] == {"serial": new_serial, "not_after": fact["not_after"], "matches": True}
    assert result["undeployed"] == []
    down = result["certificates"]["down"]
    assert down["reason"] == "missing" and "error" in down["served"]
    assert any("down" in warning and "served certificate" in warning for warning in result["warnings"])


def test_bad_input_is_one_clear_error(tmp_path):
    result = run_module(
        "cert_expiry_facts",
        {"state_dir": str(tmp_path), "certificates": [{"name": "x", "endpoint": {"host": "127.0.0.1", "port": 70000}}]},
    )
    assert result["failed"] is True and "endpoint.port" in result["msg"] and "70000" in result["msg"]
    result = run_module("cert_expiry_facts", {"state_dir": str(tmp_path), "renew_days": -1, "certificates": []})
    assert result["failed"] is True and "renew_days" in result["msg"]
    assert not os.listdir(tmp_path)
