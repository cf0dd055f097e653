//! The binary, offline: `check`, exit codes, help text, bad input.

use std::path::Path;
use std::process::{Command, Output};

pub fn imgpin(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("DOCKER_CONFIG")
        .output()
        .expect("run imgpin")
}

/// Assert the exit code, showing both streams when it differs.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn check_lists_unpinned_references_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "compose.yaml", "services:\n  web:\n    image: nginx:1.27\n  db:\n    image: \"postgres:16@sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n");
    let out = imgpin(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "compose.yaml:3:12: problem: nginx:1.27 is not pinned to a digest (run `imgpin pin --write`)\n");
}

#[test]
fn check_passes_when_everything_is_pinned_and_templates_are_notes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "compose.yaml", "services:\n  web:\n    image: nginx:1.27@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  app:\n    image: app:${TAG}\n");
    let out = imgpin(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("compose.yaml:5:12: note:"),
        "{}",
        text(&out.stderr)
    );
    let strict = imgpin(&["check", "--strict"], dir.path());
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn malformed_file_is_an_error_with_a_place_and_others_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a/broken.yaml",
        "services:\n  web:\n    image: [nginx\n",
    );
    write(
        dir.path(),
        "b/compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n",
    );
    let out = imgpin(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("a/broken.yaml:"), "{err}");
    assert!(
        text(&out.stdout).contains("b/compose.yaml:3:12: problem"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn invalid_reference_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  web:\n    image: Nginx:1.27\n",
    );
    let out = imgpin(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    // The reference is named once, with its place and the reason.
    assert!(
        text(&out.stderr).contains(
            "compose.yaml:3:12: error: invalid image reference \"Nginx:1.27\": repository name must be lowercase\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

/// Kyverno policies write pod patterns (`image: "!*:latest"`): notes, not
/// invalid references that fail the run, not even with `--strict`; the
/// sidecar a mutate rule injects is a real image and is checked.
#[test]
fn policy_patterns_are_notes_and_injected_sidecars_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec:\n  rules:\n    - name: no-latest\n      validate:\n        pattern:\n          spec:\n            containers:\n            - image: \"!*:latest\"\n    - name: sidecar\n      mutate:\n        patchStrategicMerge:\n          spec:\n            containers:\n            - name: logger\n              image: fluent/fluent-bit:3.0@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    for args in [&["check"][..], &["check", "--strict"]] {
        let out = imgpin(args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(
                "policy.yaml:10:23: note: \"!*:latest\" cannot be checked: a match pattern"
            ),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn json_and_github_formats() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n",
    );
    let out = imgpin(&["check", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["kind"], "unpinned");
    assert_eq!(v["findings"][0]["file"], "compose.yaml");
    assert_eq!(v["findings"][0]["line"], 3);
    assert_eq!(v["findings"][0]["column"], 12);
    assert_eq!(v["summary"]["unpinned"], 1);
    let gh = imgpin(&["check", "--format", "github"], dir.path());
    assert_eq!(
        text(&gh.stdout),
        "::error file=compose.yaml,line=3,col=12::nginx:1.27 is not pinned to a digest (run `imgpin pin --write`)\n"
    );
}

#[test]
fn exclude_and_gitignore_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "vendor/compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n",
    );
    write(
        dir.path(),
        "ignored/compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n",
    );
    write(dir.path(), ".gitignore", "ignored/\n");
    write(
        dir.path(),
        ".git/compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n",
    );
    let out = imgpin(&["check", "--exclude", "vendor"], dir.path());
    assert_exit(&out, 0);
}

#[test]
fn missing_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = imgpin(&["check", "nope"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nope: error: no such file or directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    let out = imgpin(&["--help"], Path::new("."));
    let help = text(&out.stdout);
    for needle in ["pin", "check", "Exit codes", "2  errors"] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
    let pin = text(&imgpin(&["pin", "--help"], Path::new(".")).stdout);
    for needle in [
        "--write",
        "--check",
        "--update",
        "--platform",
        "--exclude",
        "name:latest@sha256",
    ] {
        assert!(
            pin.contains(needle),
            "{needle} missing from pin --help:\n{pin}"
        );
    }
}

#[test]
fn pin_with_nothing_to_resolve_needs_no_network() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  app:\n    image: app:${TAG}\n",
    );
    let out = imgpin(&["pin", "--check"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `imgpin formats` prints the README's table; `--json` the same rows.
#[test]
fn formats_prints_the_readme_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = imgpin(&["formats"], dir.path());
    assert_exit(&out, 0);
    let table = text(&out.stdout);
    let readme = include_str!("../../README.md");
    assert!(readme.contains(&format!(
        "<!-- formats:start -->\n{table}<!-- formats:end -->"
    )));
    let json = imgpin(&["formats", "--json"], dir.path());
    assert_exit(&json, 0);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), table.lines().count() - 2);
    for name in [
        "terraform",
        "helm-values",
        "kustomize",
        "devcontainer",
        "compose",
    ] {
        assert!(rows.iter().any(|r| r["name"] == name), "{name}");
    }
}

/// `# imgpin: ignore` after a value or alone above it leaves the reference
/// alone and counts it; `--no-ignore` audits it.
#[test]
fn inline_ignore_comments_leave_references_alone_and_no_ignore_audits_them() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  a:\n    image: nginx:1.27  # imgpin: ignore (vendored)\n  b:\n    # imgpin: ignore\n    image: redis:7\n  c:\n    image: busybox:1.36\n",
    );
    write(
        dir.path(),
        "Dockerfile",
        "# imgpin: ignore\nFROM golang:1.23 AS build\nFROM alpine:3.20\n",
    );
    let out = imgpin(&["check", "-v", "."], dir.path());
    assert_exit(&out, 1);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains("compose.yaml:8:12: problem: busybox:1.36"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Dockerfile:3:6: problem: alpine:3.20"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("nginx") && !stdout.contains("redis") && !stdout.contains("golang"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "compose.yaml:3:12: note: \"nginx:1.27\" is not checked: an `imgpin: ignore` comment"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "5 references, 0 pinned, 0 already pinned, 2 unpinned, 3 skipped (3 ignored), 0 failed"
        ),
        "{stderr}"
    );
    let json = imgpin(&["check", "--format", "json", "."], dir.path());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["ignored"], 3);
    let audit = imgpin(&["check", "--no-ignore", "."], dir.path());
    assert_exit(&audit, 1);
    assert!(
        text(&audit.stderr).contains("5 unpinned, 0 skipped"),
        "{}",
        text(&audit.stderr)
    );
}

/// Completions for every shell name the subcommands and flags; the bash
/// script loads and registers itself; the man page is roff with them too.
#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = imgpin(&["completions", shell], dir.path());
        assert_exit(&out, 0);
        let script = text(&out.stdout);
        for word in ["verify", "lifecycle", "formats", "helm-values", "no-ignore"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let script = dir.path().join("imgpin.bash");
    std::fs::write(&script, imgpin(&["completions", "bash"], dir.path()).stdout).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p imgpin", script.display()))
        .output()
        .unwrap();
    assert!(
        text(&loaded.stdout).contains("imgpin"),
        "{}",
        text(&loaded.stderr)
    );
    let man = imgpin(&["man"], dir.path());
    assert_exit(&man, 0);
    let page = text(&man.stdout);
    assert!(
        page.contains(".TH imgpin 1") && page.contains("formats"),
        "{page}"
    );
    assert!(imgpin(&["completions", "tcsh"], dir.path()).status.code() == Some(2));
}

/// The pre-commit hooks hand imgpin every file it reads (pre-commit
/// matches `files:` with Python's `re.search`), and not others.
#[test]
fn pre_commit_hooks_match_every_file_imgpin_reads() {
    let hooks = include_str!("../../.pre-commit-hooks.yaml");
    let patterns: Vec<&str> = hooks
        .lines()
        .filter_map(|l| l.trim().strip_prefix("files: "))
        .collect();
    assert!(patterns.len() >= 2, "{hooks}");
    let reads = [
        "compose.yaml",
        "deploy/k8s/app.yml",
        "task-definition.json",
        ".devcontainer/devcontainer.json",
        "Dockerfile",
        "build/api.Dockerfile",
        "Dockerfile.prod",
        "Containerfile",
        "infra/main.tf",
    ];
    let ignored = ["README.md", "main.go", "Makefile"];
    for name in reads.iter().chain(&ignored) {
        assert_eq!(
            imgpin::locate::is_candidate_name(Path::new(name)),
            reads.contains(name),
            "{name}"
        );
    }
    for pattern in patterns {
        let script = "import re,sys\np=re.compile(sys.argv[1])\nfor n in sys.argv[2:]:\n    print(n, bool(p.search(n)))";
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(pattern)
            .args(reads.iter().chain(&ignored))
            .output()
            .expect("python3");
        let answers = text(&out.stdout);
        for name in reads {
            assert!(
                answers.contains(&format!("{name} True")),
                "{pattern}: {answers}"
            );
        }
        for name in ignored {
            assert!(
                answers.contains(&format!("{name} False")),
                "{pattern}: {answers}"
            );
        }
    }
}
