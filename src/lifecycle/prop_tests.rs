//! Property tests with a small deterministic generator (xorshift64*, fixed seeds): random
//! policies (parsed in accepted mode, so constraint violations are allowed) against random
//! repositories with archived, restoring, multi-arch and referrer images.
//!
//! Properties: the order of rules in the text does not matter; an image matched by a
//! higher-priority rule of its class is never acted on by a lower one; no image is both
//! acted on and a child of an index that is present; results do not depend on the order of
//! the image list.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use super::{
    evaluate, parse_policy, Action, Evaluation, ImageDetail, ImageStatus, Policy, ValidationMode,
};

const CASES: u64 = 300;

/// xorshift64*: tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(u64::try_from(len).unwrap_or(u64::MAX))).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

const PREFIXES: [&str; 5] = ["v", "v1", "prod", "rel", "a"];
const PATTERNS: [&str; 6] = ["v*", "*prod*", "rel-*-x", "latest", "*", "v1*2"];
const TAGS: [&str; 10] = [
    "v1", "v1.2", "v2", "prod-1", "prod-eu", "rel-a-x", "latest", "dev", "a", "v12",
];

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_392_000, 0).unwrap_or_default() // 2026-11-23T00:00:00Z
}

fn ago(rng: &mut Rng, max_days: u64) -> DateTime<Utc> {
    let days = i64::try_from(rng.below(max_days)).unwrap_or(0);
    let hours = if rng.chance(50) { 0 } else { 12 };
    now() - TimeDelta::try_hours(days * 24 + hours).unwrap_or_default()
}

/// A random rule list (unique priorities) as JSON values.
fn gen_rules(rng: &mut Rng) -> Vec<Value> {
    let count = 1 + rng.index(5);
    let mut priorities = BTreeSet::new();
    while priorities.len() < count {
        priorities.insert(1 + rng.below(50));
    }
    priorities
        .into_iter()
        .map(|priority| {
            let mut sel = serde_json::Map::new();
            let archive = rng.chance(15);
            let status = if archive {
                *rng.pick(&["any", "tagged", "untagged"])
            } else {
                *rng.pick(&["tagged", "tagged", "tagged", "untagged", "any"])
            };
            sel.insert("tagStatus".into(), json!(status));
            if status == "tagged" {
                let n = 1 + rng.index(2);
                if rng.chance(50) {
                    let list: Vec<&str> = (0..n).map(|_| *rng.pick(&PREFIXES)).collect();
                    sel.insert("tagPrefixList".into(), json!(list));
                } else {
                    let list: Vec<&str> = (0..n).map(|_| *rng.pick(&PATTERNS)).collect();
                    sel.insert("tagPatternList".into(), json!(list));
                }
            }
            let action = if archive {
                sel.insert("storageClass".into(), json!("archive"));
                sel.insert("countType".into(), json!("sinceImageTransitioned"));
                sel.insert("countUnit".into(), json!("days"));
                sel.insert("countNumber".into(), json!(1 + rng.below(60)));
                json!({"type": "expire"})
            } else {
                match rng.below(3) {
                    0 => {
                        sel.insert("countType".into(), json!("imageCountMoreThan"));
                        sel.insert("countNumber".into(), json!(1 + rng.below(4)));
                    }
                    1 => {
                        sel.insert("countType".into(), json!("sinceImagePushed"));
                        sel.insert("countUnit".into(), json!("days"));
                        sel.insert("countNumber".into(), json!(1 + rng.below(30)));
                    }
                    _ => {
                        sel.insert("countType".into(), json!("sinceImagePulled"));
                        sel.insert("countUnit".into(), json!("days"));
                        sel.insert("countNumber".into(), json!(1 + rng.below(30)));
                    }
                }
                let pulled = sel.get("countType") == Some(&json!("sinceImagePulled"));
                if pulled || rng.chance(20) {
                    json!({"type": "transition", "targetStorageClass": "archive"})
                } else {
                    json!({"type": "expire"})
                }
            };
            json!({"rulePriority": priority, "selection": Value::Object(sel), "action": action})
        })
        .collect()
}

fn gen_images(rng: &mut Rng) -> Vec<ImageDetail> {
    let count = rng.index(15);
    let mut images: Vec<ImageDetail> = (0..count)
        .map(|i| {
            let mut tags: Vec<String> = (0..rng.index(4))
                .map(|_| (*rng.pick(&TAGS)).to_owned())
                .collect();
            tags.sort();
            tags.dedup();
            let digest = format!("sha256:{:016x}{i:048}", rng.next());
            // Half the images share a few push times, so count boundaries often fall in a tie.
            let spread = if rng.chance(50) { 3 } else { 40 };
            let mut img = ImageDetail::new(digest, tags, ago(rng, spread));
            if rng.chance(50) {
                img.last_recorded_pull_time = Some(ago(rng, 40));
            }
            if rng.chance(15) {
                img.last_activated_at = Some(ago(rng, 20));
            }
            match rng.below(20) {
                0..=2 => {
                    img.image_status = ImageStatus::Archived;
                    img.last_archived_at = Some(ago(rng, 90));
                }
                3 => img.image_status = ImageStatus::Activating,
                _ => {}
            }
            img
        })
        .collect();
    let digests: Vec<String> = images.iter().map(|i| i.digest.clone()).collect();
    if !digests.is_empty() {
        for img in &mut images {
            if rng.chance(20) {
                img.manifest_media_type =
                    Some("application/vnd.oci.image.index.v1+json".to_owned());
                img.manifests = (0..1 + rng.index(2))
                    .map(|_| rng.pick(&digests).clone())
                    .collect();
            } else if rng.chance(10) {
                img.subject_manifest_digest = Some(rng.pick(&digests).clone());
            }
        }
    }
    images
}

fn policy_text(rules: &[Value]) -> String {
    serde_json::to_string_pretty(&json!({ "rules": rules })).unwrap_or_default()
}

fn parse(rules: &[Value]) -> Policy {
    match parse_policy(&policy_text(rules), ValidationMode::Accepted) {
        Ok((policy, _)) => policy,
        Err(e) => panic!("generated policy refused: {e}\n{}", policy_text(rules)),
    }
}

/// Decisions only: digest → (action, rule), plus next pass and ties.
type Decisions = (
    BTreeMap<String, (Action, Option<i64>)>,
    BTreeSet<String>,
    BTreeSet<String>,
);

fn decisions(eval: &Evaluation) -> Decisions {
    (
        eval.verdicts()
            .iter()
            .filter_map(|v| Some((v.digest.clone(), (v.action()?, v.applied_rule_priority()))))
            .collect(),
        eval.next_pass().iter().map(|e| e.digest.clone()).collect(),
        eval.at_risk().iter().map(|e| e.digest.clone()).collect(),
    )
}

fn output_json(eval: &Evaluation, in_use: &BTreeSet<String>) -> Value {
    serde_json::to_value(eval.to_output(in_use)).unwrap_or_default()
}

#[test]
fn rule_order_in_the_text_does_not_matter() {
    for seed in 0..CASES {
        let mut rng = Rng::new(seed);
        let mut rules = gen_rules(&mut rng);
        let images = gen_images(&mut rng);
        let in_use: BTreeSet<String> = images
            .iter()
            .filter(|_| rng.chance(30))
            .map(|i| i.digest.clone())
            .collect();
        let base = evaluate(&parse(&rules), &images, now());

        rng.shuffle(&mut rules);
        let shuffled = evaluate(&parse(&rules), &images, now());
        assert_eq!(
            output_json(&base, &in_use),
            output_json(&shuffled, &in_use),
            "seed {seed}"
        );

        // Strings inside a list are a set too (AND semantics).
        for rule in &mut rules {
            for key in ["tagPrefixList", "tagPatternList"] {
                if let Some(Value::Array(list)) = rule["selection"].get_mut(key) {
                    list.reverse();
                }
            }
        }
        let reversed = evaluate(&parse(&rules), &images, now());
        assert_eq!(decisions(&base), decisions(&reversed), "seed {seed}");
    }
}

#[test]
fn a_higher_priority_match_is_never_overruled() {
    for seed in 1_000..1_000 + CASES {
        let mut rng = Rng::new(seed);
        let policy = parse(&gen_rules(&mut rng));
        let images = gen_images(&mut rng);
        let eval = evaluate(&policy, &images, now());
        for (verdict, img) in eval.verdicts().iter().zip(eval.images()) {
            let Some(applied) = verdict.applied_rule_priority() else {
                continue;
            };
            let class = img.image_status.storage_class();
            let first = policy
                .rules
                .iter()
                .find(|r| Some(r.storage_class) == class && r.matches_tags(&img.tags));
            assert_eq!(
                first.map(|r| r.rule_priority),
                Some(applied),
                "seed {seed}: {}",
                verdict.digest
            );
            assert_eq!(
                first.map(|r| r.action),
                verdict.action(),
                "seed {seed}: {}",
                verdict.digest
            );
            assert!(
                !policy.rules.iter().any(|r| r.rule_priority < applied
                    && Some(r.storage_class) == class
                    && r.matches_tags(&img.tags)),
                "seed {seed}: {} acted on by rule {applied} although a higher rule matches it",
                verdict.digest
            );
        }
    }
}

#[test]
fn children_of_a_present_index_are_never_acted_on() {
    for seed in 2_000..2_000 + CASES {
        let mut rng = Rng::new(seed);
        let policy = parse(&gen_rules(&mut rng));
        let images = gen_images(&mut rng);
        let eval = evaluate(&policy, &images, now());
        let children: BTreeSet<&str> = images
            .iter()
            .flat_map(|x| {
                x.manifests
                    .iter()
                    .filter(move |c| **c != x.digest)
                    .map(String::as_str)
            })
            .collect();
        for verdict in eval.verdicts() {
            if verdict.action().is_some() {
                assert!(
                    !children.contains(verdict.digest.as_str()),
                    "seed {seed}: {} is a guarded child",
                    verdict.digest
                );
            }
        }
        // The next pass never repeats an image acted on now, and only holds present images.
        let acted: BTreeSet<&str> = eval.results().iter().map(|v| v.digest.as_str()).collect();
        for entry in eval.next_pass() {
            assert!(
                !acted.contains(entry.digest.as_str()),
                "seed {seed}: {} twice",
                entry.digest
            );
            assert!(eval.verdict(&entry.digest).is_some(), "seed {seed}");
        }
    }
}

#[test]
fn image_list_order_does_not_matter() {
    for seed in 3_000..3_000 + CASES {
        let mut rng = Rng::new(seed);
        let policy = parse(&gen_rules(&mut rng));
        let mut images = gen_images(&mut rng);
        // Sometimes include a duplicate entry: it must be reduced the same way whatever the order.
        if !images.is_empty() && rng.chance(20) {
            let mut dup = images[rng.index(images.len())].clone();
            dup.tags.push("dup".to_owned());
            images.push(dup);
        }
        let in_use: BTreeSet<String> = images
            .iter()
            .filter(|_| rng.chance(30))
            .map(|i| i.digest.clone())
            .collect();
        let base = evaluate(&policy, &images, now());
        rng.shuffle(&mut images);
        let shuffled = evaluate(&policy, &images, now());
        assert_eq!(
            output_json(&base, &in_use),
            output_json(&shuffled, &in_use),
            "seed {seed}"
        );
        assert_eq!(
            base.in_use_report(&in_use),
            shuffled.in_use_report(&in_use),
            "seed {seed}"
        );
    }
}

/// Random bytes and random JSON never panic the parsers.
#[test]
fn parsers_never_panic() {
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"rules\"",
        "\"rulePriority\"",
        "\"selection\"",
        "\"action\"",
        "1",
        "0",
        "-1",
        "1.5",
        "1e400",
        "null",
        "true",
        "\"tagged\"",
        "\"*\"",
        "\"imageDetails\"",
        "\"imagePushedAt\"",
        "\"x\"",
    ];
    for seed in 4_000..4_000 + CASES {
        let mut rng = Rng::new(seed);
        let text: String = (0..rng.index(40)).map(|_| *rng.pick(&pieces)).collect();
        let _ = parse_policy(&text, ValidationMode::Strict);
        let _ = parse_policy(&text, ValidationMode::Accepted);
        let _ = super::parse_describe_images(&text);
        let _ = super::parse_at(&text);
    }
}

/// The generator reaches the interesting cases, so the properties above are not vacuous.
#[test]
fn generator_reaches_every_kind_of_outcome() {
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for seed in 0..CASES {
        let mut rng = Rng::new(seed);
        let policy = parse(&gen_rules(&mut rng));
        let images = gen_images(&mut rng);
        let eval = evaluate(&policy, &images, now());
        let mut bump = |k: &'static str, hit: bool| *seen.entry(k).or_default() += u32::from(hit);
        bump("expire", !eval.expired().is_empty());
        bump("transition", !eval.transitioned().is_empty());
        bump(
            "guarded",
            eval.verdicts()
                .iter()
                .any(|v| v.decision == super::Decision::Guarded),
        );
        bump(
            "protected",
            eval.verdicts()
                .iter()
                .any(|v| v.action().is_none() && !v.also_marked_by.is_empty()),
        );
        bump("next-pass", !eval.next_pass().is_empty());
        bump("at-risk", !eval.at_risk().is_empty());
        bump(
            "left-out",
            eval.verdicts()
                .iter()
                .any(|v| v.decision == super::Decision::LeftOut),
        );
    }
    for (kind, count) in &seen {
        assert!(
            *count >= 3 && *count < 1000,
            "only {count} cases with {kind}: {seen:?}"
        );
    }
}
