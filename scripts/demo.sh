#!/usr/bin/env bash
# `make demo`: bring up the local Pebble + BIND9 rig, run renew.yml for a few
# certificates (one of them wildcard + apex), show what was issued, and take
# the rig down again whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=$PWD/.build/demo
rig_dir=$PWD/.build/rig-demo
rm -rf "$demo/certificates"   # every demo issues afresh on a fresh rig
mkdir -p "$demo"

cleanup() { python tests/rig/rig.py down --dir "$rig_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== starting the rig: Pebble, a hidden BIND9 primary, two secondaries, a resolver"
python tests/rig/rig.py up --dir "$rig_dir" > "$demo/rig.json"
python scripts/rig_vars.py "$demo/rig.json" "$demo/certificates" > "$demo/vars.yml"
chmod 600 "$demo/vars.yml"

echo "== ansible-playbook playbooks/renew.yml"
start=$(date +%s%N)
ansible-playbook -i localhost, -c local playbooks/renew.yml -e @"$demo/vars.yml"
end=$(date +%s%N)
elapsed_ms=$(( (end - start) / 1000000 ))
printf '== renew.yml took %d.%03d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000))

root="$demo/pebble-root.pem"
python -c 'import json,sys; sys.path.insert(0, "tests/rig"); import rig; open(sys.argv[2], "w").write(rig.pebble_root(json.load(open(sys.argv[1]))))' "$demo/rig.json" "$root"

echo
echo "== certificates in $demo/certificates"
for dir in "$demo"/certificates/*; do
  name=$(basename "$dir")
  [ -f "$dir/cert.pem" ] || continue   # skips .acme
  echo "-- $name: $dir"
  openssl x509 -in "$dir/cert.pem" -noout -subject -issuer -serial -enddate -ext subjectAltName | sed 's/^/   /'
  openssl x509 -in "$dir/cert.pem" -noout -text | grep -m1 'Public Key Algorithm' | sed 's/^ */   /'
  printf '   chain: '; openssl verify -CAfile "$root" -untrusted "$dir/chain.pem" "$dir/cert.pem"
  printf '   key:   %s\n' "$(stat -c '%a %n' "$dir/privkey.pem")"
done

echo
echo "== second run: nothing is due, nothing changes"
ansible-playbook -i localhost, -c local playbooks/renew.yml -e @"$demo/vars.yml" | tail -n 3
