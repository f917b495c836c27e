# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's own check of its variables: short messages, unknown names refused.

ansible-core checks a role's variables against the entry point ``main`` of
meta/argument_specs.yml by itself, and on a wrong type it prints the whole
argument spec (about 20 KB). It also never sees a misspelt variable: a
``letsencrypt_dns_certificate`` is just another play variable, and the run
succeeds with no certificates. This checks the same spec with ansible's own
``ArgumentSpecValidator``, one option at a time so that each problem names the
variable (or field), the value (hidden for ``no_log`` options) and what is
allowed, and refuses names with the role's prefix that the role does not know.
"""

from __future__ import annotations

import difflib
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import ArgumentTypeError, ArgumentValueError, ElementError

HIDDEN = "(hidden)"
#: Longest value shown in a message; a wrong value is named, not dumped.
SHOWN_CHARS = 60
#: The keys of an option's spec that decide what a value may be (the rest is documentation or handled here).
CHECKED_KEYS = ("type", "elements", "choices")
TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (true or false)",
    "path": "a path",
    "list": "a list",
    "dict": "a mapping",
    "bytes": "a size in bytes",
    "bits": "a size in bits",
    "jsonarg": "JSON",
    "json": "JSON",
}
ELEMENT_WORDS = {
    "str": "strings",
    "int": "integers",
    "float": "numbers",
    "bool": "booleans",
    "path": "paths",
    "list": "lists",
    "dict": "mappings",
}
SET_FACT = ("set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact")
SET_STATS = ("set_stats", "ansible.builtin.set_stats", "ansible.legacy.set_stats")
#: Hosts named in a message about a variable that only some hosts have.
HOSTS_SHOWN = 5


def shown(value, hidden: bool) -> str:
    """The value as a message shows it: hidden for no_log options, cut when long."""
    if hidden:
        return HIDDEN
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def closest(name: str, candidates, prefix: str = "") -> str | None:
    """The candidate ``name`` was probably meant as (compared without the common prefix), or None."""
    stems = {candidate[len(prefix) :]: candidate for candidate in candidates if candidate.startswith(prefix)}
    match = difflib.get_close_matches(name[len(prefix) :], list(stems), n=1, cutoff=0.6)
    return stems[match[0]] if match else None


def _reason(error, spec: dict) -> str:
    """What is allowed, in words, for one error of ArgumentSpecValidator."""
    kind = spec.get("type", "str")
    if isinstance(error, ArgumentValueError) and spec.get("choices"):
        return "is not one of %s" % ", ".join(map(str, spec["choices"]))
    if isinstance(error, ElementError):
        elements = spec.get("elements", "str")
        return "is not a list of %s" % ELEMENT_WORDS.get(elements, elements)
    if isinstance(error, ArgumentTypeError):
        return "is not %s" % TYPE_WORDS.get(kind, kind)
    return "is refused: %s" % error


def option_problems(path: str, spec: dict, value, hidden: bool = False) -> list[str]:
    """Every problem of one option's value, each naming ``path`` (the variable or field), the value and the rule."""
    hidden = hidden or bool(spec.get("no_log"))
    flat = {key: spec[key] for key in CHECKED_KEYS if key in spec}
    result = ArgumentSpecValidator({"value": flat}).validate({"value": value})
    if result.errors.errors:
        return ["%s: %s %s" % (path, shown(value, hidden), _reason(result.errors.errors[0], spec))]
    converted = result.validated_parameters.get("value")
    options = spec.get("options")
    if not options or converted is None:
        return []
    if isinstance(converted, dict):
        return mapping_problems(path, options, converted, hidden)
    problems = []
    for index, item in enumerate(converted if isinstance(converted, list) else []):
        problems.extend(mapping_problems("%s[%d]" % (path, index), options, item, hidden))
    return problems


def mapping_problems(path: str, options: dict, mapping, hidden: bool = False) -> list[str]:
    """The problems of a mapping with suboptions: unknown and missing fields, then each field's own."""
    if not isinstance(mapping, dict):
        return ["%s: %s is not a mapping" % (path, shown(mapping, hidden))]
    problems = []
    for key in sorted(set(mapping) - set(options), key=str):
        guess = closest(str(key), options)
        problems.append("%s: unknown field %r%s" % (path, key, " (did you mean %s?)" % guess if guess else ""))
    for key, spec in options.items():
        if mapping.get(key) is None:
            if spec.get("required"):
                problems.append("%s: field %r is missing" % (path, key))
            continue
        problems.extend(option_problems("%s.%s" % (path, key), spec, mapping[key], hidden))
    return problems


def argument_problems(options: dict, values: dict) -> list[str]:
    """The problems of the role's variables ``values`` (only those set) against the entry point's ``options``."""
    problems = []
    for name, spec in options.items():
        if values.get(name) is not None:
            problems.extend(option_problems(name, spec, values[name]))
    return problems


def _walk(node):
    """Every mapping in a loaded YAML document, at any depth."""
    if isinstance(node, dict):
        yield node
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        yield from _walk(child)


def role_names(vars_documents, task_documents) -> set[str]:
    """The variables a role defines itself: keys of its vars and defaults files, and what its tasks set.

    Tasks set a variable with ``register``, ``set_fact``, ``set_stats`` (an AWX workflow hands these on as
    extra vars of the next job), ``loop_control.loop_var`` and ``index_var``, and ``vars``. Read from the role's
    files on each run, so a name added to the role is known without a list to keep.
    """
    names = {key for document in vars_documents if isinstance(document, dict) for key in document}
    for node in (node for document in task_documents for node in _walk(document)):
        if isinstance(node.get("register"), str):
            names.add(node["register"])
        for action in SET_FACT:
            if isinstance(node.get(action), dict):
                names.update(key for key in node[action] if key != "cacheable")
        for action in SET_STATS:
            if isinstance(node.get(action), dict) and isinstance(node[action].get("data"), dict):
                names.update(node[action]["data"])
        loop_control = node.get("loop_control")
        if isinstance(loop_control, dict):
            names.update(loop_control.get(key) for key in ("loop_var", "index_var"))
        if isinstance(node.get("vars"), dict):
            names.update(node["vars"])
    return {name for name in names if isinstance(name, str)}


def unknown_problems(names_by_host: dict, prefix: str, known, patterns=()) -> list[str]:
    """One problem per variable with ``prefix`` that is neither ``known`` nor matches a pattern, with a guess.

    ``names_by_host`` maps each checked host to the names of its variables; a name that only some hosts have is
    said with those hosts (it is in their host or group vars).
    """
    compiled = [re.compile(pattern) for pattern in patterns]
    hosts_of: dict[str, list[str]] = {}
    for host, names in names_by_host.items():
        for name in names:
            if name.startswith(prefix) and name not in known and not any(rule.match(name) for rule in compiled):
                hosts_of.setdefault(name, []).append(host)
    problems = []
    for name in sorted(hosts_of):
        guess = closest(name, known, prefix)
        text = "unknown variable %s: %s" % (
            name,
            "did you mean %s?" % guess if guess else "no variable of the role has this name",
        )
        hosts = hosts_of[name]
        if len(hosts) < len(names_by_host):
            more = " and %d more" % (len(hosts) - HOSTS_SHOWN) if len(hosts) > HOSTS_SHOWN else ""
            text += " (in the vars of %s%s)" % (", ".join(hosts[:HOSTS_SHOWN]), more)
        problems.append(text)
    return problems
