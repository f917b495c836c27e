# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the execution-environment build context that `ansible-builder create` made (`make ee`).

No container engine is needed to build the context, but nothing about it is checked until an image is built
somewhere else. This script checks what the image would get: the base image and its Python (3.12 or later),
ansible-core 2.21 and ansible-runner, the collection installed from its tarball as a galaxy dependency, and the
Python and system requirements that ansible-builder introspects from the installed collection. For the last two
it does what the image build does: it installs the tarball with the context's galaxy requirements file, from the
context's folder, and runs the context's own introspect script on the result.

Usage: check_ee_context.py <definition> <context dir>; exits 1 naming everything that is wrong.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

import yaml

COLLECTION = "certfleet.acme"
CORE_SPEC = "ansible-core>=2.21,<2.22"
MIN_PYTHON = (3, 12)
PYTHON_REQUIREMENTS = {"acme", "cryptography", "dnspython", "boto3", "requests"}
SYSTEM_REQUIREMENTS = {"openssl", "ca-certificates"}


class Checker:
    """Collects failures so that one run names all of them."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
        return ok


def containerfile_arg(text: str, name: str) -> str | None:
    match = re.search(r'^ARG %s="([^"]*)"$' % re.escape(name), text, re.MULTILINE)
    return match.group(1) if match else None


def requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\s<>=!~\[;]", line, maxsplit=1)[0].lower())
    return names


def check_containerfile(checker: Checker, definition: dict, context: str) -> None:
    path = os.path.join(context, "Containerfile")
    if not checker.check(
        os.path.isfile(path), f"{path} is missing (ansible-builder create --output-filename Containerfile)"
    ):
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()

    base = definition["images"]["base_image"]["name"]
    checker.check(containerfile_arg(text, "EE_BASE_IMAGE") == base, f"Containerfile: base image is not {base}")
    checker.check("FROM $EE_BASE_IMAGE AS base" in text, "Containerfile: no stage FROM the base image")

    python_path = containerfile_arg(text, "PYCMD") or ""
    version = re.search(r"python(\d+)\.(\d+)$", python_path)
    checker.check(
        bool(version) and tuple(int(v) for v in version.groups()) >= MIN_PYTHON,
        f"Containerfile: the Python interpreter ({python_path or 'none'}) is not Python "
        f"{'.'.join(map(str, MIN_PYTHON))} or later, which ansible-core 2.21 needs",
    )
    package = python_path.rsplit("/", 1)[-1]
    checker.check(
        package in (containerfile_arg(text, "PYPKG") or "").split(),
        f"Containerfile: the system package for {python_path} ({package}) is not installed",
    )

    refs = (containerfile_arg(text, "ANSIBLE_INSTALL_REFS") or "").split()
    checker.check(CORE_SPEC in refs, f"Containerfile: ansible-core is not installed as {CORE_SPEC} (refs: {refs})")
    checker.check(
        any(ref.startswith("ansible-runner") for ref in refs),
        f"Containerfile: ansible-runner is not installed ({refs})",
    )
    checker.check(
        "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in text,
        "Containerfile: ansible-core and ansible-runner are not installed with pip",
    )
    checker.check(
        re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements\.yml", text, re.MULTILINE) is not None,
        "Containerfile: no galaxy stage installing the collections of requirements.yml",
    )
    checker.check(
        "/output/scripts/introspect.py introspect" in text and "/output/scripts/install-from-bindep" in text,
        "Containerfile: the collections' requirements are not introspected and installed",
    )
    checker.check(
        "append_final" not in str(definition.get("additional_build_steps", {})),
        "execution-environment.yml: the collection is to be a galaxy dependency, not an append_final step",
    )


def check_tarball(checker: Checker, tarball: str) -> None:
    """The tarball is the collection and carries the files meta/execution-environment.yml names."""
    with open("galaxy.yml", encoding="utf-8") as f:
        galaxy = yaml.safe_load(f)
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
        found = "{namespace}.{name} {version}".format(**info)
        wanted = "{namespace}.{name} {version}".format(**galaxy)
        checker.check(found == wanted, f"{tarball} is {found}, not {wanted} (galaxy.yml)")
        if not checker.check(
            "meta/execution-environment.yml" in names, f"{tarball}: no meta/execution-environment.yml"
        ):
            return
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
    deps = meta.get("dependencies", {})
    for kind, filename in (("python", "requirements.txt"), ("system", "bindep.txt")):
        checker.check(
            deps.get(kind) == filename, f"meta/execution-environment.yml: dependencies.{kind} is not {filename}"
        )
        checker.check(filename in names, f"{tarball}: {filename} is missing")


def check_galaxy_requirements(checker: Checker, context: str) -> str | None:
    """Returns the tarball the context's galaxy requirements name, if it is there."""
    build = os.path.join(context, "_build")
    path = os.path.join(build, "requirements.yml")
    if not checker.check(os.path.isfile(path), f"{path} is missing: no galaxy dependencies in the definition"):
        return None
    with open(path, encoding="utf-8") as f:
        collections = (yaml.safe_load(f) or {}).get("collections") or []
    files = [c for c in collections if isinstance(c, dict) and c.get("type") == "file"]
    if not checker.check(
        len(files) == 1 and len(collections) == 1,
        f"{path}: expected exactly one collection, of type file (the tarball), found {collections}",
    ):
        return None
    tarball = os.path.normpath(os.path.join(build, files[0]["name"]))
    if not checker.check(
        tarball.endswith(".tar.gz") and os.path.isfile(tarball),
        f"{path} names {files[0]['name']}, which is not a tarball in the build context ({tarball}); "
        "is the version in step with galaxy.yml?",
    ):
        return None
    for user_file in ("requirements.txt", "bindep.txt"):
        checker.check(
            not os.path.exists(os.path.join(build, user_file)),
            f"{build}/{user_file} exists: the definition lists requirements of its own; they are to come from the "
            "collection (meta/execution-environment.yml)",
        )
    return tarball


def check_introspection(checker: Checker, context: str) -> None:
    """Installs the collection as the galaxy stage does and introspects it as the builder stage does."""
    build = os.path.join(context, "_build")
    with tempfile.TemporaryDirectory(prefix="ee-check-") as tmp:
        # Only the empty folder is configured: a copy of the collection elsewhere (the working tree's link under
        # .build/collections, on ANSIBLE_COLLECTIONS_PATH and PYTHONPATH) would make ansible-galaxy skip the install.
        env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1", ANSIBLE_COLLECTIONS_PATH=tmp)
        env.pop("PYTHONPATH", None)
        install = subprocess.run(
            ["ansible-galaxy", "collection", "install", "--offline", "-r", "requirements.yml", "-p", tmp],
            cwd=build,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if not checker.check(
            install.returncode == 0,
            "ansible-galaxy collection install -r requirements.yml (as in the galaxy stage) failed:\n"
            + install.stdout
            + install.stderr,
        ):
            return
        checker.check(
            os.path.isdir(os.path.join(tmp, "ansible_collections", *COLLECTION.split("."))),
            f"the galaxy requirements do not install {COLLECTION}",
        )
        pip_out, bindep_out = os.path.join(tmp, "requirements.txt"), os.path.join(tmp, "bindep.txt")
        introspect = subprocess.run(
            [
                sys.executable,
                os.path.join(build, "scripts", "introspect.py"),
                "introspect",
                tmp,
                f"--write-pip={pip_out}",
                f"--write-bindep={bindep_out}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if not checker.check(introspect.returncode == 0, "introspect.py failed:\n" + introspect.stderr):
            return
        for label, out, wanted in (
            ("Python", pip_out, PYTHON_REQUIREMENTS),
            ("system", bindep_out, SYSTEM_REQUIREMENTS),
        ):
            lines = []
            if os.path.exists(out):
                with open(out, encoding="utf-8") as f:
                    lines = [line for line in f.read().splitlines() if f"# from collection {COLLECTION}" in line]
            missing = wanted - requirement_names(lines)
            checker.check(
                not missing,
                f"introspection: {label} requirements from {COLLECTION} lack {sorted(missing)} (got {lines})",
            )
            print(f"{label} requirements introspected from {COLLECTION}:")
            for line in lines:
                print(f"  {line}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    definition_path, context = argv[1], argv[2]
    with open(definition_path, encoding="utf-8") as f:
        definition = yaml.safe_load(f)
    checker = Checker()
    checker.check(definition.get("version") == 3, f"{definition_path}: not an ansible-builder version 3 definition")
    check_containerfile(checker, definition, context)
    tarball = check_galaxy_requirements(checker, context)
    if tarball:
        check_tarball(checker, tarball)
        check_introspection(checker, context)
    if checker.failures:
        print(f"EE build context {context} is wrong:", file=sys.stderr)
        for failure in checker.failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"EE build context {context}: OK (base image, Python, {CORE_SPEC}, collection tarball, requirements)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
