//! Lifecycle policy model, parsing and validation (ECR-LIFECYCLE.md part 1).
//!
//! The rule of this module: a policy the user wrote ([`ValidationMode::Strict`]) is held to
//! every documented constraint (V1–V13 and the length limits are errors, V9b, V14 and
//! unusual casing are warnings), while a policy read back from AWS
//! ([`ValidationMode::Accepted`]) has already been accepted by the service and is never
//! refused unless it cannot be evaluated at all; its oddities become notes. Every problem
//! names the rule it is about by position in the text and by `rulePriority`.
//!
//! This file holds the model; [`parse_policy`] walks the JSON by hand in `parse.rs` (not
//! derived, so that unknown keys, wrong types and unknown enum values can be reported with
//! AWS's JSON-schema wording and the rule they belong to), and `validate.rs` holds the
//! documented constraints on one rule and between rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Action, StorageClass};

mod parse;
mod validate;

pub use parse::parse_policy;

/// Shortest policy text AWS accepts, in characters, whitespace included.
pub const MIN_POLICY_CHARS: usize = 100;
/// Longest policy text AWS accepts, in characters (a service quota that cannot be raised).
pub const MAX_POLICY_CHARS: usize = 30_720;

/// Most `*` wildcards AWS allows in one `tagPatternList` entry (V5).
const MAX_WILDCARDS: usize = 4;
/// Fewest days an image must stay archived before AWS lets a policy delete it (V9b).
const MIN_ARCHIVE_DAYS: u64 = 90;

/// How strictly a policy is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationMode {
    /// A policy the user wrote (`--policy FILE`): V1–V13 and the length limits are errors;
    /// V9b, V14, unusual casing and an empty rule list are warnings.
    Strict,
    /// A policy read back from AWS (`GetLifecyclePolicy`): AWS already accepted it, so it is
    /// refused only when it cannot be evaluated; everything else becomes a note.
    Accepted,
}

/// How serious a [`PolicyNote`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy is refused.
    Error,
    /// Accepted, but probably not what was meant, or possibly refused by AWS.
    Warning,
    /// Informational: something odd in a policy AWS already accepted.
    Note,
}

/// Which constraint a [`PolicyNote`] is about; the `V…` codes are those of
/// ECR-LIFECYCLE.md part 1.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Check {
    /// Shape: valid JSON, required keys, types, no unknown keys, `rulePriority` ≥ 1.
    V1,
    /// `rulePriority` is unique.
    V2,
    /// `tagged` needs exactly one non-empty `tagPrefixList` or `tagPatternList`.
    V3,
    /// `untagged` and `any` allow neither list, not even `[]`.
    V4,
    /// At most four `*` per pattern.
    V5,
    /// `countUnit` is `days`, required for `since*`, not allowed with `imageCountMoreThan`.
    V6,
    /// `countNumber` is an integer ≥ 1.
    V7,
    /// `sinceImagePulled` requires `transition`.
    V8,
    /// `sinceImageTransitioned` requires `expire` and `storageClass = archive`.
    V9,
    /// `sinceImageTransitioned` with fewer than 90 days (inferred; a warning).
    #[serde(rename = "V9b")]
    V9b,
    /// `storageClass = archive` only with `sinceImageTransitioned`.
    V10,
    /// `transition` requires `targetStorageClass = archive`; `expire` takes none.
    V11,
    /// An `any` rule has the highest `rulePriority` of its storage class.
    V12,
    /// At most one `untagged` rule per storage class.
    V13,
    /// Tagged rules of one class carry distinct tag lists (assumed reading; a warning).
    V14,
    /// The raw text is 100 to 30,720 characters long.
    #[serde(rename = "length")]
    Length,
    /// An enum value spelled in another casing than the documented one.
    #[serde(rename = "casing")]
    Casing,
    /// `"rules": []` (whether AWS accepts it is not documented).
    #[serde(rename = "empty-rules")]
    EmptyRules,
}

impl Check {
    /// The code as printed: `V1` … `V14`, `V9b`, `length`, `casing`, `empty-rules`.
    pub fn code(self) -> &'static str {
        match self {
            Check::V1 => "V1",
            Check::V2 => "V2",
            Check::V3 => "V3",
            Check::V4 => "V4",
            Check::V5 => "V5",
            Check::V6 => "V6",
            Check::V7 => "V7",
            Check::V8 => "V8",
            Check::V9 => "V9",
            Check::V9b => "V9b",
            Check::V10 => "V10",
            Check::V11 => "V11",
            Check::V12 => "V12",
            Check::V13 => "V13",
            Check::V14 => "V14",
            Check::Length => "length",
            Check::Casing => "casing",
            Check::EmptyRules => "empty-rules",
        }
    }
}

/// Names a rule in messages: its 1-based position in the policy text and its
/// `rulePriority` when that could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    /// 1-based position of the rule in the `rules` array as written.
    pub position: usize,
    /// Its `rulePriority`, if it is an integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_priority: Option<i64>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule_priority {
            Some(p) => write!(f, "rule {} (rulePriority {p})", self.position),
            None => write!(f, "rule {}", self.position),
        }
    }
}

/// One validation finding: an error, a warning or a note, about the policy or one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyNote {
    /// How serious it is in the mode the policy was parsed in.
    pub severity: Severity,
    /// The constraint it is about.
    pub check: Check,
    /// The rule it is about; `None` for the document as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// What is wrong, in plain words.
    pub message: String,
    /// AWS's own `<detail>` text for this failure, where one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_detail: Option<&'static str>,
}

impl fmt::Display for PolicyNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rule) = &self.rule {
            write!(f, "{rule}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(aws) = self.aws_detail {
            write!(f, " (AWS: \"{aws}\")")?;
        }
        Ok(())
    }
}

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON at all (V1). AWS answers "Could not map policyString into
    /// LifecyclePolicy."
    #[error("the lifecycle policy is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The policy breaks constraints (strict mode), or cannot be evaluated (either mode).
    /// `problems` holds every finding, errors first; warnings and notes are included so
    /// that one run shows everything.
    #[error("{}", display_problems(.problems))]
    Invalid {
        /// Every finding, errors first.
        problems: Vec<PolicyNote>,
    },
}

impl PolicyError {
    /// The findings of severity [`Severity::Error`].
    pub fn errors(&self) -> Vec<&PolicyNote> {
        match self {
            PolicyError::Json { .. } => Vec::new(),
            PolicyError::Invalid { problems } => problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .collect(),
        }
    }
}

fn display_problems(problems: &[PolicyNote]) -> String {
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    match errors.len() {
        0 => "lifecycle policy validation failure".to_owned(),
        1 => format!("lifecycle policy validation failure: {}", errors[0]),
        n => format!(
            "lifecycle policy validation failure ({n} problems): {}",
            errors.join("; ")
        ),
    }
}

/// A rule's `tagStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagStatus {
    /// Images with at least one tag matching every entry of the rule's list.
    Tagged,
    /// Images without tags.
    Untagged,
    /// Every image.
    Any,
}

impl TagStatus {
    fn as_str(self) -> &'static str {
        match self {
            TagStatus::Tagged => "tagged",
            TagStatus::Untagged => "untagged",
            TagStatus::Any => "any",
        }
    }
}

/// A rule's `countType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CountType {
    /// Keep the `countNumber` youngest images, mark the rest.
    ImageCountMoreThan,
    /// Mark images pushed (or restored) more than `countNumber` days ago.
    SinceImagePushed,
    /// Mark images not pulled for more than `countNumber` days (transition only).
    SinceImagePulled,
    /// Mark archived images archived more than `countNumber` days ago (expire only).
    SinceImageTransitioned,
}

impl CountType {
    /// The policy-JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CountType::ImageCountMoreThan => "imageCountMoreThan",
            CountType::SinceImagePushed => "sinceImagePushed",
            CountType::SinceImagePulled => "sinceImagePulled",
            CountType::SinceImageTransitioned => "sinceImageTransitioned",
        }
    }

    /// True for the three `since*` (age) types.
    pub fn is_age(self) -> bool {
        self != CountType::ImageCountMoreThan
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// 1-based position in the `rules` array as written.
    pub position: usize,
    /// `rulePriority`: lower numbers are applied first.
    pub rule_priority: i64,
    /// `description`, if any.
    pub description: Option<String>,
    /// `selection.tagStatus`.
    pub tag_status: TagStatus,
    /// `selection.tagPrefixList` (empty when absent).
    pub tag_prefixes: Vec<String>,
    /// `selection.tagPatternList` (empty when absent).
    pub tag_patterns: Vec<String>,
    /// `selection.storageClass`, `standard` when absent.
    pub storage_class: StorageClass,
    /// `selection.countType`.
    pub count_type: CountType,
    /// `selection.countNumber` (days for the `since*` types).
    pub count_number: u64,
    /// `action`.
    pub action: Action,
}

impl Rule {
    /// The rule's tag predicate (ECR-LIFECYCLE.md 2.2 step 3).
    ///
    /// `any` matches everything, `untagged` matches an empty tag set, and `tagged` matches a
    /// non-empty tag set in which **every** prefix is the start of some tag and **every**
    /// pattern matches some tag as a whole-string glob (AND across the list). Matching is
    /// case-sensitive (assumed). In an accepted policy (which AWS would not have stored
    /// otherwise), a tagged rule with both lists must satisfy both, and a tagged rule with no
    /// list matches every tagged image.
    pub fn matches_tags(&self, tags: &[String]) -> bool {
        match self.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => tags.is_empty(),
            TagStatus::Tagged => {
                !tags.is_empty()
                    && self
                        .tag_prefixes
                        .iter()
                        .all(|p| tags.iter().any(|t| t.starts_with(p.as_str())))
                    && self
                        .tag_patterns
                        .iter()
                        .all(|q| tags.iter().any(|t| glob_match(q, t)))
            }
        }
    }

    /// The rule as named in messages: position and `rulePriority`.
    pub fn reference(&self) -> RuleRef {
        RuleRef {
            position: self.position,
            rule_priority: Some(self.rule_priority),
        }
    }

    /// The rule as named in evaluation reasons: `rule 20 ("keep releases")`, using the
    /// `rulePriority` (the number AWS reports as `appliedRulePriority`) and the description.
    pub fn label(&self) -> String {
        match self.description.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => format!("rule {} (\"{d}\")", self.rule_priority),
            _ => format!("rule {}", self.rule_priority),
        }
    }
}

/// A validated policy: its rules sorted by `rulePriority` (then by position, which only
/// matters for duplicate priorities in an accepted policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The rules, lowest `rulePriority` (applied first) first.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// Whether a rule acts by last pull (`sinceImagePulled`).
    pub fn acts_by_last_pull(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.count_type == CountType::SinceImagePulled)
    }

    /// The rule with this `rulePriority`, if any.
    pub fn rule_by_priority(&self, priority: i64) -> Option<&Rule> {
        self.rules.iter().find(|r| r.rule_priority == priority)
    }
}

/// Whole-string glob match where `*` matches any run of characters (including none) and
/// every other character matches only itself. A pattern without `*` is an exact match.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more byte and retry. Literal runs are whole UTF-8
            // sequences, so a match always ends on character boundaries.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests;
