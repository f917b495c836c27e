# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the state directory may lie: a default that outlives the collection, and never inside one.

The state directory holds the ACME account key and every private key. Earlier
releases defaulted to ``<playbook_dir>/certificates``; run as
``ansible-playbook certfleet.acme.renew`` that folder lies inside the installed
collection, and ``ansible-galaxy collection install --force`` (an upgrade)
deletes it with every key. The default is now the per-user data folder of the
controller (XDG base directories), a state directory inside any installed
collection is refused, and the state of an earlier release is never silently
left behind (a fresh start would register a new account and issue every
certificate again). The ``state_dir`` lookup and the modules that first touch
the state directory (``state_lock``, ``preflight``) share these rules.
Only the standard library: the lookup runs on the controller without the
collection's requirements.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible_collections.certfleet.acme.plugins.module_utils._state.layout import account_key_path

#: The folder name under the per-user data folder (and under /var/lib for root).
APP_DIR = "certfleet.acme"
#: root's state directory when XDG_DATA_HOME does not name one.
ROOT_STATE_DIR = os.path.join("/var/lib", APP_DIR)
#: The default of releases up to 0.1.0, under the playbook's folder.
LEGACY_SUBDIR = "certificates"
#: The folder every installed collection lies in, as ``ansible_collections/<namespace>/<name>``.
COLLECTIONS_DIR = "ansible_collections"
#: How the setting is named in errors: the role variable and the modules' option.
SETTING = "letsencrypt_dns_dir (module option state_dir)"


class StateLocationError(ValueError):
    """A state directory that an upgrade would delete, or an earlier release's state that the default would miss."""


def default_state_dir(environ: Mapping[str, str] | None = None, euid: int | None = None) -> str:
    """The per-user data folder: ``$XDG_DATA_HOME/certfleet.acme``, root's ``/var/lib``, else ``~/.local/share``.

    An XDG_DATA_HOME that is not absolute is ignored, as the XDG base directory specification says. It wins over
    root's default, so a root run that sets it (a container, a test) keeps its state where it says.
    """
    environ = os.environ if environ is None else environ
    data_home = environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(data_home):
        return os.path.join(os.path.normpath(data_home), APP_DIR)
    if (os.geteuid() if euid is None else euid) == 0:
        return ROOT_STATE_DIR
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".local", "share", APP_DIR)


def _collection_of(path: str) -> str | None:
    """The ``.../ansible_collections/<namespace>/<name>`` folder that the absolute ``path`` lies in, if any."""
    parts = path.split(os.sep)
    # The last match counts: a collection's own tests may hold another ansible_collections tree.
    for index in range(len(parts) - 3, -1, -1):
        if parts[index] == COLLECTIONS_DIR and parts[index + 1] and parts[index + 2]:
            return os.sep.join(parts[: index + 3]) or os.sep
    return None


def installed_collection(path: str) -> str | None:
    """The installed collection folder that ``path`` lies in (as written or through symlinks), or None."""
    absolute = os.path.abspath(os.path.expanduser(path))
    return _collection_of(absolute) or _collection_of(os.path.realpath(absolute))


def refuse_inside_collection(path: str, setting: str = SETTING) -> None:
    """Raise StateLocationError naming ``setting`` when ``path`` lies inside an installed collection."""
    collection = installed_collection(path)
    if collection is None:
        return
    raise StateLocationError(
        "%s is %s, inside the installed collection %s: an upgrade of that collection (ansible-galaxy collection "
        "install --force) replaces the folder and deletes the ACME account key and every private key in it. Set "
        "letsencrypt_dns_dir to a folder outside any collection, or leave it unset for the per-user data folder "
        "(%s)" % (setting, path, collection, default_state_dir())
    )


def legacy_state_dir(playbook_dir: str | None) -> str | None:
    """``<playbook_dir>/certificates`` when it holds an earlier release's ACME account key, else None."""
    if not playbook_dir:
        return None
    legacy = os.path.join(playbook_dir, LEGACY_SUBDIR)
    return legacy if os.path.isfile(account_key_path(legacy)) else None


def legacy_message(legacy: str, default: str) -> str:
    """Why the run stops, and the two ways on: keep the old folder (where allowed) or move it to the new default."""
    intro = (
        "letsencrypt_dns_dir is not set, and its default has moved from <playbook_dir>/%s to the per-user data "
        "folder %s. %s holds the state of an earlier release (an ACME account key); starting afresh in %s would "
        "register a new account and issue every certificate again." % (LEGACY_SUBDIR, default, legacy, default)
    )
    collection = installed_collection(legacy)
    if collection is not None:
        return (
            "%s %s lies inside the installed collection %s, which an upgrade replaces: move it to %s (or to a "
            "folder of your own and set letsencrypt_dns_dir to it)" % (intro, legacy, collection, default)
        )
    return "%s Set letsencrypt_dns_dir: %s to keep using it, or move it to %s" % (intro, legacy, default)


def state_dir_default(
    playbook_dir: str | None, environ: Mapping[str, str] | None = None, euid: int | None = None
) -> str:
    """The default state directory, or StateLocationError when an earlier release's state would be left behind.

    Once the new default holds an account key of its own (the old folder was copied there), the old folder is
    no longer in the way.
    """
    default = default_state_dir(environ, euid)
    legacy = legacy_state_dir(playbook_dir)
    if legacy is not None and not os.path.isfile(account_key_path(default)):
        raise StateLocationError(legacy_message(legacy, default))
    return default
