# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 13, Low, "Deploy" and "served-certificate check": the attacks tried against cert_deploy and the role.

- A certificate directory (or ``dest``) that someone made a symbolic link to
  another folder: refused before anything is written, nothing lands there,
  the real nginx keeps serving its certificate.
- ``group: ssl-cert`` with ``key_mode: '0640'`` through the role: the key is
  group-readable with that group (the role had no ``key_mode``).
- An endpoint that serves a certificate with the new one's serial but other
  content (the same CA reusing a serial): the check fails, the deploy is rolled
  back, and the message names both SHA-256 fingerprints.

The owner and mode being on the temporary file before its rename is shown by
tests/unit/plugins/module_utils/_deploy/test_disk.py (a patched rename looks at it).
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playbook_runner import role_vars, run_module, run_renew
from webservers import (
    CERT,
    SERVERS,
    SNI,
    DecoyTLS,
    DeployCA,
    Leaf,
    assert_no_key,
    available,
    deploy_results,
    expected_files,
    role_cert,
    served_serial,
    wait_for_serial,
)

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import format_serial

#: The group of the role test: Debian's group for services that read private keys, or another existing one.
KEY_GROUP = next(
    (name for name in ("ssl-cert", "daemon", "adm") if name in {entry.gr_name for entry in grp.getgrall()}), None
)


@pytest.fixture(scope="module")
def ca():
    return DeployCA()


@pytest.fixture
def nginx(tmp_path, ca):
    if not available("nginx"):
        pytest.skip("nginx is not installed (bash scripts/install-system-deps.sh)")
    server = SERVERS["nginx"](tmp_path / "nginx", ca.leaf()).start()
    try:
        yield server
    finally:
        server.stop()


def fingerprint(pem: str) -> str:
    """SHA-256 of the certificate's DER, as cert_deploy reports it."""
    der = x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest().upper()


def twin(ca: DeployCA, leaf: Leaf) -> Leaf:
    """Another certificate from the same CA with ``leaf``'s serial and names, and its own key."""
    original = x509.load_pem_x509_certificate(leaf.cert.encode("ascii"))
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(original.issuer)
        .public_key(key.public_key())
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc)
        .not_valid_after(original.not_valid_after_utc)
    )
    for extension in original.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    cert = builder.sign(ca.key, hashes.SHA256())
    privkey = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return Leaf(privkey, pem, leaf.chain, format_serial(cert.serial_number))


@contextlib.contextmanager
def serving(leaf: Leaf, workdir) -> Iterator[int]:
    """The port of a TLS endpoint that serves ``leaf`` while the block runs."""
    decoy = DecoyTLS(leaf, workdir)
    try:
        yield decoy.port
    finally:
        decoy.stop()


def listing(path) -> list[str]:
    return sorted(os.listdir(path))


def test_linked_certificate_directory_is_refused(nginx, ca, tmp_path):
    """<dest>/<cert> made a link to another folder: the task fails naming it; nothing is written there."""
    old, new = nginx.old, ca.leaf()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = nginx.dest / CERT
    shutil.rmtree(real)  # nginx has its certificate loaded; the folder it came from is now a link
    os.symlink(elsewhere, real)

    result = run_module("cert_deploy", nginx.deploy_args(new))
    assert result.get("failed") is True, result
    assert "%s is a symbolic link; a certificate directory must be a real directory" % real in result["msg"]
    assert result["rolled_back"] is False and result["validate"] is None and result["reload"] is None
    assert listing(elsewhere) == []
    assert nginx.reloads() == 0
    assert served_serial(nginx.port) == old.serial
    assert_no_key(json.dumps(result), old, new)


@pytest.mark.parametrize("kind", ["files", "haproxy"])
def test_linked_dest_is_refused(tmp_path, ca, kind):
    """``dest`` itself a link: refused for the four-file layout and for haproxy's one file."""
    new = ca.leaf()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest = tmp_path / "tls"
    os.symlink(elsewhere, dest)
    args = {"cert": CERT, "type": kind, "dest": str(dest), "validate_command": "", "reload_command": ""}
    result = run_module("cert_deploy", dict(args, **new.module_args()))
    assert result.get("failed") is True, result
    assert "%s is a symbolic link" % dest in result["msg"]
    assert listing(elsewhere) == []


def test_key_mode_and_group_on_the_module(tmp_path, ca):
    """cert_deploy's group and key_mode: the key gets both, the certificate files their mode."""
    if KEY_GROUP is None:
        pytest.skip("no group ssl-cert, daemon or adm on this host")
    new = ca.leaf()
    dest = tmp_path / "tls"
    args = {"cert": CERT, "type": "files", "dest": str(dest), "group": KEY_GROUP, "key_mode": "0640"}
    result = run_module("cert_deploy", dict(args, **new.module_args()))
    assert not result.get("failed"), result
    gid = grp.getgrnam(KEY_GROUP).gr_gid
    for name in ("privkey", "cert", "chain", "fullchain"):
        info = os.stat(dest / CERT / ("%s.pem" % name))
        assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o640 if name == "privkey" else 0o644, gid), name
    assert listing(dest / CERT) == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]  # no temporary file


def test_role_key_mode_lets_the_group_read_the_key(rig, tmp_path):
    """The role passes key_mode: ``group: ssl-cert`` with ``key_mode: '0640'`` gives that group a readable key."""
    if KEY_GROUP is None:
        pytest.skip("no group ssl-cert, daemon or adm on this host")
    state, dest = tmp_path / "state", tmp_path / "files"
    certificate = role_cert("files")
    entry = {"cert": certificate["name"], "type": "files", "dest": str(dest), "group": KEY_GROUP, "key_mode": "0640"}
    run = run_renew(role_vars(rig, state, [certificate], letsencrypt_dns_deploy=[entry]), tmp_path)
    assert run.rc == 0, run.text()[-4000:]
    issued = Leaf.issued(state, certificate["name"])
    directory = dest / certificate["name"]
    assert {kind: (directory / ("%s.pem" % kind)).read_text() for kind in expected_files(issued)} == expected_files(
        issued
    )
    gid = grp.getgrnam(KEY_GROUP).gr_gid
    key = os.stat(directory / "privkey.pem")
    assert (stat.S_IMODE(key.st_mode), key.st_gid) == (0o640, gid)
    assert stat.S_IMODE(os.stat(directory / "cert.pem").st_mode) == 0o644
    result = deploy_results(run)[certificate["name"]]
    assert {item["kind"]: item["mode"] for item in result["files"]}["privkey"] == "0640"
    assert_no_key(run.text(), issued)


def test_same_serial_other_certificate_is_not_verified(nginx, ca, tmp_path):
    """The endpoint serves a certificate with the new one's serial but other content: rolled back, both named."""
    old, new = nginx.old, ca.leaf()
    impostor = twin(ca, new)
    assert impostor.serial == new.serial and fingerprint(impostor.cert) != fingerprint(new.cert)
    before = nginx.files()
    with serving(impostor, tmp_path / "decoy") as port:
        verify = {"host": "127.0.0.1", "port": port, "sni": SNI, "timeout": 3}
        result = run_module("cert_deploy", nginx.deploy_args(new, verify=verify, verify_retries=1, verify_delay=0.2))
    assert result.get("failed") is True, result
    assert result["rolled_back"] is True
    assert result["expected_serial"] == new.serial
    assert result["expected_fingerprint"] == fingerprint(new.cert)
    assert result["previous_fingerprint"] == fingerprint(old.cert)
    # The decoy still serves the impostor after the rollback: same serial, its own fingerprint.
    assert result["served_serial"] == new.serial
    assert result["served_fingerprint"] == fingerprint(impostor.cert)
    message = result["msg"]
    assert (
        "serves serial %s, SHA-256 %s, not the new certificate (serial %s, SHA-256 %s)"
        % (new.serial, fingerprint(impostor.cert)[:16], new.serial, fingerprint(new.cert)[:16])
        in message
    ), message
    assert nginx.files() == before
    assert result["reload"]["rc"] == 0 and result["rollback_reload"]["rc"] == 0
    assert wait_for_serial(nginx.port, old.serial) == old.serial
    assert_no_key(json.dumps(result), old, new, impostor)
