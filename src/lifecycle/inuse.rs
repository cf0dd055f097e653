//! In-use analysis: what the evaluation means for the digests a deployment uses
//! (ECR-LIFECYCLE.md 2.5).
//!
//! The rule of this module: an in-use index makes its children in use too (a deployment
//! that names an index pulls one child by digest), and an in-use digest is **at risk** when
//! it is in expired ∪ transitioned ∪ next pass ∪ at risk, because an archived image cannot
//! be pulled any more than a deleted one. An in-use image that is already ARCHIVED is an
//! error now. Every in-use image also gets its headroom, so warnings can come early.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::eval::{Decision, Evaluation, Headroom};
use super::images::ImageStatus;
use super::Action;

/// What happens to an in-use image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Expired in this pass: deleted within about 24 h.
    Expire,
    /// Archived in this pass: pulls fail with 404 afterwards.
    Transition,
    /// Acted on in the next pass (child of an expired index, or referrer of a removed subject).
    NextPass,
    /// Tied with other images at a count boundary: AWS may act on it.
    TieAtBoundary,
    /// Its owner rule keeps it.
    Kept,
    /// Its owner would act on it, but a live manifest list protects it.
    Guarded,
    /// No rule selects it.
    Unowned,
    /// Left out of the evaluation (ACTIVATING or unknown status).
    LeftOut,
    /// Not in this repository's image list.
    NotInRepository,
}

/// One in-use digest and what the policy does to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InUseFinding {
    /// The digest.
    pub digest: String,
    /// Its tags (empty when unknown or untagged).
    pub tags: Vec<String>,
    /// Set when it is in use only as a child of this in-use index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_index: Option<String>,
    /// Whether the image list holds it.
    pub in_repository: bool,
    /// It is ARCHIVED now: pulls already fail (an error now, not a warning).
    pub archived_now: bool,
    /// What the policy does to it.
    pub fate: Fate,
    /// The action, when one is coming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The rule that acts, or whose tie puts it at risk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_rule_priority: Option<i64>,
    /// How far it is from its owner rule's limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headroom: Option<Headroom>,
    /// A one-line warning for people, when there is something to warn about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Why, in plain words.
    pub reason: String,
}

impl InUseFinding {
    /// True when the policy may delete or archive it (now, next pass, or through a tie).
    pub fn at_risk(&self) -> bool {
        matches!(
            self.fate,
            Fate::Expire | Fate::Transition | Fate::NextPass | Fate::TieAtBoundary
        )
    }
}

/// The in-use digests (with index children expanded), sorted by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InUseReport {
    /// One finding per in-use digest.
    pub findings: Vec<InUseFinding>,
}

impl InUseReport {
    /// The findings the policy may delete or archive.
    pub fn at_risk(&self) -> impl Iterator<Item = &InUseFinding> {
        self.findings.iter().filter(|f| f.at_risk())
    }

    /// The digests of [`InUseReport::at_risk`].
    pub fn at_risk_digests(&self) -> BTreeSet<&str> {
        self.at_risk().map(|f| f.digest.as_str()).collect()
    }

    /// In-use images that are ARCHIVED already: errors now.
    pub fn archived_now(&self) -> impl Iterator<Item = &InUseFinding> {
        self.findings.iter().filter(|f| f.archived_now)
    }

    /// True when nothing in use is at risk or archived.
    pub fn is_clean(&self) -> bool {
        self.at_risk().next().is_none() && self.archived_now().next().is_none()
    }
}

/// Kept age-rule images closer than this to their limit get a "soon" warning (ECR acts up
/// to 24 h after an image qualifies).
const SOON_SECS: i64 = 86_400;

impl Evaluation {
    /// Expands in-use digests: every in-use index adds its children (recursively). Maps each
    /// digest to the index it came through (`None` when it is in use itself).
    pub fn expand_in_use(&self, in_use: &BTreeSet<String>) -> BTreeMap<String, Option<String>> {
        let mut out: BTreeMap<String, Option<String>> =
            in_use.iter().map(|d| (d.clone(), None)).collect();
        let mut queue: Vec<String> = in_use.iter().cloned().collect();
        while let Some(index) = queue.pop() {
            for child in self.children(&index) {
                if !out.contains_key(child) {
                    out.insert(child.clone(), Some(index.clone()));
                    queue.push(child.clone());
                }
            }
        }
        out
    }

    /// What the evaluation means for the in-use digests (index children included).
    pub fn in_use_report(&self, in_use: &BTreeSet<String>) -> InUseReport {
        let findings = self
            .expand_in_use(in_use)
            .into_iter()
            .map(|(digest, via_index)| self.finding(digest, via_index))
            .collect();
        InUseReport { findings }
    }

    fn finding(&self, digest: String, via_index: Option<String>) -> InUseFinding {
        let Some(verdict) = self.verdict(&digest) else {
            return InUseFinding {
                reason: "it is not in this repository's image list".to_owned(),
                digest,
                tags: Vec::new(),
                via_index,
                in_repository: false,
                archived_now: false,
                fate: Fate::NotInRepository,
                action: None,
                applied_rule_priority: None,
                headroom: None,
                warning: None,
            };
        };
        // Both lists are sorted by digest.
        let next = self
            .next_pass()
            .binary_search_by(|e| e.digest.cmp(&digest))
            .ok()
            .map(|k| &self.next_pass()[k]);
        let tie = self
            .at_risk()
            .binary_search_by(|e| e.digest.cmp(&digest))
            .ok()
            .map(|k| &self.at_risk()[k]);
        let (fate, action, priority, reason) = match (verdict.decision, next, tie) {
            (Decision::Act { action }, _, _) => {
                let fate = match action {
                    Action::Expire => Fate::Expire,
                    Action::Transition { .. } => Fate::Transition,
                };
                (
                    fate,
                    Some(action),
                    verdict.applied_rule_priority(),
                    verdict.reason.clone(),
                )
            }
            (_, Some(e), _) => (
                Fate::NextPass,
                Some(e.action),
                e.applied_rule_priority,
                e.reason.clone(),
            ),
            (_, None, Some(t)) => (
                Fate::TieAtBoundary,
                Some(t.action),
                Some(t.applied_rule_priority),
                t.reason.clone(),
            ),
            (Decision::Kept, None, None) => (Fate::Kept, None, None, verdict.reason.clone()),
            (Decision::Guarded, None, None) => (Fate::Guarded, None, None, verdict.reason.clone()),
            (Decision::Unowned, None, None) => (Fate::Unowned, None, None, verdict.reason.clone()),
            (Decision::LeftOut, None, None) => (Fate::LeftOut, None, None, verdict.reason.clone()),
        };
        let archived_now = verdict.image_status == ImageStatus::Archived;
        let headroom = verdict.owner.as_ref().map(|o| o.headroom);
        let warning = warning(fate, action, archived_now, headroom, via_index.as_deref());
        InUseFinding {
            tags: verdict.tags.clone(),
            digest,
            via_index,
            in_repository: true,
            archived_now,
            fate,
            action,
            applied_rule_priority: priority,
            headroom,
            warning,
            reason,
        }
    }
}

fn warning(
    fate: Fate,
    action: Option<Action>,
    archived_now: bool,
    headroom: Option<Headroom>,
    via_index: Option<&str>,
) -> Option<String> {
    let what = match fate {
        Fate::Expire => Some("will be deleted within about 24 h".to_owned()),
        Fate::Transition => Some(
            "will be archived within about 24 h; pulls will then fail with 404 until it is restored"
                .to_owned(),
        ),
        Fate::NextPass => Some(match action {
            Some(Action::Transition { .. }) => {
                "will be archived on a later pass, once the image it depends on is gone".to_owned()
            }
            _ => "will be deleted on a later pass, once the image it depends on is gone".to_owned(),
        }),
        Fate::TieAtBoundary => Some(
            "is tied with other images at a count boundary: AWS may delete or archive it"
            .to_owned(),
        ),
        Fate::Kept => match headroom {
            Some(Headroom::Time {
                deadline: Some(deadline),
                seconds_left: Some(left),
            }) if left <= SOON_SECS => Some(format!(
                "qualifies for its rule at {} (within 24 h)",
                deadline.format("%Y-%m-%d %H:%M UTC")
            )),
            Some(Headroom::Pushes { remaining: 1 }) => {
                Some("one more matching push will push it out of its rule's count".to_owned())
            }
            _ => None,
        },
        Fate::Guarded | Fate::Unowned | Fate::LeftOut | Fate::NotInRepository => None,
    };
    let mut parts = Vec::new();
    if archived_now {
        parts.push("is ARCHIVED now: pulls fail with 404 until it is restored".to_owned());
    }
    parts.extend(what);
    if parts.is_empty() {
        return None;
    }
    let mut text = parts.join("; and it ");
    if let Some(index) = via_index {
        text.push_str(&format!(" (it is a child of the in-use index {index})"));
    }
    Some(text)
}
