# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate serial numbers written as ``openssl x509 -noout -serial`` writes them, and compared as numbers.

A person checks a deployed certificate with openssl and compares its serial
with the report, the facts and the deploy results: every place that shows a
serial writes it here, in openssl's spelling (upper-case hex, an even number
of digits, so a leading zero is kept). Older runs stored other spellings
(lower-case, leading zeros dropped) and ACM writes ``0a:1b:...``, so serials
are compared by their number, never as text.
"""

from __future__ import annotations

from typing import Any

_HEX_DIGITS = frozenset("0123456789abcdef")


def serial_number(value: Any) -> int | None:
    """The number of a serial given as an int or in any hex spelling ('0A1B', 'a1b', '0a:1b', '0x0a1b'); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace(":", "")
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if text.startswith("0x"):
        text = text[2:]
    if not text or not set(text) <= _HEX_DIGITS:
        return None
    number = int(text, 16)
    return -number if negative else number


def format_serial(value: Any) -> str | None:
    """A serial as openssl prints it (``0A1B``: upper-case, two digits per byte); None when it is no serial."""
    number = serial_number(value)
    if number is None:
        return None
    digits = "%X" % abs(number)
    if len(digits) % 2:
        digits = "0" + digits
    return "-" + digits if number < 0 else digits


def same_serial(first: Any, second: Any) -> bool:
    """Whether two serials, in any spelling, are the same number (two missing serials are not the same)."""
    number = serial_number(first)
    return number is not None and number == serial_number(second)
