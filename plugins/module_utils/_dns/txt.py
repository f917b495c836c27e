# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TXT values on the wire and in presentation form: the one place that quotes, unquotes and splits them.

A TXT record is a list of character-strings of at most 255 bytes each; ACME
servers read it as their concatenation. APIs that take zone-file text
(Route 53, PowerDNS, Cloudflare's answers) want each string quoted, with
``"`` and ``\\`` escaped by a backslash and other bytes as a three-digit
escape: decimal in the zone-file format (RFC 1035), octal at Route 53.
Every provider goes through these functions, so a value written by one
reads back the same through any other.
"""

from __future__ import annotations

import re

#: The longest character-string of a TXT record, in bytes.
MAX_STRING = 255

_DECIMAL = re.compile(r"[0-9]{3}")
_OCTAL = re.compile(r"[0-7]{3}")


def split_strings(value: str) -> list[bytes]:
    """``value`` as UTF-8, cut into character-strings of at most 255 bytes (one empty string for '')."""
    data = value.encode("utf-8")
    return [data[start : start + MAX_STRING] for start in range(0, len(data), MAX_STRING)] or [b""]


def _escape(chunk: bytes, octal: bool) -> str:
    out = []
    for byte in chunk:
        if byte in (0x22, 0x5C):  # " and \ are escaped with a backslash
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:  # control and non-ASCII bytes as a backslash and three digits
            out.append(("\\%03o" if octal else "\\%03d") % byte)
    return "".join(out)


def quote(value: str, octal: bool = False) -> str:
    """``value`` in presentation form: quoted, escaped, split into 255-byte strings separated by a space."""
    return " ".join('"%s"' % _escape(chunk, octal) for chunk in split_strings(value))


def parse_strings(text: str, octal: bool = False, strict: bool = False) -> list[bytes] | None:
    """The character-strings of presentation-form ``text``.

    Quoted strings may hold ``\\"``, ``\\\\`` and three-digit escapes; a
    backslash before anything else escapes that character. Leniently (the
    default), unquoted words are strings too and an unterminated quote ends
    the text: records written by other tools must not make a name unreadable.
    With ``strict``, text that is not entirely quoted strings gives None.
    """
    digits_form = _OCTAL if octal else _DECIMAL
    base = 8 if octal else 10
    strings: list[bytes] = []
    index, length = 0, len(text)
    while index < length:
        if text[index].isspace():
            index += 1
            continue
        quoted = text[index] == '"'
        if not quoted and strict:
            return None
        if quoted:
            index += 1
        buf = bytearray()
        closed = False
        while index < length:
            char = text[index]
            if quoted and char == '"':
                index += 1
                closed = True
                break
            if not quoted and char.isspace():
                break
            if char == "\\" and index + 1 < length:
                digits = text[index + 1 : index + 4]
                if digits_form.fullmatch(digits) and int(digits, base) <= 255:
                    buf.append(int(digits, base))
                    index += 4
                    continue
                buf.extend(text[index + 1].encode("utf-8"))
                index += 2
                continue
            buf.extend(char.encode("utf-8"))
            index += 1
        if strict and not closed:
            return None
        strings.append(bytes(buf))
    return strings


def join_strings(strings) -> str:
    """The value a client reads from character-strings: joined, decoded as UTF-8."""
    return b"".join(strings).decode("utf-8", "replace")


def unquote(text: str, octal: bool = False) -> str:
    """The value held by presentation-form ``text`` (lenient, see :func:`parse_strings`)."""
    return join_strings(parse_strings(text, octal))


def rdata_value(rdata) -> str:
    """The value of a dnspython TXT rdata: its character-strings joined."""
    return join_strings(rdata.strings)
