"""Provide the pip bootstrap script that ``ansible-test sanity --venv`` wants.

ansible-test downloads ``get-pip-<version>.py`` from a host this machine cannot
reach, unless a copy is cached under ``~/.ansible/test/cache``. The stand-in
written here bootstraps pip from the interpreter's own ``ensurepip`` (in a
subprocess, so ensurepip's isolated pip configuration does not leak into the
following install) and then installs the requested packages with the
machine's normal pip configuration, so local package mirrors keep working.
"""

from __future__ import annotations

import pathlib
import re
import sys

import ansible_test

BOOTSTRAP = '''\
"""Offline stand-in for get-pip.py, written by certfleet's provide_get_pip.py."""
import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
'''


def pip_version() -> str:
    """Read the pip version this ansible-test release bootstraps its venvs with."""
    source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"pip='([0-9.]+)'", source.read_text())
    if not match:
        sys.exit(f"cannot find the pip version in {source}")
    return match.group(1)


def main() -> None:
    version = pip_version()
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    target = cache / f"get_pip_{version.replace('.', '_')}.py"
    if target.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    target.write_text(BOOTSTRAP)
    print(f"provided offline pip bootstrap: {target}")


if __name__ == "__main__":
    main()
