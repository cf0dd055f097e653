//! Every locator, through `ScannedFile::from_bytes`: never panics, and the
//! spans it reports are in bounds, in order, and do not overlap. The first
//! byte picks the file name (JSON, YAML, Dockerfile, HCL, and names whose
//! place decides the format) so one corpus covers all.
#![no_main]

use imgpin::scan::ScannedFile;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAMES: [&str; 11] = [
    "task-definition.json",
    "compose.yaml",
    "deploy.yaml",
    "Dockerfile",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "main.tf",
    "kustomization.yaml",
    "bitbucket-pipelines.yml",
    ".devcontainer/devcontainer.json",
    ".drone.yml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    let Ok(Some((file, _))) = ScannedFile::from_bytes(Path::new(name), bytes.to_vec()) else {
        return;
    };
    let mut end = 0;
    for item in &file.items {
        let span = &item.occurrence.span;
        assert!(span.start >= end && span.start <= span.end && span.end <= bytes.len(), "{span:?}");
        end = span.end;
    }
});
