#!/usr/bin/env bash
# Offline stress of the locators (no registry): one YAML stream of 20,000
# Deployments (~8 MB; flow lists closed at the key's indentation, as real
# repositories write them) and a 10,000-file tree of every format imgpin
# reads, sized like real files (~1.4 KB on average, ~13 MB: labels, env,
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
# The tree: ten shapes, sized like real files (1.3 KB on average, ~13 MB
# for 10,000 files): labels, env, probes, resources and comments around the
# images, and, as in real repositories, files without an image (Services,
# ConfigMaps) beside those with one.
env = "".join(f"            - name: SETTING_{k}\n              value: \"value-{k}\"\n" for k in range(24))
labels = "".join(f"    app.kubernetes.io/part-{k}: shop-{{i}}\n" for k in range(6))
k8s = """# Deployment of svc-{i}; owned by the shop team.
# Rolled out by the pipeline; do not edit the image by hand.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: shop
  labels:
""" + labels + """spec:
  replicas: 3
  selector:
    matchLabels: {{app: svc-{i}}}
  template:
    metadata:
      labels: {{app: svc-{i}}}
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: svc-{i}
      containers:
        - name: app
          image: registry.example.com/team/svc-{n}:1.{m}.0
          ports: [{{containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 5}}
          livenessProbe:
            httpGet: {{path: /live, port: 8080}}
            initialDelaySeconds: 10
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
          env:
""" + env + """        - name: sidecar
          image: envoyproxy/envoy:v1.{m}.0
          args: ["--config-path", "/etc/envoy/envoy.yaml"]
"""
service = """# Service of svc-{i}
apiVersion: v1
kind: Service
metadata:
  name: svc-{i}
  namespace: shop
  labels:
""" + labels + """spec:
  type: ClusterIP
  selector: {{app: svc-{i}}}
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: svc-{i}
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /
spec:
  rules:
    - host: svc-{i}.shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: svc-{i}, port: {{number: 80}}}}}}
"""
configmap = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{i}
data:
""" + "".join(f"  SETTING_{k}: \"value-{k}-{{i}}\"\n" for k in range(60))
compose = "# local stack\nservices:\n" + "".join(
    f"  s{k}:\n    image: nginx:1.{{i}}\n    restart: unless-stopped\n    environment:\n      - MODE=production\n      - PORT=80{k}\n"
    f"      - LOG_LEVEL=info\n    ports: [\"80{k}:80\"]\n    volumes:\n      - ./conf/s{k}:/etc/nginx/conf.d:ro\n"
    f"    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]\n      interval: 30s\n"
    for k in range(8)) + "  api:\n    build: .\n    image: team/api:dev\n"
taskdef = '{{\n  "family": "f{i}",\n  "cpu": "256",\n  "memory": "512",\n  "networkMode": "awsvpc",\n  "containerDefinitions": [\n' + ",\n".join(
    '    {{\n      "name": "c%d",\n      "image": "app:{i}",\n      "essential": true,\n      "portMappings": [{{"containerPort": 80%d}}],\n      "environment": [\n%s\n      ]\n    }}' % (k, k, ",\n".join(
        '        {{"name": "K%d", "value": "v%d"}}' % (j, j) for j in range(12))) for k in range(3)) + '\n  ]\n}}\n'
dockerfile = """# syntax=docker/dockerfile:1
# Build stage: compile the service.
FROM golang:1.{m} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /app ./cmd/svc-{i}

# Run stage: distroless, non-root.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /app /app
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/app"]
"""
terraform = """variable "region" {{
  type    = string
  default = "eu-west-1"
}}

resource "aws_lambda_function" "f{i}" {{
  function_name = "fn-{i}"
  package_type  = "Image"
  image_uri     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:{i}"
  role          = aws_iam_role.fn.arn
  memory_size   = 512
  timeout       = 30

  environment {{
    variables = {{
      MODE  = "production"
      LEVEL = "info"
    }}
  }}

  tags = {{
    team    = "shop"
    service = "fn-{i}"
  }}
}}
"""
kustomization = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
  - deployment.yaml
  - service.yaml
commonLabels:
  app.kubernetes.io/part-of: shop
images:
  - name: app
    newTag: v{i}
"""
gitlab = """image: ruby:3.{m}
services: [postgres:16]
stages: [test, build]
variables:
  POSTGRES_DB: test
  RAILS_ENV: test
test:
  stage: test
  script:
    - bundle install --jobs 4
    - bundle exec rake db:setup
    - bundle exec rspec
build:
  stage: build
  image: docker:27
  script:
    - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .
"""
notes = "# Notes\n\n" + "The image: line below is prose, not read.\n" * 40
shapes = {
    "compose.yaml": compose,
    "deploy.yaml": k8s,
    "service.yaml": service,
    "configmap.yaml": configmap,
    "task-definition.json": taskdef,
    "Dockerfile": dockerfile,
    "main.tf": terraform,
    "kustomization.yaml": kustomization,
    ".gitlab-ci.yml": gitlab,
    "notes.md": notes,
}
names = sorted(shapes)
for i in range(files):
    name = names[i % len(names)]
    # A directory per service, its ten files side by side.
    d = os.path.join(work, "tree", f"d{i // 1000}", f"p{i // len(names)}")
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
