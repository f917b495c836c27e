#!/usr/bin/env bash
# Competitor tooling for `make bench` (not needed by `make test`): lego from
# Debian, and certbot + certbot-dns-rfc2136 + the ansible package (with its
# bundled community.crypto, community.general and community.dns) in a venv of
# their own, so their versions never mix with the collection's .venv.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BENCH_VENV:-$root/.build/bench-venv}"
python="${PYTHON:-python3}"

if ! command -v lego >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq lego >/dev/null
fi

stamp="$venv/.installed"
if [ ! -f "$stamp" ]; then
    test -x "$venv/bin/python" || "$python" -m venv "$venv"
    # This machine's pip configuration names mirrors that may be absent; their warnings are noise.
    "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored: it is neither" || true; }
    "$venv/bin/python" -m pip install -q certbot certbot-dns-rfc2136 ansible dnspython 2>&1 \
        | { grep -v "is ignored: it is neither" || true; }
    touch "$stamp"
fi
echo "bench tools: lego $(dpkg-query -W -f='${Version}' lego); $("$venv/bin/certbot" --version 2>&1); $("$venv/bin/ansible" --version | sed -n 1p)"
