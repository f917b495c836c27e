# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every filter has its own documentation file.

ansible-doc prefers DOCUMENTATION inside a plugin file over the side YAML file of a filter that the same
file exports, so a filter file that documents one of its filters in Python shows that page for all of
them. Each filter is therefore documented in ``plugins/filter/<name>.yml``, named after the filter.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
FILTER_FILES = sorted(path.stem for path in FILTER_DIR.glob("*.py") if path.stem != "__init__")


def exported_filters() -> list[tuple[str, str]]:
    pairs = []
    for stem in FILTER_FILES:
        module = importlib.import_module("ansible_collections.certfleet.acme.plugins.filter.%s" % stem)
        pairs.extend((stem, name) for name in module.FilterModule().filters())
    return pairs


@pytest.mark.parametrize("stem", FILTER_FILES)
def test_filter_files_carry_no_inline_documentation(stem):
    assert "DOCUMENTATION" not in (FILTER_DIR / ("%s.py" % stem)).read_text()


@pytest.mark.parametrize(("stem", "name"), exported_filters())
def test_each_filter_has_a_documentation_file_named_after_it(stem, name):
    doc_file = FILTER_DIR / ("%s.yml" % name)
    assert doc_file.is_file(), "filter %s (from %s.py) has no %s" % (name, stem, doc_file.name)
    documentation = yaml.safe_load(doc_file.read_text())
    assert documentation["DOCUMENTATION"]["name"] == name
    assert documentation["EXAMPLES"].strip()
    assert "_value" in documentation["RETURN"]
