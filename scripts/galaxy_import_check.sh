#!/usr/bin/env bash
# What Galaxy checks when the collection is uploaded, run offline before it is: build the tarball the way a release
# is built (`ansible-galaxy collection build`) into .build/importer/ and run galaxy-importer on it with
# scripts/galaxy-importer.cfg (ansible-doc and ansible-lint, no container engine, no ansible-test). Fails on a
# non-zero exit and on any ERROR or WARNING line of the importer: a warning is a finding Galaxy shows to users.
# Usage: galaxy_import_check.sh [IMPORTER_VENV]   (default .build/venv-importer, which has galaxy-importer)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$(realpath -m "${1:-.build/venv-importer}")
out=$PWD/.build/importer
log=$out/importer.log
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import galaxy_importer" 2>/dev/null; then
  echo "galaxy_import_check: no galaxy-importer in $venv (make the venv first)" >&2
  exit 2
fi

# The importer runs ansible-doc and ansible-lint from its own venv on the unpacked tarball. The collection path
# and PYTHONPATH that make exports point at the working tree, which would be checked instead: they are dropped.
run() {
  env -u PYTHONPATH -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS -u ANSIBLE_PYTHON_INTERPRETER \
    -u ANSIBLE_CONFIG PATH="$venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$PWD/scripts/galaxy-importer.cfg" "$@"
}

rm -rf "$out"
mkdir -p "$out"
run ansible-galaxy collection build --output-path "$out" >/dev/null
built=("$out"/*.tar.gz)
tarball=${built[0]}
echo "galaxy-importer $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))')" \
  "on $tarball ($(du -k "$tarball" | cut -f1) KiB)"

# The importer writes importer_result.json into the current directory: it goes beside the tarball.
status=0
(cd "$out" && run python -m galaxy_importer.main "$(basename "$tarball")") >"$log" 2>&1 || status=$?

findings=$(grep -E '^(ERROR|WARNING|CRITICAL)[: ]|Traceback' "$log" || true)
if [ "$status" -ne 0 ] || [ -n "$findings" ] || ! grep -q "Importer processing completed successfully" "$log"; then
  cat "$log"
  echo "galaxy_import_check: galaxy-importer exited $status; findings:" >&2
  echo "${findings:-  (none logged; see above)}" >&2
  if grep -q "'repository' is required" "$log"; then
    echo "galaxy_import_check: Galaxy requires galaxy.yml's 'repository': the URL of the project's public repository" >&2
  fi
  exit 1
fi
echo "galaxy-importer: clean (log: $log)"
