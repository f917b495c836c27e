# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import re
import stat

import pytest
from certgen import make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._acme.keys import generate_private_key, private_key_pem
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.disk import Backup, read_current
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import (
    DeployError,
    describe,
    differences,
    first_serial,
    parse_mode,
    pem_material,
    plan_targets,
    resolve_owner,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import load_certificate


def leaf_and_key(names=("www.example.org",)):
    key = generate_private_key("ec256")
    return make_cert(list(names), key=key).decode(), private_key_pem(key).decode()


@pytest.fixture(scope="module")
def pems():
    cert, key = leaf_and_key()
    intermediate = make_cert(["Intermediate"]).decode()
    other_cert, other_key = leaf_and_key()
    return {"cert": cert, "key": key, "chain": intermediate, "other_cert": other_cert, "other_key": other_key}


def serial_of(pem: str) -> str:
    digits = "%X" % load_certificate(pem).serial_number
    return digits.rjust(len(digits) + len(digits) % 2, "0")  # openssl's spelling: two digits per byte


def test_material_from_cert_and_chain(pems):
    material = pem_material(pems["key"], pems["cert"], pems["chain"], None)
    assert material.cert == pems["cert"]
    assert material.chain == pems["chain"]
    assert material.fullchain == pems["cert"] + pems["chain"]
    assert material.serial == serial_of(pems["cert"])


def test_material_from_fullchain_only(pems):
    material = pem_material(pems["key"], None, None, pems["cert"] + pems["chain"])
    assert material.cert == pems["cert"]
    assert material.chain == pems["chain"]


def test_material_from_a_cert_with_its_chain_appended(pems):
    material = pem_material(pems["key"], pems["cert"] + pems["chain"], None, None)
    assert (material.cert, material.chain) == (pems["cert"], pems["chain"])


def test_material_without_a_chain_has_an_empty_chain(pems):
    material = pem_material(pems["key"], pems["cert"], None, None)
    assert material.chain == ""
    assert material.fullchain == pems["cert"]


def test_key_text_is_normalized(pems):
    material = pem_material("\n" + pems["key"].strip() + "\n\n\n", pems["cert"], None, None)
    assert material.privkey == pems["key"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cert_pem": None, "fullchain_pem": None}, "one of cert_pem and fullchain_pem is required"),
        ({"fullchain_pem": "OTHER"}, "fullchain_pem does not start with the certificate of cert_pem"),
        ({"chain_pem": "not a pem"}, "chain_pem holds no PEM certificate"),
        ({"privkey": "hello"}, "privkey is not a PEM private key"),
        ({"privkey": "OTHER_KEY"}, "privkey is not the key of the certificate"),
    ],
)
def test_material_errors(pems, change, message):
    args = {"privkey": pems["key"], "cert_pem": pems["cert"], "chain_pem": None, "fullchain_pem": None}
    args.update(change)
    if args["fullchain_pem"] == "OTHER":
        args["fullchain_pem"] = pems["other_cert"]
    if args["privkey"] == "OTHER_KEY":
        args["privkey"] = pems["other_key"]
    with pytest.raises(DeployError, match=message):
        pem_material(**args)


def test_a_broken_key_is_named_but_never_quoted(pems):
    lines = pems["key"].splitlines()
    broken = "\n".join([lines[0], lines[1][:-8] + "AAAAAAAA", *lines[2:]])
    with pytest.raises(DeployError) as info:
        pem_material(broken, pems["cert"], None, None)
    assert "privkey" in str(info.value)
    for line in lines[1:-1]:
        assert line not in str(info.value)


@pytest.mark.parametrize(
    "value, mode",
    [("0644", 0o644), ("640", 0o640), ("0o600", 0o600), (0o644, 0o644), (420, 0o644), ("02750", 0o2750)],
)
def test_parse_mode(value, mode):
    assert parse_mode("mode", value) == mode


@pytest.mark.parametrize("value", ["rw-r--r--", "0999", True, 0o17777, ""])
def test_parse_mode_rejects(value):
    with pytest.raises(DeployError, match="mode value"):
        parse_mode("mode", value)


def test_resolve_owner():
    assert resolve_owner(None, None) == (None, None)
    assert resolve_owner("0", "0") == (0, 0)
    assert resolve_owner("root", None) == (0, None)
    with pytest.raises(DeployError, match="owner value 'no-such-user-certfleet'"):
        resolve_owner("no-such-user-certfleet", None)
    with pytest.raises(DeployError, match="group value 'no-such-group-certfleet'"):
        resolve_owner(None, "no-such-group-certfleet")


def test_plan_for_a_file_layout(pems):
    material = pem_material(pems["key"], pems["cert"], pems["chain"], None)
    targets = plan_targets("www", "nginx", "/etc/nginx/tls/", material, (0o644, 0o600))
    assert [(t.kind, t.path, t.mode) for t in targets] == [
        ("privkey", "/etc/nginx/tls/www/privkey.pem", 0o600),
        ("cert", "/etc/nginx/tls/www/cert.pem", 0o644),
        ("chain", "/etc/nginx/tls/www/chain.pem", 0o644),
        ("fullchain", "/etc/nginx/tls/www/fullchain.pem", 0o644),
    ]
    assert targets[3].content == (pems["cert"] + pems["chain"]).encode()
    assert [t.secret for t in targets] == [True, False, False, False]


def test_plan_for_haproxy_is_one_file_with_the_key_first(pems):
    material = pem_material(pems["key"], pems["cert"], pems["chain"], None)
    (target,) = plan_targets("www", "haproxy", "/etc/haproxy/certs", material, (0o644, 0o600))
    assert (target.kind, target.path, target.mode, target.secret) == (
        "bundle",
        "/etc/haproxy/certs/www.pem",
        0o600,
        True,
    )
    assert target.content == (pems["key"] + pems["cert"] + pems["chain"]).encode()
    assert pems["key"].splitlines()[1] not in repr(target)


@pytest.mark.parametrize(
    "cert, dest, message", [("../x", "/d", "cert value"), ("", "/d", "cert value"), ("a", "rel", "dest value")]
)
def test_plan_rejects(pems, cert, dest, message):
    material = pem_material(pems["key"], pems["cert"], None, None)
    with pytest.raises(DeployError, match=message):
        plan_targets(cert, "files", dest, material, (0o644, 0o600))


def test_differences_and_restore(tmp_path, pems):
    material = pem_material(pems["key"], pems["cert"], pems["chain"], None)
    targets = plan_targets("www", "files", str(tmp_path / "new" / "tls"), material, (0o644, 0o600))
    old_dir = tmp_path / "new" / "tls" / "www"
    currents = [read_current(t.path) for t in targets]
    assert [differences(t, c) for t, c in zip(targets, currents)] == [["absent"]] * 4

    backup = Backup(currents)
    backup.write(targets)
    for target in targets:
        assert (stat.S_IMODE(os.stat(target.path).st_mode), open(target.path, "rb").read()) == (
            target.mode,
            target.content,
        )
        assert differences(target, read_current(target.path)) == []
    assert backup.restore() == []
    assert not (tmp_path / "new").exists()  # created directories go too

    old_dir.mkdir(parents=True)
    (old_dir / "cert.pem").write_text(pems["other_cert"])
    os.chmod(old_dir / "cert.pem", 0o640)
    currents = [read_current(t.path) for t in targets]
    assert differences(targets[1], currents[1]) == ["content", "mode"]
    backup = Backup(currents)
    backup.write(targets)
    assert (old_dir / "cert.pem").read_text() == pems["cert"]
    assert backup.restore() == []
    assert (old_dir / "cert.pem").read_text() == pems["other_cert"]
    assert stat.S_IMODE(os.stat(old_dir / "cert.pem").st_mode) == 0o640
    assert sorted(os.listdir(old_dir)) == ["cert.pem"]


def test_owner_differences(tmp_path, pems):
    material = pem_material(pems["key"], pems["cert"], None, None)
    (target,) = plan_targets("www", "files", str(tmp_path), material, (0o644, 0o600), (os.getuid() + 1, None))[1:2]
    (tmp_path / "www").mkdir()
    with open(target.path, "wb") as handle:
        handle.write(target.content)
    os.chmod(target.path, 0o644)
    assert differences(target, read_current(target.path)) == ["owner"]


def test_a_link_is_not_replaced(tmp_path):
    (tmp_path / "real.pem").write_text("x")
    os.symlink(tmp_path / "real.pem", tmp_path / "link.pem")
    with pytest.raises(DeployError, match="not a regular file"):
        read_current(str(tmp_path / "link.pem"))


def test_describe_never_shows_content(pems):
    key_line = pems["key"].splitlines()[1]
    text = describe("privkey", 0o600, 0, 0, pems["key"].encode())
    assert key_line not in text and "private key" in text and "mode 0600" in text
    bundle = describe("bundle", 0o600, None, None, (pems["key"] + pems["cert"]).encode())
    assert key_line not in bundle and serial_of(pems["cert"]) in bundle
    assert "empty chain" in describe("chain", 0o644, None, None, b"")
    assert first_serial(pems["key"].encode()) is None
    assert first_serial(None) is None


@pytest.mark.parametrize("cert", ["-x\n", "www\n", "../outside", "..", "a/b", ".hidden"])
def test_the_certificate_name_is_checked_by_the_one_shared_rule(pems, cert):
    material = pem_material(pems["key"], pems["cert"], pems["chain"], None)
    with pytest.raises(DeployError, match=re.escape("cert value %r must start with a letter or digit" % cert)):
        plan_targets(cert, "nginx", "/etc/nginx/tls", material, (0o644, 0o600))
