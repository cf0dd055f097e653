#!/usr/bin/env bash
# The Action's install step: put an imgpin binary on PATH in seconds.
#
# Which version: the `version` input when set (0.2.0 or v0.2.0), else the
# action's own ref when it is a release tag (uses: owner/imgpin@v0.2.0),
# else none: a branch or commit ref builds from the action's checkout with
# `cargo install --locked --path` (minutes; only for testing unreleased code).
#
# A release binary is the archive .github/workflows/release.yml publishes,
# imgpin-<version>-<target>.tar.gz (.zip on Windows), checked against its
# .sha256 file before it is unpacked, and kept in the runner's tool cache
# ($RUNNER_TOOL_CACHE/imgpin/<version>/<target>): a later step or job on
# the same runner reuses it without downloading.
#
# Environment (set by action.yml): INPUT_VERSION, ACTION_REF,
# ACTION_REPOSITORY, ACTION_PATH, RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE,
# GITHUB_PATH, GITHUB_OUTPUT; IMGPIN_DOWNLOAD_BASE overrides
# https://github.com/<repository>/releases/download (tests, mirrors).
set -euo pipefail

fail() {
    echo "::error title=imgpin install::$*"
    exit 1
}

version="${INPUT_VERSION:-}"
if [ -z "$version" ] && [[ "${ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    version="$ACTION_REF"
fi
version="${version#v}"

if [ -z "$version" ]; then
    echo "imgpin: action ref '${ACTION_REF:-}' is not a release tag and no version input is set: building from source"
    command -v cargo >/dev/null 2>&1 || fail "no release to download for ref '${ACTION_REF:-}' and cargo is not installed; set the version input or use a release tag (uses: …/imgpin@vX.Y.Z)"
    cargo install --locked --root "${RUNNER_TEMP:-/tmp}/imgpin-src" --path "${ACTION_PATH:?}"
    bin_dir="${RUNNER_TEMP:-/tmp}/imgpin-src/bin"
    echo "$bin_dir" >> "${GITHUB_PATH:?}"
    echo "path=$bin_dir/imgpin" >> "${GITHUB_OUTPUT:?}"
    exit 0
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || fail "version '$version' is not a release version (like 0.2.0)"

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) fail "no imgpin release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; supported: Linux X64/ARM64, macOS X64/ARM64, Windows X64" ;;
esac
exe=imgpin
archive="imgpin-$version-$target.tar.gz"
if [ "$RUNNER_OS" = Windows ]; then
    exe=imgpin.exe
    archive="imgpin-$version-$target.zip"
fi

cache="${RUNNER_TOOL_CACHE:?}/imgpin/$version/$target"
if [ -x "$cache/$exe" ]; then
    echo "imgpin $version ($target) from the tool cache"
else
    base="${IMGPIN_DOWNLOAD_BASE:-https://github.com/${ACTION_REPOSITORY:?}/releases/download}"
    url="$base/v$version/$archive"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    echo "imgpin: downloading $url"
    curl --fail --silent --show-error --location --retry 3 -o "$work/$archive" "$url" ||
        fail "could not download $url (is v$version released, with a binary for $target?)"
    curl --fail --silent --show-error --location --retry 3 -o "$work/$archive.sha256" "$url.sha256" ||
        fail "could not download the checksum $url.sha256"
    want="$(awk '{print $1; exit}' "$work/$archive.sha256")"
    if command -v sha256sum >/dev/null 2>&1; then
        got="$(sha256sum "$work/$archive" | awk '{print $1}')"
    else
        got="$(shasum -a 256 "$work/$archive" | awk '{print $1}')"
    fi
    [ -n "$want" ] && [ "$got" = "$want" ] ||
        fail "checksum mismatch for $archive: the release says ${want:-nothing}, the download has $got; nothing was installed"
    if [ "$RUNNER_OS" = Windows ]; then
        # Windows runners have 7-Zip; Git Bash may lack unzip.
        if command -v 7z >/dev/null 2>&1; then
            (cd "$work" && 7z x -y "$archive" >/dev/null)
        else
            (cd "$work" && unzip -q "$archive")
        fi
    else
        tar -xzf "$work/$archive" -C "$work"
    fi
    [ -f "$work/imgpin-$version-$target/$exe" ] || fail "$archive does not hold imgpin-$version-$target/$exe"
    mkdir -p "$cache"
    cp "$work/imgpin-$version-$target/$exe" "$cache/$exe.partial"
    chmod +x "$cache/$exe.partial"
    mv -f "$cache/$exe.partial" "$cache/$exe"
    echo "imgpin $version ($target) installed, sha256 $got"
fi
echo "$cache" >> "${GITHUB_PATH:?}"
echo "path=$cache/$exe" >> "${GITHUB_OUTPUT:?}"
