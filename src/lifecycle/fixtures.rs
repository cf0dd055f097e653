//! Shared test data for the lifecycle's unit tests: a repository host,
//! digests, an image list, in-use entries and a policy.

use crate::in_use::{parse_in_use, InUseEntry};
use crate::lifecycle::{parse_describe_images, parse_policy, ImageDetail, Policy, ValidationMode};

pub const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
pub const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

pub fn entry(text: &str) -> InUseEntry {
    parse_in_use(text).unwrap().remove(0)
}

pub fn images() -> Vec<ImageDetail> {
    parse_describe_images(&format!(
        r#"{{"imageDetails":[
          {{"imageDigest":"{D1}","imageTags":["v1"],"imagePushedAt":"2026-01-01T00:00:00Z"}},
          {{"imageDigest":"{D2}","imageTags":["v2","latest"],"imagePushedAt":"2026-02-01T00:00:00Z"}},
          {{"imageDigest":"{D3}","imageTags":["v3"],"imagePushedAt":"2026-03-01T00:00:00Z"}}]}}"#
    ))
    .unwrap()
}

pub fn policy(json: &str) -> Policy {
    parse_policy(json, ValidationMode::Accepted).unwrap().0
}

pub const KEEP_TWO: &str = r#"{"rules":[{"rulePriority":1,"description":"keep two",
    "selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},
    "action":{"type":"expire"}}]}"#;
