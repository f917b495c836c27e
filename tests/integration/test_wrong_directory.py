# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A typo in the directory URL reads as one plain sentence: "no ACME directory at URL (HTTP 404)".

Pebble answers 404 on a path it does not serve. Before, the ARI lookup warned
about it and the order step then failed with the library's
``ClientError: <Response [404]>``; now the order step names the URL and the
status, and the renewal decision says nothing more about the same cause.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from playbook_runner import role_vars, run_renew

pytestmark = pytest.mark.rig


def test_a_wrong_directory_url_says_there_is_no_directory(rig, tmp_path):
    wrong = urlunsplit(urlsplit(rig["acme_directory"])._replace(path="/wrong", query="", fragment=""))
    cert = {"name": "wrong-directory", "names": ["wrong-directory.example.test"]}
    variables = role_vars(rig, tmp_path / "state", [cert], letsencrypt_dns_acme_directory=wrong)
    run = run_renew(variables, tmp_path)
    output = run.stdout + "\n" + run.stderr
    assert run.rc != 0, output[-3000:]
    assert "no ACME directory at %s (HTTP 404)" % wrong in output, output[-3000:]
    assert "ClientError" not in output and "<Response" not in output, output[-3000:]
    # The renewal decision does not warn about the same cause: the sentence comes from the order step alone.
    assert "renewal information unavailable" not in output, output[-3000:]
