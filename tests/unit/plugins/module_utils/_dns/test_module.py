# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider secrets are masked before the module logs or reports anything."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic

from ansible_collections.certfleet.acme.plugins.module_utils._dns.module import ProviderModule

SECRET = "c2VjcmV0LXRzaWcta2V5LXZhbHVlLTEyMzQ1Njc4OTA="

SPEC = dict(
    provider=dict(type="dict"),
    providers=dict(type="list", elements="dict"),
    records=dict(type="list", elements="dict", required=True),
)


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: messages.append(msg))
    return messages


def entry(**extra):
    config = {"name": "bind", "type": "rfc2136", "zones": ["example.com"], "server": "192.0.2.1", "key_secret": SECRET}
    config.update(extra)
    return config


def test_secret_is_masked_in_the_invocation_log(module_args, logged):
    module_args({"providers": [entry()], "records": []})
    module = ProviderModule(argument_spec=SPEC)
    assert SECRET in module.no_log_values
    assert logged and SECRET not in "".join(logged)
    assert "example.com" in "".join(logged)


def test_secret_is_masked_when_argument_validation_fails(module_args, capsys):
    # ansible-core 2.21 puts the invocation into a result only when asked to (INJECT_INVOCATION); ask.
    module_args({"provider": entry(), "records": "not-a-list-of-dicts", "_ansible_inject_invocation": True})
    with pytest.raises(SystemExit):
        ProviderModule(argument_spec=SPEC)
    output = capsys.readouterr().out
    assert '"failed": true' in output and SECRET not in output and "example.com" in output


def test_secret_in_a_json_string_entry_is_masked_too(module_args, logged):
    module_args({"provider": json.dumps(entry()), "records": []})
    module = ProviderModule(argument_spec=SPEC)
    assert SECRET in module.no_log_values and SECRET not in "".join(logged)


@pytest.mark.parametrize(
    "config",
    [
        entry(key_secret=None, key_secert=SECRET),
        {"name": "b9", "type": "bind9", "zones": ["example.com"], "tsig": SECRET},
        {"name": "p", "type": "powerdns", "zones": ["example.com"], "api_url": "https://p", "apikey": SECRET},
    ],
)
def test_a_secret_under_an_unknown_option_or_type_is_masked(module_args, logged, capsys, config):
    module_args({"providers": [config], "records": "not-a-list-of-dicts", "_ansible_inject_invocation": True})
    with pytest.raises(SystemExit):
        ProviderModule(argument_spec=SPEC)
    output = capsys.readouterr().out
    assert SECRET not in output and SECRET not in "".join(logged)
    assert '"failed": true' in output and "example.com" in output
