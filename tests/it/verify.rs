//! `imgpin verify` against a real registry: deleted digests, moved tags
//! fixed by `pin --update --write`, pins that disagree, output formats.

use crate::cli::{assert_exit, text};
use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64};

#[test]
fn verify_flags_deleted_digests_and_moved_tags() {
    let reg = Registry::start_plain();
    let kept = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let gone = reg.push_image("shop/worker", "2.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  api:\n    image: {}\n  worker:\n    image: {}\n",
            reg.image("shop/api", "1.4"),
            reg.image("shop/worker", "2.0")
        ),
    )
    .unwrap();
    let out = run(&reg, &["pin", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&reg, &["verify"], dir.path());
    assert_exit(&out, 0);

    // Delete one pinned manifest: exactly that reference is flagged, exit 1.
    reg.delete_manifest("shop/worker", &gone);
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let worker = format!("{}@{gone}", reg.image("shop/worker", "2.0"));
    assert_eq!(
        text(&out.stdout),
        format!("compose.yaml:5:12: problem: {worker} — digest not found in registry (deleted?)\n")
    );
    let gh = run(&reg, &["verify", "--format", "github"], dir.path());
    assert_eq!(
        text(&gh.stdout),
        format!("::error file=compose.yaml,line=5,col=12::{worker} — digest not found in registry (deleted?)\n")
    );
    let json = run(&reg, &["verify", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let missing: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "digest-missing")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["reference"], worker.as_str());
    assert_eq!(missing[0]["line"], 5);
    assert_eq!(v["summary"]["missing"], 1);

    // Move the api tag: drift is a warning, a problem with --strict, fixed by pin --update.
    std::fs::write(
        &file,
        format!(
            "services:\n  api:\n    image: {}@{kept}\n",
            reg.image("shop/api", "1.4")
        ),
    )
    .unwrap();
    let moved = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    assert_ne!(moved, kept);
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "warning: {}@{kept}: tag 1.4 now points at {moved}",
            reg.image("shop/api", "1.4")
        )),
        "{}",
        text(&out.stderr)
    );
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = run(&reg, &["pin", "--update", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&format!("1.4@{moved}")));
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn verify_reports_disagreeing_pins_unpinned_refs_and_unreachable_registries() {
    let reg = Registry::start_plain();
    let a = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let b = reg.push_image("shop/api", "old", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let image = reg.image("shop/api", "1.4");
    std::fs::write(
        dir.path().join("staging.yaml"),
        format!("services:\n  api:\n    image: {image}@{a}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        format!("services:\n  api:\n    image: {image}@{b}\n  web:\n    image: nginx:1.27\n"),
    )
    .unwrap();
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "is pinned to 2 different digests: prod.yaml:3:12 ({b}), staging.yaml:3:12 ({a})"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("prod.yaml:5:12: problem: nginx:1.27 is not pinned to a digest"),
        "{stdout}"
    );
    let pinned_only = run(&reg, &["verify", "--pinned-only"], dir.path());
    assert!(!text(&pinned_only.stdout).contains("nginx:1.27"));

    let dead = format!("127.0.0.1:{}", crate::support::proc::free_port());
    std::fs::write(
        dir.path().join("dead.yaml"),
        format!("services:\n  x:\n    image: {dead}/x:1@{a}\n"),
    )
    .unwrap();
    let out = run(&reg, &["verify", "--timeout", "3"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreachable registry is an error, not a missing digest"
    );
    assert!(
        text(&out.stderr).contains(&format!("cannot reach registry {dead}")),
        "{}",
        text(&out.stderr)
    );
}
