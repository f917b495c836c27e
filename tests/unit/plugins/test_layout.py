# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout of plugins/ stays as the run's data flow: imports run one way, packages are private and small.

plugins/module_utils holds one private package per stage of a run. A stage may use the stages before it,
never the ones after it, and no stage uses the plugins built on top of them; otherwise the tree stops
reading as the flow and a change in one stage reaches into the others. These tests read the files (with
``ast`` for the imports, nothing is imported) and list every violation at once, each with file and line.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "plugins"
MODULE_UTILS = PLUGINS / "module_utils"
COLLECTION = "ansible_collections.certfleet.acme"
MODULE_UTILS_NAME = COLLECTION + ".plugins.module_utils"
PRIVATE_BANNER = "Private to the certfleet.acme collection"
MAX_LINES = 400

# Each package under plugins/module_utils and the packages it may import (besides itself), along the run's flow.
ALLOWED = {
    "_common": set(),
    "_state": {"_common", "_aws"},
    "_aws": {"_common"},
    "_plan": {"_common", "_state"},
    "_acme": {"_common", "_state", "_plan"},
    "_dns": {"_common", "_state", "_aws"},
    "_deploy": {"_common", "_state", "_aws", "_plan", "_acme"},
    "_report": {"_common", "_state", "_plan"},
}
ALLOWED["_run"] = set(ALLOWED)
# Plugin folders that build on module_utils; module_utils never imports them.
PLUGIN_FOLDERS = ("modules", "filter", "action", "doc_fragments")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def module_name(path: Path) -> str:
    """The dotted name Ansible imports ``path`` as (a package's __init__.py is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([COLLECTION] + parts)


def imports_of(path: Path, tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """Every import of ``path`` at any depth (a lazy import inside a function counts): line, statement, names.

    The names are absolute; ``from package import name`` gives ``package.name`` too, since ``name`` may be a
    module of the package.
    """
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.append((node.lineno, ast.unparse(node), [alias.name for alias in node.names]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names = [source] + ["%s.%s" % (source, alias.name) for alias in node.names if alias.name != "*"]
            found.append((node.lineno, ast.unparse(node), names))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, ast.unparse(node), [node.args[0].value]))
    return sorted(found)


def layer_of_module(name: str) -> str | None:
    """The module_utils package (``_dns``) or plugin folder (``modules``) a dotted name of ours lies in."""
    prefix = COLLECTION + ".plugins."
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split(".")
    if parts[0] == "module_utils":
        return parts[1] if len(parts) > 1 else "module_utils"
    return parts[0]


def layer_of_file(path: Path) -> tuple[str, str]:
    """("module_utils", package) for a file under plugins/module_utils ("" directly in it), else ("plugin", folder)."""
    parts = path.relative_to(PLUGINS).parts
    if parts[0] == "module_utils":
        return "module_utils", parts[1] if len(parts) > 2 else ""
    return "plugin", parts[0] if len(parts) > 1 else ""


def import_violations() -> list[str]:
    """Every import under plugins/module_utils against ALLOWED, as "file:line: statement: why"."""
    violations = []
    for path in python_files(PLUGINS):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as exc:
            violations.append("%s:%s: cannot be parsed: %s" % (relative(path), exc.lineno, exc.msg))
            continue
        kind, source = layer_of_file(path)
        if kind == "plugin":
            continue  # modules, filters, actions and doc fragments may use any module_utils package
        if source and source not in ALLOWED:
            violations.append(
                "%s:1: package %s is not in the layering (%s)" % (relative(path), source, ", ".join(sorted(ALLOWED)))
            )
            continue
        for line, statement, names in imports_of(path, tree):
            targets = {layer_of_module(name) for name in names} - {None, source, "module_utils"}
            where = "%s:%d: %s" % (relative(path), line, statement)
            for target in sorted(targets):
                if target not in ALLOWED:
                    what = "a plugin" if target in PLUGIN_FOLDERS else "code outside the layered packages"
                    violations.append("%s: module_utils must not import %s (%s)" % (where, what, target))
                elif target not in ALLOWED.get(source, set()):
                    allowed = ", ".join(sorted(ALLOWED.get(source, ())))
                    rule = "may import only %s" % allowed if allowed else "may import nothing of the collection"
                    violations.append("%s: %s %s, not %s" % (where, source or "module_utils", rule, target))
    return violations


def test_imports_run_one_way_along_the_flow():
    violations = import_violations()
    assert not violations, "imports against the flow of the run:\n" + "\n".join(violations)


def test_module_utils_holds_only_private_packages():
    violations = []
    for entry in sorted(MODULE_UTILS.iterdir()):
        if entry.name == "__pycache__":
            continue
        if entry.is_file():
            if entry.suffix == ".py" and entry.name != "__init__.py":
                violations.append(
                    "%s: a module directly in plugins/module_utils; it belongs in a package" % (relative(entry))
                )
        elif not entry.name.startswith("_"):
            violations.append("%s: package name without a leading underscore (private)" % relative(entry))
    for folder in sorted({path.parent for path in python_files(MODULE_UTILS)}):
        if folder == MODULE_UTILS:
            continue
        init = folder / "__init__.py"
        if not init.is_file():
            violations.append("%s: package without an __init__.py" % relative(folder))
            continue
        try:
            docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        except SyntaxError as exc:
            violations.append("%s:%s: cannot be parsed: %s" % (relative(init), exc.lineno, exc.msg))
            continue
        if PRIVATE_BANNER not in docstring:
            violations.append("%s:1: the docstring does not say %r" % (relative(init), PRIVATE_BANNER + " ..."))
    assert not violations, "plugins/module_utils is not made of private packages:\n" + "\n".join(violations)


def test_no_file_in_module_utils_is_too_long():
    violations = []
    for path in sorted(MODULE_UTILS.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        count = len(path.read_bytes().splitlines())
        if count > MAX_LINES:
            violations.append("%s:%d: %d lines, more than %d" % (relative(path), MAX_LINES + 1, count, MAX_LINES))
    assert not violations, "files to split:\n" + "\n".join(violations)


def repository_files() -> list[Path]:
    """The files of the repository: what git tracks plus new files it does not ignore; every file outside git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [name for name in dirs if not name.startswith(".") and name != "__pycache__"]
            paths.extend(Path(folder) / name for name in files)
    return sorted(path for path in paths if path.is_file() and not path.is_symlink())


# A document named by a path (relative, climbing up, or absolute) or by its file name alone.
DOCUMENT = re.compile(r"(?<![\w.:%@-])(/?(?:\.{1,2}/)*[\w.-]+(?:/[\w.-]+)*\.(?:md|rst|adoc))\b")
# A relative path that climbs up: it must stay inside the repository.
CLIMB = re.compile(r"(?<![\w.])(?:\.\./)+[\w.-]+")
URL = re.compile(r"\w+://\S+")


def outside_references(path: Path, text: str, names: set[str]) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = URL.sub(" ", line)
        for match in CLIMB.finditer(line):
            target = (path.parent / match.group(0)).resolve()
            if ROOT not in target.parents:
                found.append("%s:%d: %s points outside the repository" % (relative(path), number, match.group(0)))
        for match in DOCUMENT.finditer(line):
            reference = match.group(1)
            if reference.startswith("/"):
                found.append("%s:%d: %s is a document outside the repository" % (relative(path), number, reference))
                continue
            candidates = ((path.parent / reference).resolve(), (ROOT / reference).resolve())
            if any(ROOT in target.parents and target.is_file() for target in candidates):
                continue
            if "/" not in reference and reference in names:
                continue
            found.append("%s:%d: %s is not a document of the repository" % (relative(path), number, reference))
    return found


def test_no_file_refers_to_a_document_outside_the_repository():
    files = repository_files()
    names = {path.name for path in files}
    violations = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data:
            continue
        violations.extend(outside_references(path, data.decode("utf-8", "replace"), names))
    assert not violations, "references to documents the repository does not hold:\n" + "\n".join(violations)
