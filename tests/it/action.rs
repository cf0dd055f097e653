//! The GitHub Action's scripts (action/install.sh, action/run.sh) run as the
//! runner runs them, with a fake GITHUB_* environment: files for the job
//! summary, outputs and PATH, a tool cache directory, and a release made of
//! the binary under test (served by file:// URL through IMGPIN_DOWNLOAD_BASE).

use crate::support::proc::output_text as text;
use crate::support::{Registry, LINUX_AMD64};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The files a runner hands a step.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        for name in ["summary.md", "output", "path"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("tool-cache")).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Runner { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap()
    }

    /// The value of step output `name` (the last one set).
    fn output(&self, name: &str) -> Option<String> {
        self.read("output")
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
    }

    fn script(&self, script: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(ROOT).join("action").join(script))
            .current_dir(self.file("work"))
            .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
            .env("GITHUB_OUTPUT", self.file("output"))
            .env("GITHUB_PATH", self.file("path"))
            .env("RUNNER_TOOL_CACHE", self.file("tool-cache"))
            .env("RUNNER_TEMP", self.dir.path())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("ACTION_PATH", ROOT)
            .env("ACTION_REPOSITORY", "example/imgpin")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run bash")
    }
}

/// A release directory as the release workflow lays it out, holding the
/// binary under test: <dir>/v<version>/imgpin-<version>-<target>.tar.gz(.sha256).
fn fake_release(dir: &Path, version: &str, target: &str) -> PathBuf {
    let name = format!("imgpin-{version}-{target}");
    let stage = dir.join("stage").join(&name);
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_imgpin"), stage.join("imgpin")).unwrap();
    let release = dir.join(format!("v{version}"));
    std::fs::create_dir_all(&release).unwrap();
    let archive = release.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir.join("stage"))
        .arg("-czf")
        .arg(&archive)
        .arg(&name)
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("sha256sum")
        .arg(format!("{name}.tar.gz"))
        .current_dir(&release)
        .output()
        .unwrap();
    std::fs::write(release.join(format!("{name}.tar.gz.sha256")), &out.stdout).unwrap();
    archive
}

#[test]
fn install_downloads_the_release_of_the_action_ref_checks_it_and_caches_it() {
    let runner = Runner::new();
    let releases = tempfile::tempdir().unwrap();
    let archive = fake_release(releases.path(), "9.8.7", "x86_64-unknown-linux-musl");
    let base = format!("file://{}", releases.path().display());
    let env = [
        ("ACTION_REF", "v9.8.7"),
        ("INPUT_VERSION", ""),
        ("IMGPIN_DOWNLOAD_BASE", base.as_str()),
    ];
    let out = runner.script("install.sh", &env);
    assert!(out.status.success(), "{}", text(&out));
    let cache = runner.file("tool-cache/imgpin/9.8.7/x86_64-unknown-linux-musl");
    assert_eq!(runner.read("path").trim(), cache.display().to_string());
    let bin = runner.output("path").unwrap();
    assert_eq!(bin, cache.join("imgpin").display().to_string());
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("imgpin "));
    assert!(text(&out).contains("installed, sha256"), "{}", text(&out));

    // Cached: a second install does not download (the release is gone).
    std::fs::remove_file(&archive).unwrap();
    let out = runner.script("install.sh", &env);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("from the tool cache"), "{}", text(&out));

    // The version input wins over the ref; a missing release is a clear error.
    let out = runner.script(
        "install.sh",
        &[
            ("ACTION_REF", "v9.8.7"),
            ("INPUT_VERSION", "v1.2.3"),
            ("IMGPIN_DOWNLOAD_BASE", base.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("could not download")
            && text(&out).contains("v1.2.3/imgpin-1.2.3-x86_64-unknown-linux-musl.tar.gz"),
        "{}",
        text(&out)
    );
}

#[test]
fn install_refuses_a_download_whose_checksum_does_not_match() {
    let runner = Runner::new();
    let releases = tempfile::tempdir().unwrap();
    let archive = fake_release(releases.path(), "1.0.0", "aarch64-unknown-linux-musl");
    let sha = PathBuf::from(format!("{}.sha256", archive.display()));
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(&sha, format!("{}  {name}\n", "0".repeat(64))).unwrap();
    let base = format!("file://{}", releases.path().display());
    let out = runner.script(
        "install.sh",
        &[
            ("ACTION_REF", "v1.0.0"),
            ("RUNNER_ARCH", "ARM64"),
            ("IMGPIN_DOWNLOAD_BASE", base.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("::error title=imgpin install::checksum mismatch"),
        "{}",
        text(&out)
    );
    assert!(!runner
        .file("tool-cache/imgpin/1.0.0")
        .join("aarch64-unknown-linux-musl/imgpin")
        .exists());
    assert_eq!(runner.read("path"), "", "nothing put on PATH");

    // An unsupported runner and a bad version are said plainly.
    let out = runner.script(
        "install.sh",
        &[("ACTION_REF", "v1.0.0"), ("RUNNER_OS", "FreeBSD")],
    );
    assert!(
        text(&out).contains("no imgpin release binary for FreeBSD/X64"),
        "{}",
        text(&out)
    );
    let out = runner.script("install.sh", &[("INPUT_VERSION", "latest")]);
    assert!(
        text(&out).contains("version 'latest' is not a release version"),
        "{}",
        text(&out)
    );
}

fn example(runner: &Runner) {
    let from = Path::new(ROOT).join("testdata/example");
    let status = Command::new("cp")
        .arg("-R")
        .arg(format!("{}/.", from.display()))
        .arg(runner.file("work"))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn run_annotates_summarises_and_sets_outputs_for_a_check() {
    let runner = Runner::new();
    example(&runner);
    let sarif = runner.file("imgpin.sarif");
    let out = runner.script(
        "run.sh",
        &[
            ("IMGPIN", env!("CARGO_BIN_EXE_imgpin")),
            ("INPUT_COMMAND", "check"),
            ("INPUT_PATHS", "compose.yaml\nk8s ecs"),
            ("INPUT_ARGS", ""),
            ("INPUT_WRITE", "false"),
            ("INPUT_SARIF_FILE", sarif.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "::error file=compose.yaml,line=4,col=10::localhost:5000/shop/web:2.0 is not pinned"
        ),
        "{stdout}"
    );
    let summary = runner.read("summary.md");
    assert!(summary.starts_with("### imgpin check\n"), "{summary}");
    assert!(
        summary.contains("| problem | k8s/deployment.yaml:18:18 | `unpinned` | localhost:5000/shop/api:1.4 is not pinned"),
        "{summary}"
    );
    assert_eq!(runner.output("findings").as_deref(), Some("7"));
    assert_eq!(runner.output("unpinned").as_deref(), Some("7"));
    assert_eq!(runner.output("changed").as_deref(), Some("0"));
    assert_eq!(runner.output("sarif-file").as_deref(), sarif.to_str());
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let errors = results.iter().filter(|r| r["level"] == "error").count();
    assert_eq!(errors, 7, "one per unpinned reference: {results:?}");

    // write: true is for pin only.
    let out = runner.script(
        "run.sh",
        &[
            ("IMGPIN", env!("CARGO_BIN_EXE_imgpin")),
            ("INPUT_COMMAND", "verify"),
            ("INPUT_WRITE", "true"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("write: true needs command: pin"),
        "{}",
        text(&out)
    );
}

#[test]
fn run_pins_with_write_and_reports_old_and_new_per_file() {
    let registry = Registry::start_plain();
    let digest = registry.push_image("shop/web", "2.0", LINUX_AMD64);
    let runner = Runner::new();
    let image = registry.image("shop/web", "2.0");
    let compose = format!("services:\n  web:\n    image: {image}  # the shop\n");
    std::fs::write(runner.file("work/compose.yaml"), &compose).unwrap();
    let mut env: Vec<(String, String)> = registry.env();
    for (k, v) in [
        ("IMGPIN", env!("CARGO_BIN_EXE_imgpin")),
        ("INPUT_COMMAND", "pin"),
        ("INPUT_PATHS", "."),
        ("INPUT_ARGS", "--jobs 4"),
        ("INPUT_WRITE", "true"),
        ("INPUT_SARIF_FILE", ""),
    ] {
        env.push((k.into(), v.into()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = runner.script("run.sh", &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let pinned = format!("{image}@{digest}");
    assert_eq!(
        std::fs::read_to_string(runner.file("work/compose.yaml")).unwrap(),
        compose.replace(&image, &pinned)
    );
    let summary = runner.read("summary.md");
    assert!(summary.contains("#### Pinned"), "{summary}");
    assert!(summary.contains("`compose.yaml`"), "{summary}");
    assert!(
        summary.contains(&format!("| 3 | `{image}` | `{pinned}` |")),
        "{summary}"
    );
    assert_eq!(runner.output("changed").as_deref(), Some("1"));
    assert_eq!(runner.output("unpinned").as_deref(), Some("0"));
    assert_eq!(runner.output("findings").as_deref(), Some("0"));
    assert_eq!(runner.output("sarif-file"), None);

    // A second run changes nothing and says so.
    let out = runner.script("run.sh", &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(runner.output("changed").as_deref(), Some("0"));
}
