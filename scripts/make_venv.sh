#!/usr/bin/env bash
# Make (or refresh) a venv with Python X.Y and install a requirements file
# into it, plus any extra requirement given (the ansible-core release of a
# test venv). A venv made by another Python is made again.
# Usage: make_venv.sh DIR X.Y REQUIREMENTS [REQUIREMENT...]
set -euo pipefail
dir=$1 version=$2 requirements=$3
shift 3
python=$(bash "$(dirname "$0")/find_python.sh" "$version")
if [ -x "$dir/bin/python" ] && ! "$dir/bin/python" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))"; then
  echo "$dir was made with another Python; making it again with $version"
  rm -rf "$dir"
fi
[ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
# This machine's pip configuration names mirrors that may be absent; their warnings are noise.
quiet() { set -o pipefail; "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }; }
quiet "$dir/bin/python" -m pip install -q --upgrade pip
quiet "$dir/bin/python" -m pip install -q -r "$requirements" "$@"
touch "$dir/.installed"
echo "$dir: Python $version, $("$dir/bin/python" -c 'import ansible.release as r; print("ansible-core", r.__version__)')"
