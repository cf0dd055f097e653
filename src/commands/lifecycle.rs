//! `imgpin lifecycle`: will an ECR lifecycle policy delete or archive an image that is
//! still in use? And `imgpin lifecycle protect`: tag in-use images so a keep rule holds
//! them.
//!
//! The rule of this module: it is glue. In-use images are collected as a list of
//! [`InUseEntry`] (files, `--in-use` values, and any other source through a small
//! adapter such as [`entries_from_ecs_rows`]), grouped by repository, resolved against
//! one `DescribeImages` snapshot, and handed to the pure evaluator
//! ([`crate::lifecycle`]); AWS calls go through [`crate::ecr_live`] only, and everything
//! said goes through the [`Printer`]. The steps in between ([`group_by_repository`],
//! [`resolve_uses`], [`evaluate_repository`], [`load_policy_file`]) are pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{json, Map, Value as Json};

use super::in_use::{self, InUseSources};
pub use super::in_use::{
    entries_from_ecs_rows, entries_from_scan, parse_in_use, parse_in_use_json, EcsImageRow,
    InUseEntry,
};
use crate::aws::ecr::{AwsError, ImageList, LiveEcr, LivePolicy, PutOutcome};
use crate::cli::{AwsArgs, LifecycleArgs, LifecycleCommand, LifecycleSource, ProtectArgs};
use crate::lifecycle::{
    evaluate, parse_describe_images, parse_policy, Fate, ImageDetail, InUseFinding, Policy,
    PolicyError, PolicyNote, Rule, TagStatus, ValidationMode,
};
use crate::reference::ecr::parse_ecr_host;
use crate::reference::ecr::Repo;
use crate::report::{Code, Finding, Printer, Severity, Status};

/// How many hex digits of the digest the protecting tag carries.
const PROTECT_HEX: usize = 12;
/// Room the suggested keep rule leaves above the images protected today.
const PROTECT_MARGIN: u64 = 100;

/// The in-use sources of `lifecycle` and `lifecycle protect`.
fn sources<'a>(source: &'a LifecycleSource, aws: &'a AwsArgs) -> InUseSources<'a> {
    InUseSources {
        args: &source.in_use,
        profile: aws.aws_profile.as_deref(),
        timeout: aws.timeout,
    }
}

// ---------------------------------------------------------------------------------------
// Grouping and resolution
// ---------------------------------------------------------------------------------------

/// The in-use entries of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoGroup {
    /// The repository.
    pub repo: Repo,
    /// Its entries.
    pub entries: Vec<InUseEntry>,
}

impl RepoGroup {
    /// An error about the whole repository (a failed ECR call), placed where the
    /// repository is first used and naming the other uses, so that the user finds the
    /// file, service or `--in-use` value that leads to it.
    pub fn failure(&self, message: String) -> Finding {
        let Some(first) = self.entries.first() else {
            return Finding::new(Code::AwsError, Severity::Error, message)
                .location(self.repo.to_string());
        };
        let others: Vec<&str> = self
            .entries
            .iter()
            .skip(1)
            .map(|e| e.label.as_str())
            .filter(|l| *l != first.label)
            .collect();
        let message = match others.len() {
            0 => message,
            1..=3 => format!("{message} (also used by {})", others.join(", ")),
            n => format!(
                "{message} (also used by {} and {} more)",
                others[..3].join(", "),
                n - 3
            ),
        };
        first.finding(Code::AwsError, Severity::Error, message)
    }
}

/// What [`group_by_repository`] sorts entries into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouped {
    /// ECR references, per (account, region, repository), sorted.
    pub groups: Vec<RepoGroup>,
    /// Bare digests: they apply to every repository that holds them.
    pub bare: Vec<InUseEntry>,
    /// References to other registries: no lifecycle policy applies.
    pub foreign: Vec<InUseEntry>,
}

/// Groups entries by ECR repository (account, region, repository name); the first host
/// spelling seen for a repository is the one its calls use.
pub fn group_by_repository(entries: Vec<InUseEntry>) -> Grouped {
    let mut groups: BTreeMap<(String, String, String), RepoGroup> = BTreeMap::new();
    let mut out = Grouped::default();
    for entry in entries {
        let Some(reference) = &entry.reference else {
            out.bare.push(entry);
            continue;
        };
        let Some(host) = parse_ecr_host(reference.domain()) else {
            out.foreign.push(entry);
            continue;
        };
        let key = (
            host.account.clone(),
            host.region.clone(),
            reference.repository().to_owned(),
        );
        let repository = reference.repository().to_owned();
        groups
            .entry(key)
            .or_insert_with(|| RepoGroup {
                repo: Repo { host, repository },
                entries: Vec::new(),
            })
            .entries
            .push(entry);
    }
    out.groups = groups.into_values().collect();
    out
}

/// One entry resolved against a repository's image list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The entry.
    pub entry: InUseEntry,
    /// The digest checked: the entry's own, or the one its tag points at in the snapshot.
    pub digest: Option<String>,
    /// Set when the entry named a tag only: that tag (resolved, or not found when
    /// `digest` is `None`).
    pub tag: Option<String>,
    /// A bare digest, which only concerns repositories that hold it.
    pub bare: bool,
}

/// Resolves each entry to the digest it uses; tag-only references go through the same
/// image list the policy is evaluated on (`latest` when no tag is written).
pub fn resolve_uses(entries: &[InUseEntry], images: &[ImageDetail]) -> Vec<Use> {
    entries
        .iter()
        .map(|entry| {
            if let Some(d) = &entry.digest {
                return Use {
                    entry: entry.clone(),
                    digest: Some(d.clone()),
                    tag: None,
                    bare: entry.reference.is_none(),
                };
            }
            let tag = entry
                .reference
                .as_ref()
                .map_or("latest", |r| r.tag_or_latest())
                .to_owned();
            let digest = images
                .iter()
                .find(|i| i.tags.contains(&tag))
                .map(|i| i.digest.clone());
            Use {
                entry: entry.clone(),
                digest,
                tag: Some(tag),
                bare: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------

/// Reads and strictly validates a policy file. Findings point at the rule
/// (`path:line:col` of the rule object): errors refuse the file, warnings are returned
/// with the policy.
pub fn load_policy_file(path: &Path) -> Result<(Policy, String, Vec<Finding>), Vec<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Finding::new(
            Code::ReadError,
            Severity::Error,
            format!("cannot read the policy: {e}"),
        )
        .in_file(path)]
    })?;
    // `aws ecr get-lifecycle-policy` output (or a put-lifecycle-policy input): the policy
    // is the string in lifecyclePolicyText. Places then name the line inside that string.
    let (text, wrapped) = match wrapped_policy_text(&text) {
        Some((inner, at)) => (inner, Some(at)),
        None => (text, None),
    };
    let rewrap = |findings: Vec<Finding>| -> Vec<Finding> {
        let Some(at) = wrapped else { return findings };
        findings
            .into_iter()
            .map(|mut f| {
                if let (Some(l), Some(c)) = (f.line, f.column) {
                    f.message = format!("{} (lifecyclePolicyText line {l}, column {c})", f.message);
                }
                f.at(at)
            })
            .collect()
    };
    match parse_policy(&text, ValidationMode::Strict) {
        Ok((policy, notes)) => {
            let findings = rewrap(policy_note_findings(path, &text, &notes));
            Ok((policy, text, findings))
        }
        Err(PolicyError::Json {
            line,
            column,
            message,
        }) => Err(rewrap(vec![Finding::new(
            Code::PolicyInvalid,
            Severity::Error,
            format!("the lifecycle policy is not valid JSON: {message}"),
        )
        .in_file(path)
        .at((line, column))])),
        Err(PolicyError::Invalid { problems }) => {
            Err(rewrap(policy_note_findings(path, &text, &problems)))
        }
    }
}

/// The policy inside a `{"lifecyclePolicyText": "…"}` document (what `aws ecr
/// get-lifecycle-policy` prints), with the line and column of that key in the file.
fn wrapped_policy_text(text: &str) -> Option<(String, (usize, usize))> {
    let value: Json = serde_json::from_str(text).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("rules") {
        return None;
    }
    let inner = obj.get("lifecyclePolicyText")?.as_str()?.to_owned();
    let offset = text.find("\"lifecyclePolicyText\"").unwrap_or(0);
    Some((inner, crate::locate::line_col(text.as_bytes(), offset)))
}

/// One finding per validation note, at the rule it is about.
fn policy_note_findings(path: &Path, text: &str, notes: &[PolicyNote]) -> Vec<Finding> {
    let places = rule_places(text);
    notes
        .iter()
        .map(|note| {
            let (code, severity) = match note.severity {
                crate::lifecycle::Severity::Error => (Code::PolicyInvalid, Severity::Error),
                crate::lifecycle::Severity::Warning => (Code::PolicyNote, Severity::Warning),
                crate::lifecycle::Severity::Note => (Code::PolicyNote, Severity::Note),
            };
            let place = note
                .rule
                .and_then(|r| places.get(r.position.checked_sub(1)?).copied())
                .unwrap_or((1, 1));
            Finding::new(code, severity, format!("[{}] {note}", note.check.code()))
                .in_file(path)
                .at(place)
        })
        .collect()
}

/// Line and column of each element of the top-level `rules` array, in order.
fn rule_places(text: &str) -> Vec<(usize, usize)> {
    use crate::locate::tree::Node;
    let Ok(root) = crate::locate::json::parse(text) else {
        return Vec::new();
    };
    let Some(items) = root.get("rules").and_then(Node::items) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let offset = match item {
                Node::Map { offset, .. } | Node::Seq { offset, .. } => *offset,
                Node::Scalar(s) => s.span.start,
            };
            crate::locate::line_col(text.as_bytes(), offset)
        })
        .collect()
}

/// Which policy a repository is evaluated with.
#[derive(Debug, Clone)]
enum PolicySource {
    /// `--policy FILE`.
    File(PathBuf, Policy, String),
    /// The repository's live policy.
    Live(Policy, LivePolicy),
    /// The repository has none.
    None,
}

impl PolicySource {
    fn policy(&self) -> Option<&Policy> {
        match self {
            PolicySource::File(_, p, _) | PolicySource::Live(p, _) => Some(p),
            PolicySource::None => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            PolicySource::File(_, _, t) => Some(t),
            PolicySource::Live(_, live) => Some(&live.text),
            PolicySource::None => None,
        }
    }

    fn describe(&self, doc: &mut Map<String, Json>) {
        match self {
            PolicySource::File(path, _, _) => {
                doc.insert("policy".into(), "file".into());
                doc.insert("policyFile".into(), path.display().to_string().into());
            }
            PolicySource::Live(_, live) => {
                doc.insert("policy".into(), "live".into());
                if let Some(t) = live.last_evaluated_at {
                    doc.insert(
                        "lastEvaluatedAt".into(),
                        crate::lifecycle::ser::rfc3339_string(&t).into(),
                    );
                }
            }
            PolicySource::None => {
                doc.insert("policy".into(), "none".into());
            }
        }
    }
}

/// The live policy of `repo`, read as AWS accepted it; notes become findings.
fn live_policy_source(
    repo: &Repo,
    live: Option<LivePolicy>,
    findings: &mut Vec<Finding>,
) -> Option<PolicySource> {
    let Some(live) = live else {
        findings.push(
            Finding::new(
                Code::LifecycleNoPolicy,
                Severity::Note,
                format!("{repo}: no lifecycle policy: nothing expires"),
            )
            .location(repo.to_string()),
        );
        return Some(PolicySource::None);
    };
    match parse_policy(&live.text, ValidationMode::Accepted) {
        Ok((policy, notes)) => {
            for note in notes {
                findings.push(
                    Finding::new(
                        Code::PolicyNote,
                        Severity::Note,
                        format!("{repo}: live policy: [{}] {note}", note.check.code()),
                    )
                    .location(repo.to_string()),
                );
            }
            Some(PolicySource::Live(policy, live))
        }
        Err(e) => {
            findings.push(
                Finding::new(
                    Code::PolicyInvalid,
                    Severity::Error,
                    format!("{repo}: the live lifecycle policy cannot be evaluated: {e}"),
                )
                .location(repo.to_string()),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation of one repository
// ---------------------------------------------------------------------------------------

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
    fn of(repo: &Repo) -> RepoMeta {
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

fn short(digest: &str) -> String {
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

// ---------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------

/// Everything the repositories contribute, for the summary and the JSON document.
#[derive(Debug, Default)]
struct Totals {
    repositories: Vec<Json>,
    results: Vec<Json>,
    next_pass: Vec<Json>,
    at_risk: Vec<Json>,
    images: usize,
    expiring: usize,
    archiving: usize,
    in_use: usize,
    in_use_at_risk: usize,
}

impl Totals {
    fn add(&mut self, meta: &RepoMeta, source: Option<&PolicySource>, outcome: RepoOutcome) {
        let mut doc = Map::new();
        doc.insert("repository".into(), json!(meta.repository));
        doc.insert("registryId".into(), json!(meta.registry_id));
        doc.insert("region".into(), json!(meta.region));
        if let Some(source) = source {
            source.describe(&mut doc);
        }
        doc.extend(outcome.doc);
        self.repositories.push(Json::Object(doc));
        self.results.extend(outcome.results);
        self.next_pass.extend(outcome.next_pass);
        self.at_risk.extend(outcome.at_risk);
        self.images += outcome.images;
        self.expiring += outcome.expiring;
        self.archiving += outcome.archiving;
        self.in_use += outcome.in_use;
        self.in_use_at_risk += outcome.in_use_at_risk;
    }

    fn finish(self, printer: &mut Printer, now: DateTime<Utc>) -> anyhow::Result<Status> {
        let line = format!(
            "{}, {}: {} would be expired, {} archived; {} in use, {} of them at risk",
            super::count(self.repositories.len(), "repository"),
            super::count(self.images, "image"),
            self.expiring,
            self.archiving,
            self.in_use,
            self.in_use_at_risk
        );
        let transitioning = if self.archiving == 0 {
            json!([])
        } else {
            json!([{"targetStorageClass": "ARCHIVE", "imageTotalCount": self.archiving}])
        };
        let mut doc = Map::new();
        doc.insert(
            "evaluatedAt".into(),
            crate::lifecycle::ser::rfc3339_string(&now).into(),
        );
        doc.insert("results".into(), Json::Array(self.results));
        doc.insert("nextPass".into(), Json::Array(self.next_pass));
        doc.insert("atRisk".into(), Json::Array(self.at_risk));
        doc.insert(
            "summary".into(),
            json!({
                "expiringImageTotalCount": self.expiring,
                "transitioningImageTotalCounts": transitioning,
                "repositories": self.repositories.len(),
                "images": self.images,
                "inUse": self.in_use,
                "inUseAtRisk": self.in_use_at_risk,
            }),
        );
        doc.insert("repositories".into(), Json::Array(self.repositories));
        printer.finish_document("lifecycle", &line, doc)?;
        Ok(printer.status())
    }
}

/// Run `lifecycle` (or `lifecycle protect`) and return the exit status.
pub async fn run(args: &LifecycleArgs) -> anyhow::Result<Status> {
    if let Some(LifecycleCommand::Protect(protect)) = &args.command {
        let mut printer = protect.output.printer();
        return run_protect(protect, &mut printer).await;
    }
    let mut printer = args.output.printer();
    run_evaluate(args, &mut printer).await
}

/// The policy file, or `Err(status)` after reporting why it was refused.
fn policy_file(
    source: &LifecycleSource,
    printer: &mut Printer,
) -> anyhow::Result<Result<Option<PolicySource>, ()>> {
    let Some(path) = &source.policy else {
        return Ok(Ok(None));
    };
    match load_policy_file(path) {
        Ok((policy, text, findings)) => {
            printer.findings(findings)?;
            Ok(Ok(Some(PolicySource::File(path.clone(), policy, text))))
        }
        Err(findings) => {
            printer.findings(findings)?;
            Ok(Err(()))
        }
    }
}

/// `imgpin lifecycle`: evaluate and report.
pub async fn run_evaluate(args: &LifecycleArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let now = args.at.unwrap_or_else(Utc::now);
    let mut totals = Totals::default();
    let Ok(file_policy) = policy_file(&args.source, printer)? else {
        return totals.finish(printer, now);
    };
    let entries = in_use::collect(&sources(&args.source, &args.aws), printer).await?;

    if let Some(images_path) = &args.images {
        // Offline: one repository, no AWS call.
        if !args.walk.paths.is_empty() {
            printer.finding(Finding::new(
                Code::InUseInvalid,
                Severity::Error,
                "PATH arguments are not read with --images (one saved repository); name the images in use with --in-use".to_owned(),
            ))?;
            return totals.finish(printer, now);
        }
        let (images, owner) = match read_images(images_path) {
            Ok(read) => read,
            Err(f) => {
                printer.finding(*f)?;
                return totals.finish(printer, now);
            }
        };
        if owner.partial {
            printer.finding(
                Finding::new(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    "the image list has a nextToken: it is one page of a longer DescribeImages answer, so counts and ranks may be wrong; save every page (`aws ecr describe-images` without --max-items or --no-paginate)".to_owned(),
                )
                .in_file(images_path),
            )?;
        }
        // A reference to another repository (an ECS cluster's list names many) must not
        // be resolved in this one: its tag would pick an unrelated image here.
        let (entries, elsewhere): (Vec<InUseEntry>, Vec<InUseEntry>) =
            entries.into_iter().partition(|e| owner.concerns(e));
        for entry in &elsewhere {
            printer.finding(entry.finding(
                Code::LifecycleImageMissing,
                Severity::Note,
                format!(
                    "{} is in another repository than the image list {} ({}): not evaluated here",
                    entry.written(),
                    images_path.display(),
                    owner.describe()
                ),
            ))?;
        }
        let meta = RepoMeta {
            repository: None,
            registry_id: None,
            region: None,
            label: format!("the image list {}", images_path.display()),
        };
        // Offline, every remaining entry concerns this one repository: bare digests included.
        let uses: Vec<Use> = resolve_uses(&entries, &images)
            .into_iter()
            .map(|mut u| {
                u.bare = false;
                u
            })
            .collect();
        let Some(source) = file_policy else {
            printer.finding(Finding::new(
                Code::PolicyInvalid,
                Severity::Error,
                "--images needs --policy FILE (a saved image list has no policy)".to_owned(),
            ))?;
            return totals.finish(printer, now);
        };
        let outcome = evaluate_repository(&meta, source.policy(), &images, now, &uses);
        printer.findings(outcome.findings.clone())?;
        totals.add(&meta, Some(&source), outcome);
        return totals.finish(printer, now);
    }

    let grouped = group_with_files(&args.walk, entries, printer)?;
    if grouped.groups.is_empty() {
        printer.finding(Finding::new(
            Code::LifecycleImageMissing,
            Severity::Note,
            "no Amazon ECR reference found in the files or --in-use values: nothing to evaluate (bare digests need a repository: give REPOSITORY@sha256:…)".to_owned(),
        ))?;
    }
    if !grouped.foreign.is_empty() {
        printer.info(&format!(
            "{} references outside Amazon ECR: no lifecycle policy applies to them",
            grouped.foreign.len()
        ))?;
    }
    let live = live_ecr(&args.aws);
    let bare = grouped.bare.clone();
    let fetched = fetch_all(&live, grouped.groups, file_policy.is_none(), args.aws.jobs).await;
    let mut bare_found = BTreeSet::new();
    for (mut group, result) in fetched {
        let meta = RepoMeta::of(&group.repo);
        let fetched = match result {
            Ok(f) => f,
            Err(e) => {
                printer.finding(group.failure(e.to_string()))?;
                continue;
            }
        };
        let mut findings = Vec::new();
        let source = match &file_policy {
            Some(s) => Some(s.clone()),
            None => live_policy_source(&group.repo, fetched.policy, &mut findings),
        };
        for index in &fetched.list.unread_indexes {
            findings.push(
                Finding::new(
                    Code::AwsError,
                    Severity::Warning,
                    format!(
                        "{}: the index {index} could not be read with BatchGetImage; its children are unknown and not treated as in use or guarded",
                        group.repo
                    ),
                )
                .location(group.repo.to_string()),
            );
        }
        if fetched.list.left_out > 0 {
            findings.push(
                Finding::new(
                    Code::AwsError,
                    Severity::Warning,
                    format!(
                        "{}: {} images without a digest or push time in the DescribeImages answer were left out",
                        group.repo, fetched.list.left_out
                    ),
                )
                .location(group.repo.to_string()),
            );
        }
        printer.findings(findings)?;
        let Some(source) = source else { continue };
        group.entries.extend(bare.iter().cloned());
        let uses = resolve_uses(&group.entries, &fetched.list.images);
        let outcome = evaluate_repository(&meta, source.policy(), &fetched.list.images, now, &uses);
        bare_found.extend(outcome.bare_found.iter().cloned());
        printer.findings(outcome.findings.clone())?;
        totals.add(&meta, Some(&source), outcome);
    }
    for entry in &bare {
        if let Some(d) = &entry.digest {
            if !bare_found.contains(d) {
                printer.finding(entry.finding(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    format!(
                        "{d} is in none of the repositories evaluated; give it as REPOSITORY@{d} to name its repository"
                    ),
                ))?;
            }
        }
    }
    totals.finish(printer, now)
}

/// The repository a saved image list belongs to, from the `repositoryName` and
/// `registryId` that `aws ecr describe-images` prints on every image (empty when the list
/// does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOwner {
    /// Every `repositoryName` in the list.
    pub repositories: BTreeSet<String>,
    /// Every `registryId` in the list.
    pub accounts: BTreeSet<String>,
    /// The document carries a `nextToken`: it is one page of a longer list.
    pub partial: bool,
}

impl ListOwner {
    /// Reads `repositoryName`/`registryId` from a describe-images document (or array).
    pub fn of(text: &str) -> ListOwner {
        let mut owner = ListOwner::default();
        let Ok(value) = serde_json::from_str::<Json>(text) else {
            return owner;
        };
        owner.partial = value
            .get("nextToken")
            .is_some_and(|t| !t.is_null() && t.as_str() != Some(""));
        let list = value.get("imageDetails").unwrap_or(&value);
        for image in list.as_array().into_iter().flatten() {
            if let Some(r) = image.get("repositoryName").and_then(Json::as_str) {
                owner.repositories.insert(r.to_owned());
            }
            if let Some(a) = image.get("registryId").and_then(Json::as_str) {
                owner.accounts.insert(a.to_owned());
            }
        }
        owner
    }

    /// Whether `entry` may concern this list: bare digests always; an Amazon ECR
    /// reference when its repository (and account) is the list's; any other reference
    /// when its name, as written, is the list's repository (`api:1` for `api`). A list
    /// that names no repository takes every entry.
    pub fn concerns(&self, entry: &InUseEntry) -> bool {
        let Some(reference) = &entry.reference else {
            return true;
        };
        if self.repositories.is_empty() {
            return true;
        }
        match parse_ecr_host(reference.domain()) {
            Some(host) => {
                self.repositories.contains(reference.repository())
                    && (self.accounts.is_empty() || self.accounts.contains(&host.account))
            }
            None => {
                self.repositories.contains(reference.written_name())
                    || self.repositories.contains(reference.repository())
            }
        }
    }

    /// `repository api (account 123456789012)`, for messages.
    pub fn describe(&self) -> String {
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        if self.accounts.is_empty() {
            format!("repository {}", join(&self.repositories))
        } else {
            format!(
                "repository {} (account {})",
                join(&self.repositories),
                join(&self.accounts)
            )
        }
    }
}

/// Reads a saved `aws ecr describe-images` answer, and the repository it names; the
/// error is placed in the file.
fn read_images(path: &Path) -> Result<(Vec<ImageDetail>, ListOwner), Box<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Finding::new(
            Code::ReadError,
            Severity::Error,
            format!("cannot read the image list: {e}"),
        )
        .in_file(path)
    })?;
    let images = parse_describe_images(&text).map_err(|e| {
        let f = Finding::new(Code::ParseError, Severity::Error, e.to_string()).in_file(path);
        Box::new(match e {
            crate::lifecycle::ImagesError::Json { line, column, .. } => f.at((line, column)),
            _ => f,
        })
    })?;
    // Digests end up in messages and tags: a malformed one is refused here, naming the
    // image, rather than trusted.
    for (i, image) in images.iter().enumerate() {
        let bad = std::iter::once(("imageDigest", &image.digest))
            .chain(image.manifests.iter().map(|m| ("manifests", m)))
            .find_map(|(field, d)| {
                crate::digest::Digest::parse(d)
                    .err()
                    .map(|e| format!("{field} {d:?}: {e}"))
            });
        if let Some(why) = bad {
            return Err(Box::new(
                Finding::new(
                    Code::ParseError,
                    Severity::Error,
                    format!("image {}: {why}", i + 1),
                )
                .in_file(path),
            ));
        }
    }
    Ok((images, ListOwner::of(&text)))
}

/// What one repository's calls returned.
#[derive(Debug)]
struct Fetched {
    policy: Option<LivePolicy>,
    list: ImageList,
}

async fn fetch(live: &LiveEcr, repo: &Repo, want_policy: bool) -> Result<Fetched, AwsError> {
    let policy = if want_policy {
        live.lifecycle_policy(repo).await?
    } else {
        None
    };
    let list = live.describe_images(repo).await?;
    Ok(Fetched { policy, list })
}

/// Each group's policy (unless a `--policy` file replaces it) and image list,
/// `jobs` repositories at a time, in the groups' order.
async fn fetch_all(
    live: &LiveEcr,
    groups: Vec<RepoGroup>,
    want_policy: bool,
    jobs: usize,
) -> Vec<(RepoGroup, Result<Fetched, AwsError>)> {
    futures::stream::iter(groups)
        .map(|g| async move {
            let result = fetch(live, &g.repo, want_policy).await;
            (g, result)
        })
        .buffered(jobs.max(1))
        .collect()
        .await
}

/// The ECR API client for `lifecycle` and `lifecycle protect`.
fn live_ecr(aws: &AwsArgs) -> LiveEcr {
    LiveEcr::new(
        aws.aws_profile.clone(),
        std::time::Duration::from_secs(aws.timeout.max(1)),
    )
}

/// The in-use `entries` plus the references in the files under `walk`,
/// grouped by repository (scan findings reported on the way).
fn group_with_files(
    walk: &crate::cli::WalkArgs,
    entries: Vec<InUseEntry>,
    printer: &mut Printer,
) -> anyhow::Result<Grouped> {
    let mut scan = crate::scan::scan(&walk.options())?;
    printer.findings(std::mem::take(&mut scan.findings))?;
    let mut all = entries_from_scan(&scan);
    all.extend(entries);
    Ok(group_by_repository(all))
}

// ---------------------------------------------------------------------------------------
// protect
// ---------------------------------------------------------------------------------------

/// The protecting tag of `digest`: `prefix` + the first 12 hex digits.
pub fn protect_tag(prefix: &str, digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    format!(
        "{prefix}{}",
        hex.chars().take(PROTECT_HEX).collect::<String>()
    )
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

/// `imgpin lifecycle protect`.
pub async fn run_protect(args: &ProtectArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let now = Utc::now();
    let prefix = args.tag_prefix.as_str();
    let mut repos_doc = Vec::new();
    let finish = |printer: &mut Printer, repos_doc: Vec<Json>, counts: (usize, usize, usize)| {
        let (tagged, would, already) = counts;
        let line = if args.apply {
            format!(
                "{} tagged, {already} already protected",
                super::count(tagged, "image")
            )
        } else {
            format!(
                "dry run: {} would be tagged, {already} already protected (add --apply)",
                super::count(would, "image")
            )
        };
        let mut doc = Map::new();
        doc.insert("tagPrefix".into(), prefix.into());
        doc.insert("apply".into(), args.apply.into());
        doc.insert("repositories".into(), Json::Array(repos_doc));
        doc.insert(
            "summary".into(),
            json!({"tagged": tagged, "wouldTag": would, "alreadyProtected": already}),
        );
        printer.finish_document("lifecycle protect", &line, doc)?;
        anyhow::Ok(printer.status())
    };
    if let Err(message) = check_tag_prefix(prefix) {
        printer.finding(Finding::new(Code::InUseInvalid, Severity::Error, message))?;
        return finish(printer, repos_doc, (0, 0, 0));
    }
    let Ok(file_policy) = policy_file(&args.source, printer)? else {
        return finish(printer, repos_doc, (0, 0, 0));
    };
    let entries = in_use::collect(&sources(&args.source, &args.aws), printer).await?;
    let grouped = group_with_files(&args.walk, entries, printer)?;
    let live = live_ecr(&args.aws);
    let mut counts = (0, 0, 0);
    let fetched_all = fetch_all(&live, grouped.groups, file_policy.is_none(), args.aws.jobs).await;
    for (mut group, fetched) in fetched_all {
        let repo = group.repo.clone();
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                printer.finding(group.failure(e.to_string()))?;
                continue;
            }
        };
        let mut findings = Vec::new();
        let source = match &file_policy {
            Some(s) => Some(s.clone()),
            None => live_policy_source(&repo, fetched.policy.clone(), &mut findings),
        };
        printer.findings(findings)?;
        group.entries.extend(grouped.bare.iter().cloned());
        let uses = resolve_uses(&group.entries, &fetched.list.images);
        let in_repo: BTreeMap<&str, &ImageDetail> = fetched
            .list
            .images
            .iter()
            .map(|i| (i.digest.as_str(), i))
            .collect();
        // digest → where it is used
        let mut wanted: BTreeMap<String, Vec<&Use>> = BTreeMap::new();
        for u in &uses {
            match &u.digest {
                Some(d) if in_repo.contains_key(d.as_str()) => {
                    if let Some(tag) = &u.tag {
                        printer.finding(u.entry.finding(
                            Code::LifecycleTagResolved,
                            Severity::Note,
                            format!(
                                "{}: no digest written; protecting {} that tag {tag} points at now",
                                u.entry.written(),
                                short(d)
                            ),
                        ))?;
                    }
                    wanted.entry(d.clone()).or_default().push(u)
                }
                Some(_) if u.bare => {}
                _ => printer.finding(u.entry.finding(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    format!("{} is not in {repo}: nothing to protect", u.entry.written()),
                ))?,
            }
        }
        let mut protected_doc = Vec::new();
        let mut protected_digests = BTreeMap::new();
        let need_fetch: Vec<String> = wanted
            .keys()
            .filter(|d| {
                let tag = protect_tag(prefix, d);
                !in_repo[d.as_str()].tags.contains(&tag)
            })
            .cloned()
            .collect();
        let manifests = if args.apply && !need_fetch.is_empty() {
            match live.manifests(&repo, &need_fetch).await {
                Ok(m) => m,
                Err(e) => {
                    printer.finding(group.failure(e.to_string()))?;
                    continue;
                }
            }
        } else {
            BTreeMap::new()
        };
        for (digest, users) in &wanted {
            let tag = protect_tag(prefix, digest);
            let first = users[0];
            let labels: Vec<String> = users.iter().map(|u| u.entry.label.clone()).collect();
            let status = if in_repo[digest.as_str()].tags.contains(&tag) {
                counts.2 += 1;
                "already-protected"
            } else if !args.apply {
                counts.1 += 1;
                "would-tag"
            } else {
                match manifests.get(digest) {
                    Some(Ok(fetched_manifest)) => {
                        match live.put_tag(&repo, digest, &tag, fetched_manifest).await {
                            Ok(PutOutcome::Tagged) => {
                                counts.0 += 1;
                                "tagged"
                            }
                            Ok(PutOutcome::AlreadyTagged) => {
                                counts.2 += 1;
                                "already-protected"
                            }
                            Err(e) => {
                                printer.finding(first.entry.finding(
                                    Code::AwsError,
                                    Severity::Error,
                                    e.to_string(),
                                ))?;
                                "failed"
                            }
                        }
                    }
                    Some(Err(reason)) => {
                        printer.finding(first.entry.finding(
                            Code::AwsError,
                            Severity::Error,
                            format!(
                                "ECR BatchGetImage for {repo} could not get {digest}: {reason}"
                            ),
                        ))?;
                        "failed"
                    }
                    None => {
                        printer.finding(first.entry.finding(
                            Code::AwsError,
                            Severity::Error,
                            format!(
                                "ECR BatchGetImage for {repo} returned no manifest for {digest}"
                            ),
                        ))?;
                        "failed"
                    }
                }
            };
            if status != "failed" {
                protected_digests.insert(digest.clone(), first.entry.clone());
            }
            let message = match status {
                "tagged" => format!("{repo}: tagged {} as {tag}", short(digest)),
                "would-tag" => format!("{repo}: would tag {} as {tag} (dry run)", short(digest)),
                "already-protected" => {
                    format!("{repo}: {} already carries {tag}", short(digest))
                }
                _ => String::new(),
            };
            if !message.is_empty() {
                printer.finding(
                    first
                        .entry
                        .finding(Code::ProtectTag, Severity::Note, message),
                )?;
            }
            protected_doc.push(json!({
                "digest": digest, "tag": tag, "status": status, "usedBy": labels,
            }));
        }
        let rule_doc = check_keep_rule(
            &repo,
            prefix,
            source.as_ref(),
            &fetched.list.images,
            &protected_digests,
            now,
            printer,
        )?;
        let mut doc = Map::new();
        doc.insert("repository".into(), repo.repository.clone().into());
        doc.insert("registryId".into(), repo.host.account.clone().into());
        doc.insert("region".into(), repo.host.region.clone().into());
        if let Some(s) = &source {
            s.describe(&mut doc);
        }
        doc.insert("protected".into(), Json::Array(protected_doc));
        doc.insert("rule".into(), rule_doc);
        repos_doc.push(Json::Object(doc));
    }
    finish(printer, repos_doc, counts)
}

/// After tagging: with a keep rule for `prefix` in the policy, checks with the evaluator
/// that it keeps every protected image; without one, prints the rule to add (and the
/// whole proposed policy) and checks that it would keep them.
fn check_keep_rule(
    repo: &Repo,
    prefix: &str,
    source: Option<&PolicySource>,
    images: &[ImageDetail],
    protected_at: &BTreeMap<String, InUseEntry>,
    now: DateTime<Utc>,
    printer: &mut Printer,
) -> anyhow::Result<Json> {
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
        printer.finding(
            Finding::new(
                Code::ProtectRule,
                Severity::Warning,
                format!(
                    "{repo}: the lifecycle policy could not be evaluated (see above), so the keep rule for {prefix}* is neither checked nor proposed"
                ),
            )
            .location(repo.to_string()),
        )?;
        return Ok(json!({"status": "unknown", "stillActedOn": []}));
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
            printer.finding(
                Finding::new(
                    Code::ProtectRule,
                    Severity::Note,
                    format!(
                        "{repo}: {label} keeps {prefix}* images; the evaluator finds every one of the {} protected images kept",
                        protected.len()
                    ),
                )
                .location(repo.to_string()),
            )?;
        }
        for (digest, reason) in &failing {
            printer.finding(placed(
                digest,
                format!(
                    "{repo}: {} is tagged {} but the policy would still act on it, although {label} selects {prefix}*: {reason}",
                    short(digest),
                    protect_tag(prefix, digest)
                ),
            ))?;
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
                let moved_text = serde_json::to_string_pretty(&moved)?;
                let still = match parse_policy(&moved_text, ValidationMode::Accepted) {
                    Ok((p, _)) => still_acted(&p),
                    Err(e) => vec![(String::new(), e.to_string())],
                };
                let outcome = if still.is_empty() {
                    "keeps every protected image".to_owned()
                } else {
                    format!("still leaves {} of them acted on", still.len())
                };
                printer.finding(
                    Finding::new(
                        Code::ProtectRule,
                        Severity::Warning,
                        format!(
                            "{repo}: moving {label} to the top priority (the others move down, order kept) {outcome}; the whole policy is `proposedPolicy` in --format json: {}",
                            serde_json::to_string(&moved)?
                        ),
                    )
                    .location(repo.to_string()),
                )?;
                doc["proposedPolicy"] = moved_text.into();
                doc["stillActedOnIfMoved"] =
                    json!(still.iter().map(|(d, _)| d).collect::<Vec<_>>());
            }
        }
        return Ok(doc);
    }
    let rule = keep_rule(prefix, carrying, 1);
    let proposed = match add_rule_at_top(source.and_then(PolicySource::text), &rule) {
        Ok(p) => p,
        Err(e) => {
            printer.finding(
                Finding::new(
                    Code::PolicyInvalid,
                    Severity::Error,
                    format!("{repo}: cannot add the keep rule to the policy: {e}"),
                )
                .location(repo.to_string()),
            )?;
            return Ok(json!({"status": "missing", "suggested": rule}));
        }
    };
    let proposed_text = serde_json::to_string_pretty(&proposed)?;
    let failing = match parse_policy(&proposed_text, ValidationMode::Accepted) {
        Ok((p, _)) => still_acted(&p),
        Err(e) => vec![(String::new(), e.to_string())],
    };
    let rule_text = serde_json::to_string(&rule)?;
    printer.finding(
        Finding::new(
            Code::ProtectRule,
            Severity::Warning,
            format!(
                "{repo}: the policy has no rule keeping {prefix}* images; add this rule at the top priority (other priorities move down by one if needed): {rule_text} — it keeps the {} most recently pushed {prefix}* images ({carrying} carry the tag now, plus room for {PROTECT_MARGIN} more); past that count the rule itself expires the oldest, so raise countNumber or remove {prefix} tags of retired releases",
                carrying + PROTECT_MARGIN
            ),
        )
        .location(repo.to_string()),
    )?;
    for (digest, reason) in &failing {
        printer.finding(placed(
            digest,
            format!(
                "{repo}: even with the keep rule, {} would be acted on: {reason}",
                short(digest)
            ),
        ))?;
    }
    Ok(json!({
        "status": "missing",
        "suggested": rule,
        "proposedPolicy": proposed_text,
        "stillActedOn": failing.iter().map(|(d, _)| d).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::parse_describe_images;
    use crate::reference::ImageRef;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn entry(text: &str) -> InUseEntry {
        parse_in_use(text).unwrap().remove(0)
    }

    #[test]
    fn in_use_values_are_digests_references_or_files() {
        let d = entry(D1);
        assert_eq!(d.digest.as_deref(), Some(D1));
        assert!(d.reference.is_none());
        let r = entry(&format!("{HOST}/api:1.4"));
        assert_eq!(r.reference.as_ref().unwrap().tag(), Some("1.4"));
        assert!(r.digest.is_none());
        let pinned = entry(&format!("{HOST}/api:1.4@{D2}"));
        assert_eq!(pinned.digest.as_deref(), Some(D2));
        assert!(parse_in_use("sha256:abc")
            .unwrap_err()
            .contains("invalid digest"));
        assert!(parse_in_use("Not A Ref").is_err());
        assert!(parse_in_use("missing.json")
            .unwrap_err()
            .contains("no such file"));
    }

    #[test]
    fn in_use_json_array_and_ecs_document() {
        let path = Path::new("in-use.json");
        let list = parse_in_use_json(&format!(r#"["{HOST}/api:1", "{D1}"]"#), path).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].label, "in-use.json entry 1");
        assert_eq!(list[1].digest.as_deref(), Some(D1));
        let ecs = format!(
            r#"{{"images":[
              {{"cluster":"prod","service":"web","taskDefinition":"web:3","container":"app",
                "image":"{HOST}/api:1.4","digest":"{D2}","source":"deployment"}},
              {{"cluster":"prod","service":"jobs","taskDefinition":"jobs:1","container":"w",
                "image":"{HOST}/api:2","digest":null,"source":"deployment"}}]}}"#
        );
        let rows = parse_in_use_json(&ecs, path).unwrap();
        assert_eq!(rows[0].label, "service web container app (cluster prod)");
        assert_eq!(rows[0].digest.as_deref(), Some(D2));
        assert_eq!(rows[1].digest, None);
        assert_eq!(rows[1].reference.as_ref().unwrap().tag(), Some("2"));
        assert!(parse_in_use_json("[1]", path)
            .unwrap_err()
            .contains("entry 1"));
        // A list's entries are digests or references, never files: a list that names
        // itself (or a file next to it) is no endless recursion.
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("self.json");
        std::fs::write(&own, format!(r#"["{}"]"#, own.display())).unwrap();
        let err = parse_in_use(&own.display().to_string()).unwrap_err();
        assert!(err.contains("entry 1"), "{err}");
        // A row with no usable image is refused (it would drop an in-use image silently).
        let bad_image = r#"{"images":[{"service":"a","image":"api:1"},{"service":"b","image":"${IMAGE}","digest":null}]}"#;
        let err = parse_in_use_json(bad_image, path).unwrap_err();
        assert!(
            err.starts_with("in-use.json: images[2]: image \"${IMAGE}\""),
            "{err}"
        );
        let bad_digest = r#"{"images":[{"service":"a","image":"api:1","digest":"sha256:zz"}]}"#;
        assert!(parse_in_use_json(bad_digest, path)
            .unwrap_err()
            .contains("images[1]: digest"));
        let empty_row = r#"{"images":[{"service":"a"}]}"#;
        assert!(parse_in_use_json(empty_row, path)
            .unwrap_err()
            .contains("neither"));
        assert!(parse_in_use_json("{}", path)
            .unwrap_err()
            .contains("ecs images"));
        assert!(parse_in_use_json("[", path)
            .unwrap_err()
            .starts_with("in-use.json:1:"));
    }

    #[test]
    fn grouping_by_account_region_and_repository() {
        let entries = vec![
            entry(&format!("{HOST}/api:1")),
            entry(&format!("{HOST}/api:2")),
            entry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"),
            entry(&format!("{HOST}/team/web:1")),
            entry("nginx:1.27"),
            entry(D1),
        ];
        let g = group_by_repository(entries);
        let names: Vec<String> = g
            .groups
            .iter()
            .map(|g| {
                format!(
                    "{}/{}:{}",
                    g.repo.host.region,
                    g.repo.repository,
                    g.entries.len()
                )
            })
            .collect();
        assert_eq!(
            names,
            ["eu-west-1/api:1", "us-east-1/api:2", "us-east-1/team/web:1"]
        );
        assert_eq!(g.bare.len(), 1);
        assert_eq!(g.foreign.len(), 1);
    }

    fn images() -> Vec<ImageDetail> {
        parse_describe_images(&format!(
            r#"{{"imageDetails":[
              {{"imageDigest":"{D1}","imageTags":["v1"],"imagePushedAt":"2026-01-01T00:00:00Z"}},
              {{"imageDigest":"{D2}","imageTags":["v2","latest"],"imagePushedAt":"2026-02-01T00:00:00Z"}},
              {{"imageDigest":"{D3}","imageTags":["v3"],"imagePushedAt":"2026-03-01T00:00:00Z"}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn tags_resolve_through_the_snapshot() {
        let uses = resolve_uses(
            &[
                entry(&format!("{HOST}/api:v1")),
                entry(&format!("{HOST}/api")),
                entry(&format!("{HOST}/api:gone")),
                entry(&format!("{HOST}/api:v9@{D3}")),
            ],
            &images(),
        );
        assert_eq!(uses[0].digest.as_deref(), Some(D1));
        assert_eq!(uses[0].tag.as_deref(), Some("v1"));
        assert_eq!(uses[1].digest.as_deref(), Some(D2));
        assert_eq!(uses[1].tag.as_deref(), Some("latest"));
        assert_eq!(uses[2].digest, None);
        assert_eq!(uses[3].digest.as_deref(), Some(D3));
        assert_eq!(uses[3].tag, None);
    }

    fn policy(json: &str) -> Policy {
        parse_policy(json, ValidationMode::Accepted).unwrap().0
    }

    const KEEP_TWO: &str = r#"{"rules":[{"rulePriority":1,"description":"keep two",
        "selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},
        "action":{"type":"expire"}}]}"#;

    #[test]
    fn findings_name_the_place_the_rule_and_the_reason() {
        let file_entry = InUseEntry {
            label: "k8s/web.yaml:3:12".into(),
            place: Some(("k8s/web.yaml".into(), 3, 12)),
            reference: ImageRef::parse(&format!("{HOST}/api:v1")).ok(),
            digest: None,
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

    #[test]
    fn policy_file_errors_point_at_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let text = "{\n  \"rules\": [\n    {\"rulePriority\": 1, \"selection\": {\"tagStatus\": \"any\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 5}, \"action\": {\"type\": \"expire\"}},\n    {\"rulePriority\": 2, \"selection\": {\"tagStatus\": \"tagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 0}, \"action\": {\"type\": \"expire\"}}\n  ]\n}\n";
        std::fs::write(&path, text).unwrap();
        let errors = load_policy_file(&path).unwrap_err();
        assert!(!errors.is_empty());
        assert!(errors
            .iter()
            .all(|f| f.file.as_deref() == Some(path.as_path())));
        let second_rule: Vec<&Finding> = errors.iter().filter(|f| f.line == Some(4)).collect();
        assert!(!second_rule.is_empty(), "{errors:?}");
        assert_eq!(second_rule[0].column, Some(5));
        assert!(
            errors.iter().any(|f| f.message.contains("[V3]")),
            "{errors:?}"
        );
        std::fs::write(&path, "{\n  \"rules\": [\n").unwrap();
        let json_error = load_policy_file(&path).unwrap_err();
        assert_eq!(json_error[0].code, Code::PolicyInvalid);
        assert_eq!(json_error[0].line, Some(3));
    }

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
        let mut printer = crate::report::Printer::new(
            crate::report::Format::Json,
            (false, false),
            false,
            false,
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
        );
        let protected: BTreeMap<String, InUseEntry> = [(D1.to_owned(), entry(D1))].into();
        let now = crate::lifecycle::parse_at("2026-06-01").unwrap();
        let doc = check_keep_rule(
            &repo,
            "keep-",
            None,
            &images(),
            &protected,
            now,
            &mut printer,
        )
        .unwrap();
        assert_eq!(doc["status"], "unknown");
        assert!(doc.get("proposedPolicy").is_none(), "{doc}");
        assert!(doc.get("suggested").is_none(), "{doc}");
    }

    #[test]
    fn get_lifecycle_policy_output_is_a_policy_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("glp.json");
        let inner = serde_json::to_string_pretty(&json!({"rules": [
            {"rulePriority": 1, "description": "keep two releases",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
             "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}}]}))
        .unwrap();
        let doc = json!({"registryId": "123456789012", "repositoryName": "api",
                         "lifecyclePolicyText": inner, "lastEvaluatedAt": 1.7e9});
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        let (policy, text, findings) = load_policy_file(&path).unwrap();
        assert_eq!(policy.rules.len(), 1);
        assert_eq!(text, inner, "the policy text proposals build on");
        assert!(findings.is_empty(), "{findings:?}");
        // A refused wrapped policy points at the lifecyclePolicyText line of the file.
        let bad = json!({"repositoryName": "api", "lifecyclePolicyText":
            inner.replace("\"countNumber\": 2", "\"countNumber\": 0")});
        std::fs::write(&path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
        let errors = load_policy_file(&path).unwrap_err();
        assert_eq!(errors[0].code, Code::PolicyInvalid);
        assert_eq!(errors[0].line, Some(2), "{errors:?}");
        assert!(
            errors[0]
                .message
                .contains("(lifecyclePolicyText line 3, column 5)"),
            "{errors:?}"
        );
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
