//! Runs the worked vectors of ECR-LIFECYCLE.md part 3 (`testdata/lifecycle/vectors.json`,
//! copied verbatim from the spec) and imgpin's own vectors (`extra-vectors.json`, same
//! format plus a few extra expectations). Every comparison uses set semantics.
//!
//! The files are read with `include_str!` relative to this source file, so the test works
//! in the main crate and in a scratch crate that includes this module by path.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::{evaluate, parse_at, parse_describe_images, parse_policy, ValidationMode};

const SPEC_VECTORS: &str = include_str!("../../testdata/lifecycle/vectors.json");
const EXTRA_VECTORS: &str = include_str!("../../testdata/lifecycle/extra-vectors.json");

/// One vector. Fields not listed (`description`, `confidence`, `source`, `why`) are ignored.
#[derive(Deserialize)]
struct Vector {
    id: String,
    now: String,
    policy: Value,
    images: Value,
    #[serde(default)]
    in_use: BTreeSet<String>,
    expected_expired: BTreeSet<String>,
    #[serde(default)]
    expected_transitioned: BTreeSet<String>,
    #[serde(default)]
    expected_expired_next_pass: BTreeSet<String>,
    #[serde(default)]
    expected_at_risk: BTreeSet<String>,
    expected_in_use_at_risk: Option<BTreeSet<String>>,
    /// imgpin's own: in-use digests that are ARCHIVED now.
    expected_in_use_archived_now: Option<BTreeSet<String>>,
    /// imgpin's own: substrings each digest's reasons must contain.
    #[serde(default)]
    expected_reason_contains: BTreeMap<String, Vec<String>>,
    /// imgpin's own: note codes the evaluation must emit.
    #[serde(default)]
    expected_notes: BTreeSet<String>,
}

fn set(items: BTreeSet<&str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

/// Runs one vector and returns every mismatch.
fn check(v: &Vector) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: &str, got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
        failures.push(format!("{}: {what}: got {got:?}, want {want:?}", v.id));
    };

    // Vector policies are the documents sent to PutLifecyclePolicy, so they must pass strict
    // validation once pretty-printed (which also satisfies the 100-character minimum).
    let text = serde_json::to_string_pretty(&v.policy).unwrap_or_default();
    let policy = match parse_policy(&text, ValidationMode::Strict) {
        Ok((policy, _warnings)) => policy,
        Err(e) => return vec![format!("{}: policy refused: {e}", v.id)],
    };
    let images = match parse_describe_images(&v.images.to_string()) {
        Ok(images) => images,
        Err(e) => return vec![format!("{}: images refused: {e}", v.id)],
    };
    let now = match parse_at(&v.now) {
        Ok(now) => now,
        Err(e) => return vec![format!("{}: {e}", v.id)],
    };
    let eval = evaluate(&policy, &images, now);

    let expired = set(eval.expired());
    if expired != v.expected_expired {
        fail("expired", &expired, &v.expected_expired);
    }
    let transitioned = set(eval.transitioned());
    if transitioned != v.expected_transitioned {
        fail("transitioned", &transitioned, &v.expected_transitioned);
    }
    let next: BTreeSet<String> = eval.next_pass().iter().map(|e| e.digest.clone()).collect();
    if next != v.expected_expired_next_pass {
        fail("next pass", &next, &v.expected_expired_next_pass);
    }
    let risk: BTreeSet<String> = eval.at_risk().iter().map(|e| e.digest.clone()).collect();
    if risk != v.expected_at_risk {
        fail("at risk", &risk, &v.expected_at_risk);
    }
    let report = eval.in_use_report(&v.in_use);
    if let Some(want) = &v.expected_in_use_at_risk {
        let got = set(report.at_risk_digests());
        if &got != want {
            fail("in-use at risk", &got, want);
        }
    }
    if let Some(want) = &v.expected_in_use_archived_now {
        let got: BTreeSet<String> = report.archived_now().map(|f| f.digest.clone()).collect();
        if &got != want {
            fail("in-use archived now", &got, want);
        }
    }
    for (digest, needles) in &v.expected_reason_contains {
        let mut reasons: Vec<&str> = eval.explain(digest).into_iter().collect();
        reasons.extend(
            eval.next_pass()
                .iter()
                .filter(|e| &e.digest == digest)
                .map(|e| e.reason.as_str()),
        );
        reasons.extend(
            eval.at_risk()
                .iter()
                .filter(|e| &e.digest == digest)
                .map(|e| e.reason.as_str()),
        );
        for needle in needles {
            if !reasons.iter().any(|r| r.contains(needle.as_str())) {
                fail(
                    &format!("reason of {digest} lacks {needle:?}"),
                    &reasons,
                    needle,
                );
            }
        }
    }
    let notes: BTreeSet<String> = eval.notes().iter().map(|n| n.code.to_owned()).collect();
    if !v.expected_notes.is_subset(&notes) {
        fail("notes", &notes, &v.expected_notes);
    }

    // The output document agrees with the sets and serialises.
    let out = eval.to_output(&v.in_use);
    let listed: BTreeSet<String> = out.results.iter().map(|r| r.image_digest.clone()).collect();
    let acted: BTreeSet<String> = expired.union(&transitioned).cloned().collect();
    if listed != acted {
        fail("output results", &listed, &acted);
    }
    if out.summary.expiring_image_total_count != expired.len() {
        fail(
            "summary",
            &out.summary.expiring_image_total_count,
            &expired.len(),
        );
    }
    if let Err(e) = serde_json::to_string(&out) {
        fail("serialise", &e.to_string(), &"ok");
    }
    for verdict in eval.verdicts() {
        match serde_json::to_value(verdict) {
            Ok(value) if value.get("decision").is_some() && value.get("reason").is_some() => {}
            other => fail("verdict serialises with decision and reason", &other, &"ok"),
        }
    }
    if let Err(e) = serde_json::to_string(&report) {
        fail("in-use report serialises", &e.to_string(), &"ok");
    }
    failures
}

fn run_file(text: &str) -> (usize, Vec<String>) {
    let vectors: Vec<Vector> = serde_json::from_str(text).expect("vector file parses");
    let failures = vectors.iter().flat_map(check).collect();
    (vectors.len(), failures)
}

#[test]
fn spec_vectors() {
    let (count, failures) = run_file(SPEC_VECTORS);
    assert_eq!(count, 13, "ECR-LIFECYCLE.md part 3 has 13 vectors");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn extra_vectors() {
    let (count, failures) = run_file(EXTRA_VECTORS);
    assert!(count >= 8);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vector_ids_are_unique_across_files() {
    let mut ids = BTreeSet::new();
    for text in [SPEC_VECTORS, EXTRA_VECTORS] {
        let vectors: Vec<Vector> = serde_json::from_str(text).expect("vector file parses");
        for v in vectors {
            assert!(ids.insert(v.id.clone()), "duplicate vector id {}", v.id);
        }
    }
}

/// The spec's seed vector, read through the output document: the re-tagged digest is listed
/// as expired, in use, with the retag explanation.
#[test]
fn seed_output_document() {
    let vectors: Vec<Vector> = serde_json::from_str(SPEC_VECTORS).expect("vector file parses");
    let v = vectors
        .iter()
        .find(|v| v.id == "seed-retagged-old-digest")
        .expect("seed vector present");
    let text = serde_json::to_string_pretty(&v.policy).unwrap_or_default();
    let (policy, _) = parse_policy(&text, ValidationMode::Strict).expect("valid policy");
    let images = parse_describe_images(&v.images.to_string()).expect("valid images");
    let eval = evaluate(&policy, &images, parse_at(&v.now).expect("valid now"));
    let out = serde_json::to_value(eval.to_output(&v.in_use)).expect("serialises");
    let result = &out["results"][0];
    assert_eq!(result["imageDigest"], format!("sha256:{}", "a".repeat(64)));
    assert_eq!(result["imageTags"], serde_json::json!(["tag-1", "tag-9"]));
    assert_eq!(result["imagePushedAt"], "2026-07-26T00:00:00Z");
    assert_eq!(result["action"], serde_json::json!({"type": "EXPIRE"}));
    assert_eq!(result["appliedRulePriority"], 1);
    assert_eq!(result["storageClass"], "STANDARD");
    assert_eq!(result["inUse"], true);
    let reason = result["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(
            "rule 1 keeps the 4 most recently pushed images tagged `tag*` and expires the others; \
             this digest was pushed 2026-07-26 and 4 newer ones exist"
        ),
        "{reason}"
    );
    assert!(
        reason.ends_with(
            ", although its tag `tag-9` is newer than theirs — adding a tag does not change \
             imagePushedAt"
        ),
        "{reason}"
    );
    assert_eq!(out["summary"]["expiringImageTotalCount"], 1);
    assert_eq!(out["inUse"][0]["fate"], "expire");
    assert_eq!(
        out["inUse"][0]["warning"],
        "will be deleted within about 24 h"
    );
}
