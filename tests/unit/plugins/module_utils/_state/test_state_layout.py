# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state directory layout is a public contract: server configs and the role name these paths."""

from __future__ import annotations

from ansible_collections.certfleet.acme.plugins.filter.state_paths import FilterModule
from ansible_collections.certfleet.acme.plugins.module_utils._state import layout


def test_directory_wide_paths():
    assert layout.state_paths("/srv/c") == {
        "dir": "/srv/c",
        "account_dir": "/srv/c/.acme",
        "account_key": "/srv/c/.acme/account.key",
        "account_cache": "/srv/c/.acme/account.json",
        "lock": "/srv/c/.lock",
        "txt_journal": "/srv/c/.txt-journal.json",
        "report": "/srv/c/.report.json",
    }


def test_paths_of_one_certificate():
    assert layout.state_paths("/srv/c", "www") == {
        "dir": "/srv/c/www",
        "privkey": "/srv/c/www/privkey.pem",
        "cert": "/srv/c/www/cert.pem",
        "chain": "/srv/c/www/chain.pem",
        "fullchain": "/srv/c/www/fullchain.pem",
        "cert_info": "/srv/c/www/cert.json",
        "order": "/srv/c/www/order.json",
        "staging": "/srv/c/www/.staging",
        "commit": "/srv/c/www/.commit",
    }


def test_commit_moves_cert_pem_last():
    assert layout.COMMIT_ORDER[-1] == layout.CERT
    assert set(layout.COMMIT_ORDER) == set(layout.PEM_FILES.values()) | {layout.CERT_INFO}


def test_only_dot_names_are_not_certificate_directories():
    assert layout.is_cert_dir_name("www")
    assert not any(
        layout.is_cert_dir_name(name) for name in (layout.ACCOUNT_DIR, layout.LOCK_FILE, layout.JOURNAL_FILE)
    )


def test_the_role_filter_is_the_layout():
    assert FilterModule().filters()["state_paths"] is layout.state_paths


def test_a_waiting_account_key_is_state_and_secret():
    """A key change under way keeps its new key in the state, so a remote state saves it (0600) before the CA is asked."""
    from ansible_collections.certfleet.acme.plugins.module_utils._state.store.base import is_secret_key

    assert layout.state_key_of(".acme/account.key.next")
    assert is_secret_key(".acme/account.key.next")
    assert not layout.state_key_of(".acme/account.key.old")
