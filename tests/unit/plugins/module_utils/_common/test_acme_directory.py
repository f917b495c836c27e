# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeSettings, acme_argument_spec
from ansible_collections.certfleet.acme.plugins.module_utils._common.acme_directory import directory_url_error
from ansible_collections.certfleet.acme.plugins.module_utils._plan.checks import expiry_input_problem


def test_https_directories_pass_and_plain_http_needs_the_option():
    assert directory_url_error("https://acme-v02.api.letsencrypt.org/directory") is None
    message = directory_url_error("http://ca.example.test/dir")
    assert message == (
        "acme_directory value 'http://ca.example.test/dir' is a plain http:// URL: RFC 8555 requires HTTPS (allow "
        "plain HTTP only for a local test server, with acme_allow_plain_http)"
    )
    assert directory_url_error("http://127.0.0.1:14000/dir", allow_plain_http=True) is None


@pytest.mark.parametrize(
    "url", ["ftp://ca.example.test/dir", "ca.example.test/dir", "https://", "", None, "https://[x"]
)
def test_anything_but_an_http_url_is_refused(url):
    assert directory_url_error(url, allow_plain_http=True) == "acme_directory value %r is not an https:// URL" % url


def _params(**extra):
    params = {name: spec.get("default") for name, spec in acme_argument_spec().items()}
    params.update(state_dir="/tmp/state", **extra)
    return params


def test_acme_modules_refuse_plain_http_before_anything_is_sent():
    assert acme_argument_spec()["acme_allow_plain_http"] == {"type": "bool", "default": False}
    with pytest.raises(ValueError, match="acme_directory value 'http://ca.example.test/dir' is a plain http://"):
        AcmeSettings.from_params(_params(acme_directory="http://ca.example.test/dir"))
    settings = AcmeSettings.from_params(
        _params(acme_directory="http://ca.example.test/dir", acme_allow_plain_http=True)
    )
    assert settings.directory_url == "http://ca.example.test/dir"


def _expiry(**extra):
    params = {
        "certificates": [{"name": "www", "path": "/tmp/www.pem"}],
        "state_dir": "/tmp/state",
        "renew_days": None,
        "request_timeout": 10,
        "acme_directory": None,
        "acme_allow_plain_http": False,
    }
    params.update(extra)
    return params


def test_cert_expiry_facts_refuses_plain_http_and_bad_certificate_names():
    assert expiry_input_problem(_expiry()) is None
    assert "is a plain http:// URL" in expiry_input_problem(_expiry(acme_directory="http://ca.example.test/dir"))
    assert (
        expiry_input_problem(_expiry(acme_directory="http://ca.example.test/dir", acme_allow_plain_http=True)) is None
    )
    for name in ("../outside", "www\n", "-x"):
        problem = expiry_input_problem(_expiry(certificates=[{"name": name, "path": None}]))
        assert problem.startswith(
            "certificate %r: field 'name' value %r must start with a letter or digit" % (name, name)
        )
