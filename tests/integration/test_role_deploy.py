# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renew.yml issues on the rig, then its deploy stage puts each certificate on a real server or into plain files.

One host (localhost) serves four certificates: one on nginx, one on apache2,
one on haproxy (all started by webservers.py on an old certificate) and one
written as plain files for "another service" whose reload appends to a marker
file. Three runs, because each costs seconds of issuance: the first issues
and deploys everything, the second has nothing to do, the third renews with
every web server's configuration broken: those deploys are rolled back and
named, while the files entry still gets its new certificate.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from playbook_runner import role_vars, run_renew
from webservers import FILE_KINDS, Leaf, assert_no_key, deploy_results, expected_files, failure_message, role_cert

KINDS = ("nginx", "apache", "haproxy")
FILES_CERT = role_cert("files")
FILES_OWNER, FILES_GROUP, FILES_MODE = "www-data", "ssl-cert", 0o640


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_files_entry(directory, leaf: Leaf) -> None:
    """The files type: every file holds ``leaf``, with the entry's owner and group; the key 0600, the rest its mode."""
    assert {kind: (directory / ("%s.pem" % kind)).read_text() for kind in FILE_KINDS} == expected_files(leaf)
    for kind in FILE_KINDS:
        info = os.stat(directory / ("%s.pem" % kind))
        assert (info.st_uid, info.st_gid) == (pwd.getpwnam(FILES_OWNER).pw_uid, grp.getgrnam(FILES_GROUP).gr_gid), kind
        assert stat.S_IMODE(info.st_mode) == (0o600 if kind == "privkey" else FILES_MODE), kind


def test_role_deploys_to_every_server_type_and_rolls_back(rig, tmp_path, servers):
    state = tmp_path / "state"
    files_dest = tmp_path / "files"
    files_reloads = tmp_path / "files-reloads.log"
    deploy = [server.role_entry() for server in servers.values()] + [
        {
            "cert": FILES_CERT["name"],
            "type": "files",
            "dest": str(files_dest),
            "owner": FILES_OWNER,
            "group": FILES_GROUP,
            "mode": "%04o" % FILES_MODE,
            "reload_command": "echo reload >> %s" % files_reloads,
        }
    ]
    certificates = [role_cert(kind) for kind in KINDS] + [FILES_CERT]
    variables = role_vars(rig, state, certificates, letsencrypt_dns_deploy=deploy)

    first = run_renew(variables, tmp_path)
    assert first.rc == 0, first.text()[-4000:]
    issued = {cert["name"]: Leaf.issued(state, cert["name"]) for cert in certificates}
    for server in servers.values():
        leaf = issued[server.cert]
        assert server.served() == leaf.serial, server.kind
        assert server.reloads() == 1, server.kind
        # haproxy: one <dest>/<cert>.pem with the key and the full chain; the others the four files.
        assert server.files() == expected_files(leaf, server.bundle), server.kind
        assert sorted(os.listdir(server.dest)) == [server.key_path().name if server.bundle else server.cert]
        assert mode(server.key_path()) == 0o600, server.kind
    assert_files_entry(files_dest / FILES_CERT["name"], issued[FILES_CERT["name"]])
    assert files_reloads.read_text() == "reload\n"
    haproxy_pids = servers["haproxy"].current_pids()

    again = run_renew(variables, tmp_path)
    assert again.rc == 0, again.text()[-4000:]
    assert again.stats["changed"] == 0
    assert all(server.reloads() == 1 for server in servers.values())
    assert servers["haproxy"].current_pids() == haproxy_pids
    assert files_reloads.read_text() == "reload\n"

    # Renewed with every web server's configuration broken: each deploy fails its configuration test and is
    # rolled back without a reload, so each server keeps serving (and keeps on disk) the certificate of the
    # first run. The files entry is not held up by them. The run fails naming host and certificate of each.
    for server in servers.values():
        server.break_config()
    try:
        broken = run_renew(dict(variables, letsencrypt_dns_force=True), tmp_path)
    finally:
        for server in servers.values():
            server.repair_config()
    assert broken.rc != 0
    renewed = {cert["name"]: Leaf.issued(state, cert["name"]) for cert in certificates}
    results = deploy_results(broken)
    message = failure_message(broken)
    for server in servers.values():
        previous = issued[server.cert]
        assert renewed[server.cert].serial != previous.serial, server.kind
        assert results[server.cert]["rolled_back"] is True, server.kind
        assert results[server.cert]["reload"] is None, server.kind
        assert server.reloads() == 1, server.kind
        assert server.served() == previous.serial, server.kind
        assert server.files() == expected_files(previous, server.bundle), server.kind
        assert "%s (deploy: %s on localhost" % (server.cert, server.kind) in message
    report = broken.task_results("Write the run report and send the alerts")[0]["report"]
    expected = {server.cert: "not_deployed" for server in servers.values()}
    expected[FILES_CERT["name"]] = "renewed"
    assert {row["certificate"]: row["action"] for row in report["certificates"]} == expected
    assert not results[FILES_CERT["name"]].get("failed"), results[FILES_CERT["name"]]
    assert "%s (deploy" % FILES_CERT["name"] not in message
    assert_files_entry(files_dest / FILES_CERT["name"], renewed[FILES_CERT["name"]])
    assert files_reloads.read_text() == "reload\nreload\n"
    output = first.text() + again.text() + broken.text()
    assert "PRIVATE KEY" not in output
    assert_no_key(output, *issued.values(), *renewed.values())
