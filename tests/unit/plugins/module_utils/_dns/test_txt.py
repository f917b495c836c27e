# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TXT presentation form: quoting, unquoting and 255-byte splitting shared by every provider."""

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns import txt


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", '"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"'),
        ("with space", '"with space"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("café", '"caf\\195\\169"'),
        ("tab\there", '"tab\\009here"'),
    ],
)
def test_values_are_quoted_and_read_back(value, content):
    assert txt.quote(value) == content
    assert txt.unquote(content) == value


def test_unquote_joins_strings_and_accepts_raw_utf8_and_bare_words():
    assert txt.unquote('"ab" "cd"') == "abcd"
    assert txt.unquote('"café"') == "café"
    assert txt.unquote("bare") == "bare"
    assert txt.unquote('"a\\;b"') == "a;b"


def test_long_values_are_split_into_255_byte_strings():
    assert txt.split_strings("a" * 300) == [b"a" * 255, b"a" * 45]
    assert txt.split_strings("") == [b""]
    assert txt.quote("a" * 256) == '"%s" "a"' % ("a" * 255)


def test_octal_escapes_are_route53s():
    assert txt.quote("é", octal=True) == '"\\303\\251"'
    assert txt.unquote('"\\303\\251"', octal=True) == "é"
    assert txt.unquote('"\\065"') == "A" and txt.unquote('"\\065"', octal=True) == "5"


def test_strict_parsing_refuses_text_that_is_not_all_quoted():
    assert txt.parse_strings('"a" "b"', strict=True) == [b"a", b"b"]
    assert txt.parse_strings('"a" b', strict=True) is None
    assert txt.parse_strings('"unterminated', strict=True) is None
    assert txt.parse_strings('"unterminated') == [b"unterminated"]
