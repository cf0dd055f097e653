//! `pin --update` against a real registry: each re-pin says which platforms
//! of the index changed and the new image's revision and build time;
//! `--settle` leaves an index whose newest platform is too young.

use crate::cli::{assert_exit, text};
use crate::registry::run;
use crate::support::images::{oci_image, oci_image_created, oci_index_over, Platform};
use crate::support::{Registry, LINUX_AMD64, LINUX_ARM64};
use serde_json::json;

const LINUX_S390X: Platform<'static> = ("linux", "s390x", None);

fn hours_ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn update_explains_platform_changes_and_settle_waits_for_a_young_index() {
    let reg = Registry::start_plain();
    let arm = oci_image(LINUX_ARM64);
    let first = oci_index_over(
        &[LINUX_AMD64, LINUX_ARM64],
        vec![oci_image(LINUX_AMD64), arm.clone()],
        json!({}),
    );
    let d1 = reg.push("shop/web", "1.27", &first);
    let dir = tempfile::tempdir().unwrap();
    let image = reg.image("shop/web", "1.27");
    let compose = format!("services:\n  web:\n    image: {image}\n");
    std::fs::write(dir.path().join("compose.yaml"), &compose).unwrap();
    assert_exit(&run(&reg, &["pin", "--write"], dir.path()), 0);

    // The tag moves: amd64 rebuilt, arm64 the same, s390x added.
    let second = oci_index_over(
        &[LINUX_AMD64, LINUX_ARM64, LINUX_S390X],
        vec![oci_image(LINUX_AMD64), arm.clone(), oci_image(LINUX_S390X)],
        json!({
            "org.opencontainers.image.revision": "3f2a1c9",
            "org.opencontainers.image.created": "2026-12-01T10:00:00Z",
        }),
    );
    let d2 = reg.push("shop/web", "1.27", &second);
    let out = run(&reg, &["pin", "--update", "--write"], dir.path());
    assert_exit(&out, 0);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "compose.yaml:3:12: note: {image}@{d1} moved: linux/amd64 changed, linux/s390x added, 1 unchanged; revision 3f2a1c9, created 2026-12-01T10:00:00Z"
        )),
        "{stderr}"
    );
    let pinned = |d: &str| compose.replace(&image, &format!("{image}@{d}"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        pinned(&d2)
    );

    // arm64 pushed 2 h ago, amd64 3 days ago: with --settle 6h the index waits.
    let third = oci_index_over(
        &[LINUX_AMD64, LINUX_ARM64],
        vec![
            oci_image_created(LINUX_AMD64, &hours_ago(72)),
            oci_image_created(LINUX_ARM64, &hours_ago(2)),
        ],
        json!({}),
    );
    let d3 = reg.push("shop/web", "1.27", &third);
    let out = run(
        &reg,
        &[
            "pin", "--update", "--settle", "6h", "--write", "--format", "json",
        ],
        dir.path(),
    );
    assert_exit(&out, 0);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let settling = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "settling")
        .unwrap_or_else(|| panic!("{doc}"));
    let message = settling["message"].as_str().unwrap();
    assert!(
        message.contains("left at its pin")
            && message.contains(
                "newest platform manifest (linux/arm64/v8) was built 2h ago, less than --settle 6h"
            ),
        "{message}"
    );
    assert_eq!(doc["summary"]["alreadyPinned"], 1, "{doc}");
    assert_eq!(doc["summary"]["pinned"], 0, "{doc}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        pinned(&d2)
    );

    // Settled enough for --settle 1h: updated.
    let out = run(
        &reg,
        &["pin", "--update", "--settle", "1h", "--write"],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("linux/amd64 and linux/arm64/v8 changed, linux/s390x removed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        pinned(&d3)
    );
}
