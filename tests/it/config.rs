//! `.imgpin.toml` end to end: found by walking up, merged under the command
//! line, shown by `imgpin config`, refused with file:line:col, and its
//! per-registry mirror used against a real registry.

use crate::support::proc::output_text as text;
use crate::support::{Registry, LINUX_AMD64};
use std::path::Path;
use std::process::{Command, Output};

fn imgpin(cwd: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("IMGPIN_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run imgpin")
}

/// A repository with settings at its root and files in a subdirectory.
fn repo(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".imgpin.toml"), settings).unwrap();
    let deploy = dir.path().join("deploy");
    std::fs::create_dir_all(deploy.join("vendor")).unwrap();
    std::fs::write(
        deploy.join("compose.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n  tool:\n    image: localhost:5000/tools/lint:1\n",
    )
    .unwrap();
    std::fs::write(
        deploy.join("vendor/compose.yaml"),
        "services:\n  x:\n    image: redis:7\n",
    )
    .unwrap();
    std::fs::write(
        deploy.join("job.yaml.tmpl"),
        "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: j\n          image: busybox:1.36\n",
    )
    .unwrap();
    dir
}

const SETTINGS: &str = "\
# the team's settings
exclude = [\"vendor/**\"]
include = [\"*.yaml.tmpl\"]
ignore = [\"localhost:5000/**\"]
jobs = 8
";

#[test]
fn settings_apply_from_a_parent_directory_and_flags_add_or_win() {
    let dir = repo(SETTINGS);
    let deploy = dir.path().join("deploy");
    let out = imgpin(&deploy, &["check", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unpinned: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unpinned")
        .map(|f| f["reference"].as_str().unwrap())
        .collect();
    // vendor/ excluded, the template included, the local tool ignored.
    assert_eq!(unpinned, ["nginx:1.27", "busybox:1.36"], "{doc}");
    assert_eq!(doc["summary"]["ignored"], 1);
    let ignored = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "ignored")
        .unwrap();
    assert!(
        ignored["message"]
            .as_str()
            .unwrap()
            .contains("the ignore pattern \"localhost:5000/**\""),
        "{ignored}"
    );

    // --no-ignore audits the pattern too; --no-config reads no settings.
    let out = imgpin(&deploy, &["check", "--no-ignore", "--quiet"], &[]);
    assert!(
        text(&out).contains("localhost:5000/tools/lint:1 is not pinned"),
        "{}",
        text(&out)
    );
    let out = imgpin(&deploy, &["check", "--no-config", "--quiet"], &[]);
    assert!(text(&out).contains("vendor/compose.yaml"), "{}", text(&out));
    assert!(!text(&out).contains("busybox"), "{}", text(&out));

    // imgpin config says where each value comes from; a flag wins over the file.
    let out = imgpin(
        &deploy,
        &["config", "--jobs", "3", "--exclude", "old/**"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    let file = dir.path().join(".imgpin.toml").display().to_string();
    assert!(
        shown.starts_with(&format!("settings file: {file}\n")),
        "{shown}"
    );
    let line = |key: &str, value: &str| {
        shown
            .lines()
            .find(|l| l.contains(value) && (l.starts_with(key) || l.starts_with(' ')))
            .unwrap_or_else(|| panic!("{key} {value} in:\n{shown}"))
            .to_string()
    };
    assert!(
        line("exclude", "vendor/**").ends_with(&format!("{file}:2")),
        "{shown}"
    );
    assert!(
        line("exclude", "old/**").ends_with("command line (--exclude)"),
        "{shown}"
    );
    assert!(
        line("jobs", "3").ends_with("command line (--jobs)"),
        "{shown}"
    );
    let platform = shown.lines().find(|l| l.starts_with("platform ")).unwrap();
    assert!(
        platform.ends_with("default (what the tag serves)"),
        "{shown}"
    );

    // IMGPIN_CONFIG and --config name another file.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "jobs = 5\n").unwrap();
    let env = [("IMGPIN_CONFIG".to_string(), other.display().to_string())];
    let out = imgpin(&deploy, &["config"], &env);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("5  {}:1", other.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn a_bad_settings_file_is_an_error_at_its_line() {
    let dir = repo("jobs = 8\nexlude = [\"vendor/**\"]\n");
    let out = imgpin(&dir.path().join("deploy"), &["check"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let file = dir.path().join(".imgpin.toml").display().to_string();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "imgpin: error: {file}:2:1: unknown field `exlude`, expected one of"
        )),
        "{}",
        text(&out)
    );
    std::fs::write(
        dir.path().join(".imgpin.toml"),
        "[registries.\"ghcr.io\"]\nrate = \"fast\"\n",
    )
    .unwrap();
    let out = imgpin(&dir.path().join("deploy"), &["check"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "{file}:2:8: invalid type: string \"fast\", expected a number"
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_mirror_answers_for_its_registry_and_the_file_keeps_the_original_name() {
    let registry = Registry::start_plain();
    let digest = registry.push_image("shop/web", "2.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".imgpin.toml"),
        format!(
            "[registries.\"registry.invalid\"]\nmirror = \"{}\"\nrate = 100\n",
            registry.host()
        ),
    )
    .unwrap();
    let compose = "services:\n  web:\n    image: registry.invalid/shop/web:2.0 # via the mirror\n";
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    let out = imgpin(dir.path(), &["pin", "--write", "-v"], &registry.env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        compose.replace("web:2.0", &format!("web:2.0@{digest}"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "registry registry.invalid: asking its mirror {}",
            registry.host()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "registry {}: at most 100 requests a second",
            registry.host()
        )),
        "{stderr}"
    );
    assert!(
        registry.log().contains("/v2/shop/web/manifests/2.0"),
        "the mirror was asked: {}",
        registry.log()
    );
}
