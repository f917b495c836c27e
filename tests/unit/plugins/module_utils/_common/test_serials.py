# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serials are written as openssl writes them and compared as numbers, whatever an older run stored."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from certgen import make_cert

from ansible_collections.certfleet.acme.plugins.module_utils._common.serials import (
    format_serial,
    same_serial,
    serial_number,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.cert_info import certificate_info, load_certificate

OPENSSL = shutil.which("openssl")


def openssl_serial(pem: bytes) -> str:
    """What ``openssl x509 -noout -serial`` prints for ``pem``, without 'serial='."""
    output = subprocess.run(
        [OPENSSL, "x509", "-noout", "-serial"], input=pem, capture_output=True, check=True
    ).stdout.decode("ascii")
    assert output.startswith("serial="), output
    return output.strip()[len("serial=") :]


@pytest.mark.parametrize("serial", [0x0A1B, 0x0ABCDEF0123456789, 0x80, 0x1, 0x7F00FF, 0x0F << 152])
def test_format_matches_openssl(serial):
    if OPENSSL is None:
        pytest.fail("the unit tests need the openssl command (Debian package openssl)")
    pem = make_cert(["serial.example.com"], serial=serial)
    expected = openssl_serial(pem)
    assert format_serial(serial) == expected
    assert certificate_info(load_certificate(pem))["serial"] == expected


def test_a_leading_zero_nibble_is_kept_as_openssl_keeps_it():
    if OPENSSL is None:
        pytest.fail("the unit tests need the openssl command (Debian package openssl)")
    pem = make_cert(["serial.example.com"], serial=0x0A1B)
    assert openssl_serial(pem) == "0A1B" == certificate_info(load_certificate(pem))["serial"]


def test_format_of_known_values_and_older_spellings():
    assert format_serial(0x0A1B) == "0A1B"
    assert format_serial(0) == "00"
    assert format_serial("a1b") == format_serial("0a:1b") == format_serial("0x0A1B") == "0A1B"
    assert format_serial(-0x0A1B) == "-0A1B"
    assert format_serial(None) is None and format_serial("xyz") is None and format_serial("") is None
    assert format_serial(True) is None


def test_serials_compare_as_numbers():
    assert same_serial("a1b", "0A1B") and same_serial("0a:1b", 0x0A1B) and same_serial("0x0a1b", "000A1B")
    assert not same_serial("a1b", "a1c")
    assert not same_serial(None, None) and not same_serial("xyz", "xyz") and not same_serial(None, "0A1B")
    assert serial_number("0A1B") == 0x0A1B and serial_number("-a") == -10 and serial_number(" ") is None
