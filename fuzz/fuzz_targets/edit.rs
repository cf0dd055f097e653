//! The editor: pinning whatever the locators find changes only their spans
//! (the bytes before the first and after the last span are kept, and each
//! edited file locates again), and pinning the result again is a no-op.
#![no_main]

use imgpin::digest::Digest;
use imgpin::edit::apply;
use imgpin::plan::{plan_pin, PinOptions};
use imgpin::resolve::{tag_key, Resolutions, Resolved};
use imgpin::scan::{ScannedFile, Value};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAMES: [&str; 3] = ["task-definition.json", "compose.yaml", "Dockerfile"];

fn pin(name: &str, bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let (file, _) = ScannedFile::from_bytes(Path::new(name), bytes.to_vec()).ok()??;
    let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
    let mut resolutions = Resolutions::new();
    for item in &file.items {
        if let Value::Reference(r) = &item.value {
            resolutions.insert(tag_key(r), Ok(Resolved { digest: digest.clone() }));
        }
    }
    let plan = plan_pin(&file, &resolutions, PinOptions::default());
    let new = apply(bytes, &plan.edits).expect("the planned edits apply");
    if let (Some(first), Some(last)) = (
        plan.edits.iter().map(|e| e.span.start).min(),
        plan.edits.iter().map(|e| e.span.end).max(),
    ) {
        assert_eq!(new[..first], bytes[..first]);
        assert_eq!(new[new.len() - (bytes.len() - last)..], bytes[last..]);
    }
    Some((new, plan.edits.len()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    let Some((once, edits)) = pin(name, bytes) else {
        return;
    };
    if edits == 0 {
        assert_eq!(once, bytes);
        return;
    }
    let (twice, again) = pin(name, &once).expect("a pinned file still parses");
    assert_eq!(again, 0, "second pin changed something");
    assert_eq!(twice, once);
});
