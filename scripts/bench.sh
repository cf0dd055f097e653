#!/usr/bin/env bash
# End-to-end benchmark of `imgpin pin` and `imgpin verify` against a real local registry, with
# and without 20 ms of added latency per hop (a delaying proxy on loopback).
#
#   scripts/bench.sh [FILES] [UNIQUE_IMAGES]     # defaults: 300 files, 60 unique images
#
# Each file holds 5 references drawn from the unique images, so the run
# resolves each unique reference once however many times it appears.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-300}
unique=${2:-60}

if ! command -v docker-registry >/dev/null; then bash scripts/install-test-deps.sh; fi
cargo build --quiet --release --bin imgpin
imgpin="$PWD/target/release/imgpin"
source scripts/registry-lib.sh

for i in $(seq 1 "$unique"); do
  image "bench/app$i" amd64 "$oci_m"; push_manifest "bench/app$i" "1.$i" "$oci_m" "$work/m.json" >/dev/null
done

proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/delay-proxy.py "$proxy_port" "$port" 20 &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null; cleanup' EXIT
sleep 0.3

make_tree() { # DIR HOST
  mkdir -p "$1"
  for f in $(seq 1 "$files"); do
    {
      echo "services:"
      for k in 1 2 3 4 5; do
        n=$(( (f * 5 + k) % unique + 1 ))
        printf '  s%d:\n    image: %s/bench/app%d:1.%d   # service %d\n' "$k" "$2" "$n" "$n" "$k"
      done
    } >"$1/compose-$f.yaml"
  done
}
make_tree "$work/direct" "$reg"
make_tree "$work/slow" "127.0.0.1:$proxy_port"

measure() { # LABEL ARGS...
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  "$imgpin" "$@" >/dev/null 2>"$work/err" || true
  end=$(date +%s.%N)
  printf '%-44s %7.3f s   (%s)\n' "$label" "$(awk "BEGIN{print $end - $start}")" "$(tail -1 "$work/err" | sed 's/^imgpin: //')"
}

echo "imgpin pin: $files files, $((files * 5)) references, $unique unique images"
measure "check (offline)" check "$work/direct"
measure "pin, local registry, --jobs 16" pin "$work/direct"
measure "pin, local registry, --jobs 1" pin --jobs 1 "$work/direct"
measure "pin, +20 ms per hop, --jobs 16" pin "$work/slow"
measure "pin, +20 ms per hop, --jobs 1" pin --jobs 1 "$work/slow"
# verify: the same trees once pinned (HEAD by digest for each unique digest,
# GET of the tag for drift).
"$imgpin" pin --write "$work/direct" >/dev/null 2>&1
"$imgpin" pin --write "$work/slow" >/dev/null 2>&1
measure "verify, local registry, --jobs 16" verify "$work/direct"
measure "verify, +20 ms per hop, --jobs 16" verify "$work/slow"
measure "verify, +20 ms per hop, --jobs 1" verify --jobs 1 "$work/slow"
