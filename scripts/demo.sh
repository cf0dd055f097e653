#!/usr/bin/env bash
# The main job end to end, offline: build imgpin, start a throwaway local
# registry (Debian's docker-registry), push the example images through the
# registry HTTP API, and run `imgpin pin` on a copy of testdata/example.
#
#   scripts/demo.sh            # check, diff, --write, a second pin --check, verify
#
# Needs docker-registry, curl and python3 (scripts/install-test-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v docker-registry >/dev/null || ! command -v curl >/dev/null; then
  echo "demo: installing docker-registry with scripts/install-test-deps.sh" >&2
  bash scripts/install-test-deps.sh
fi

cargo build --quiet --bin imgpin
imgpin="$PWD/target/debug/imgpin"

source scripts/registry-lib.sh

image shop/api amd64 "$oci_m";      push_manifest shop/api 1.4 "$oci_m" "$work/m.json" >/dev/null
image shop/migrate amd64 "$docker_m"; push_manifest shop/migrate latest "$docker_m" "$work/m.json" >/dev/null
index shop/envoy v1.31 application/vnd.oci.image.index.v1+json "$oci_m"
index shop/web 2.0 application/vnd.docker.distribution.manifest.list.v2+json "$docker_m"

cp -r testdata/example "$work/example"
grep -rl 'localhost:5000' "$work/example" | xargs sed -i "s/localhost:5000/$reg/g"
cd "$work"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step imgpin check example;          "$imgpin" check example || true
step imgpin pin example;            "$imgpin" pin example || true
step imgpin pin --write example;    "$imgpin" pin --write example || true
step imgpin pin --check example;    "$imgpin" pin --check example && echo "(exit 0: nothing left to pin)"
step imgpin verify example;         "$imgpin" verify example && echo "(exit 0: every pinned digest exists)"
step cat example/compose.yaml;      cat example/compose.yaml
# Offline lifecycle check on saved data: the re-tagged release an ECR count
# rule would delete although it is deployed (exit 1 is the finding).
lc="$root/testdata/lifecycle/offline"
step imgpin lifecycle --policy policy.json --images images.json --in-use ecs-images.json --at 2023-03-10
"$imgpin" lifecycle --policy "$lc/policy.json" --images "$lc/images.json" \
  --in-use "$lc/ecs-images.json" --at 2023-03-10 || echo "(exit $?: an in-use image would be deleted)"
