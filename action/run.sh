#!/usr/bin/env bash
# The Action's run step: one imgpin run that annotates the pull request
# (--format github), appends a Markdown job summary to $GITHUB_STEP_SUMMARY
# and sets the step outputs (changed, findings, unpinned, sarif-file), and,
# when the sarif-file input is set, also writes a SARIF log for code scanning.
#
# Environment (set by action.yml): IMGPIN (the binary), INPUT_COMMAND,
# INPUT_PATHS, INPUT_ARGS, INPUT_WRITE, INPUT_SARIF_FILE, GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY. The exit status is imgpin's: 0 clean, 1 findings,
# 2 errors, so a gate fails the job and a scheduled pin can use outputs.
set -euo pipefail

fail() {
    echo "::error title=imgpin::$*"
    exit 2
}

imgpin="${IMGPIN:-imgpin}"
# Several words each, on one line or several: split on whitespace on
# purpose, never globbed (a path with spaces needs its own step).
set -f
read -r -a command <<< "$(printf '%s' "${INPUT_COMMAND:-check}" | tr '\r\n' '  ')"
read -r -a paths <<< "$(printf '%s' "${INPUT_PATHS-.}" | tr '\r\n' '  ')"
read -r -a extra <<< "$(printf '%s' "${INPUT_ARGS:-}" | tr '\r\n' '  ')"
set +f
[ "${#command[@]}" -gt 0 ] || fail "the command input is empty (check, pin, verify, lifecycle, …)"

case "${INPUT_WRITE:-false}" in
    true)
        [ "${command[0]}" = pin ] || fail "write: true needs command: pin (it was '${command[*]}')"
        extra+=(--write)
        ;;
    false | "") ;;
    *) fail "write must be true or false, not '${INPUT_WRITE}'" ;;
esac

args=("${command[@]}" "${extra[@]}" --format github)
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    args+=(--summary-file "$GITHUB_STEP_SUMMARY")
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    args+=(--github-output "$GITHUB_OUTPUT")
fi
if [ -n "${INPUT_SARIF_FILE:-}" ]; then
    args+=(--sarif-file "$INPUT_SARIF_FILE")
fi
if [ "${#paths[@]}" -gt 0 ]; then
    args+=(-- "${paths[@]}")
fi

echo "imgpin ${args[*]}"
status=0
"$imgpin" "${args[@]}" || status=$?
exit "$status"
