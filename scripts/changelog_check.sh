#!/usr/bin/env bash
# The changelog is kept with antsibull-changelog: one fragment per change in changelogs/fragments/, gathered into
# changelogs/changelog.yaml by `antsibull-changelog release` when a version is released. CHANGELOG.md shows the
# released versions and, while galaxy.yml's version is not released yet, that version's pending fragments under a
# "Not released yet" summary: it is generated from a scratch copy where the pending release is made, so the
# fragments and changelog.yaml stay as they are. This script lints the fragments and changelog.yaml and fails when
# CHANGELOG.md is not what that generation gives; with --write it writes CHANGELOG.md instead.
# Usage: changelog_check.sh [--write] [DOCS_VENV]   (default .build/venv-docs, which has antsibull-changelog)
set -euo pipefail
cd "$(dirname "$0")/.."

write=0
if [ "${1:-}" = "--write" ]; then write=1; shift; fi
venv=$(realpath -m "${1:-.build/venv-docs}")
tool=$venv/bin/antsibull-changelog
if [ ! -x "$tool" ]; then
  echo "changelog_check: no antsibull-changelog in $venv (make the venv first: make changelog-lint)" >&2
  exit 2
fi

"$tool" lint
"$tool" lint-changelog-yaml changelogs/changelog.yaml

changelog=CHANGELOG.md
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root=$scratch/ansible_collections/certfleet/acme
mkdir -p "$root"
cp -r galaxy.yml meta plugins roles playbooks changelogs "$root"/
rm -f "$root/changelogs/.plugin-cache.yaml"
pending=$(find "$root/changelogs/fragments" -name '*.yml' -o -name '*.yaml' | wc -l)
released=$("$venv/bin/python" -c "
import yaml, sys
releases = yaml.safe_load(open('changelogs/changelog.yaml')).get('releases') or {}
print('yes' if sys.argv[1] in releases else 'no')" "$version")
if [ "$pending" -gt 0 ]; then
  if [ "$released" = yes ]; then
    echo "changelog_check: galaxy.yml's version $version is released already; raise it for the $pending pending fragments" >&2
    exit 1
  fi
  printf -- '---\nrelease_summary: Not released yet. These are the changes merged for %s so far.\n' "$version" \
    >"$root/changelogs/fragments/zz-not-released-yet.yml"
  (cd "$root" && env -u ANSIBLE_COLLECTIONS_PATH -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH="$scratch" \
    PATH="$venv/bin:$PATH" "$tool" release --version "$version" >/dev/null)
else
  (cd "$root" && PATH="$venv/bin:$PATH" "$tool" generate >/dev/null)
fi

if [ "$write" = 1 ]; then
  cp "$root/$changelog" CHANGELOG.md
  echo "changelog_check: CHANGELOG.md written ($pending pending fragments for $version)"
elif ! diff -u CHANGELOG.md "$root/$changelog"; then
  echo "changelog_check: CHANGELOG.md is not what the fragments give; run: bash scripts/changelog_check.sh --write" >&2
  exit 1
else
  echo "changelog_check: clean (fragments, changelog.yaml, CHANGELOG.md; $pending pending fragments for $version)"
fi
