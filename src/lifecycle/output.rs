//! The JSON document `imgpin lifecycle` prints, built from an [`Evaluation`].
//!
//! The rule of this module: mirror `GetLifecyclePolicyPreview` field for field
//! (`previewResults[]` and its `summary`), so a live preview can be compared with the
//! simulation, and add only what the preview lacks: `inUse`, `reason`, the next pass, the
//! ties and the notes. The CLI serialises [`LifecycleOutput`] as is.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::eval::{EvalNote, Evaluation, NextPassCause};
use super::inuse::InUseFinding;
use super::{ser, Action, StorageClass};

/// One entry of `results` or `nextPass`, shaped like a `previewResults[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResult {
    /// `imageDigest`.
    pub image_digest: String,
    /// `imageTags`.
    pub image_tags: Vec<String>,
    /// `imagePushedAt`, RFC 3339.
    #[serde(serialize_with = "ser::rfc3339")]
    pub image_pushed_at: DateTime<Utc>,
    /// `action`.
    pub action: Action,
    /// `appliedRulePriority`; absent for a referrer that follows its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_rule_priority: Option<i64>,
    /// `storageClass`: the image's class now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<StorageClass>,
    /// Whether a deployment uses it (directly or as a child of an in-use index).
    pub in_use: bool,
    /// Next pass only: why it comes later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<NextPassCause>,
    /// Why, in plain words.
    pub reason: String,
}

/// One entry of `atRisk`: an image tied at a count boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AtRiskResult {
    /// `imageDigest`.
    pub image_digest: String,
    /// `imageTags`.
    pub image_tags: Vec<String>,
    /// `imagePushedAt`, RFC 3339.
    #[serde(serialize_with = "ser::rfc3339")]
    pub image_pushed_at: DateTime<Utc>,
    /// What the rule does past its boundary.
    pub action: Action,
    /// The count rule whose boundary the tie straddles.
    pub applied_rule_priority: i64,
    /// The image's class.
    pub storage_class: StorageClass,
    /// The other images with the same timestamp (at most 20 listed).
    pub tied_with: Vec<String>,
    /// How many images share that timestamp, this one included.
    pub tie_size: usize,
    /// Whether this simulation's tie-break acts on it.
    pub acted_in_simulation: bool,
    /// True when the tie arises in the next pass.
    pub next_pass: bool,
    /// Whether a deployment uses it.
    pub in_use: bool,
    /// Why, in plain words.
    pub reason: String,
}

/// Counts like `GetLifecyclePolicyPreview.summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewSummary {
    /// `expiringImageTotalCount`: images expired in this pass.
    pub expiring_image_total_count: usize,
    /// `transitioningImageTotalCounts`: images transitioned in this pass, per target class.
    pub transitioning_image_total_counts: Vec<TransitionCount>,
}

/// One entry of `transitioningImageTotalCounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionCount {
    /// `targetStorageClass`.
    pub target_storage_class: StorageClass,
    /// `imageTotalCount`.
    pub image_total_count: usize,
}

/// The whole document: `{"results": [...], "nextPass": [...], "atRisk": [...], ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleOutput {
    /// The evaluation time, RFC 3339.
    #[serde(serialize_with = "ser::rfc3339")]
    pub evaluated_at: DateTime<Utc>,
    /// Images acted on in this pass.
    pub results: Vec<PreviewResult>,
    /// Images acted on after this pass's actions land.
    pub next_pass: Vec<PreviewResult>,
    /// Images whose fate depends on an undocumented tie.
    pub at_risk: Vec<AtRiskResult>,
    /// Counts like the preview's summary (this pass only).
    pub summary: PreviewSummary,
    /// One finding per in-use digest (absent when no in-use set was given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_use: Vec<InUseFinding>,
    /// Notes about the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<EvalNote>,
}

impl Evaluation {
    /// Builds the output document; `in_use` may be empty.
    pub fn to_output(&self, in_use: &BTreeSet<String>) -> LifecycleOutput {
        let expanded = self.expand_in_use(in_use);
        let used = |d: &str| expanded.contains_key(d);
        let results: Vec<PreviewResult> = self
            .results()
            .into_iter()
            .filter_map(|v| {
                Some(PreviewResult {
                    image_digest: v.digest.clone(),
                    image_tags: v.tags.clone(),
                    image_pushed_at: v.pushed_at,
                    action: v.action()?,
                    applied_rule_priority: v.applied_rule_priority(),
                    storage_class: v.storage_class,
                    in_use: used(&v.digest),
                    cause: None,
                    reason: v.reason.clone(),
                })
            })
            .collect();
        let next_pass = self
            .next_pass()
            .iter()
            .map(|e| PreviewResult {
                image_digest: e.digest.clone(),
                image_tags: e.tags.clone(),
                image_pushed_at: e.pushed_at,
                action: e.action,
                applied_rule_priority: e.applied_rule_priority,
                storage_class: e.storage_class,
                in_use: used(&e.digest),
                cause: Some(e.cause.clone()),
                reason: e.reason.clone(),
            })
            .collect();
        let at_risk = self
            .at_risk()
            .iter()
            .map(|e| AtRiskResult {
                image_digest: e.digest.clone(),
                image_tags: e.tags.clone(),
                image_pushed_at: e.pushed_at,
                action: e.action,
                applied_rule_priority: e.applied_rule_priority,
                storage_class: e.storage_class,
                tied_with: e.tied_with.clone(),
                tie_size: e.tie_size,
                acted_in_simulation: e.acted_in_simulation,
                next_pass: e.next_pass,
                in_use: used(&e.digest),
                reason: e.reason.clone(),
            })
            .collect();
        let archived = self.transitioned().len();
        let summary = PreviewSummary {
            expiring_image_total_count: self.expired().len(),
            transitioning_image_total_counts: if archived == 0 {
                Vec::new()
            } else {
                vec![TransitionCount {
                    target_storage_class: StorageClass::Archive,
                    image_total_count: archived,
                }]
            },
        };
        let in_use_findings = if in_use.is_empty() {
            Vec::new()
        } else {
            self.in_use_report(in_use).findings
        };
        LifecycleOutput {
            evaluated_at: self.now(),
            results,
            next_pass,
            at_risk,
            summary,
            in_use: in_use_findings,
            notes: self.notes().to_vec(),
        }
    }
}
