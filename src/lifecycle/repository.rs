//! Evaluating one repository: its policy (or none) over its image list at a
//! given time, intersected with the uses resolved in it; every use whose
//! image would be expired, archived, is at risk or already archived gets a
//! finding placed where it is used, and the repository's part of the JSON
//! document. Pure.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value as Json};

use super::protect::PROTECT_HEX;
use super::repos::Use;
use crate::lifecycle::{evaluate, Fate, ImageDetail, InUseFinding, Policy, Rule};
use crate::reference::ecr::Repo;
use crate::report::{Code, Finding, Severity};

/// Names a repository in the JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoMeta {
    /// Repository name (`null` offline).
    pub repository: Option<String>,
    /// Account id (`null` offline).
    pub registry_id: Option<String>,
    /// Region (`null` offline).
    pub region: Option<String>,
    /// For messages: `repository api (account …, us-east-1)` or `the image list FILE`.
    pub label: String,
}

impl RepoMeta {
    /// The names of a live repository.
    pub fn of(repo: &Repo) -> RepoMeta {
        RepoMeta {
            repository: Some(repo.repository.clone()),
            registry_id: Some(repo.host.account.clone()),
            region: Some(repo.host.region.clone()),
            label: repo.to_string(),
        }
    }

    fn tag(&self, item: &mut Json) {
        if let Json::Object(obj) = item {
            obj.insert("repository".into(), json!(self.repository));
            obj.insert("registryId".into(), json!(self.registry_id));
            obj.insert("region".into(), json!(self.region));
        }
    }
}

/// What one repository contributes to the output.
#[derive(Debug, Clone, Default)]
pub struct RepoOutcome {
    /// Findings, placed where each image is used.
    pub findings: Vec<Finding>,
    /// The repository's entry of `repositories`.
    pub doc: Map<String, Json>,
    /// Its `results`, `nextPass` and `atRisk` entries, each tagged with the repository.
    pub results: Vec<Json>,
    /// See `results`.
    pub next_pass: Vec<Json>,
    /// See `results`.
    pub at_risk: Vec<Json>,
    /// Images in the list.
    pub images: usize,
    /// Images expired in this pass.
    pub expiring: usize,
    /// Images archived in this pass.
    pub archiving: usize,
    /// In-use digests (index children included).
    pub in_use: usize,
    /// In-use digests at risk (expired, archived, next pass, tie, archived now).
    pub in_use_at_risk: usize,
    /// Bare digests this repository holds.
    pub bare_found: BTreeSet<String>,
}

pub fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!(
            "{alg}:{}",
            hex.chars().take(PROTECT_HEX).collect::<String>()
        ),
        None => digest.to_owned(),
    }
}

/// Evaluates one repository's policy (`None`: no policy) at `now` and reports every use
/// whose image the policy would expire or archive, is at risk, or already archived.
pub fn evaluate_repository(
    meta: &RepoMeta,
    policy: Option<&Policy>,
    images: &[ImageDetail],
    now: DateTime<Utc>,
    uses: &[Use],
) -> RepoOutcome {
    let mut out = RepoOutcome {
        images: images.len(),
        ..RepoOutcome::default()
    };
    let in_repo: BTreeSet<&str> = images.iter().map(|i| i.digest.as_str()).collect();
    let mut used_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut from_tag: BTreeMap<String, String> = BTreeMap::new();
    for u in uses {
        match (&u.digest, &u.tag) {
            (None, Some(tag)) => out.findings.push(u.entry.finding(
                Code::LifecycleImageMissing,
                Severity::Warning,
                format!(
                    "{}: tag {tag} is not in {}, so its image cannot be checked (and cannot be pulled)",
                    u.entry.written(),
                    meta.label
                ),
            )),
            (Some(d), _) if u.bare && !in_repo.contains(d.as_str()) => {}
            (Some(d), tag) => {
                if u.bare {
                    out.bare_found.insert(d.clone());
                }
                if let Some(tag) = tag {
                    from_tag.insert(d.clone(), tag.clone());
                    out.findings.push(u.entry.finding(
                        Code::LifecycleTagResolved,
                        Severity::Note,
                        format!(
                            "{}: no digest written; checked {} that tag {tag} points at now in {} (pin it with `imgpin pin` to check what is deployed)",
                            u.entry.written(),
                            short(d),
                            meta.label
                        ),
                    ));
                }
                used_by.entry(d.clone()).or_default().push(u.entry.label.clone());
            }
            (None, None) => {}
        }
    }
    let Some(policy) = policy else {
        out.doc.insert("images".into(), images.len().into());
        out.doc.insert(
            "inUse".into(),
            Json::Array(
                used_by
                    .iter()
                    .map(|(d, labels)| json!({"digest": d, "usedBy": labels, "fate": "no-policy"}))
                    .collect(),
            ),
        );
        out.in_use = used_by.len();
        return out;
    };
    let evaluation = evaluate(policy, images, now);
    let digests: BTreeSet<String> = used_by.keys().cloned().collect();
    let output = evaluation.to_output(&digests);
    let report = evaluation.in_use_report(&digests);
    out.in_use = report.findings.len();
    out.in_use_at_risk = report
        .findings
        .iter()
        .filter(|f| f.at_risk() || f.archived_now)
        .count();
    out.expiring = output.summary.expiring_image_total_count;
    out.archiving = output
        .summary
        .transitioning_image_total_counts
        .iter()
        .map(|t| t.image_total_count)
        .sum();
    let by_digest: BTreeMap<&str, &InUseFinding> = report
        .findings
        .iter()
        .map(|f| (f.digest.as_str(), f))
        .collect();

    for u in uses {
        let Some(d) = &u.digest else { continue };
        if u.bare && !in_repo.contains(d.as_str()) {
            continue;
        }
        let mut concerned: Vec<&InUseFinding> =
            by_digest.get(d.as_str()).copied().into_iter().collect();
        concerned.extend(
            report
                .findings
                .iter()
                .filter(|f| f.via_index.as_deref() == Some(d.as_str())),
        );
        for f in concerned {
            if let Some(finding) = use_finding(meta, policy, u, f, from_tag.get(d)) {
                out.findings.push(finding);
            }
        }
    }

    let tagged = |items: &[Json]| -> Vec<Json> {
        items
            .iter()
            .cloned()
            .map(|mut v| {
                meta.tag(&mut v);
                v
            })
            .collect()
    };
    let value = serde_json::to_value(&output).unwrap_or(Json::Null);
    let array = |key: &str| {
        value
            .get(key)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    out.results = tagged(&array("results"));
    out.next_pass = tagged(&array("nextPass"));
    out.at_risk = tagged(&array("atRisk"));
    out.doc
        .insert("evaluatedAt".into(), value["evaluatedAt"].clone());
    out.doc.insert("images".into(), images.len().into());
    out.doc.insert("summary".into(), value["summary"].clone());
    let in_use: Vec<Json> = report
        .findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Json::Null);
            if let Json::Object(obj) = &mut v {
                let labels = used_by.get(&f.digest).cloned().unwrap_or_default();
                obj.insert("usedBy".into(), json!(labels));
                if let Some(tag) = from_tag.get(&f.digest) {
                    obj.insert("resolvedFromTag".into(), json!(tag));
                }
                obj.insert("atRisk".into(), json!(f.at_risk() || f.archived_now));
            }
            v
        })
        .collect();
    out.doc.insert("inUse".into(), Json::Array(in_use));
    // Always an array (docs/lifecycle.md), also when the evaluator has nothing to say.
    let notes = value.get("notes").cloned().unwrap_or_else(|| json!([]));
    out.doc.insert("notes".into(), notes);
    out
}

/// The finding for one use and what happens to one in-use digest (the used image or a
/// child of it), if there is something to say.
fn use_finding(
    meta: &RepoMeta,
    policy: &Policy,
    u: &Use,
    f: &InUseFinding,
    tag: Option<&String>,
) -> Option<Finding> {
    let written = u.entry.written();
    let used_by = match &u.entry.place {
        Some(_) => String::new(),
        None => format!(", used by {},", u.entry.label),
    };
    let subject = match &f.via_index {
        Some(_) => format!("{written}{used_by} its child manifest {}", short(&f.digest)),
        None => format!("{written} ({}){used_by}", short(&f.digest)),
    };
    let tag_note = match tag {
        Some(t) => format!(
            " [checked the digest tag {t} points at now; a deployment that resolved the tag earlier may use another]"
        ),
        None => String::new(),
    };
    let rule = f
        .applied_rule_priority
        .and_then(|p| policy.rule_by_priority(p))
        .map(Rule::label);
    let by_rule = rule
        .filter(|r| !f.reason.contains(r.as_str()))
        .map(|r| format!(", by {r}"))
        .unwrap_or_default();
    let (code, severity) = if f.archived_now {
        (Code::LifecycleArchived, Severity::Problem)
    } else {
        match f.fate {
            Fate::Expire => (Code::LifecycleExpires, Severity::Problem),
            Fate::Transition => (Code::LifecycleArchives, Severity::Problem),
            Fate::NextPass | Fate::TieAtBoundary => (Code::LifecycleAtRisk, Severity::Problem),
            Fate::Kept if f.warning.is_some() => (Code::LifecycleSoon, Severity::Warning),
            Fate::NotInRepository if f.via_index.is_none() => {
                return Some(u.entry.finding(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    format!(
                        "{subject} is not in {}: it cannot be pulled (deleted already?){tag_note}",
                        meta.label
                    ),
                ))
            }
            _ => return None,
        }
    };
    let warning = f.warning.clone().unwrap_or_default();
    Some(u.entry.finding(
        code,
        severity,
        format!(
            "{subject} in {} {warning}{by_rule}: {}{tag_note}",
            meta.label, f.reason
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_use::InUseEntry;
    use crate::lifecycle::fixtures::*;
    use crate::lifecycle::{parse_describe_images, resolve_uses};
    use crate::reference::ImageRef;
    use std::path::Path;

    #[test]
    fn findings_name_the_place_the_rule_and_the_reason() {
        let file_entry = InUseEntry {
            label: "k8s/web.yaml:3:12".into(),
            place: Some(("k8s/web.yaml".into(), 3, 12)),
            reference: ImageRef::parse(&format!("{HOST}/api:v1")).ok(),
            ..InUseEntry::default()
        };
        let uses = resolve_uses(
            &[file_entry, entry(D3), entry(&format!("{HOST}/api:zzz"))],
            &images(),
        );
        let meta = RepoMeta {
            repository: Some("api".into()),
            registry_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            label: "repository api".into(),
        };
        let now = crate::lifecycle::parse_at("2026-06-01").unwrap();
        let out = evaluate_repository(&meta, Some(&policy(KEEP_TWO)), &images(), now, &uses);
        let expires: Vec<&Finding> = out
            .findings
            .iter()
            .filter(|f| f.code == Code::LifecycleExpires)
            .collect();
        assert_eq!(expires.len(), 1, "{:?}", out.findings);
        let f = expires[0];
        assert_eq!(f.severity, Severity::Problem);
        assert_eq!(f.file.as_deref(), Some(Path::new("k8s/web.yaml")));
        assert_eq!((f.line, f.column), (Some(3), Some(12)));
        assert!(f.message.contains("rule 1 (\"keep two\")"), "{}", f.message);
        assert!(f.message.contains("will be deleted"), "{}", f.message);
        assert!(f.message.contains("tag v1 points at now"), "{}", f.message);
        assert!(out
            .findings
            .iter()
            .any(|f| f.code == Code::LifecycleTagResolved));
        assert!(out
            .findings
            .iter()
            .any(|f| f.code == Code::LifecycleImageMissing && f.message.contains("zzz")));
        assert_eq!(out.expiring, 1);
        assert_eq!(out.in_use, 2);
        assert_eq!(out.in_use_at_risk, 1);
        assert_eq!(out.results.len(), 1);
        assert_eq!(out.results[0]["repository"], "api");
        assert_eq!(out.results[0]["inUse"], true);
        assert_eq!(out.results[0]["appliedRulePriority"], 1);
        let in_use = out.doc["inUse"].as_array().unwrap();
        let first = in_use.iter().find(|v| v["digest"] == D1).unwrap();
        assert_eq!(first["usedBy"][0], "k8s/web.yaml:3:12");
        assert_eq!(first["resolvedFromTag"], "v1");
    }

    fn meta() -> RepoMeta {
        RepoMeta {
            repository: Some("api".into()),
            registry_id: None,
            region: None,
            label: "repository api".into(),
        }
    }

    #[test]
    fn one_push_from_the_edge_is_a_warning_and_archived_now_a_problem() {
        let now = crate::lifecycle::parse_at("2026-06-01").unwrap();
        // v2 ranks 2nd of a keep-2 window: one more matching push puts it out.
        let uses = resolve_uses(&[entry(&format!("{HOST}/api@{D2}"))], &images());
        let out = evaluate_repository(&meta(), Some(&policy(KEEP_TWO)), &images(), now, &uses);
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].code, Code::LifecycleSoon);
        assert_eq!(out.findings[0].severity, Severity::Warning);
        assert_eq!(out.in_use_at_risk, 0);

        let archived = parse_describe_images(&format!(
            r#"[{{"imageDigest":"{D1}","imageTags":["old"],"imagePushedAt":"2025-01-01T00:00:00Z",
                 "imageStatus":"ARCHIVED","lastArchivedAt":"2026-05-01T00:00:00Z"}}]"#
        ))
        .unwrap();
        let uses = resolve_uses(&[entry(&format!("{HOST}/api@{D1}"))], &archived);
        let out = evaluate_repository(&meta(), Some(&policy(KEEP_TWO)), &archived, now, &uses);
        assert_eq!(
            out.findings[0].code,
            Code::LifecycleArchived,
            "{:?}",
            out.findings
        );
        assert_eq!(out.findings[0].severity, Severity::Problem);
        assert!(out.findings[0].message.contains("ARCHIVED now"));
        assert_eq!(out.in_use_at_risk, 1);
    }

    #[test]
    fn bare_digests_only_concern_repositories_that_hold_them() {
        let now = crate::lifecycle::parse_at("2026-06-01").unwrap();
        let other = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
        let uses = resolve_uses(&[entry(D1), entry(other)], &images());
        let out = evaluate_repository(&meta(), Some(&policy(KEEP_TWO)), &images(), now, &uses);
        assert_eq!(out.bare_found.iter().collect::<Vec<_>>(), [D1]);
        assert!(out.findings.iter().all(|f| !f.message.contains(other)));
        assert!(out.findings.iter().any(|f| f.code == Code::LifecycleExpires
            && f.location.as_deref() == Some(&*format!("--in-use {D1}"))));
    }

    #[test]
    fn no_policy_means_nothing_expires() {
        let uses = resolve_uses(&[entry(&format!("{HOST}/api:v1"))], &images());
        let meta = RepoMeta {
            repository: None,
            registry_id: None,
            region: None,
            label: "x".into(),
        };
        let out = evaluate_repository(&meta, None, &images(), Utc::now(), &uses);
        assert!(out.findings.iter().all(|f| f.severity < Severity::Problem));
        assert_eq!(out.expiring, 0);
    }
}
