//! Hostile trees: symbolic links out of the tree, leftovers of killed runs,
//! file names that try to forge output, encodings imgpin does not edit. For
//! each, the files outside stay untouched, links stay links, and the counts
//! say what happened.

use crate::cli::{assert_exit, imgpin, text};
use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

fn compose(image: &str) -> String {
    format!("services:\n  app:\n    image: {image}   # keep\n")
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).unwrap().file_type().is_symlink()
}

#[test]
fn a_link_is_written_at_its_target_inside_the_tree_and_refused_outside() {
    let reg = Registry::start_plain();
    let digest = reg.push_image("team/app", "1.0", LINUX_AMD64);
    let image = reg.image("team/app", "1.0");
    let root = tempfile::tempdir().unwrap();
    let (tree, outside) = (root.path().join("tree"), root.path().join("outside"));
    fs::create_dir_all(&tree).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("compose.yml"), compose(&image)).unwrap();
    symlink("../outside/compose.yml", tree.join("link.yml")).unwrap();
    symlink("../outside", tree.join("linked-dir")).unwrap();

    // From inside `tree`, both links lead out of it: refused, nothing changes.
    for named in ["link.yml", "linked-dir"] {
        let out = run(&reg, &["pin", "--write", named], &tree);
        assert_exit(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains("outside the current directory; not written"),
            "{err}"
        );
        assert!(
            err.contains("0 pinned, 0 already pinned, 0 unpinned, 0 skipped, 1 failed; 0 files written; 1 file failed"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(outside.join("compose.yml")).unwrap(),
            compose(&image)
        );
    }
    assert!(is_link(&tree.join("link.yml")) && is_link(&tree.join("linked-dir")));

    // From the directory that holds both: the target is pinned in place.
    let out = run(&reg, &["pin", "--write", "tree/link.yml"], root.path());
    assert_exit(&out, 0);
    assert!(is_link(&tree.join("link.yml")), "the link must stay a link");
    assert_eq!(
        fs::read_to_string(outside.join("compose.yml")).unwrap(),
        compose(&format!("{image}@{digest}"))
    );
}

#[test]
fn links_inside_a_walked_directory_are_not_followed_and_say_so() {
    let root = tempfile::tempdir().unwrap();
    let (tree, outside) = (root.path().join("tree"), root.path().join("outside"));
    fs::create_dir_all(&tree).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("compose.yml"), compose("nginx:1.27")).unwrap();
    symlink("../outside/compose.yml", tree.join("link.yml")).unwrap();
    let out = imgpin(&["check", "."], &tree);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(
        err.contains("link.yml: note: symbolic link: not followed inside a directory"),
        "{err}"
    );
}

#[test]
fn temp_files_of_killed_runs_are_never_scanned_and_pin_write_removes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        compose(&format!("nginx@sha256:{}", "a".repeat(64))),
    )
    .unwrap();
    let stale = dir.path().join(".imgpin-AbC123.tmp");
    let fresh = dir.path().join(".imgpin-XyZ789.tmp");
    let lookalike = dir.path().join(".imgpin-notours.tmp");
    for f in [&stale, &fresh, &lookalike] {
        fs::write(f, compose("half-written:1")).unwrap();
    }
    let touch = |f: &Path, when: &str| {
        let ok = std::process::Command::new("touch")
            .args(["-d", when])
            .arg(f)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    touch(&stale, "1 hour ago");
    touch(&lookalike, "1 hour ago");
    // A concurrent run's file (newer than this run): spared.
    touch(&fresh, "1 hour");

    let out = imgpin(&["check"], dir.path());
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("imgpin: 2 files scanned"),
        "{}",
        text(&out.stderr)
    );
    assert!(stale.exists(), "check never removes anything");

    let out = imgpin(&["pin", "--write"], dir.path());
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(
        err.contains(".imgpin-AbC123.tmp: note: removed: a temporary file left by an interrupted"),
        "{err}"
    );
    assert!(!stale.exists());
    assert!(fresh.exists() && lookalike.exists());
}

#[test]
fn file_names_with_control_characters_cannot_forge_output() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\u{1b}[31m\n::error file=x::forged.yaml";
    fs::write(dir.path().join(name), compose("nginx:1.27")).unwrap();
    for format in ["text", "github"] {
        let out = imgpin(&["check", "--format", format], dir.path());
        assert_exit(&out, 1);
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(!all.contains('\u{1b}'), "{format}: raw ESC in {all:?}");
        assert!(
            !all.lines().any(|l| l.starts_with("::error file=x")),
            "{format}: forged line in {all:?}"
        );
        assert!(all.contains("evil"), "{format}: {all:?}");
    }
}

#[test]
fn utf16_and_binary_files_are_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"containerDefinitions":[{"name":"web","image":"nginx:1.27"}]}"#;
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(json.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    fs::write(dir.path().join("task-definition.json"), &utf16).unwrap();
    fs::write(dir.path().join("blob.yaml"), b"image: nginx\0\x01\x02").unwrap();
    let out = imgpin(&["check"], dir.path());
    let err = text(&out.stderr);
    assert!(
        err.contains("task-definition.json: warning: encoded as UTF-16LE (byte-order mark); imgpin reads UTF-8 files (convert it: iconv -f UTF-16LE -t UTF-8); not scanned"),
        "{err}"
    );
    assert!(
        err.contains("blob.yaml: warning: contains NUL bytes"),
        "{err}"
    );
    assert_eq!(
        fs::read(dir.path().join("task-definition.json")).unwrap(),
        utf16
    );
}

/// A file edited while its reference is being resolved (a slow registry):
/// the run refuses to write over the edit and says so.
#[test]
fn a_file_changed_during_the_run_is_not_overwritten() {
    use crate::support::fault_proxy::{Fault, FaultProxy};
    let reg = Registry::start_plain();
    reg.push_image("team/app", "1.0", LINUX_AMD64);
    let proxy = FaultProxy::start(&reg.host(), Fault::SlowBody { pause_ms: 400 });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    fs::write(&file, compose(&format!("{}/team/app:1.0", proxy.host()))).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(["pin", "--write", "--paranoid"])
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", empty.path())
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The manifest body takes 8 × 400 ms: edit the file meanwhile.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while proxy.manifest_requests().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let edited = compose("edited-by-someone:2");
    fs::write(&file, &edited).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("compose.yaml: file changed on disk since it was read; not written"),
        "{err}"
    );
    assert!(
        err.contains("0 pinned") && err.contains("1 file failed"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), edited);
}
