#!/usr/bin/env bash
# End-to-end benchmark of `imgpin pin --write` against Debian's
# docker-registry on loopback, plain HTTP and TLS, with added round-trip
# time (scripts/delay-proxy.py), and a sequential `skopeo inspect` loop
# (what people script) for comparison.
#
#   scripts/bench.sh [FILES] [UNIQUE] [RTT_MS]     # defaults: 2000 2000 10
#
# FILES compose files of 10 references each, drawn from UNIQUE images (in
# UNIQUE/10 repositories). For each run it prints: wall time, requests by
# kind (from the registry's access log), connections (counted by the
# proxy), imgpin's CPU time (user + system), the registry's CPU time in
# the run (from /proc: with 2 cores shared, the registry's own cost per
# request bounds the wall time), peak RSS, the ratio to the 32-connection bound
# (UNIQUE × RTT / 32), and the ratio to the skopeo loop (measured on up to
# 50 images, scaled to UNIQUE). A "no added RTT" row shows what the local
# registry itself costs on this machine. Figures go in the README, never in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-2000}
unique=${2:-2000}
rtt=${3:-10}
repos=$(( (unique + 9) / 10 ))

if ! command -v docker-registry >/dev/null; then bash scripts/install-test-deps.sh; fi
cargo build --quiet --release --bin imgpin
imgpin="$PWD/target/release/imgpin"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A throwaway CA and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca \
  -keyout "$work/ca-key.pem" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/req.pem" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/req.pem" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" -CAcreateserial \
  -days 1 -extfile "$work/ext.cnf" -out "$work/cert.pem" 2>/dev/null

start_registry() { # NAME TLS(0|1) -> sets port_NAME
  local name=$1 tls=$2 port
  port=$(free_port)
  {
    echo "version: 0.1"
    echo "log: {level: info, formatter: text, accesslog: {disabled: false}}"
    echo "storage: {filesystem: {rootdirectory: $work/storage}, delete: {enabled: true}}"
    if [ "$tls" = 1 ]; then
      echo "http: {addr: 127.0.0.1:$port, tls: {certificate: $work/cert.pem, key: $work/key.pem}}"
    else
      echo "http: {addr: 127.0.0.1:$port}"
    fi
  } >"$work/$name.yml"
  docker-registry serve "$work/$name.yml" >"$work/$name.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$name" '%s' "$!"
  local scheme=http; [ "$tls" = 1 ] && scheme=https
  for _ in $(seq 100); do curl -fsk "$scheme://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  printf -v "port_$name" '%s' "$port"
}
start_registry plain 0
start_registry tls 1   # the same storage, served over TLS

# Push: per repository one config and one layer, then 10 manifests that
# differ by an annotation (10 digests).
reg="127.0.0.1:$port_plain"
push_blob() { # REPO FILE -> digest
  local digest loc
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$reg/v2/$1/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case "$loc" in http*) ;; *) loc="http://$reg$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$loc" >/dev/null
  echo "$digest"
}
echo "pushing $unique images in $repos repositories…" >&2
n=0
for r in $(seq 1 "$repos"); do
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$work/cfg.json"
  head -c 64 /dev/urandom >"$work/layer.bin"
  cd=$(push_blob "bench/app$r" "$work/cfg.json"); ld=$(push_blob "bench/app$r" "$work/layer.bin")
  for t in $(seq 1 10); do
    n=$((n + 1)); [ "$n" -gt "$unique" ] && break
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":64}],"annotations":{"n":"%d"}}' \
      "$cd" "$(stat -c %s "$work/cfg.json")" "$ld" "$n" >"$work/m.json"
    curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @"$work/m.json" \
      "http://$reg/v2/bench/app$r/manifests/1.$t" >/dev/null
  done
done

delay=$(( rtt / 2 ))
start_proxy() { # NAME TARGET_PORT -> sets proxy_NAME
  local port; port=$(free_port)
  python3 scripts/delay-proxy.py "$port" "$2" "$delay" "$work/conn-$1" &
  pids+=($!)
  printf -v "proxy_$1" '%s' "$port"
}
start_proxy plain "$port_plain"
start_proxy tls "$port_tls"
sleep 0.3

make_tree() { # DIR HOST
  python3 - "$1" "$2" "$files" "$unique" <<'PY'
import os, sys
d, host, files, unique = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(d, exist_ok=True)
for f in range(files):
    lines = ["services:"]
    for k in range(10):
        n = (f * 10 + k) % unique
        lines.append(f"  s{k}:\n    image: {host}/bench/app{n // 10 + 1}:1.{n % 10 + 1}   # service {k}")
    open(os.path.join(d, f"compose-{f}.yaml"), "w").write("\n".join(lines) + "\n")
PY
}

bound=$(awk "BEGIN{print $unique * $rtt / 1000 / 32}")
skopeo_each=""
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system ticks of PID
measure() { # LABEL NAME(plain|tls) ARGS...
  local label=$1 name=$2; shift 2
  local log="$work/$name.log" conns="$work/conn-$name"
  case "$label" in *"no added"*) conns="$work/conn-none" ;; esac
  local before_log before_conn
  before_log=$(lines "$log"); before_conn=$(lines "$conns")
  local registry_pid="pid_$name" cpu_before
  cpu_before=$(cpu_ticks "${!registry_pid}")
  /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$imgpin" "$@" >/dev/null 2>"$work/err" || true
  sleep 0.2
  local registry_cpu
  registry_cpu=$(awk "BEGIN{print ($(cpu_ticks "${!registry_pid}") - $cpu_before) / $(getconf CLK_TCK)}")
  local wall rss user sys
  read -r wall rss user sys < <(tail -1 "$work/time")
  local requests
  requests=$(tail -n +"$((before_log + 1))" "$log" | { grep -oE '"(GET|HEAD) /v2/[^ ]*' || true; } | tr -d '"' | awk '
    { if ($2 == "/v2/") k = "ping"; else if ($2 ~ /\/manifests\//) k = $1 " manifest"; else if ($2 ~ /\/blobs\//) k = "blob"; else k = "other"; c[k]++ }
    END { s = ""; for (k in c) s = s (s ? ", " : "") c[k] " " k; print s }')
  local connections=$(( $(lines "$conns") - before_conn ))
  local ratio="-" vs=""
  if [ "$1" = pin ]; then
    ratio=$(awk "BEGIN{printf \"%.2f×\", $wall / $bound}")
    [ -n "$skopeo_each" ] && vs=$(awk "BEGIN{printf \"%.0f×\", $skopeo_each * $unique / $wall}")
  fi
  printf '| %s | %.2f s | %.2f s | %.2f s | %s | %d | %.0f MB | %s | %s |\n' "$label" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$registry_cpu" \
    "${requests:-none}" "$connections" "$(awk "BEGIN{print $rss/1024}")" "$ratio" "${vs:--}"
}

# The skopeo loop on 50 images, through the same delaying proxy (plain).
if command -v skopeo >/dev/null; then
  sample=$(( unique < 50 ? unique : 50 ))
  start=$(date +%s.%N)
  for n in $(seq 0 $((sample - 1))); do
    skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$proxy_plain/bench/app$((n / 10 + 1)):1.$((n % 10 + 1))" >/dev/null
  done
  end=$(date +%s.%N)
  skopeo_each=$(awk "BEGIN{print ($end - $start) / $sample}")
fi

echo
echo "imgpin pin --write: $files files, $((files * 10)) references, $unique unique images in $repos repositories, +$rtt ms RTT"
echo "(bound: $unique × $rtt ms / 32 connections = ${bound} s; skopeo inspect loop: ${skopeo_each:-?} s per image)"
echo
echo "| run | wall | imgpin CPU | registry CPU | registry requests | connections | peak RSS | ÷ bound | vs skopeo |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
make_tree "$work/direct" "127.0.0.1:$port_plain"
measure "plain HTTP, no added RTT, --jobs 32" plain pin --write --jobs 32 "$work/direct"
for jobs in 16 32 64; do
  make_tree "$work/plain-$jobs" "127.0.0.1:$proxy_plain"
  measure "plain HTTP, --jobs $jobs" plain pin --write --jobs "$jobs" "$work/plain-$jobs"
done
make_tree "$work/tls" "127.0.0.1:$proxy_tls"
measure "TLS (HTTP/2), --jobs 32" tls pin --write --jobs 32 --ca-file "$work/ca.pem" "$work/tls"
make_tree "$work/offline" "127.0.0.1:$proxy_plain"
measure "check (offline)" plain check "$work/offline"
