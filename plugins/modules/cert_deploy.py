#!/usr/bin/python
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy a certificate to a web server on the target host, verify what it serves, roll back on failure."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_deploy
short_description: Put a certificate on a web server, reload it and check that it serves it, or roll back
version_added: 0.1.0
description:
  - Runs on the host that serves the certificate. The key and certificates are given as PEM text (the role reads
    them on the controller), written to the files the server's configuration names, checked by the server's own
    configuration test, loaded by a reload, and then verified by a TLS handshake that reads the served certificate.
  - "Files written: for O(type=nginx), O(type=apache) and O(type=files), C(<dest>/<cert>/privkey.pem),
    C(cert.pem), C(chain.pem) and C(fullchain.pem); for O(type=haproxy) one C(<dest>/<cert>.pem) holding the
    private key followed by the full chain. Missing directories are created with mode C(0755). Each file is
    written atomically: a new temporary file in the same directory gets its owner, group and mode while it is
    still open and private, is synced to disk, and is then renamed over the old one, so the name never shows a
    partial file or one with the wrong owner or mode."
  - "No symbolic link is followed from O(dest) down: when O(dest), the certificate directory C(<dest>/<cert>) or
    one of the files is a symbolic link (someone who can write to O(dest) could point it at another folder), the
    task fails naming it, before anything is written. Directories are opened without following links, so a link
    planted during the run is refused too."
  - When every file already has the wanted content, mode and owner, nothing is written, validated or reloaded.
    With O(verify), one handshake still checks the endpoint; if it serves another certificate (a run that ended
    before its reload left the files in place), the server is validated and reloaded, and that is a change.
  - "Otherwise the previous files are kept in memory (never copied to a second key file on disk), the new ones
    are written and O(validate_command) runs. When it fails, the previous files are put back (files that did not
    exist are removed) and nothing is reloaded: the server keeps serving the previous certificate. Then
    O(reload_command) runs, and with O(verify) the served certificate must be the new one, within
    O(verify_retries) retries: the SHA-256 fingerprint of the certificate sent in the TLS handshake (its DER
    bytes) must be that of the new certificate. A serial number alone is not enough, since two certificates can
    share one. If the reload or the check fails, the previous files are put back,
    the server is reloaded again and the endpoint must serve the previous certificate; the task fails with a
    message naming the certificate, the endpoint and what it served (serial and the first 16 hexadecimal digits
    of the SHA-256 fingerprint, of the served and of the expected certificate), and RV(rolled_back) is V(true)."
  - Commands run with C(/bin/sh -c), so they may use the shell (for example C($(cat /run/haproxy.pid))).
  - The private key never appears in the result, in messages or in the diff.
author:
  - certfleet contributors (@certfleet)
attributes:
  check_mode:
    description: Reports which files would change (and whether a reload would be needed); writes and runs nothing.
    support: full
  diff_mode:
    description: The paths of the files that change, with mode, owner and certificate serial; never their content.
    support: full
options:
  cert:
    description:
      - Name of the certificate (a name from the role's C(letsencrypt_dns_certificates)); the file or directory
        name under O(dest).
      - A letter or digit first, then letters, digits, C(.), C(_) and C(-), without C(..), at most 128 characters;
        any other name (a path, a newline) fails the task before anything is written.
    type: str
    required: true
  type:
    description:
      - The kind of server, which decides the file layout and the default commands.
      - V(files) writes the files only; its default O(validate_command) and O(reload_command) are none.
    type: str
    required: true
    choices: [nginx, apache, haproxy, files]
  dest:
    description:
      - Absolute path of the directory the files go to.
    type: path
    required: true
  privkey:
    description:
      - The private key, PEM, unencrypted. It must be the key of the certificate.
    type: str
    required: true
  cert_pem:
    description:
      - The leaf certificate, PEM. Certificates after the first are taken as the chain when O(chain_pem) and
        O(fullchain_pem) are not given.
      - One of O(cert_pem) and O(fullchain_pem) is required.
    type: str
  chain_pem:
    description:
      - The intermediate certificates, PEM. Defaults to O(fullchain_pem) without its first certificate.
      - C(chain.pem) is written empty when there is no chain.
    type: str
  fullchain_pem:
    description:
      - The leaf followed by the chain, PEM. Defaults to O(cert_pem) followed by O(chain_pem). When both are given,
        it must start with the certificate of O(cert_pem).
    type: str
  owner:
    description:
      - User name (or number) that owns the files. Not given, a new file belongs to the user the module runs as
        and an existing file keeps its owner.
    type: str
  group:
    description:
      - Group name (or number) of the files, as for O(owner).
    type: str
  mode:
    description:
      - Mode of the certificate files (C(cert.pem), C(chain.pem), C(fullchain.pem)), an octal string such as
        V('0644'). Quote it in YAML.
    type: raw
    default: '0644'
  key_mode:
    description:
      - Mode of the files holding the private key (C(privkey.pem), and the haproxy C(<cert>.pem)), an octal string
        such as V('0640'). Quote it in YAML.
      - With O(group), V('0640') lets that group (for example C(ssl-cert)) read the key; the default leaves it
        readable by its owner only.
    type: raw
    default: '0600'
  validate_command:
    description:
      - The configuration test, run after writing and before reloading. The new files are kept only when it exits 0.
      - "Not given: V(nginx -t) for nginx, V(apache2ctl configtest) for apache (V(apachectl configtest) where there
        is no C(apache2ctl)), V(haproxy -c -f /etc/haproxy/haproxy.cfg) for haproxy, none for files. An empty
        string runs none."
    type: str
  reload_command:
    description:
      - The command that makes the running server load the new files.
      - "Not given: V(nginx -s reload) for nginx, V(apache2ctl graceful) (or V(apachectl graceful)) for apache,
        V(systemctl reload haproxy) for haproxy, none for files. An empty string runs none."
      - "For an haproxy not run by systemd, start a new process that takes over from the old one, for example
        C(haproxy -f /etc/haproxy/haproxy.cfg -D -p /run/haproxy.pid -sf $(cat /run/haproxy.pid))."
    type: str
  verify:
    description:
      - A TLS endpoint that must serve the certificate after the reload. The handshake sends SNI and verifies
        nothing (it compares the SHA-256 fingerprint of the served certificate with the deployed one's; it does
        not trust).
      - Not given, the deployment is not verified.
    type: dict
    suboptions:
      host:
        description:
          - Host name or address to connect to.
        type: str
        required: true
      port:
        description:
          - TCP port.
        type: int
        default: 443
      sni:
        description:
          - Server name to send. Defaults to the first DNS name of the certificate, without the C(*.) of a wildcard.
        type: str
      timeout:
        description:
          - Timeout in seconds of each handshake.
        type: int
        default: 5
  verify_retries:
    description:
      - How many more handshakes to make, O(verify_delay) seconds apart, while the endpoint does not serve the
        expected certificate yet (a server may take a moment after a reload).
    type: int
    default: 5
  verify_delay:
    description:
      - Seconds between two handshakes.
    type: float
    default: 2.0
  command_timeout:
    description:
      - Seconds O(validate_command) and O(reload_command) may run before they are stopped, with every process they
        started, and count as failed.
    type: int
    default: 120
requirements:
  - cryptography >= 41
seealso:
  - module: certfleet.acme.cert_expiry_facts
"""

EXAMPLES = r"""
- name: Deploy www to nginx and check that it is served
  certfleet.acme.cert_deploy:
    cert: www
    type: nginx
    dest: /etc/nginx/tls
    privkey: "{{ lookup('ansible.builtin.file', certificates_dir ~ '/www/privkey.pem') }}"
    cert_pem: "{{ lookup('ansible.builtin.file', certificates_dir ~ '/www/cert.pem') }}"
    chain_pem: "{{ lookup('ansible.builtin.file', certificates_dir ~ '/www/chain.pem') }}"
    verify: {host: 127.0.0.1, port: 443, sni: www.example.com}

- name: One file for haproxy, not run by systemd
  certfleet.acme.cert_deploy:
    cert: www
    type: haproxy
    dest: /etc/haproxy/certs
    privkey: "{{ www_key }}"
    fullchain_pem: "{{ www_fullchain }}"
    reload_command: haproxy -f /etc/haproxy/haproxy.cfg -D -p /run/haproxy.pid -sf $(cat /run/haproxy.pid)
    verify: {host: 127.0.0.1, port: 443}

- name: Plain files for another service, group-readable key
  certfleet.acme.cert_deploy:
    cert: mail
    type: files
    dest: /etc/ssl/certfleet
    privkey: "{{ mail_key }}"
    fullchain_pem: "{{ mail_fullchain }}"
    group: ssl-cert
    key_mode: '0640'
    reload_command: systemctl reload postfix
"""

RETURN = r"""
files:
  description: Every file of the deployment, whether it changed or not.
  returned: always
  type: list
  elements: dict
  sample:
    - {path: /etc/nginx/tls/www/privkey.pem, kind: privkey, mode: "0600", changed: true, changes: [content]}
  contains:
    path:
      description: Path of the file.
      type: str
    kind:
      description: V(privkey), V(cert), V(chain), V(fullchain), or V(bundle) (the haproxy file).
      type: str
    mode:
      description: The mode the file has (or would have), octal.
      type: str
    changed:
      description: Whether the file was (in check mode, would be) written.
      type: bool
    changes:
      description: What differed, some of V(absent), V(content), V(mode), V(owner), V(group).
      type: list
      elements: str
expected_serial:
  description:
    - Serial number of the certificate deployed, as C(openssl x509 -noout -serial) prints it, in upper-case
      hexadecimal with two digits per byte (a leading zero is kept).
  returned: always
  type: str
  sample: 4a3f0c9d1e2b
expected_fingerprint:
  description:
    - SHA-256 fingerprint of the certificate deployed (of its DER bytes), 64 upper-case hexadecimal digits, as
      C(openssl x509 -noout -fingerprint -sha256) prints it without the colons. The verify step compares this.
  returned: always
  type: str
  sample: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
previous_serial:
  description: Serial number of the certificate that was in place before, V(null) when there was none.
  returned: always
  type: str
  sample: 39bb01aa72
previous_fingerprint:
  description: SHA-256 fingerprint of the certificate that was in place before, as RV(expected_fingerprint).
  returned: always
  type: str
  sample: 60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752
served_serial:
  description:
    - Serial number of the certificate the O(verify) endpoint served at the last handshake (after a rollback, what
      it serves then); V(null) without O(verify) or when nothing could be read.
  returned: always
  type: str
  sample: 4a3f0c9d1e2b
served_fingerprint:
  description:
    - SHA-256 fingerprint of the certificate the O(verify) endpoint served at the last handshake, as
      RV(expected_fingerprint); V(null) without O(verify) or when nothing could be read. The deployment counts as
      verified only when it equals RV(expected_fingerprint).
  returned: always
  type: str
  sample: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
rolled_back:
  description: Whether new files were written and then replaced by the previous ones again.
  returned: always
  type: bool
  sample: false
validate:
  description: The configuration test that ran, V(null) when none ran.
  returned: always
  type: dict
  sample: {command: nginx -t, rc: 0, stdout: "", stderr: "nginx: configuration file /etc/nginx/nginx.conf test is successful"}
  contains:
    command:
      description: The command.
      type: str
    rc:
      description: Its exit code; V(null) when it could not run or was stopped after O(command_timeout).
      type: int
    stdout:
      description: The last lines of its standard output.
      type: str
    stderr:
      description: The last lines of its standard error.
      type: str
reload:
  description: The reload that ran, as RV(validate); V(null) when none ran.
  returned: always
  type: dict
rollback_reload:
  description: The reload run after putting the previous files back, as RV(validate); V(null) when none ran.
  returned: always
  type: dict
msg:
  description: What happened, in one line.
  returned: always
  type: str
  sample: "deployed; 127.0.0.1:443 (SNI www.example.com) serves the new certificate (serial 4A3F0C9D1E2B, SHA-256 9F86D081884C7D65)"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.server_task import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.types import SERVER_TYPES
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import endpoint_argument_spec


def main():
    argument_spec = {
        "cert": {"type": "str", "required": True},
        "type": {"type": "str", "required": True, "choices": list(SERVER_TYPES)},
        "dest": {"type": "path", "required": True},
        "privkey": {"type": "str", "required": True, "no_log": True},
        "cert_pem": {"type": "str"},
        "chain_pem": {"type": "str"},
        "fullchain_pem": {"type": "str"},
        "owner": {"type": "str"},
        "group": {"type": "str"},
        "mode": {"type": "raw", "default": "0644"},
        "key_mode": {"type": "raw", "default": "0600", "no_log": False},
        "validate_command": {"type": "str"},
        "reload_command": {"type": "str"},
        "verify": endpoint_argument_spec(timeout={"type": "int", "default": 5}),
        "verify_retries": {"type": "int", "default": 5},
        "verify_delay": {"type": "float", "default": 2.0},
        "command_timeout": {"type": "int", "default": 120},
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("cert_pem", "fullchain_pem")],
        supports_check_mode=True,
    )
    run_module(module)


if __name__ == "__main__":
    main()
