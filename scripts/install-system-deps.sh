#!/usr/bin/env bash
# Install the Debian packages the test rig and the demo run (Pebble, BIND9,
# PowerDNS, nginx, haproxy, apache2) and the tools the checks use, only when
# one of them is missing.
set -euo pipefail

declare -A wanted=(
  [pebble]=pebble
  [named]=bind9
  [nsupdate]=bind9-utils
  [dig]=bind9-dnsutils
  [pdns_server]="pdns-server pdns-backend-sqlite3"
  [nginx]=nginx
  [haproxy]=haproxy
  [apache2]=apache2
  [openssl]=openssl
  [ip]=iproute2
  [shellcheck]=shellcheck
)

missing=()
for cmd in "${!wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    # shellcheck disable=SC2206
    missing+=(${wanted[$cmd]})
  fi
done
[ -f /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || missing+=(pdns-backend-sqlite3)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's maintainer scripts try to start the services; the rig starts its
# own instances on loopback, so keep the packaged ones from starting.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
