# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the integration tests: the local Pebble + BIND9 rig.

``rig`` starts one rig for the whole session and stops it at the end, also
when tests fail. It lives in ``.build/rig-test`` on the default addresses
(127.0.0.x) unless another pytest session (or an xdist worker, or a rig
started by hand) holds them: then the next free slot N is used,
``.build/rig-test-N`` on the loopback /24 ``127.N.0``. A session holds its
slot with a machine-wide file lock (in the temp directory), so it never
stops a rig another live session uses, from this checkout or another.
``rig_module`` is tests/rig/rig.py itself, loaded by path so that the tests
run from any directory.

The set-ups several test files share live here too: the fakes of tests/fakes
import as plain modules (their folder is put on ``sys.path``), the moto
server and its hosted zones (moto_fixture.py), S3 with KMS (s3_fixture.py),
the OpenBao server (vault_fixture.py), the rig's Pebble root as a file, and
the web servers a test module names in its ``KINDS``.
"""

from __future__ import annotations

import fcntl
import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fakes"))  # every test imports the fakes by name (import acme_ari_fake)

# Fixtures, offered to every test module by being names of this conftest.
import acme_fault_proxy  # noqa: E402
from moto_fixture import moto_server, route53_zones  # noqa: E402,F401  # pylint: disable=unused-import
from s3_fixture import s3_bucket, s3_server  # noqa: E402,F401  # pylint: disable=unused-import
from vault_fixture import openbao_module, openbao_server  # noqa: E402,F401  # pylint: disable=unused-import
from webservers import running  # noqa: E402

RIG_PATH = REPO / "tests" / "rig" / "rig.py"
RIG_TEST_DIR = REPO / ".build" / "rig-test"
SLOTS = 40
SLOT_LOCKS = Path(tempfile.gettempdir())


def _load_rig():
    name = "certfleet_test_rig"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RIG_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _slot(number: int) -> tuple[Path, str]:
    if number == 0:
        return RIG_TEST_DIR, "127.0.0"
    return RIG_TEST_DIR.with_name(f"{RIG_TEST_DIR.name}-{number}"), f"127.{number}.0"


@pytest.fixture(scope="session")
def rig_module():
    """The rig module (up, down, info, pebble_root, RigError, ...)."""
    return _load_rig()


@pytest.fixture(scope="session")
def rig(rig_module):
    """A running rig for the session: the info dict returned by ``up()``."""
    RIG_TEST_DIR.parent.mkdir(parents=True, exist_ok=True)
    for number in range(SLOTS):
        state, net = _slot(number)
        # The lock is machine-wide, not per checkout: a slot is a set of loopback
        # addresses, and two checkouts must never clean up each other's rig.
        lock = open(SLOT_LOCKS / ("certfleet-rig-slot-%d.lock" % number), "w", encoding="ascii")  # pylint: disable=consider-using-with
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()  # a live session uses this slot
            continue
        try:
            # What an interrupted session left in this slot is stopped first,
            # so every session starts from fresh zones and a fresh Pebble.
            rig_module.down(state)
            info = rig_module.up(state, net=net)
        except rig_module.RigAddressInUse:
            lock.close()  # e.g. a rig started by hand on these addresses
            continue
        except BaseException:
            lock.close()
            raise
        break
    else:
        raise RuntimeError(f"no free rig slot among {SLOTS} (.build/rig-test*)")
    try:
        yield info
    finally:
        try:
            rig_module.down(state)
        finally:
            lock.close()


@pytest.fixture(scope="session")
def pebble_root_file(rig, rig_module, tmp_path_factory) -> Path:
    """The root of the rig's Pebble chain, as a PEM file for ``openssl verify -CAfile``."""
    path = tmp_path_factory.mktemp("root") / "root.pem"
    path.write_text(rig_module.pebble_root(rig))
    return path


@pytest.fixture
def servers(request, tmp_path):
    """One started web server of each kind the test module lists in ``KINDS``, on an old certificate."""
    with running(tmp_path / "servers", request.module.KINDS) as started:
        yield started


@pytest.fixture
def proxy(rig):
    """A 429-injecting HTTPS proxy in front of the rig's Pebble (tests/fakes/acme_fault_proxy.py)."""
    with acme_fault_proxy.AcmeFaultProxy(rig["acme_directory"], rig["ca_bundle"]) as running:
        yield running
