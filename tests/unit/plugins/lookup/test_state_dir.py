# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state_dir lookup, the role's default of letsencrypt_dns_dir: the folder it gives and when it refuses.

The lookup reads the controller's environment and euid, and ``playbook_dir`` from the play's variables to find
an earlier release's state; these tests set all three.
"""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.certfleet.acme.plugins.lookup.state_dir import LookupModule
from ansible_collections.certfleet.acme.plugins.module_utils._state import location


@pytest.fixture
def user(monkeypatch, tmp_path):
    """A non-root controller user whose HOME is under ``tmp_path`` and who sets no XDG_DATA_HOME."""
    monkeypatch.setattr(location.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path / "home"


def lookup(**variables) -> list:
    return LookupModule().run([], variables=variables)


def test_a_user_gets_the_folder_under_local_share(user, tmp_path):
    assert lookup(playbook_dir=str(tmp_path / "play")) == [str(user / ".local" / "share" / "certfleet.acme")]


def test_xdg_data_home_decides_when_set(user, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert lookup(playbook_dir=str(tmp_path / "play")) == [str(tmp_path / "xdg" / "certfleet.acme")]


def test_root_gets_var_lib(user, monkeypatch):
    monkeypatch.setattr(location.os, "geteuid", lambda: 0)
    assert lookup(playbook_dir="/nonexistent") == ["/var/lib/certfleet.acme"]


def test_no_playbook_dir_is_no_earlier_state(user):
    assert LookupModule().run([], variables=None) == [str(user / ".local" / "share" / "certfleet.acme")]


def test_an_earlier_release_s_state_beside_the_playbook_fails_the_lookup(user, tmp_path):
    os.makedirs(tmp_path / "play" / "certificates" / ".acme")
    (tmp_path / "play" / "certificates" / ".acme" / "account.key").write_text("key")
    with pytest.raises(AnsibleLookupError) as raised:
        lookup(playbook_dir=str(tmp_path / "play"))
    message = str(raised.value)
    assert "letsencrypt_dns_dir is not set" in message
    assert "Set letsencrypt_dns_dir: %s to keep using it" % (tmp_path / "play" / "certificates") in message


@pytest.mark.parametrize(("terms", "options", "named"), [(["x"], {}, "'x'"), ([], {"path": "/x"}, "path=")])
def test_terms_and_options_are_refused(user, terms, options, named):
    with pytest.raises(AnsibleLookupError, match="takes no terms and no options, got %s" % named):
        LookupModule().run(terms, variables={}, **options)
