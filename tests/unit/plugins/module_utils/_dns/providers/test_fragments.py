# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each provider type's doc fragment documents exactly the options its class accepts, so the two cannot drift."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.registry import PROVIDER_TYPES

FRAGMENTS = "ansible_collections.certfleet.acme.plugins.doc_fragments.provider_%s"
# An option is named as C(option) right after "options " or after the "; " that ends the one before it.
_OPTION = re.compile(r"(?:options |; )C\(([a-z_]+)\)")


def documented(kind: str) -> list[str]:
    fragment = importlib.import_module(FRAGMENTS % kind).ModuleDocFragment
    notes = yaml.safe_load(fragment.DOCUMENTATION)["notes"]
    return [name for note in notes for name in _OPTION.findall(note)]


@pytest.mark.parametrize("kind", sorted(PROVIDER_TYPES))
def test_fragment_documents_the_class_options(kind):
    names = documented(kind)
    assert len(names) == len(set(names)), "an option is documented twice"
    assert set(names) == set(PROVIDER_TYPES[kind].type_options())


def test_dns_txt_record_uses_every_provider_fragment():
    from ansible_collections.certfleet.acme.plugins.modules import dns_txt_record

    extends = yaml.safe_load(dns_txt_record.DOCUMENTATION)["extends_documentation_fragment"]
    assert {"certfleet.acme.provider_%s" % kind for kind in PROVIDER_TYPES} <= set(extends)


DOCS = Path(__file__).resolve().parents[6] / "docs" / "docsite" / "rst"
# A line of an options table (an RST grid table): its first cell lists one or more ``option`` names.
_TABLE_ROW = re.compile(r"^\| *((?:``[a-z_]+``(?:, *)?)+) *\|")


def table_options(page: Path) -> list[str]:
    """The option names in the first column of every options table of a docs page (header rows excluded)."""
    names = []
    for line in page.read_text().splitlines():
        match = _TABLE_ROW.match(line)
        if match:
            names.extend(re.findall(r"``([a-z_]+)``", match.group(1)))
    return names


@pytest.mark.parametrize("kind", sorted(PROVIDER_TYPES))
def test_docs_page_table_lists_the_class_options(kind):
    """A page with an options table names every option of the type and no other; pages without one defer to ansible-doc."""
    names = table_options(DOCS / ("providers_%s.rst" % kind))
    if names:
        assert set(names) == set(PROVIDER_TYPES[kind].type_options())
