#!/usr/bin/env bash
# Offline stress of the locators (no registry): one YAML stream of 20,000
# Deployments (~8.5 MB; flow lists closed at the key's indentation, as real
# repositories write them) and a 5,000-file tree of every format imgpin
# reads. Prints wall time and peak RSS of `imgpin check` for each.
#
#   scripts/bench-scan.sh [DOCUMENTS] [FILES]     # defaults: 20000 5000
#
# Needs GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
documents=${1:-20000}
files=${2:-5000}
cargo build --quiet --release --bin imgpin
imgpin="$PWD/target/release/imgpin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$documents" "$files" <<'PY'
import os, sys
work, documents, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deployment = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/team/svc-{n}:1.{m}.0
          command: [
            "/bin/app",
            "--port=8080"
          ]
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
          env:
            - {{name: MODE, value: production}}
"""
with open(os.path.join(work, "stream.yaml"), "w") as f:
    f.write("---\n".join(deployment.format(i=i, n=i % 500, m=i % 7) for i in range(documents)))
shapes = {
    "compose.yaml": "services:\n  web:\n    image: nginx:1.{i}\n  api:\n    build: .\n    image: team/api:dev\n",
    "deploy.yaml": deployment,
    "task-definition.json": '{{"family": "f{i}", "containerDefinitions": [{{"name": "a", "image": "app:{i}"}}]}}\n',
    "Dockerfile": "# syntax=docker/dockerfile:1\nFROM golang:1.{m} AS build\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\n",
    "main.tf": 'resource "aws_lambda_function" "f" {{\n  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:{i}"\n}}\n',
    "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: app\n    newTag: v{i}\n",
    ".gitlab-ci.yml": "image: ruby:3.{m}\nservices: [postgres:16]\n",
    "notes.md": "image: not read\n",
}
names = sorted(shapes)
for i in range(files):
    name = names[i % len(names)]
    d = os.path.join(work, "tree", f"d{i // 100}", f"p{i}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(shapes[name].format(i=i, n=i % 500, m=i % 7))
PY

measure() { # LABEL ARGS...
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$imgpin" "$@" >/dev/null 2>"$work/err" || true
  read -r wall rss < <(tail -1 "$work/time")
  printf '%-40s %7.2f s  %7.1f MB peak RSS   (%s)\n' "$label" "$wall" "$(awk "BEGIN{print $rss/1024}")" \
    "$(tail -1 "$work/err" | sed 's/^imgpin: //')"
}
size=$(du -m "$work/stream.yaml" | cut -f1)
measure "check, $documents-document stream (${size} MB)" check --max-file-size 100000000 "$work/stream.yaml"
measure "check, $files-file tree" check "$work/tree"
