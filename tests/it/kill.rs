//! `kill -9` during `pin --write` over 2,000 files: every file is byte for
//! byte its old or its new version, never torn; the next run removes the
//! temporary files the killed one left and pins the rest.

use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const FILES: usize = 2_000;

fn old_and_new(image: &str, digest: &str, i: usize) -> (String, String) {
    let body =
        |image: &str| format!("# service {i}\nservices:\n  app:\n    image: {image}   # keep\n");
    (body(image), body(&format!("{image}@{digest}")))
}

fn temp_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(".imgpin-") {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn files_are_old_or_new_after_kill_9_and_the_next_run_cleans_up() {
    let reg = Registry::start_plain();
    let digest = reg.push_image("team/app", "1.0", LINUX_AMD64);
    let image = reg.image("team/app", "1.0");
    // Kill points from early (still resolving) to late (mostly written).
    for (round, delay_ms) in [30u64, 120, 250, 400, 700].into_iter().enumerate() {
        let work = tempfile::tempdir().unwrap();
        let tree = work.path().join("tree");
        for i in 0..FILES {
            let dir = tree.join(format!("svc{:02}", i % 20));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("compose-{i}.yaml")),
                old_and_new(&image, &digest, i).0,
            )
            .unwrap();
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
        cmd.args(["pin", "--write", "-q", "tree"])
            .current_dir(work.path());
        for (k, v) in reg.env() {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SIGKILL: no destructor, no cleanup runs.
        let _ = child.kill();
        let _ = child.wait();
        for i in 0..FILES {
            let path = tree.join(format!("svc{:02}/compose-{i}.yaml", i % 20));
            let now = std::fs::read_to_string(&path).unwrap();
            let (old, new) = old_and_new(&image, &digest, i);
            assert!(
                now == old || now == new,
                "round {round}: {} is torn:\n{now}",
                path.display()
            );
        }
        let out = run(&reg, &["pin", "--write", "-q", "tree"], work.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(temp_files(&tree), Vec::<String>::new(), "round {round}");
        for i in 0..FILES {
            let path = tree.join(format!("svc{:02}/compose-{i}.yaml", i % 20));
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                old_and_new(&image, &digest, i).1
            );
        }
    }
}
