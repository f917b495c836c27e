#!/usr/bin/env bash
# Print the path of a CPython X.Y interpreter (the newest patch release under
# $(pyenv root)/versions/, else pythonX.Y on PATH), or stop naming what is missing.
set -euo pipefail
want=${1:?usage: find_python.sh X.Y}
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
found=$(find "$root/versions" -maxdepth 3 -path "$root/versions/$want.*/bin/python$want" 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$found" ] && [ -x "$found" ]; then
  echo "$found"
  exit 0
fi
if command -v "python$want" >/dev/null 2>&1; then
  command -v "python$want"
  exit 0
fi
echo "Python $want is missing: looked for $root/versions/$want.*/bin/python$want and python$want on PATH." >&2
echo "The supported ansible-core releases are tested on Pythons 3.11, 3.12 and 3.13; install $want (for example: pyenv install $want) and run make again." >&2
exit 1
