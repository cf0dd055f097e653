//! `lifecycle protect`'s edits and checks: the protecting tag of a digest,
//! the keep rule that holds every image carrying it, putting that rule at the
//! top of a policy (or moving an existing one up), and checking with the
//! evaluator that the rule keeps every protected image. Pure: the command
//! tags images and prints.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Value as Json};

use super::files::PolicySource;
use super::repository::short;
use crate::in_use::InUseEntry;
use crate::lifecycle::{
    evaluate, parse_policy, ImageDetail, Policy, Rule, TagStatus, ValidationMode,
};
use crate::reference::ecr::Repo;
use crate::report::{Code, Finding, Severity};

/// How many hex digits of the digest the protecting tag carries.
pub const PROTECT_HEX: usize = 12;
/// Room the suggested keep rule leaves above the images protected today.
pub const PROTECT_MARGIN: u64 = 100;

/// The protecting tag of `digest`: `prefix` + the first 12 hex digits.
pub fn protect_tag(prefix: &str, digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    format!(
        "{prefix}{}",
        hex.chars().take(PROTECT_HEX).collect::<String>()
    )
}

/// A repository's tag mutability (`imageTagMutability` and its exclusion
/// filters, `WILDCARD` patterns), as `DescribeRepositories` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutability {
    /// Tags move freely.
    Mutable,
    /// No tag can be moved.
    Immutable,
    /// Immutable, except tags matching the filters.
    ImmutableWithExclusion(Vec<String>),
    /// Mutable, except tags matching the filters.
    MutableWithExclusion(Vec<String>),
    /// A setting this imgpin does not know.
    Unknown(String),
}

impl Mutability {
    /// Whether `tag`, once on an image, can be moved to another.
    pub fn can_move(&self, tag: &str) -> Option<bool> {
        let matched = |filters: &[String]| filters.iter().any(|f| super::glob_match(f, tag));
        match self {
            Mutability::Mutable => Some(true),
            Mutability::Immutable => Some(false),
            Mutability::ImmutableWithExclusion(f) => Some(matched(f)),
            Mutability::MutableWithExclusion(f) => Some(!matched(f)),
            Mutability::Unknown(_) => None,
        }
    }

    /// The setting as ECR names it.
    pub fn name(&self) -> &str {
        match self {
            Mutability::Mutable => "MUTABLE",
            Mutability::Immutable => "IMMUTABLE",
            Mutability::ImmutableWithExclusion(_) => "IMMUTABLE_WITH_EXCLUSION",
            Mutability::MutableWithExclusion(_) => "MUTABLE_WITH_EXCLUSION",
            Mutability::Unknown(s) => s,
        }
    }
}

/// Why `tag` cannot protect `digest` in `repo` when another image, `other`,
/// carries it already: in an immutable repository `PutImage` fails; in a
/// mutable one it would move the tag and leave `other` unprotected. Says
/// what to do instead.
pub fn tag_conflict(
    repo: &Repo,
    digest: &str,
    tag: &str,
    other: &str,
    mutability: Option<&Mutability>,
) -> String {
    let head = format!(
        "{repo}: cannot protect {} with {tag}: the tag is on {} already",
        short(digest),
        short(other)
    );
    // Removing the tag deletes the other image if it is its only tag.
    let fix = format!(
        "use another --tag-prefix, or, if {} needs no protection, remove the tag (`aws ecr batch-delete-image --repository-name {} --registry-id {} --region {} --image-ids imageTag={tag}`; it deletes the image if that is its only tag)",
        short(other),
        repo.repository,
        repo.host.account,
        repo.host.region
    );
    match mutability.and_then(|m| m.can_move(tag).map(|c| (m, c))) {
        Some((m, false)) => format!(
            "{head}, and the repository's tags are immutable ({}): PutImage would fail with ImageTagAlreadyExistsException; {fix}",
            m.name()
        ),
        Some((_, true)) => format!(
            "{head}; moving it would leave that image unprotected; {fix}"
        ),
        None => format!("{head} (tag mutability not known); {fix}"),
    }
}

/// Checks a tag prefix against ECR's tag grammar (`[a-zA-Z0-9_][a-zA-Z0-9_.-]*`, 128
/// characters in all with the digest part).
pub fn check_tag_prefix(prefix: &str) -> Result<(), String> {
    let mut chars = prefix.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || prefix.len() + PROTECT_HEX > 128 {
        return Err(format!(
            "--tag-prefix {prefix:?}: an ECR tag starts with a letter, digit or _, holds only letters, digits, _ . -, and is at most 128 characters long (the prefix plus {PROTECT_HEX} hex digits)"
        ));
    }
    Ok(())
}

/// Whether `rule` is a keep rule for `prefix`: tagged, selecting exactly the prefix
/// (`tagPrefixList: [prefix]` or `tagPatternList: [prefix*]`).
pub fn is_keep_rule(rule: &Rule, prefix: &str) -> bool {
    rule.tag_status == TagStatus::Tagged
        && ((rule.tag_prefixes == [prefix] && rule.tag_patterns.is_empty())
            || (rule.tag_patterns == [format!("{prefix}*")] && rule.tag_prefixes.is_empty()))
}

/// The keep rule to add at the top: `countNumber` = protected images + a margin.
pub fn keep_rule(prefix: &str, protected: u64, priority: i64) -> Json {
    json!({
        "rulePriority": priority,
        "description": format!("imgpin: keep images tagged {prefix}* (in use)"),
        "selection": {
            "tagStatus": "tagged",
            "tagPrefixList": [prefix],
            "countType": "imageCountMoreThan",
            "countNumber": protected + PROTECT_MARGIN,
        },
        "action": {"type": "expire"},
    })
}

/// The policy with `rule` added at the top: when a rule already has priority 1, every
/// priority moves up by one (order kept). `None` text: a policy with only `rule`.
pub fn add_rule_at_top(text: Option<&str>, rule: &Json) -> Result<Json, String> {
    let mut policy = match text {
        Some(t) => policy_json(t)?,
        None => json!({"rules": []}),
    };
    insert_at_top(rules_mut(&mut policy)?, rule.clone());
    Ok(policy)
}

/// The policy with the rule of `priority` moved to the top (priority 1, or one below the
/// lowest number in use), the other rules keeping their order.
pub fn move_rule_to_top(text: &str, priority: i64) -> Result<Json, String> {
    let mut policy = policy_json(text)?;
    let rules = rules_mut(&mut policy)?;
    let at = rules
        .iter()
        .position(|r| r.get("rulePriority").and_then(Json::as_i64) == Some(priority))
        .ok_or_else(|| format!("no rule has rulePriority {priority}"))?;
    let mut rule = rules.remove(at);
    rule["rulePriority"] = json!(1);
    insert_at_top(rules, rule);
    Ok(policy)
}

fn policy_json(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("the policy is not JSON: {e}"))
}

fn rules_mut(policy: &mut Json) -> Result<&mut Vec<Json>, String> {
    policy
        .get_mut("rules")
        .and_then(Json::as_array_mut)
        .ok_or_else(|| "the policy has no \"rules\" array".to_owned())
}

/// Puts `rule` first; when its priority is not below every other rule's,
/// those move up (their order kept).
fn insert_at_top(rules: &mut Vec<Json>, rule: Json) {
    let lowest = rules
        .iter()
        .filter_map(|r| r.get("rulePriority")?.as_i64())
        .min();
    let top = rule["rulePriority"].as_i64().unwrap_or(1);
    if lowest.is_some_and(|l| l <= top) {
        let shift = top - lowest.unwrap_or(top) + 1;
        for r in rules.iter_mut() {
            if let Some(p) = r.get("rulePriority").and_then(Json::as_i64) {
                r["rulePriority"] = json!(p + shift);
            }
        }
    }
    rules.insert(0, rule);
}

/// After tagging: with a keep rule for `prefix` in the policy, checks with the evaluator
/// that it keeps every protected image; without one, prints the rule to add (and the
/// whole proposed policy) and checks that it would keep them.
pub fn check_keep_rule(
    repo: &Repo,
    prefix: &str,
    source: Option<&PolicySource>,
    images: &[ImageDetail],
    protected_at: &BTreeMap<String, InUseEntry>,
    now: DateTime<Utc>,
    findings: &mut Vec<Finding>,
) -> Json {
    let protected: &BTreeSet<String> = &protected_at.keys().cloned().collect();
    // A problem about a protected digest is placed where it is used (a GitHub annotation
    // on the deployment file), else on the repository.
    let placed = |digest: &str, message: String| match protected_at.get(digest) {
        Some(entry) => entry.finding(Code::ProtectRule, Severity::Problem, message),
        None => {
            Finding::new(Code::ProtectRule, Severity::Problem, message).location(repo.to_string())
        }
    };
    let Some(source) = source else {
        // The live policy could not be read: proposing "the policy with the keep rule on
        // top" would propose dropping every rule it has.
        findings.push(
            Finding::new(
                Code::ProtectRule,
                Severity::Warning,
                format!(
                    "{repo}: the lifecycle policy could not be evaluated (see above), so the keep rule for {prefix}* is neither checked nor proposed"
                ),
            )
            .location(repo.to_string()),
        );
        return json!({"status": "unknown", "stillActedOn": []});
    };
    let source = Some(source);
    // The repository as it is once every protected image carries its tag.
    let mut after: Vec<ImageDetail> = images.to_vec();
    for image in &mut after {
        let tag = protect_tag(prefix, &image.digest);
        if protected.contains(&image.digest) && !image.tags.contains(&tag) {
            image.tags.push(tag);
        }
    }
    let carrying = after
        .iter()
        .filter(|i| i.tags.iter().any(|t| t.starts_with(prefix)))
        .count() as u64;
    let policy = source.and_then(PolicySource::policy);
    let still_acted = |policy: &Policy| -> Vec<(String, String)> {
        let evaluation = evaluate(policy, &after, now);
        let report = evaluation.in_use_report(protected);
        report
            .findings
            .iter()
            .filter(|f| f.at_risk() || f.archived_now)
            .map(|f| (f.digest.clone(), f.reason.clone()))
            .collect()
    };
    if let Some(rule) = policy.and_then(|p| p.rules.iter().find(|r| is_keep_rule(r, prefix))) {
        let failing = still_acted(policy.unwrap_or(&Policy { rules: Vec::new() }));
        let label = rule.label();
        if failing.is_empty() {
            findings.push(
                Finding::new(
                    Code::ProtectRule,
                    Severity::Note,
                    format!(
                        "{repo}: {label} keeps {prefix}* images; the evaluator finds every one of the {} protected images kept",
                        protected.len()
                    ),
                )
                .location(repo.to_string()),
            );
        }
        for (digest, reason) in &failing {
            findings.push(placed(
                digest,
                format!(
                    "{repo}: {} is tagged {} but the policy would still act on it, although {label} selects {prefix}*: {reason}",
                    short(digest),
                    protect_tag(prefix, digest)
                ),
            ));
        }
        let mut doc = json!({
            "status": if failing.is_empty() { "present" } else { "insufficient" },
            "rulePriority": rule.rule_priority,
            "stillActedOn": failing.iter().map(|(d, _)| d).collect::<Vec<_>>(),
        });
        // The usual cause: a higher rule owns the protected images (they carry its tags
        // too). Propose the policy with the keep rule moved to the top, if that helps.
        let is_top = policy
            .and_then(|p| p.rules.iter().map(|r| r.rule_priority).min())
            .is_some_and(|top| top == rule.rule_priority);
        if !failing.is_empty() && !is_top {
            let moved = source
                .and_then(PolicySource::text)
                .and_then(|text| move_rule_to_top(text, rule.rule_priority).ok());
            if let Some(moved) = moved {
                let moved_text = format!("{moved:#}");
                let still = match parse_policy(&moved_text, ValidationMode::Accepted) {
                    Ok((p, _)) => still_acted(&p),
                    Err(e) => vec![(String::new(), e.to_string())],
                };
                let outcome = if still.is_empty() {
                    "keeps every protected image".to_owned()
                } else {
                    format!("still leaves {} of them acted on", still.len())
                };
                findings.push(
                    Finding::new(
                        Code::ProtectRule,
                        Severity::Warning,
                        format!(
                            "{repo}: moving {label} to the top priority (the others move down, order kept) {outcome}; the whole policy is `proposedPolicy` in --format json: {}",
                            moved
                        ),
                    )
                    .location(repo.to_string()),
                );
                doc["proposedPolicy"] = moved_text.into();
                doc["stillActedOnIfMoved"] =
                    json!(still.iter().map(|(d, _)| d).collect::<Vec<_>>());
            }
        }
        return doc;
    }
    let rule = keep_rule(prefix, carrying, 1);
    let proposed = match add_rule_at_top(source.and_then(PolicySource::text), &rule) {
        Ok(p) => p,
        Err(e) => {
            findings.push(
                Finding::new(
                    Code::PolicyInvalid,
                    Severity::Error,
                    format!("{repo}: cannot add the keep rule to the policy: {e}"),
                )
                .location(repo.to_string()),
            );
            return json!({"status": "missing", "suggested": rule});
        }
    };
    let proposed_text = format!("{proposed:#}");
    let failing = match parse_policy(&proposed_text, ValidationMode::Accepted) {
        Ok((p, _)) => still_acted(&p),
        Err(e) => vec![(String::new(), e.to_string())],
    };
    let rule_text = rule.to_string();
    findings.push(
        Finding::new(
            Code::ProtectRule,
            Severity::Warning,
            format!(
                "{repo}: the policy has no rule keeping {prefix}* images; add this rule at the top priority (other priorities move down by one if needed): {rule_text} — it keeps the {} most recently pushed {prefix}* images ({carrying} carry the tag now, plus room for {PROTECT_MARGIN} more); past that count the rule itself expires the oldest, so raise countNumber or remove {prefix} tags of retired releases",
                carrying + PROTECT_MARGIN
            ),
        )
        .location(repo.to_string()),
    );
    for (digest, reason) in &failing {
        findings.push(placed(
            digest,
            format!(
                "{repo}: even with the keep rule, {} would be acted on: {reason}",
                short(digest)
            ),
        ));
    }
    json!({
        "status": "missing",
        "suggested": rule,
        "proposedPolicy": proposed_text,
        "stillActedOn": failing.iter().map(|(d, _)| d).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod conflict_tests {
    use super::*;
    use crate::reference::ecr::EcrHost;

    #[test]
    fn a_tag_on_another_image_is_never_moved_and_immutability_is_explained() {
        let repo = Repo {
            host: EcrHost {
                account: "111122223333".into(),
                region: "us-west-2".into(),
                fips: false,
                dual_stack: false,
            },
            repository: "api".into(),
        };
        let (d, other) = (
            format!("sha256:{}", "a".repeat(64)),
            format!("sha256:{}", "b".repeat(64)),
        );
        let tag = protect_tag("keep-", &d);
        let immutable = tag_conflict(&repo, &d, &tag, &other, Some(&Mutability::Immutable));
        assert!(
            immutable.contains("the repository's tags are immutable (IMMUTABLE): PutImage would fail with ImageTagAlreadyExistsException; use another --tag-prefix"),
            "{immutable}"
        );
        let mutable = tag_conflict(&repo, &d, &tag, &other, Some(&Mutability::Mutable));
        assert!(
            mutable.contains("moving it would leave that image unprotected"),
            "{mutable}"
        );
        assert!(
            mutable.contains("--image-ids imageTag=keep-aaaaaaaaaaaa"),
            "{mutable}"
        );
        // An exclusion filter decides per tag.
        let excluded = Mutability::ImmutableWithExclusion(vec!["keep-*".into()]);
        assert_eq!(excluded.can_move(&tag), Some(true));
        assert_eq!(excluded.can_move("v1"), Some(false));
        let only = Mutability::MutableWithExclusion(vec!["keep-*".into()]);
        assert_eq!(only.can_move(&tag), Some(false));
        assert_eq!(Mutability::Unknown("X".into()).can_move(&tag), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::*;
    use crate::reference::ecr::parse_ecr_host;

    #[test]
    fn protect_tag_and_prefix_rules() {
        assert_eq!(protect_tag("keep-", D1), "keep-111111111111");
        assert!(check_tag_prefix("keep-").is_ok());
        assert!(check_tag_prefix("-keep").is_err());
        assert!(check_tag_prefix("keep/").is_err());
        assert!(check_tag_prefix("").is_err());
    }

    #[test]
    fn an_unreadable_live_policy_is_never_replaced_by_a_proposal() {
        let repo = Repo {
            host: parse_ecr_host(HOST).unwrap(),
            repository: "api".into(),
        };
        let protected: BTreeMap<String, InUseEntry> = [(D1.to_owned(), entry(D1))].into();
        let now = crate::lifecycle::parse_at("2026-06-01").unwrap();
        let mut findings = Vec::new();
        let doc = check_keep_rule(
            &repo,
            "keep-",
            None,
            &images(),
            &protected,
            now,
            &mut findings,
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].code, Code::ProtectRule);
        assert_eq!(doc["status"], "unknown");
        assert!(doc.get("proposedPolicy").is_none(), "{doc}");
        assert!(doc.get("suggested").is_none(), "{doc}");
    }

    #[test]
    fn a_keep_rule_below_the_top_can_be_moved_up() {
        let text = r#"{"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
             "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 5, "description": "keep", "selection": {"tagStatus": "tagged",
             "tagPrefixList": ["keep-"], "countType": "imageCountMoreThan", "countNumber": 100},
             "action": {"type": "expire"}}]}"#;
        let moved = move_rule_to_top(text, 5).unwrap();
        let rules = moved["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["description"], "keep");
        assert_eq!(rules[0]["rulePriority"], 1);
        assert_eq!(rules[1]["rulePriority"], 2);
        assert_eq!(rules[1]["selection"]["tagPrefixList"][0], "v");
        assert!(move_rule_to_top(text, 3).is_err());
    }

    #[test]
    fn keep_rule_goes_on_top_and_is_recognised() {
        let added = add_rule_at_top(Some(KEEP_TWO), &keep_rule("keep-", 3, 1)).unwrap();
        let rules = added["rules"].as_array().unwrap();
        assert_eq!(rules[0]["rulePriority"], 1);
        assert_eq!(rules[0]["selection"]["countNumber"], 103);
        assert_eq!(rules[1]["rulePriority"], 2);
        let parsed = policy(&serde_json::to_string_pretty(&added).unwrap());
        assert!(is_keep_rule(&parsed.rules[0], "keep-"));
        assert!(!is_keep_rule(&parsed.rules[1], "keep-"));
        let alone = add_rule_at_top(None, &keep_rule("keep-", 0, 1)).unwrap();
        assert_eq!(alone["rules"].as_array().unwrap().len(), 1);
        let spaced = r#"{"rules":[{"rulePriority":5,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}"#;
        let kept = add_rule_at_top(Some(spaced), &keep_rule("keep-", 0, 1)).unwrap();
        assert_eq!(kept["rules"][1]["rulePriority"], 5);
    }
}
