#!/usr/bin/env bash
# Fuzz the reference parser, the locators and the editor for SECONDS each
# (default 120) with cargo-fuzz (needs a nightly toolchain and
# `cargo install cargo-fuzz`). The corpora start from testdata/ (each file
# prefixed with the byte that picks its format in the target); crashes land
# in fuzz/artifacts/<target>/ and belong in testdata/bad/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
seed() { # target, prefix byte (octal), files...
    local target="$1" prefix="$2"
    shift 2
    mkdir -p "fuzz/corpus/$target"
    for f in "$@"; do
        [ -f "$f" ] || continue
        { printf "\\$prefix"; cat "$f"; } >"fuzz/corpus/$target/seed-$(basename "$f")"
    done
}
# locate: 0 JSON, 1 compose.yaml, 2 deploy.yaml, 3 Dockerfile, 4 workflow, 5 GitLab CI,
# 6 Terraform, 7 Kustomization, 8 Bitbucket, 9 dev container, 10 Drone.
seed locate 000 testdata/locate/*.json testdata/bad/*.json
seed locate 001 testdata/locate/*compose*.y*ml testdata/bad/*.compose.yaml
seed locate 002 testdata/locate/k8s-*.yaml testdata/locate/workflows-crds.yaml testdata/locate/helm-*.yaml
seed locate 003 testdata/locate/Dockerfile* testdata/locate/Containerfile* testdata/bad/Dockerfile*
seed locate 004 testdata/locate/github-workflow.yml testdata/locate/action-*.yml
seed locate 005 testdata/locate/gitlab-ci.yml testdata/locate/places/.gitlab-ci.yml
seed locate 006 testdata/locate/*.tf testdata/bad/*.tf
seed locate 007 testdata/locate/places/overlays/prod/kustomization.yaml testdata/bad/kustomization.yaml
seed locate 010 testdata/locate/places/bitbucket-pipelines.yml
seed locate 011 testdata/locate/places/.devcontainer/devcontainer.json testdata/bad/.devcontainer.json
seed locate 012 testdata/locate/places/.drone.yml
# edit: 0 JSON, 1 YAML, 2 Dockerfile.
seed edit 000 testdata/locate/ecs-*.json testdata/locate/cloudformation.json
seed edit 001 testdata/locate/*compose*.y*ml testdata/locate/k8s-*.yaml
seed edit 002 testdata/locate/Dockerfile*
mkdir -p fuzz/corpus/reference
for r in nginx nginx:1.27 docker.io/library/nginx:latest localhost:5000/a/b:c '[::1]:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'; do
    printf '%s' "$r" >"fuzz/corpus/reference/seed-$(printf '%s' "$r" | sha256sum | cut -c1-12)"
done
for target in reference locate edit; do
    echo "== $target: $seconds s"
    cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 |
        grep -E "^(#[0-9]+ +DONE|Done|==[0-9]+== ERROR|SUMMARY|thread .* panicked)" || true
done
