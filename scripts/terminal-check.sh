#!/usr/bin/env bash
# Checks the terminal experience as a person sees it: `imgpin pin --write`
# on 300 references against a local docker-registry behind 60 ms of added
# round-trip time, run inside tmux; the screen is captured while it runs
# (the bar must be there and move) and after (it must be gone, the summary
# line left), then the same run piped must carry no escape codes.
#
#   scripts/terminal-check.sh        # prints the captures and PASS/FAIL lines
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "terminal-check.sh: needs tmux (apt-get install tmux)" >&2; exit 2; }
cargo build --quiet --bin imgpin
imgpin="$PWD/target/debug/imgpin"
# shellcheck source=scripts/registry-lib.sh
source scripts/registry-lib.sh
session="imgpin-check-$$"
proxy=""
trap 'tmux kill-session -t "$session" 2>/dev/null || true; [ -n "$proxy" ] && kill "$proxy" 2>/dev/null; cleanup' EXIT

image term/app "amd64" "$oci_m"
for t in $(seq 1 300); do push_manifest term/app "1.$t" "$oci_m" "$work/m.json" >/dev/null; done
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/delay-proxy.py "$pport" "$port" 30 &
proxy=$!
sleep 0.3
tree() { # DIR
  mkdir -p "$1"
  for f in $(seq 0 29); do
    { echo "services:"; for k in $(seq 1 10); do echo "  s$k:"; echo "    image: 127.0.0.1:$pport/term/app:1.$((f * 10 + k))"; done; } >"$1/compose-$f.yaml"
  done
}
tree "$work/tty"
tree "$work/piped"

fail=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi; }

tmux new-session -d -s "$session" -x 110 -y 12 \
  "cd '$work/tty' && '$imgpin' pin --write --jobs 2 .; echo EXIT=\$?; sleep 60"
shots=()
for i in 1 2 3 4 5 6; do
  sleep 0.7
  shots+=("$(tmux capture-pane -p -t "$session")")
  printf -- '--- screen %s (%.1f s) ---\n%s\n' "$i" "$(awk "BEGIN{print $i * 0.7}")" "${shots[-1]}"
done
for _ in $(seq 100); do tmux capture-pane -p -t "$session" | grep -q EXIT= && break; sleep 0.2; done
final=$(tmux capture-pane -p -t "$session")
printf -- '--- screen at the end ---\n%s\n' "$final"
bars=$(printf '%s\n' "${shots[@]}" | grep -o 'imgpin: resolving \[[#.]*\] [0-9]*/300' | sort -u || true)
check "the bar renders while resolving" '[ -n "$bars" ]'
check "the bar moves (several different counts seen)" '[ "$(printf "%s\n" "$bars" | wc -l)" -ge 2 ]'
check "the bar is cleared at the end" '! printf "%s" "$final" | grep -q "resolving \["'
check "the summary line is left" 'printf "%s" "$final" | grep -q "300 pinned, 0 already pinned"'
check "exit 0" 'printf "%s" "$final" | grep -q "EXIT=0"'

(cd "$work/piped" && "$imgpin" pin --write --jobs 2 . >"$work/out.txt" 2>"$work/err.txt") || true
check "piped stdout and stderr carry no escape codes" '! grep -q $'"'"'\x1b'"'"' "$work/out.txt" "$work/err.txt"'
check "piped run pinned the same" 'grep -q "300 pinned" "$work/err.txt"'
exit "$fail"
