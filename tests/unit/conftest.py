# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests mirror plugins/; the helpers they share (certgen, http_stub, the module harness) live here and beside.

pytest puts this folder on sys.path when it loads this conftest, so a test
anywhere below imports them as ``from certgen import make_cert``. A test that
builds an AnsibleModule or runs a module's ``main()`` takes its arguments from
the ``module_args`` or ``run_module`` fixture below: they go through
ansible-core's own ``patch_module_args`` (2.19 and later), the supported way
to hand a module its arguments, which also sets the serialization profile that
patching ``basic._ANSIBLE_ARGS`` by hand leaves out.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def module_args() -> Iterator[Callable[[dict], None]]:
    """``module_args(args)``: the next AnsibleModule of this test reads ``args`` (the last call wins).

    Module warnings are process-wide; each test starts without those an earlier test left. A test that
    imported controller code (an action plugin) flips ansible-core into controller mode for the whole
    process, where a module's warnings go to the display instead of its result: the module runs as a module.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(module_utils_internal, "is_controller", False))
        # pylint: disable-next=protected-access
        stack.enter_context(mock.patch.dict(module_warnings._global_warnings, clear=True))
        # pylint: disable-next=protected-access
        stack.enter_context(mock.patch.dict(module_warnings._global_deprecations, clear=True))
        yield lambda args: stack.enter_context(patch_module_args(args))


@pytest.fixture
def run_module(module_args, capsys) -> Callable[[Callable[[], None], dict], dict]:
    """``run_module(main, args)``: run a module's ``main()`` with ``args``; the result it printed."""

    def run(main: Callable[[], None], args: dict) -> dict:
        module_args(args)
        with pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def ansible_module(module_args) -> AnsibleModule:
    """A real AnsibleModule without options: module code runs programs through its ``run_command``."""
    module_args({})
    return AnsibleModule(argument_spec={})
