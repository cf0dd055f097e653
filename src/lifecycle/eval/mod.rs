//! The lifecycle evaluator: ECR-LIFECYCLE.md part 2.2, steps 1–10, with the defaults of 2.4.
//!
//! The rule of this module: **identify over everything, act only through the owner.** Every
//! rule ranks or ages all images of its storage class that match its tag filter, including
//! images that higher-priority rules own (so protected images still take slots in lower
//! rules' count windows); an image's owner is the first rule, by priority, whose tag filter
//! it matches, and only the owner's marks count. Children of a live manifest list are never
//! acted on; when the list itself is expired, its children are re-evaluated as the next
//! pass. Every decision carries a reason in plain words, so the CLI can explain why a
//! deployed digest is kept or lost (the wording is in `words.rs`).
//!
//! Points the spec marks *assumed*, and how this module settles them:
//! - "older than N days" is `now − t > N × 86 400 s`, to the nanosecond;
//! - ties in a count ranking are broken by digest ascending, and every image tied across a
//!   count boundary is reported in [`Evaluation::at_risk`];
//! - ACTIVATING images (and images of an unknown status) are left out, with a note;
//! - guarded manifest-list children still count in count windows;
//! - referrers are evaluated like any other image, and also follow their subject: a
//!   referrer whose subject is expired or archived appears in the next pass (documented).

mod words;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use words::{kept_tags, rule_sentence, verdict_reason};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::images::{ImageDetail, ImageStatus};
use super::policy::{CountType, Policy, Rule, TagStatus};
use super::ser;
use super::{Action, StorageClass};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// At most this many digests are listed in [`AtRiskEntry::tied_with`].
const MAX_TIED_LISTED: usize = 20;

/// What the policy does to one image in this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// Its owner marks it: it gets the owner's action.
    Act {
        /// The owner's action.
        action: Action,
    },
    /// Its owner selects it but does not mark it (it protects it from every lower rule).
    Kept,
    /// Its owner marks it, but a manifest list that still exists references it (step 8).
    Guarded,
    /// No rule of its storage class matches its tags: the policy never touches it.
    Unowned,
    /// Left out of the evaluation (ACTIVATING, or an unknown `imageStatus`).
    LeftOut,
}

/// Which timestamp a rule measured an image by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeBasis {
    /// `imagePushedAt`.
    Pushed,
    /// `lastActivatedAt`: restored images rank and age as newly pushed.
    Restored,
    /// `lastRecordedPullTime`.
    Pulled,
    /// Never pulled: `imagePushedAt` is the fallback of `sinceImagePulled`.
    NeverPulled,
    /// Restored and not pulled since: `lastActivatedAt` counts for `sinceImagePulled`.
    RestoredNotPulled,
    /// `lastArchivedAt`.
    Archived,
    /// The timestamp the rule needs is missing (an ARCHIVED image without
    /// `lastArchivedAt`): the rule cannot age it and never marks it.
    Missing,
}

/// How far an image is from being marked by its owner rule (ECR-LIFECYCLE.md 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Headroom {
    /// `imageCountMoreThan N`, image ranked k-th youngest: `N − k + 1` more pushes matching
    /// the owner's tag filter push it out (0 when it is already out).
    Pushes {
        /// More matching pushes until it is marked.
        remaining: u64,
    },
    /// Age rules: it is marked once `deadline` has passed.
    Time {
        /// When the image qualifies (`reference time + N days`); `None` when unknown.
        #[serde(serialize_with = "ser::rfc3339_opt")]
        deadline: Option<DateTime<Utc>>,
        /// Seconds from `now` to `deadline`; negative once it has passed.
        #[serde(rename = "secondsLeft")]
        seconds_left: Option<i64>,
    },
}

/// How an image stands with the rule that owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Standing {
    /// The owner's `rulePriority`.
    pub rule_priority: i64,
    /// The owner's position in the policy text (1-based).
    pub rule_position: usize,
    /// The owner's `countType`.
    pub count_type: CountType,
    /// The owner's `countNumber`.
    pub count_number: u64,
    /// Whether the owner marks the image (before the manifest-list guard).
    pub marked: bool,
    /// Count rules: the image's 1-based rank, youngest first, among the rule's images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Count rules: how many images the rule ranks (its whole window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// Count rules: how many of them are strictly newer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer: Option<usize>,
    /// The timestamp the rule ranks or ages the image by.
    #[serde(serialize_with = "ser::rfc3339_opt")]
    pub reference_time: Option<DateTime<Utc>>,
    /// Which timestamp that is.
    pub time_basis: TimeBasis,
    /// How far the image is from being marked.
    pub headroom: Headroom,
}

/// The evaluator's view of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `imageDigest`.
    pub digest: String,
    /// `imageTags`.
    pub tags: Vec<String>,
    /// `imagePushedAt`.
    #[serde(serialize_with = "ser::rfc3339")]
    pub pushed_at: DateTime<Utc>,
    /// `imageStatus`.
    pub image_status: ImageStatus,
    /// The storage class its rules are drawn from; `None` when it is left out.
    pub storage_class: Option<StorageClass>,
    /// What happens to it in this pass.
    #[serde(flatten)]
    pub decision: Decision,
    /// Its owner rule and its standing there; `None` when no rule owns it.
    pub owner: Option<Standing>,
    /// Live manifest lists that reference it.
    pub guarded_by: Vec<String>,
    /// `rulePriority` of other rules that mark it but may not act on it, because the owner
    /// comes first.
    pub also_marked_by: Vec<i64>,
    /// Why, in plain words.
    pub reason: String,
}

impl Verdict {
    /// The action it gets in this pass, if any.
    pub fn action(&self) -> Option<Action> {
        match self.decision {
            Decision::Act { action } => Some(action),
            _ => None,
        }
    }

    /// The `rulePriority` that acts on it, if any (`appliedRulePriority`).
    pub fn applied_rule_priority(&self) -> Option<i64> {
        self.action()
            .and(self.owner.as_ref().map(|o| o.rule_priority))
    }
}

/// Why an image is in the next pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum NextPassCause {
    /// A manifest list that referenced it is expired in this pass; without it, the image's
    /// own rule acts on it.
    IndexRemoved {
        /// The expired index.
        index: String,
    },
    /// It is an OCI referrer whose subject is expired or archived in this pass (or the next);
    /// ECR removes or archives referrers within 24 h of their subject.
    SubjectGone {
        /// The subject.
        subject: String,
    },
}

/// An image acted on only after this pass's actions have landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextPassEntry {
    /// `imageDigest`.
    pub digest: String,
    /// `imageTags`.
    pub tags: Vec<String>,
    /// `imagePushedAt`.
    #[serde(serialize_with = "ser::rfc3339")]
    pub pushed_at: DateTime<Utc>,
    /// Its storage class now.
    pub storage_class: Option<StorageClass>,
    /// What will happen to it.
    pub action: Action,
    /// The rule that acts on it; `None` for a referrer following its subject.
    pub applied_rule_priority: Option<i64>,
    /// Why it is acted on later.
    pub cause: NextPassCause,
    /// In plain words.
    pub reason: String,
}

/// An image whose fate depends on how AWS orders equal timestamps at a count boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AtRiskEntry {
    /// `imageDigest`.
    pub digest: String,
    /// `imageTags`.
    pub tags: Vec<String>,
    /// `imagePushedAt`.
    #[serde(serialize_with = "ser::rfc3339")]
    pub pushed_at: DateTime<Utc>,
    /// Its storage class.
    pub storage_class: StorageClass,
    /// The count rule whose boundary the tie straddles (the image's owner).
    pub applied_rule_priority: i64,
    /// What that rule does to the images past its boundary.
    pub action: Action,
    /// The other images with the same timestamp in that rule's ranking (at most 20 listed).
    pub tied_with: Vec<String>,
    /// How many images share that timestamp in the ranking, this one included.
    pub tie_size: usize,
    /// Whether this simulation's tie-break (digest ascending) acts on it.
    pub acted_in_simulation: bool,
    /// True when the tie arises in the next pass (a child of an index expired now).
    pub next_pass: bool,
    /// In plain words.
    pub reason: String,
}

/// Something about the input that the result depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalNote {
    /// A stable kebab-case code.
    pub code: &'static str,
    /// The image it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// In plain words.
    pub message: String,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone)]
pub struct Evaluation {
    now: DateTime<Utc>,
    policy: Policy,
    images: Vec<ImageDetail>,
    verdicts: Vec<Verdict>,
    next_pass: Vec<NextPassEntry>,
    at_risk: Vec<AtRiskEntry>,
    notes: Vec<EvalNote>,
}

impl Evaluation {
    /// The evaluation time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The policy that was evaluated.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The images evaluated: deduplicated by digest and sorted by digest.
    pub fn images(&self) -> &[ImageDetail] {
        &self.images
    }

    /// One verdict per image, in the order of [`Evaluation::images`].
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// The verdict for one digest: why it is acted on, kept, guarded or untouched.
    pub fn verdict(&self, digest: &str) -> Option<&Verdict> {
        self.position(digest).map(|i| &self.verdicts[i])
    }

    /// The plain-words explanation for one digest (its verdict's reason).
    pub fn explain(&self, digest: &str) -> Option<&str> {
        self.verdict(digest).map(|v| v.reason.as_str())
    }

    /// The images acted on in this pass, in output order: by applied rule priority, then
    /// oldest first (the order ECR works in), then digest.
    pub fn results(&self) -> Vec<&Verdict> {
        let mut out: Vec<(&Verdict, DateTime<Utc>)> = self
            .verdicts
            .iter()
            .zip(&self.images)
            .filter(|(v, _)| v.action().is_some())
            .map(|(v, img)| (v, img.effective_time()))
            .collect();
        out.sort_by(|(a, ta), (b, tb)| {
            (a.applied_rule_priority(), ta, &a.digest).cmp(&(
                b.applied_rule_priority(),
                tb,
                &b.digest,
            ))
        });
        out.into_iter().map(|(v, _)| v).collect()
    }

    /// Digests expired in this pass.
    pub fn expired(&self) -> BTreeSet<&str> {
        self.with_action(|a| a == Action::Expire)
    }

    /// Digests transitioned to archive in this pass.
    pub fn transitioned(&self) -> BTreeSet<&str> {
        self.with_action(|a| matches!(a, Action::Transition { .. }))
    }

    /// Images acted on only after this pass (children of expired indexes, referrers of
    /// images that go now), sorted by digest.
    pub fn next_pass(&self) -> &[NextPassEntry] {
        &self.next_pass
    }

    /// Images whose fate depends on an undocumented tie at a count boundary, sorted by
    /// digest.
    pub fn at_risk(&self) -> &[AtRiskEntry] {
        &self.at_risk
    }

    /// Notes about the input (left-out images, duplicates, missing archived images …).
    pub fn notes(&self) -> &[EvalNote] {
        &self.notes
    }

    /// The child digests of an index, as given in the image list.
    pub fn children(&self, index: &str) -> &[String] {
        self.position(index)
            .map(|i| self.images[i].manifests.as_slice())
            .unwrap_or(&[])
    }

    fn position(&self, digest: &str) -> Option<usize> {
        self.images
            .binary_search_by(|img| img.digest.as_str().cmp(digest))
            .ok()
    }

    fn with_action(&self, pick: impl Fn(Action) -> bool) -> BTreeSet<&str> {
        self.verdicts
            .iter()
            .filter(|v| v.action().is_some_and(&pick))
            .map(|v| v.digest.as_str())
            .collect()
    }
}

/// Evaluates `policy` against the images of one repository at time `now`.
///
/// The result does not depend on the order of `images`; duplicate digests are reduced to
/// one entry (with a note). The policy's rules are already sorted by priority (step 1).
pub fn evaluate(policy: &Policy, images: &[ImageDetail], now: DateTime<Utc>) -> Evaluation {
    let mut notes = Vec::new();
    let images = normalise(images, &mut notes);
    input_notes(policy, &images, &mut notes);

    let pass = run_pass(&policy.rules, &images, now);
    let verdicts = build_verdicts(&policy.rules, &images, &pass, now);
    let mut at_risk = tie_entries(&policy.rules, &images, &pass, &verdicts, false);
    let mut next_pass = Vec::new();
    next_pass_children(policy, &images, &pass, now, &mut next_pass, &mut at_risk);
    referrers_follow(&images, &pass, &mut next_pass);
    next_pass.sort_by(|a, b| a.digest.cmp(&b.digest));
    at_risk.sort_by(|a, b| a.digest.cmp(&b.digest));

    Evaluation {
        now,
        policy: policy.clone(),
        images,
        verdicts,
        next_pass,
        at_risk,
        notes,
    }
}

/// Sorts by digest and drops duplicate digests (keeping the least entry in a total order,
/// so the input order never matters).
fn normalise(images: &[ImageDetail], notes: &mut Vec<EvalNote>) -> Vec<ImageDetail> {
    let mut sorted = images.to_vec();
    sorted.sort();
    let before = sorted.len();
    let mut dupes = BTreeSet::new();
    sorted.dedup_by(|later, first| {
        let same = later.digest == first.digest;
        if same {
            dupes.insert(first.digest.clone());
        }
        same
    });
    if before != sorted.len() {
        for d in dupes {
            notes.push(EvalNote {
                code: "duplicate-digest",
                message: format!(
                    "{d} appears more than once in the image list; one entry was used"
                ),
                digest: Some(d),
            });
        }
    }
    sorted
}

fn input_notes(policy: &Policy, images: &[ImageDetail], notes: &mut Vec<EvalNote>) {
    let digests: BTreeSet<&str> = images.iter().map(|i| i.digest.as_str()).collect();
    for img in images {
        match &img.image_status {
            ImageStatus::Activating => notes.push(EvalNote {
                code: "activating-left-out",
                digest: Some(img.digest.clone()),
                message: format!(
                    "{} is being restored from archive (ACTIVATING); it is left out, and the \
                     result may change once the restore completes",
                    img.digest
                ),
            }),
            ImageStatus::Other(status) => notes.push(EvalNote {
                code: "unknown-status-left-out",
                digest: Some(img.digest.clone()),
                message: format!(
                    "{} has an unknown imageStatus {status:?}; it is left out",
                    img.digest
                ),
            }),
            ImageStatus::Active | ImageStatus::Archived => {}
        }
        if let Some(subject) = &img.subject_manifest_digest {
            if !digests.contains(subject.as_str()) {
                notes.push(EvalNote {
                    code: "referrer-subject-missing",
                    digest: Some(img.digest.clone()),
                    message: format!(
                        "{} refers to {subject}, which is not in the image list; if the subject \
                         was deleted, ECR removes this referrer within 24 h",
                        img.digest
                    ),
                });
            }
        }
    }
    let has_archive_rules = policy
        .rules
        .iter()
        .any(|r| r.storage_class == StorageClass::Archive);
    if has_archive_rules
        && !images
            .iter()
            .any(|i| i.image_status == ImageStatus::Archived)
    {
        notes.push(EvalNote {
            code: "no-archived-images",
            digest: None,
            message: "the policy has rules for storage class archive, but the image list holds no \
                      ARCHIVED image; DescribeImages returns ACTIVE images only unless \
                      filter.imageStatus is ANY"
                .to_owned(),
        });
    }
}

/// One rule's view of the repository (steps 4 and 5).
struct RuleView {
    /// Per image: in `C_r` (right class, tag predicate holds).
    identified: Vec<bool>,
    /// Per image: in `M_r`.
    marked: Vec<bool>,
    /// Per image, count rules: 1-based rank in `C_r`, youngest first.
    rank: Vec<Option<usize>>,
    /// Per image, count rules: how many images in `C_r` are strictly newer.
    newer: Vec<Option<usize>>,
    /// Per image, count rules: how many other images in `C_r` have the same time.
    same_instant: Vec<usize>,
    /// `|C_r|`.
    window: usize,
    /// Count rules: the images tied at the same time across the count boundary.
    tie: Vec<usize>,
    /// Rules ranking by push time: per tag stem, the lowest tag of a kept image.
    lowest_kept_tag: BTreeMap<String, String>,
    /// For each tag stem, the highest tag among the images the rule keeps.
    highest_kept_tag: BTreeMap<String, String>,
}

/// One evaluation pass over a fixed image list.
struct Pass {
    views: Vec<RuleView>,
    /// Per image: index of the owner rule.
    owner: Vec<Option<usize>>,
    /// Per image: indexes (image positions) of present manifest lists that reference it.
    guarded_by: Vec<Vec<usize>>,
    /// Per image: the action it gets.
    action: Vec<Option<Action>>,
}

/// Steps 2–8 over `images` (sorted by digest).
fn run_pass(rules: &[Rule], images: &[ImageDetail], now: DateTime<Utc>) -> Pass {
    let n = images.len();
    let class: Vec<Option<StorageClass>> = images
        .iter()
        .map(|i| i.image_status.storage_class())
        .collect();

    let views: Vec<RuleView> = rules
        .iter()
        .map(|rule| {
            // Step 4: identify over the whole repository.
            let identified: Vec<bool> = (0..n)
                .map(|i| class[i] == Some(rule.storage_class) && rule.matches_tags(&images[i].tags))
                .collect();
            let mut view = RuleView {
                marked: vec![false; n],
                rank: vec![None; n],
                newer: vec![None; n],
                same_instant: vec![0; n],
                window: identified.iter().filter(|b| **b).count(),
                tie: Vec::new(),
                lowest_kept_tag: BTreeMap::new(),
                highest_kept_tag: BTreeMap::new(),
                identified,
            };
            // Step 5: mark.
            if rule.count_type == CountType::ImageCountMoreThan {
                let mut ranked: Vec<usize> = (0..n).filter(|&i| view.identified[i]).collect();
                // Youngest first; ties by digest ascending (assumed). Images are sorted by
                // digest already, so the index is the digest order.
                ranked.sort_by(|&a, &b| {
                    images[b]
                        .effective_time()
                        .cmp(&images[a].effective_time())
                        .then(a.cmp(&b))
                });
                let keep = usize::try_from(rule.count_number).unwrap_or(usize::MAX);
                // Walk groups of equal time: images in a group have `start` strictly newer
                // ones and `len - 1` others at the same instant.
                let mut start = 0;
                while start < ranked.len() {
                    let t = images[ranked[start]].effective_time();
                    let len = ranked[start..]
                        .iter()
                        .take_while(|&&j| images[j].effective_time() == t)
                        .count();
                    for (pos, &i) in ranked.iter().enumerate().skip(start).take(len) {
                        view.rank[i] = Some(pos + 1);
                        view.marked[i] = pos >= keep;
                        view.newer[i] = Some(start);
                        view.same_instant[i] = len - 1;
                    }
                    start += len.max(1);
                }
                if keep >= 1 && keep < ranked.len() {
                    let last_kept = images[ranked[keep - 1]].effective_time();
                    if images[ranked[keep]].effective_time() == last_kept {
                        view.tie = ranked
                            .iter()
                            .copied()
                            .filter(|&i| images[i].effective_time() == last_kept)
                            .collect();
                    }
                }
            } else {
                for (i, img) in images.iter().enumerate() {
                    if view.identified[i] {
                        let (t, _) = reference_time(rule, img);
                        view.marked[i] = t.is_some_and(|t| older_than(now, t, rule.count_number));
                    }
                }
            }
            if matches!(
                rule.count_type,
                CountType::ImageCountMoreThan | CountType::SinceImagePushed
            ) {
                view.lowest_kept_tag = kept_tags(&view, images, Ordering::Less);
                view.highest_kept_tag = kept_tags(&view, images, Ordering::Greater);
            }
            view
        })
        .collect();

    // Step 6: the owner is the first rule (rules are in priority order) that identifies it.
    let owner: Vec<Option<usize>> = (0..n)
        .map(|i| (0..rules.len()).find(|&r| views[r].identified[i]))
        .collect();

    // Step 8: children of every index present now.
    let mut guarded_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (x, index) in images.iter().enumerate() {
        for child in &index.manifests {
            if let Ok(c) = images.binary_search_by(|img| img.digest.as_str().cmp(child)) {
                if c != x && !guarded_by[c].contains(&x) {
                    guarded_by[c].push(x);
                }
            }
        }
    }

    // Step 7 and the guard.
    let action: Vec<Option<Action>> = (0..n)
        .map(|i| match owner[i] {
            Some(r) if views[r].marked[i] && guarded_by[i].is_empty() => Some(rules[r].action),
            _ => None,
        })
        .collect();

    Pass {
        views,
        owner,
        guarded_by,
        action,
    }
}

/// The timestamp a rule ranks or ages an image by (step 5).
fn reference_time(rule: &Rule, img: &ImageDetail) -> (Option<DateTime<Utc>>, TimeBasis) {
    match rule.count_type {
        CountType::ImageCountMoreThan | CountType::SinceImagePushed => {
            match img.last_activated_at {
                Some(t) => (Some(t), TimeBasis::Restored),
                None => (Some(img.pushed_at), TimeBasis::Pushed),
            }
        }
        CountType::SinceImagePulled => match (img.last_activated_at, img.last_recorded_pull_time) {
            (Some(act), pull) if pull.is_none_or(|p| p < act) => {
                (Some(act), TimeBasis::RestoredNotPulled)
            }
            (_, Some(pull)) => (Some(pull), TimeBasis::Pulled),
            (_, None) => (Some(img.pushed_at), TimeBasis::NeverPulled),
        },
        CountType::SinceImageTransitioned => match img.last_archived_at {
            Some(t) => (Some(t), TimeBasis::Archived),
            None => (None, TimeBasis::Missing),
        },
    }
}

/// `now − t > days × 86 400 s`, exactly (assumed arithmetic: no rounding to calendar days).
fn older_than(now: DateTime<Utc>, t: DateTime<Utc>, days: u64) -> bool {
    let d = now.signed_duration_since(t);
    let age = i128::from(d.num_seconds()) * NANOS_PER_SEC + i128::from(d.subsec_nanos());
    age > i128::from(days) * i128::from(SECS_PER_DAY) * NANOS_PER_SEC
}

/// `t + days`, or `None` past the representable range.
fn plus_days(t: DateTime<Utc>, days: u64) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(days).ok()?.checked_mul(SECS_PER_DAY)?;
    t.checked_add_signed(TimeDelta::try_seconds(secs)?)
}

fn standing(
    rule: &Rule,
    view: &RuleView,
    img: &ImageDetail,
    i: usize,
    now: DateTime<Utc>,
) -> Standing {
    let (reference_time, time_basis) = reference_time(rule, img);
    let headroom = if rule.count_type == CountType::ImageCountMoreThan {
        let rank = view.rank[i].unwrap_or(usize::MAX);
        let remaining = u64::try_from(rank)
            .ok()
            .and_then(|k| rule.count_number.checked_add(1)?.checked_sub(k))
            .unwrap_or(0);
        Headroom::Pushes { remaining }
    } else {
        let deadline = reference_time.and_then(|t| plus_days(t, rule.count_number));
        Headroom::Time {
            deadline,
            seconds_left: deadline.map(|d| d.signed_duration_since(now).num_seconds()),
        }
    };
    Standing {
        rule_priority: rule.rule_priority,
        rule_position: rule.position,
        count_type: rule.count_type,
        count_number: rule.count_number,
        marked: view.marked[i],
        rank: view.rank[i],
        window: (rule.count_type == CountType::ImageCountMoreThan).then_some(view.window),
        newer: view.newer[i],
        reference_time,
        time_basis,
        headroom,
    }
}

fn build_verdicts(
    rules: &[Rule],
    images: &[ImageDetail],
    pass: &Pass,
    now: DateTime<Utc>,
) -> Vec<Verdict> {
    images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let storage_class = img.image_status.storage_class();
            let owner = pass.owner[i].map(|r| standing(&rules[r], &pass.views[r], img, i, now));
            let also_marked_by: Vec<i64> = (0..rules.len())
                .filter(|&r| {
                    Some(r) != pass.owner[i]
                        && pass.views[r].identified[i]
                        && pass.views[r].marked[i]
                })
                .map(|r| rules[r].rule_priority)
                .collect();
            let guarded_by: Vec<String> = pass.guarded_by[i]
                .iter()
                .map(|&x| images[x].digest.clone())
                .collect();
            let decision = match (storage_class, pass.owner[i], pass.action[i]) {
                (None, _, _) => Decision::LeftOut,
                (_, None, _) => Decision::Unowned,
                (_, Some(_), Some(action)) => Decision::Act { action },
                (_, Some(r), None) if pass.views[r].marked[i] => Decision::Guarded,
                (_, Some(_), None) => Decision::Kept,
            };
            let reason = verdict_reason(
                rules,
                images,
                pass,
                i,
                decision,
                &guarded_by,
                &also_marked_by,
                now,
            );
            Verdict {
                digest: img.digest.clone(),
                tags: img.tags.clone(),
                pushed_at: img.pushed_at,
                image_status: img.image_status.clone(),
                storage_class,
                decision,
                owner,
                guarded_by,
                also_marked_by,
                reason,
            }
        })
        .collect()
}

/// At-risk entries for ties straddling a count boundary (assumed tie-break, 2.4).
fn tie_entries(
    rules: &[Rule],
    images: &[ImageDetail],
    pass: &Pass,
    verdicts: &[Verdict],
    next_pass: bool,
) -> Vec<AtRiskEntry> {
    let mut out = Vec::new();
    for (r, view) in pass.views.iter().enumerate() {
        let rule = &rules[r];
        for &i in &view.tie {
            // Only the owner's tie decides the image's fate, and a guarded child is kept
            // whatever the order.
            if pass.owner[i] != Some(r) || !pass.guarded_by[i].is_empty() {
                continue;
            }
            let Some(class) = images[i].image_status.storage_class() else {
                continue;
            };
            let tied_with: Vec<String> = view
                .tie
                .iter()
                .filter(|&&j| j != i)
                .take(MAX_TIED_LISTED)
                .map(|&j| images[j].digest.clone())
                .collect();
            let others = view.tie.len().saturating_sub(1);
            let named = match others.saturating_sub(3) {
                0 => tied_with.join(", "),
                more => format!("{} and {more} more", tied_with[..3].join(", ")),
            };
            let acted = pass.action[i].is_some();
            let participle = match rule.action {
                Action::Expire => "expired",
                Action::Transition { .. } => "archived",
            };
            let basis = match verdicts.get(i).and_then(|v| v.owner.as_ref()) {
                Some(o) if o.time_basis == TimeBasis::Restored => "was restored from archive",
                _ => "was pushed",
            };
            let reason = format!(
                "{}{} {}; this digest {basis} at {}, the same instant as {named}, right at the \
                 boundary of the {} kept; AWS does not document how it orders equal push times, so \
                 it may be {participle} or kept (this simulation {} it)",
                if next_pass { "next pass: " } else { "" },
                rule.label(),
                rule_sentence(rule),
                ser::rfc3339_string(&images[i].effective_time()),
                rule.count_number,
                if acted { rule.action.verb() } else { "keeps" },
            );
            out.push(AtRiskEntry {
                digest: images[i].digest.clone(),
                tags: images[i].tags.clone(),
                pushed_at: images[i].pushed_at,
                storage_class: class,
                applied_rule_priority: rule.rule_priority,
                action: rule.action,
                tied_with,
                tie_size: view.tie.len(),
                acted_in_simulation: acted,
                next_pass,
                reason,
            });
        }
    }
    out
}

/// Step 8, inferred part: children of an index expired in this pass are re-evaluated after
/// the removal (expired images gone, transitioned ones archived as of `now`).
fn next_pass_children(
    policy: &Policy,
    images: &[ImageDetail],
    pass: &Pass,
    now: DateTime<Utc>,
    next_pass: &mut Vec<NextPassEntry>,
    at_risk: &mut Vec<AtRiskEntry>,
) {
    // child digest -> the expired index that referenced it (the first, by digest).
    let mut candidates: BTreeMap<&str, &str> = BTreeMap::new();
    for (x, index) in images.iter().enumerate() {
        if pass.action[x] != Some(Action::Expire) {
            continue;
        }
        for child in &index.manifests {
            if let Ok(c) = images.binary_search_by(|img| img.digest.as_str().cmp(child)) {
                if c != x && pass.action[c].is_none() {
                    candidates
                        .entry(images[c].digest.as_str())
                        .or_insert(index.digest.as_str());
                }
            }
        }
    }
    if candidates.is_empty() {
        return;
    }

    let after: Vec<ImageDetail> = images
        .iter()
        .enumerate()
        .filter(|(i, _)| pass.action[*i] != Some(Action::Expire))
        .map(|(i, img)| {
            let mut img = img.clone();
            if matches!(pass.action[i], Some(Action::Transition { .. })) {
                img.image_status = ImageStatus::Archived;
                img.last_archived_at = Some(now);
            }
            img
        })
        .collect();
    let second = run_pass(&policy.rules, &after, now);
    let verdicts = build_verdicts(&policy.rules, &after, &second, now);
    let ties = tie_entries(&policy.rules, &after, &second, &verdicts, true);

    for (child, index) in candidates {
        let Ok(c) = after.binary_search_by(|img| img.digest.as_str().cmp(child)) else {
            continue;
        };
        if let Some(action) = second.action[c] {
            let by = images
                .binary_search_by(|img| img.digest.as_str().cmp(index))
                .ok()
                .and_then(|x| pass.owner[x])
                .map(|r| policy.rules[r].label())
                .unwrap_or_else(|| "its rule".to_owned());
            next_pass.push(NextPassEntry {
                digest: after[c].digest.clone(),
                tags: after[c].tags.clone(),
                pushed_at: after[c].pushed_at,
                storage_class: after[c].image_status.storage_class(),
                action,
                applied_rule_priority: verdicts[c].applied_rule_priority(),
                cause: NextPassCause::IndexRemoved {
                    index: index.to_owned(),
                },
                reason: format!(
                    "it belongs to the manifest list {index}, which {by} expires in this pass; \
                     once that list is gone (within about another 24 h): {}",
                    verdicts[c].reason
                ),
            });
        }
        at_risk.extend(ties.iter().filter(|t| t.digest == child).cloned());
    }
}

/// Step 9, documented part: referrers follow their subject within 24 h.
fn referrers_follow(images: &[ImageDetail], pass: &Pass, next_pass: &mut Vec<NextPassEntry>) {
    let mut gone: BTreeMap<String, Action> = images
        .iter()
        .zip(&pass.action)
        .filter_map(|(img, a)| a.map(|a| (img.digest.clone(), a)))
        .collect();
    for entry in next_pass.iter() {
        gone.entry(entry.digest.clone()).or_insert(entry.action);
    }
    loop {
        let mut added = Vec::new();
        for img in images {
            let Some(subject) = &img.subject_manifest_digest else {
                continue;
            };
            let Some(&subject_action) = gone.get(subject) else {
                continue;
            };
            if gone.contains_key(&img.digest) {
                continue;
            }
            let action = match subject_action {
                Action::Expire => Action::Expire,
                Action::Transition { .. } if img.image_status == ImageStatus::Archived => continue,
                transition => transition,
            };
            added.push(NextPassEntry {
                digest: img.digest.clone(),
                tags: img.tags.clone(),
                pushed_at: img.pushed_at,
                storage_class: img.image_status.storage_class(),
                action,
                applied_rule_priority: None,
                cause: NextPassCause::SubjectGone {
                    subject: subject.clone(),
                },
                reason: format!(
                    "it is an OCI referrer (signature, SBOM or attestation) of {subject}, which is \
                     {} now or on the next pass; ECR {} referrers within 24 h of their subject",
                    match subject_action {
                        Action::Expire => "expired",
                        Action::Transition { .. } => "archived",
                    },
                    match action {
                        Action::Expire => "expires",
                        Action::Transition { .. } => "archives",
                    },
                ),
            });
        }
        if added.is_empty() {
            break;
        }
        for entry in added {
            gone.insert(entry.digest.clone(), entry.action);
            next_pass.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_boundary_is_strict_and_exact() {
        let now = DateTime::from_timestamp(1_000_000_000, 0).unwrap();
        let exactly = now - TimeDelta::try_days(14).unwrap();
        assert!(!older_than(now, exactly, 14));
        assert!(older_than(now, exactly - TimeDelta::nanoseconds(1), 14));
        assert!(!older_than(now, now, 0));
        assert!(!older_than(now, now, u64::MAX));
        assert!(plus_days(now, u64::MAX).is_none());
    }
}
