#!/usr/bin/env bash
# The collection's documentation site, built locally the way antsibull-docs builds it for docs.ansible.com: plugin
# and role pages from their documentation, the guides from docs/docsite/ (extra-docs.yml, links.yml). Fails on any
# Sphinx warning (except the links to docs.ansible.com, which need the network), and when the index page does not link every module, the role and every guide of extra-docs.yml.
# Prints the index page's path. Usage: build_docs.sh [DOCS_VENV]   (default .build/venv-docs)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(realpath -m "${1:-.build/venv-docs}")
if [ ! -x "$venv/bin/antsibull-docs" ]; then
  echo "build_docs: no antsibull-docs in $venv (make the venv first: make docs)" >&2
  exit 2
fi
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
dest=$PWD/.build/docsite
rm -rf "$dest" && mkdir -m 755 "$dest"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$dest" certfleet.acme >/dev/null
# build.sh as sphinx-init writes it, except the Sphinx step: with no network, the labels of docs.ansible.com that every
# plugin page links (intersphinx) cannot be resolved; those warnings are expected, any other fails the build.
sed -i '/^sphinx-build /d' "$dest/build.sh"
echo 'intersphinx_mapping = {}  # offline: no inventories to fetch' >>"$dest/conf.py"
(cd "$dest" && bash build.sh >/dev/null && sphinx-build -M html rst build -c . -q --keep-going 2>"$dest/warnings.log") || {
  cat "$dest/warnings.log" >&2
  exit 1
}
offline="undefined label: '(common_return_values|action_plugins|ansible_configuration_settings)'"
if grep -v -E "$offline" "$dest/warnings.log" | grep -q .; then
  grep -v -E "$offline" "$dest/warnings.log" >&2
  echo "build_docs: Sphinx warned (above)" >&2
  exit 1
fi
index=$dest/build/html/collections/certfleet/acme/index.html
[ -f "$index" ] || { echo "build_docs: no index page at $index" >&2; exit 1; }
missing=()
for module in plugins/modules/*.py; do
  name=$(basename "$module" .py)
  grep -q "href=\"${name}_module.html[#\"]" "$index" || missing+=("module $name")
done
for role in roles/*/; do
  name=$(basename "$role")
  grep -q "href=\"${name}_role.html[#\"]" "$index" || missing+=("role $name")
done
for guide in $("$venv/bin/python" -c '
import yaml
for section in yaml.safe_load(open("docs/docsite/extra-docs.yml"))["sections"]:
    print("\n".join(section["toctree"]))'); do
  grep -q "href=\"docsite/${guide}.html[#\"]" "$index" || missing+=("guide $guide")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'build_docs: the index page does not link: %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "build_docs: $index"
