# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adoption of certbot, dehydrated and dnscontrol certificates, read from real-looking trees in tmp_path."""

from __future__ import annotations

import json
import os
import stat

import pytest
from certgen import cached_key, make_cert
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.apply import (
    ADOPTED,
    SKIPPED,
    UNCHANGED,
    WOULD_ADOPT,
    AdoptionRefused,
    adopt_all,
)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.checks import check_source
from ansible_collections.certfleet.acme.plugins.module_utils._acme.adopt.sources import SourceError, read_source
from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key
from ansible_collections.certfleet.acme.plugins.module_utils._plan.expiry import expiry_facts

NAMES = ["example.test", "www.example.test"]


def intermediate() -> str:
    """A certificate named "Test CA", the issuer certgen's certificates name."""
    key = cached_key("ec384")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    root = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root")])
    leaf = x509.load_pem_x509_certificate(make_cert(["x.test"], "ec384"))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key, traditional: bool = True) -> bytes:
    """The key as certbot (PKCS#8) or dehydrated/lego (traditional) write it."""
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def material(names=NAMES, key_type="rsa2048", key=None):  # pylint: disable=dangerous-default-value
    key = key or cached_key(key_type)
    return key_pem(key), make_cert(names, key_type, key=key).decode(), intermediate()


def certbot_tree(base, name="example.test", versions=2, **kwargs):
    """certbot: live/<name>/*.pem link to ../../archive/<name>/*N.pem; the last version is the live one."""
    archive, live = base / "archive" / name, base / "live" / name
    archive.mkdir(parents=True)
    live.mkdir(parents=True)
    for number in range(1, versions + 1):
        privkey, cert, chain = material(**kwargs) if number == versions else material(["old.test"], "ec256")
        for part, data in (("privkey", privkey), ("cert", cert), ("chain", chain), ("fullchain", cert + chain)):
            (archive / ("%s%d.pem" % (part, number))).write_bytes(data if isinstance(data, bytes) else data.encode())
    for part in ("privkey", "cert", "chain", "fullchain"):
        os.symlink("../../archive/%s/%s%d.pem" % (name, part, versions), live / ("%s.pem" % part))
    return base


def dehydrated_tree(base, name="example.test", **kwargs):
    """dehydrated: certs/<name>/cert.pem -> cert-<timestamp>.pem, and the same for the others."""
    directory = base / "certs" / name
    directory.mkdir(parents=True)
    privkey, cert, chain = material(**kwargs)
    for part, data in (("privkey", privkey), ("cert", cert), ("chain", chain), ("fullchain", cert + chain)):
        target = "%s-1700000000.pem" % part
        (directory / target).write_bytes(data if isinstance(data, bytes) else data.encode())
        os.symlink(target, directory / ("%s.pem" % part))
    return base


def dnscontrol_tree(base, name="example.test", nested=True, **kwargs):
    """dnscontrol get-certs -dir base: certificates/<name>/<name>.crt (full chain), .key, .json."""
    directory = base / "certificates" / name if nested else base
    directory.mkdir(parents=True, exist_ok=True)
    privkey, cert, chain = material(**kwargs)
    (directory / (name + ".crt")).write_text(cert + chain)
    (directory / (name + ".key")).write_bytes(privkey)
    resource = {"domain": NAMES[0], "certUrl": "https://ca.test/cert/1", "certStableUrl": "https://ca.test/cert/1"}
    (directory / (name + ".json")).write_text(json.dumps(resource))
    return base


def entry(layout, path, name="www", names=NAMES, key_type="rsa2048", source_name="example.test"):  # pylint: disable=dangerous-default-value
    return {
        "name": name,
        "names": names,
        "key_type": key_type,
        "from": layout,
        "path": str(path),
        "source_name": source_name,
    }


@pytest.mark.parametrize(
    "layout,build",
    [("certbot", certbot_tree), ("dehydrated", dehydrated_tree), ("dnscontrol", dnscontrol_tree)],
)
def test_each_layout_is_read_through_its_links(tmp_path, layout, build):
    build(tmp_path)
    source = read_source(layout, str(tmp_path), "example.test")
    checked = check_source(source, NAMES, "rsa2048")
    assert checked.key_type == "rsa2048" and checked.warnings == []
    assert len(source.chain_pems) == 1
    assert all(not os.path.islink(path) for path in source.files.values())
    if layout == "certbot":
        assert source.files["cert"].endswith("archive/example.test/cert2.pem")
        assert source.path == str(tmp_path / "live" / "example.test")


def test_dnscontrol_files_directly_in_the_folder(tmp_path):
    dnscontrol_tree(tmp_path, nested=False)
    assert read_source("dnscontrol", str(tmp_path), "example.test").path == str(tmp_path)


def test_dnscontrol_without_its_json_is_refused(tmp_path):
    dnscontrol_tree(tmp_path)
    (tmp_path / "certificates" / "example.test" / "example.test.json").write_text("{broken")
    with pytest.raises(SourceError, match=r"example\.test\.json: not the JSON of an ACME certificate resource"):
        read_source("dnscontrol", str(tmp_path), "example.test")


def test_missing_source_names_the_path(tmp_path):
    (tmp_path / "live").mkdir()
    with pytest.raises(SourceError, match=r"live/nope: no such directory"):
        read_source("certbot", str(tmp_path), "nope")
    with pytest.raises(SourceError, match=r"unknown layout 'acme\.sh', expected one of certbot, dehydrated"):
        read_source("acme.sh", str(tmp_path), "nope")


def test_dangling_link_is_named_with_its_target(tmp_path):
    certbot_tree(tmp_path)
    os.unlink(tmp_path / "archive" / "example.test" / "privkey2.pem")
    with pytest.raises(SourceError, match=r"privkey\.pem \(-> .*archive/example\.test/privkey2\.pem\): a dangling"):
        read_source("certbot", str(tmp_path), "example.test")


def test_key_of_another_certificate_is_refused(tmp_path):
    certbot_tree(tmp_path)
    os.unlink(tmp_path / "live" / "example.test" / "privkey.pem")
    (tmp_path / "live" / "example.test" / "privkey.pem").write_bytes(key_pem(generate_private_key("ec256")))
    source = read_source("certbot", str(tmp_path), "example.test")
    with pytest.raises(SourceError, match=r"privkey\.pem: the private key does not match the certificate in .*cert2"):
        check_source(source, NAMES)


def test_names_not_covered_are_named(tmp_path):
    dehydrated_tree(tmp_path)
    source = read_source("dehydrated", str(tmp_path), "example.test")
    with pytest.raises(SourceError, match=r"does not cover api\.example\.test \(it is for example\.test, www\."):
        check_source(source, NAMES + ["api.example.test"])


def test_extra_names_and_other_key_type_are_warnings(tmp_path):
    dehydrated_tree(tmp_path)
    checked = check_source(read_source("dehydrated", str(tmp_path), "example.test"), NAMES[:1], "ec256")
    assert [warning.split(":")[0] for warning in checked.warnings] == [
        "the certificate also covers www.example.test, which the entry does not list",
        "its key is rsa2048, the entry asks for ec256",
    ]


def test_chain_not_of_the_issuer_is_refused(tmp_path):
    dehydrated_tree(tmp_path)
    chain = tmp_path / "certs" / "example.test" / "chain-1700000000.pem"
    chain.write_bytes(make_cert(["other.test"]))
    source = read_source("dehydrated", str(tmp_path), "example.test")
    with pytest.raises(SourceError, match=r"chain-1700000000\.pem: the chain starts with CN=other\.test, not with"):
        check_source(source, NAMES)


def test_unparseable_chain_is_refused(tmp_path):
    dehydrated_tree(tmp_path)
    chain = tmp_path / "certs" / "example.test" / "chain-1700000000.pem"
    chain.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    source = read_source("dehydrated", str(tmp_path), "example.test")
    with pytest.raises(SourceError, match=r"chain certificate 1 cannot be parsed"):
        check_source(source, NAMES)


def test_encrypted_key_is_refused(tmp_path):
    dnscontrol_tree(tmp_path)
    key = tmp_path / "certificates" / "example.test" / "example.test.key"
    encrypted = cached_key("rsa2048").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    key.write_bytes(encrypted)
    with pytest.raises(SourceError, match=r"example\.test\.key: the private key is encrypted"):
        check_source(read_source("dnscontrol", str(tmp_path), "example.test"), NAMES)


def test_adopted_then_unchanged_then_skipped(tmp_path):
    certbot_tree(tmp_path / "certbot")
    state = tmp_path / "state"
    [first] = adopt_all(str(state), [entry("certbot", tmp_path / "certbot")])
    assert first["result"] == ADOPTED and first["reason"] is None
    assert "key" not in json.dumps(first).lower().replace("key_type", "")
    directory = state / "www"
    assert stat.S_IMODE(os.stat(directory / "privkey.pem").st_mode) == 0o600
    assert not any(path.is_symlink() for path in directory.iterdir())
    leaf = (tmp_path / "certbot" / "archive" / "example.test" / "cert2.pem").read_text()
    assert (directory / "cert.pem").read_text() == leaf
    assert (directory / "fullchain.pem").read_text() == leaf + intermediate_of(tmp_path)
    document = json.loads((directory / "cert.json").read_text())
    assert document["serial"] == first["serial"] and document["order_url"] is None
    assert document["adopted_from"] == {
        "layout": "certbot",
        "path": str(tmp_path / "certbot" / "live" / "example.test"),
    }
    assert document["issued_at"] == document["not_before"] and document["key_type"] == "rsa2048"

    [again] = adopt_all(str(state), [entry("certbot", tmp_path / "certbot")])
    assert again["result"] == UNCHANGED

    dehydrated_tree(tmp_path / "dehydrated")
    [other] = adopt_all(str(state), [entry("dehydrated", tmp_path / "dehydrated")])
    assert other["result"] == SKIPPED
    assert other["reason"] == (
        "the state already has a certificate for www, serial %s; adoption is for a first run" % first["serial"]
    )
    assert (directory / "cert.pem").read_text() == leaf


def intermediate_of(tmp_path) -> str:
    return (tmp_path / "certbot" / "archive" / "example.test" / "chain2.pem").read_text()


def test_adopted_certificate_reads_like_an_issued_one(tmp_path):
    dnscontrol_tree(tmp_path / "dc")
    state = tmp_path / "state"
    [result] = adopt_all(str(state), [entry("dnscontrol", tmp_path / "dc")])
    facts, _warnings = expiry_facts([{"name": "www", "names": NAMES, "key_type": "rsa2048"}], str(state), 30)
    fact = facts["www"]
    assert fact["exists"] and not fact["needs_renewal"]
    assert fact["serial"] == result["serial"] and fact["not_after"] == result["not_after"]


def test_check_mode_writes_nothing(tmp_path):
    dehydrated_tree(tmp_path / "d")
    [result] = adopt_all(str(tmp_path / "state"), [entry("dehydrated", tmp_path / "d")], check_mode=True)
    assert result["result"] == WOULD_ADOPT
    assert not (tmp_path / "state").exists()


def test_one_bad_source_adopts_none_and_names_each(tmp_path):
    certbot_tree(tmp_path / "certbot")
    dehydrated_tree(tmp_path / "d")
    entries = [
        entry("certbot", tmp_path / "certbot"),
        entry("dehydrated", tmp_path / "d", name="api", names=["api.example.test"]),
        entry("dnscontrol", tmp_path / "missing", name="mail"),
    ]
    with pytest.raises(AdoptionRefused) as refused:
        adopt_all(str(tmp_path / "state"), entries)
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "certificate 'api' (dehydrated)",
        "certificate 'mail' (dnscontrol)",
    ]
    assert "does not cover api.example.test" in refused.value.problems[0]
    assert "missing: no such directory" in refused.value.problems[1]
    assert not (tmp_path / "state").exists()
