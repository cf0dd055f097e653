#!/usr/bin/env bash
# Offline stress of the locators (no registry): one YAML stream of 20,000
# Deployments (~8 MB; flow lists closed at the key's indentation, as real
# repositories write them) and a 10,000-file tree of every format imgpin
# reads, sized like real files (~1.4 KB on average, ~14 MB: labels, env,
# probes, comments around the images). Prints wall time, throughput and
# peak RSS of `imgpin check` for each.
#
#   scripts/bench-scan.sh [DOCUMENTS] [FILES]     # defaults: 20000 10000
#
# Needs GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
documents=${1:-20000}
files=${2:-10000}
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
env = "".join(f"            - {{{{name: SETTING_{k}, value: \"value-{k}\"}}}}\n" for k in range(12))
labels = "".join(f"    app.kubernetes.io/part-{k}: shop-{{i}}\n" for k in range(6))
k8s = """# Deployment of svc-{i}; owned by the shop team.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  labels:
""" + labels + """spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/team/svc-{n}:1.{m}.0
          ports: [{{containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 5}}
          env:
""" + env + """        - name: sidecar
          image: envoyproxy/envoy:v1.{m}.0
"""
compose = "# local stack\nservices:\n" + "".join(
    f"  s{k}:\n    image: nginx:1.{{i}}\n    environment:\n      - MODE=production\n      - PORT=80{k}\n    ports: [\"80{k}:80\"]\n"
    for k in range(6)) + "  api:\n    build: .\n    image: team/api:dev\n"
taskdef = '{{"family": "f{i}", "cpu": "256", "memory": "512", "containerDefinitions": [' + ", ".join(
    '{{"name": "c%d", "image": "app:{i}", "essential": true, "environment": [%s]}}' % (k, ", ".join(
        '{{"name": "K%d", "value": "v%d"}}' % (j, j) for j in range(6))) for k in range(3)) + ']}}\n'
shapes = {
    "compose.yaml": compose,
    "deploy.yaml": k8s,
    "task-definition.json": taskdef,
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

measure() { # LABEL MEGABYTES ARGS...
  local label=$1 megabytes=$2; shift 2
  /usr/bin/time -f '%e %M' -o "$work/time" "$imgpin" "$@" >/dev/null 2>"$work/err" || true
  read -r wall rss < <(tail -1 "$work/time")
  printf '%-48s %6.2f s %7.1f MB/s %7.1f MB peak RSS   (%s)\n' "$label" "$wall" \
    "$(awk "BEGIN{print $megabytes / ($wall > 0 ? $wall : 0.01)}")" "$(awk "BEGIN{print $rss/1024}")" \
    "$(tail -1 "$work/err" | sed 's/^imgpin: //')"
}
mb() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1e6}'; }
stream_mb=$(mb "$work/stream.yaml")
tree_mb=$(mb "$work/tree")
measure "check, $documents-document stream (${stream_mb} MB)" "$stream_mb" check --max-file-size 100000000 "$work/stream.yaml"
measure "check, $files-file tree (${tree_mb} MB)" "$tree_mb" check "$work/tree"
