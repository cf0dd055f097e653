//! ECR lifecycle policy model and evaluator: a pure simulation of what an ECR lifecycle
//! policy will expire or archive, and why.
//!
//! The rule of this module is that it is **pure**: policy text, an image list and a clock go
//! in, decisions with plain-word reasons come out. No network, no AWS SDK types, no async,
//! no printing; the one exception to "no I/O" is `files.rs`, which reads the policy and
//! image-list files named on the command line and places their problems at `path:line:col`. The
//! semantics follow `shared/ECR-LIFECYCLE.md` exactly (part 1 for validation, part 2.2 for
//! the ten evaluation steps, part 2.4 for the defaults chosen where AWS is silent); every
//! point that spec marks *assumed* is repeated in the doc comment of the code that
//! implements it.
//!
//! The flow is:
//!
//! 1. [`parse_policy`] turns policy JSON into a validated [`Policy`] (rules sorted by
//!    `rulePriority`) plus [`PolicyNote`]s, in [`ValidationMode::Strict`] for a policy the
//!    user wrote or [`ValidationMode::Accepted`] for one read back from AWS;
//! 2. [`parse_describe_images`] turns `aws ecr describe-images` output (or the test-vector
//!    image format) into [`ImageDetail`]s;
//! 3. [`evaluate`] runs the algorithm at a given `now` and returns an [`Evaluation`]: one
//!    [`Verdict`] per image, the next-pass list, the images at risk from undocumented ties;
//! 4. [`Evaluation::in_use_report`] intersects that with the digests a deployment uses, and
//!    [`Evaluation::to_output`] builds the JSON document the CLI prints.
//!
//! For the commands, on top of that: [`load_policy_file`] and [`read_images`] read the
//! input files, [`group_by_repository`] and [`resolve_uses`] sort in-use entries by ECR
//! repository and resolve their tags in its image list, [`evaluate_repository`] produces
//! one repository's findings and JSON, and [`protect`] holds the `lifecycle protect`
//! edits (protecting tags, keep rules) and their check.

mod eval;
mod files;
#[cfg(test)]
pub(crate) mod fixtures;
mod images;
mod inuse;
mod output;
mod policy;
pub mod protect;
mod pulls;
mod replication;
mod repos;
pub(crate) mod repository;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod vector_tests;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use eval::{
    evaluate, AtRiskEntry, Decision, EvalNote, Evaluation, Headroom, NextPassCause, NextPassEntry,
    Standing, TimeBasis, Verdict,
};
pub use files::{
    live_policy_source, load_policy_file, read_images, ListOwner, LivePolicy, PolicySource,
};
pub use images::{parse_describe_images, ImageDetail, ImageStatus, ImagesError};
pub use inuse::{Fate, InUseFinding, InUseReport};
pub use output::{AtRiskResult, LifecycleOutput, PreviewResult, PreviewSummary, TransitionCount};
pub use policy::{
    glob_match, parse_policy, Check, CountType, Policy, PolicyError, PolicyNote, Rule, RuleRef,
    Severity, TagStatus, ValidationMode, MAX_POLICY_CHARS, MIN_POLICY_CHARS,
};
pub use pulls::pull_time_warning;
pub use replication::{fold_replicas, parse_describe_registry, Replication, ReplicationRule};
pub use repos::{group_by_repository, resolve_uses, Grouped, RepoGroup, Use};
pub use repository::{evaluate_repository, RepoMeta, RepoOutcome};

/// The storage class of an image, and the class a rule selects.
///
/// Serialised in upper case (`STANDARD`, `ARCHIVE`) as the preview and DescribeImages APIs
/// answer; the policy JSON spells it in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    /// Normal, pullable storage (`ACTIVE` images).
    Standard,
    /// Archive storage (`ARCHIVED` images): cannot be pulled until restored.
    Archive,
}

impl StorageClass {
    /// The policy-JSON spelling: `standard` or `archive`.
    pub fn as_policy_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "standard",
            StorageClass::Archive => "archive",
        }
    }
}

/// What a rule does to the images it marks.
///
/// Serialised like `GetLifecyclePolicyPreview`'s `action`: `{"type": "EXPIRE"}` or
/// `{"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Delete the image (every tag it carries goes with it).
    Expire,
    /// Move the image to another storage class; `archive` is the only one AWS supports.
    Transition {
        /// The class the image moves to.
        #[serde(rename = "targetStorageClass")]
        target: StorageClass,
    },
}

impl Action {
    /// The present-tense verb used in reasons: `expires` or `archives`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Expire => "expires",
            Action::Transition { .. } => "archives",
        }
    }

    /// The infinitive used in reasons: `expire` or `archive`.
    pub fn infinitive(self) -> &'static str {
        match self {
            Action::Expire => "expire",
            Action::Transition { .. } => "archive",
        }
    }
}

/// A user-supplied `--at` value that is neither RFC 3339 nor a plain date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time {value:?}: expected RFC 3339 (e.g. 2026-12-01T00:00:00Z) or a date (e.g. \
     2026-12-01, meaning midnight UTC)"
)]
pub struct AtError {
    /// The text that was given.
    pub value: String,
}

/// Parses a user-supplied evaluation time: RFC 3339 with an offset
/// (`2026-12-01T08:00:00+01:00`), or a plain date (`2026-12-01`), which means midnight UTC.
pub fn parse_at(text: &str) -> Result<DateTime<Utc>, AtError> {
    let trimmed = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(trimmed)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AtError {
            value: text.to_owned(),
        })
}

/// Serde helpers shared by the output types: timestamps as RFC 3339 in UTC.
pub(crate) mod ser {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    /// Formats a timestamp as RFC 3339 with `Z`, keeping sub-second digits when present.
    pub(crate) fn rfc3339_string(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// Serialises a timestamp as RFC 3339.
    pub(crate) fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339_string(t))
    }

    /// Serialises an optional timestamp as RFC 3339 or `null`.
    pub(crate) fn rfc3339_opt<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&rfc3339_string(t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_at_accepts_date_and_rfc3339() {
        let midnight = parse_at("2026-12-01").unwrap();
        assert_eq!(ser::rfc3339_string(&midnight), "2026-12-01T00:00:00Z");
        let offset = parse_at("2026-12-01T08:30:00+01:00").unwrap();
        assert_eq!(ser::rfc3339_string(&offset), "2026-12-01T07:30:00Z");
        let frac = parse_at(" 2026-12-01T00:00:00.5Z ").unwrap();
        assert_eq!(ser::rfc3339_string(&frac), "2026-12-01T00:00:00.500Z");
    }

    #[test]
    fn parse_at_rejects_other_text() {
        for bad in [
            "",
            "tomorrow",
            "2026-13-01",
            "2026-12-01T00:00:00",
            "1671094862",
        ] {
            let err = parse_at(bad).unwrap_err();
            assert!(err.to_string().contains("RFC 3339"), "{bad}: {err}");
        }
    }

    #[test]
    fn action_serialises_like_the_preview_api() {
        assert_eq!(
            serde_json::to_string(&Action::Expire).unwrap(),
            r#"{"type":"EXPIRE"}"#
        );
        assert_eq!(
            serde_json::to_string(&Action::Transition {
                target: StorageClass::Archive
            })
            .unwrap(),
            r#"{"type":"TRANSITION","targetStorageClass":"ARCHIVE"}"#
        );
    }
}
