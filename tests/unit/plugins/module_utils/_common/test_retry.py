# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.retry import parse_retry_after

NOW = 1000000000.0  # 2001-09-09T01:46:40Z


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("120", 120),
        (" 7 ", 7),
        ("Sun, 09 Sep 2001 01:47:10 GMT", 30),
        ("Sun, 09 Sep 2001 01:40:00 GMT", 0),  # past: now
        ("-5", None),  # not delta-seconds
        ("1.5", None),
        ("2001-09-09T01:47:00Z", None),  # ISO 8601 is not an HTTP header form
        (30, 30),
        (-5, None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_http_only_takes_the_two_header_forms(value, seconds):
    assert parse_retry_after(value, lambda: NOW, http_only=True) == seconds


def test_lenient_form_takes_numbers_and_iso_times():
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("2001-09-09T01:47:00Z", lambda: NOW) == pytest.approx(20)
