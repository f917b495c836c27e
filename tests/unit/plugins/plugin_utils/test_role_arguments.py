# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's own check of its variables: one short message per problem, secrets hidden, misspelt names refused.

The role's names are read from its files on each run; the last tests make sure that every ``letsencrypt_dns_``
name the role, its playbook and its tests use is one of them, so a name added some other way is found here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.plugin_utils.role_arguments import (
    argument_problems,
    closest,
    option_problems,
    role_names,
    unknown_problems,
)

ROOT = Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "letsencrypt_dns"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
OPTIONS = SPECS["variables"]["options"]
#: What roles/letsencrypt_dns/tasks/validate.yml passes as known_names and known_patterns.
KNOWN_NAMES = {"letsencrypt_dns_hosts"}
KNOWN_PATTERN = re.compile(r"^letsencrypt_dns_credential_provider_[a-z0-9_]+$")
#: Misspelt on purpose in the docs, to show the message.
TYPO_EXAMPLES = {"letsencrypt_dns_certificate"}


def own_names() -> set[str]:
    vars_documents = [yaml.safe_load((ROLE / folder / "main.yml").read_text()) for folder in ("vars", "defaults")]
    task_documents = [yaml.safe_load(path.read_text()) for path in sorted((ROLE / "tasks").glob("*.yml"))]
    return role_names(vars_documents, task_documents)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"letsencrypt_dns_ttl": "abc"}, ["letsencrypt_dns_ttl: 'abc' is not an integer"]),
        (
            {"letsencrypt_dns_key_type": "ec512"},
            ["letsencrypt_dns_key_type: 'ec512' is not one of ec256, ec384, rsa2048, rsa3072, rsa4096"],
        ),
        (
            {"letsencrypt_dns_terms_agreed": "maybe"},
            ["letsencrypt_dns_terms_agreed: 'maybe' is not a boolean (true or false)"],
        ),
        (
            {"letsencrypt_dns_credential_provider_cloudflare": "secret-token"},
            ["letsencrypt_dns_credential_provider_cloudflare: (hidden) is not a mapping"],
        ),
        ({"letsencrypt_dns_ttl": "60", "letsencrypt_dns_force": "yes", "letsencrypt_dns_renew_days": None}, []),
    ],
)
def test_each_problem_names_the_variable_the_value_and_what_is_allowed(values, expected):
    assert argument_problems(OPTIONS, values) == expected


def test_fields_of_list_entries_are_named_by_index():
    certificates = [
        {"name": "a", "names": ["a.example.test"], "endpoint": {"host": "h", "port": "x"}},
        {"name": "b", "names": ["b.example.test"], "key-type": "ec384"},
        {"names": ["c.example.test"], "key_type": "ec512"},
    ]
    assert argument_problems(OPTIONS, {"letsencrypt_dns_certificates": certificates}) == [
        "letsencrypt_dns_certificates[0].endpoint.port: 'x' is not an integer",
        "letsencrypt_dns_certificates[1]: unknown field 'key-type' (did you mean key_type?)",
        "letsencrypt_dns_certificates[2]: field 'name' is missing",
        "letsencrypt_dns_certificates[2].key_type: 'ec512' is not one of ec256, ec384, rsa2048, rsa3072, rsa4096",
    ]


def test_values_under_a_no_log_option_are_hidden():
    spec = {"type": "list", "elements": "dict", "no_log": True, "options": {"port": {"type": "int"}}}
    assert option_problems("providers", spec, [{"port": "tsig-secret"}]) == [
        "providers[0].port: (hidden) is not an integer"
    ]
    assert option_problems("providers", spec, "tsig-secret") == ["providers: (hidden) is not a list of mappings"]


def test_a_long_value_is_cut():
    (problem,) = option_problems("letsencrypt_dns_ttl", {"type": "int"}, "x" * 500)
    assert len(problem) < 100 and problem.endswith("... is not an integer")


def test_unknown_names_are_refused_with_the_closest_known_name():
    known = set(OPTIONS)
    names = {
        "web1": ["letsencrypt_dns_certificate", "letsencrypt_dns_ttl", "other_var"],
        "web2": ["letsencrypt_dns_ttl"],
    }
    assert unknown_problems(names, "letsencrypt_dns_", known) == [
        "unknown variable letsencrypt_dns_certificate: did you mean letsencrypt_dns_certificates? (in the vars of web1)"
    ]
    assert unknown_problems({"h": ["letsencrypt_dns_zzz"]}, "letsencrypt_dns_", known) == [
        "unknown variable letsencrypt_dns_zzz: no variable of the role has this name"
    ]


def test_names_that_match_a_known_pattern_pass():
    names = {"h": ["letsencrypt_dns_credential_provider_acme_dns"]}
    assert unknown_problems(names, "letsencrypt_dns_", set(), [KNOWN_PATTERN.pattern]) == []


def test_a_name_on_many_hosts_names_five_of_them():
    names = {"h%d" % index: ["letsencrypt_dns_deploi"] for index in range(8)}
    names["clean"] = []
    (problem,) = unknown_problems(names, "letsencrypt_dns_", set(OPTIONS))
    assert problem.endswith("did you mean letsencrypt_dns_deploy? (in the vars of h0, h1, h2, h3, h4 and 3 more)")


def test_closest_ignores_the_common_prefix():
    assert closest("letsencrypt_dns_foo", OPTIONS, "letsencrypt_dns_") is None
    assert closest("letsencrypt_dns_tll", OPTIONS, "letsencrypt_dns_") == "letsencrypt_dns_ttl"


def test_the_role_defines_its_facts_registers_and_vars():
    names = own_names()
    for name in (
        "letsencrypt_dns_wanted",
        "letsencrypt_dns_expiry",
        "letsencrypt_dns_due_names",
        "letsencrypt_dns_summary",
    ):
        assert name in names


def test_set_fact_set_stats_loop_var_and_vars_count():
    tasks = [
        {"block": [{"set_fact": {"a_fact": 1, "cacheable": True}, "register": "a_result"}]},
        {
            "ansible.builtin.set_stats": {"data": {"a_stat": 1}},
            "loop_control": {"loop_var": "an_item", "index_var": "an_index"},
        },
        {"debug": None, "vars": {"a_var": 1}},
    ]
    assert role_names([{"a_default": 1}], [tasks]) == {
        "a_default",
        "a_fact",
        "a_result",
        "a_stat",
        "an_item",
        "an_index",
        "a_var",
    }


def used_names() -> dict[str, set[str]]:
    """Every letsencrypt_dns_ name written in the role, the playbooks, the docs and the extensions, with where.

    Not the tests: they misspell names on purpose.
    """
    files = [path for folder in ("roles", "playbooks", "docs", "extensions") for path in (ROOT / folder).rglob("*")]
    where: dict[str, set[str]] = {}
    for path in files:
        if (
            path.suffix not in (".yml", ".yaml", ".md", ".py", ".j2")
            or not path.is_file()
            or path.name == Path(__file__).name
        ):
            continue
        for name in re.findall(r"\bletsencrypt_dns_\w+", path.read_text(errors="replace")):
            if not name.endswith("_"):
                where.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return where


def test_every_name_used_anywhere_is_known_to_the_check():
    """A role variable set some way the check does not read (include_vars, a new keyword) would be refused."""
    known = set(OPTIONS) | own_names() | KNOWN_NAMES | TYPO_EXAMPLES
    unknown = {
        name: sorted(paths)[:3]
        for name, paths in used_names().items()
        if name not in known and not KNOWN_PATTERN.match(name)
    }
    assert not unknown
