# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real OpenBao server on loopback standing in for HashiCorp Vault, for the Vault state backend's tests.

Its fixtures are the integration tests' own (conftest.py imports them).
``openbao_server`` starts ``bao server -dev`` (tests/rig/openbao.py, imported
from its folder) once per test module with AppRole set up, and stops it by its pid at
the end, also when tests fail; its log stays in the module's temp directory.
``openbao_module`` is tests/rig/openbao.py itself (``api``, ``make_token``,
``start``, ``stop``), for tests that need a server of their own (TLS, sealed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rig"))  # tests/rig/openbao.py, standard library only
import openbao  # noqa: E402


@pytest.fixture(scope="session")
def openbao_module():
    """tests/rig/openbao.py (start, stop, api, make_token, OpenBao)."""
    return openbao


@pytest.fixture(scope="module")
def openbao_server(openbao_module, tmp_path_factory):
    """A running OpenBao dev server for this test module: url, root token, AppRole role_id and secret_id."""
    server = openbao_module.start(tmp_path_factory.mktemp("openbao"), approle=True)
    try:
        yield server
    finally:
        openbao_module.stop(server)
