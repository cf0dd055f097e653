//! Lifecycle policy model, parsing and validation (ECR-LIFECYCLE.md part 1).
//!
//! The rule of this module: a policy the user wrote ([`ValidationMode::Strict`]) is held to
//! every documented constraint (V1–V13 and the length limits are errors, V9b, V14 and
//! unusual casing are warnings), while a policy read back from AWS
//! ([`ValidationMode::Accepted`]) has already been accepted by the service and is never
//! refused unless it cannot be evaluated at all; its oddities become notes. Every problem
//! names the rule it is about by position in the text and by `rulePriority`.
//!
//! The JSON is walked by hand (not derived) so that unknown keys, wrong types and unknown
//! enum values can be reported with AWS's JSON-schema wording and the rule they belong to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Action, StorageClass};

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

/// Parses and validates a lifecycle policy document.
///
/// Returns the policy (rules sorted by `rulePriority`) and the non-fatal findings: warnings
/// in strict mode, notes in accepted mode. Fails with [`PolicyError::Json`] when the text is
/// not JSON, and with [`PolicyError::Invalid`] when a strict policy breaks a constraint or
/// when a policy of either mode cannot be evaluated (for example an unknown `countType`).
pub fn parse_policy(
    text: &str,
    mode: ValidationMode,
) -> Result<(Policy, Vec<PolicyNote>), PolicyError> {
    let mut cx = Cx {
        mode,
        notes: Vec::new(),
    };

    let chars = text.chars().count();
    if chars < MIN_POLICY_CHARS {
        cx.invalid(
            Check::Length,
            None,
            format!(
                "the policy text is {chars} characters long; AWS requires at least \
                 {MIN_POLICY_CHARS} characters of raw text, whitespace included, so pad it \
                 (indentation or a longer description will do)"
            ),
            None,
        );
    } else if chars > MAX_POLICY_CHARS {
        cx.invalid(
            Check::Length,
            None,
            format!(
                "the policy text is {chars} characters long; AWS accepts at most \
                 {MAX_POLICY_CHARS} (a service quota that cannot be raised)"
            ),
            None,
        );
    }

    let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;

    let mut rules = Vec::new();
    match &value {
        Value::Object(top) => {
            cx.unknown_keys(top, &["rules"], None, "");
            match top.get("rules") {
                None => cx.unusable(
                    Check::V1,
                    None,
                    "object has missing required properties ([\"rules\"])".to_owned(),
                    Some("Could not map policyString into LifecyclePolicy."),
                ),
                Some(Value::Array(items)) => {
                    if items.is_empty() {
                        cx.advisory(
                            Check::EmptyRules,
                            None,
                            "the policy has no rules, so it never acts on any image; whether AWS \
                             accepts \"rules\": [] is not documented"
                                .to_owned(),
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        if let Some(rule) = cx.rule(i + 1, item) {
                            rules.push(rule);
                        }
                    }
                }
                Some(other) => cx.unusable(
                    Check::V1,
                    None,
                    format!("rules: {}", type_mismatch(other, "array")),
                    None,
                ),
            }
        }
        other => cx.unusable(
            Check::V1,
            None,
            format!("the document: {}", type_mismatch(other, "object")),
            Some("Could not map policyString into LifecyclePolicy."),
        ),
    }

    cross_checks(&mut cx, &rules);

    let mut notes = cx.notes;
    if notes.iter().any(|n| n.severity == Severity::Error) {
        notes.sort_by_key(|n| n.severity);
        return Err(PolicyError::Invalid { problems: notes });
    }
    rules.sort_by_key(|r| (r.rule_priority, r.position));
    Ok((Policy { rules }, notes))
}

/// Collects findings while walking the document.
struct Cx {
    mode: ValidationMode,
    notes: Vec<PolicyNote>,
}

impl Cx {
    fn push(
        &mut self,
        severity: Severity,
        check: Check,
        rule: Option<RuleRef>,
        message: String,
        aws_detail: Option<&'static str>,
    ) {
        self.notes.push(PolicyNote {
            severity,
            check,
            rule,
            message,
            aws_detail,
        });
    }

    /// A documented constraint is broken: an error in strict mode, a note in accepted mode.
    fn invalid(
        &mut self,
        check: Check,
        rule: Option<RuleRef>,
        message: String,
        aws: Option<&'static str>,
    ) {
        let severity = match self.mode {
            ValidationMode::Strict => Severity::Error,
            ValidationMode::Accepted => Severity::Note,
        };
        self.push(severity, check, rule, message, aws);
    }

    /// Something undocumented or suspicious: a warning in strict mode, a note otherwise.
    fn advisory(&mut self, check: Check, rule: Option<RuleRef>, message: String) {
        let severity = match self.mode {
            ValidationMode::Strict => Severity::Warning,
            ValidationMode::Accepted => Severity::Note,
        };
        self.push(severity, check, rule, message, None);
    }

    /// The policy cannot be evaluated: an error in both modes.
    fn unusable(
        &mut self,
        check: Check,
        rule: Option<RuleRef>,
        message: String,
        aws: Option<&'static str>,
    ) {
        let message = match self.mode {
            ValidationMode::Strict => message,
            ValidationMode::Accepted => format!("{message}; the policy cannot be evaluated"),
        };
        self.push(Severity::Error, check, rule, message, aws);
    }

    /// Reports keys outside `allowed` with AWS's JSON-schema wording.
    fn unknown_keys(
        &mut self,
        obj: &Map<String, Value>,
        allowed: &[&str],
        rule: Option<RuleRef>,
        path: &str,
    ) {
        let unknown: Vec<&String> = obj
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        if unknown.is_empty() {
            return;
        }
        let list = unknown
            .iter()
            .map(|k| format!("\"{}\"", escape(k)))
            .collect::<Vec<_>>()
            .join(",");
        let mut message = format!(
            "{path}object instance has properties which are not allowed by the schema: ([{list}])"
        );
        let hints: Vec<String> = unknown
            .iter()
            .filter_map(|k| {
                allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(k))
                    .map(|a| format!("\"{}\" is spelled \"{a}\"", escape(k)))
            })
            .collect();
        if !hints.is_empty() {
            message.push_str(&format!(" ({})", hints.join(", ")));
        }
        self.invalid(Check::V1, rule, message, None);
    }

    /// Reads an enum value, accepting other casings with a warning.
    fn enum_value<T: Copy>(
        &mut self,
        check: Check,
        rule: RuleRef,
        field: &str,
        value: &Value,
        options: &[(&'static str, T)],
    ) -> Option<T> {
        let Value::String(s) = value else {
            self.unusable(
                check,
                Some(rule),
                format!("{field}: {}", type_mismatch(value, "string")),
                None,
            );
            return None;
        };
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == s) {
            return Some(*v);
        }
        if let Some((name, v)) = options
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
        {
            self.advisory(
                Check::Casing,
                Some(rule),
                format!(
                    "{field} \"{}\" is not the documented spelling \"{name}\"; AWS documents this \
                     spelling only and may reject others",
                    escape(s)
                ),
            );
            return Some(*v);
        }
        let possible = options
            .iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(",");
        self.unusable(
            check,
            Some(rule),
            format!(
                "{field}: instance value (\"{}\") not found in enum (possible values: \
                 [{possible}])",
                escape(s)
            ),
            None,
        );
        None
    }

    /// Reads one rule; `None` when it cannot be evaluated (the reason is already recorded).
    fn rule(&mut self, position: usize, value: &Value) -> Option<Rule> {
        let Value::Object(obj) = value else {
            self.unusable(
                Check::V1,
                Some(RuleRef {
                    position,
                    rule_priority: None,
                }),
                type_mismatch(value, "object"),
                None,
            );
            return None;
        };
        let rule_priority = obj.get("rulePriority").and_then(as_integer);
        let at = RuleRef {
            position,
            rule_priority,
        };
        self.unknown_keys(
            obj,
            &["rulePriority", "description", "selection", "action"],
            Some(at),
            "",
        );
        let missing = missing_keys(obj, &["rulePriority", "selection", "action"]);
        if !missing.is_empty() {
            self.unusable(
                Check::V1,
                Some(at),
                format!("object has missing required properties ([{missing}])"),
                None,
            );
        }

        let mut usable = missing.is_empty();
        match (obj.get("rulePriority"), rule_priority) {
            (Some(v), None) => {
                self.unusable(
                    Check::V1,
                    Some(at),
                    format!("rulePriority: {}", type_mismatch(v, "integer")),
                    None,
                );
                usable = false;
            }
            (_, Some(p)) if p < 1 => self.invalid(
                Check::V1,
                Some(at),
                format!(
                    "rulePriority: numeric instance is lower than the required minimum (minimum: \
                     1, found: {p})"
                ),
                None,
            ),
            _ => {}
        }

        let description = match obj.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.invalid(
                    Check::V1,
                    Some(at),
                    format!("description: {}", type_mismatch(other, "string")),
                    None,
                );
                None
            }
        };

        let selection = match obj.get("selection") {
            Some(Value::Object(sel)) => self.selection(at, sel),
            Some(other) => {
                self.unusable(
                    Check::V1,
                    Some(at),
                    format!("selection: {}", type_mismatch(other, "object")),
                    None,
                );
                None
            }
            None => None,
        };
        let action = match obj.get("action") {
            Some(Value::Object(act)) => self.action(at, act),
            Some(other) => {
                self.unusable(
                    Check::V1,
                    Some(at),
                    format!("action: {}", type_mismatch(other, "object")),
                    None,
                );
                None
            }
            None => None,
        };

        let (sel, action) = (selection?, action?);
        if !usable {
            return None;
        }
        let written = Written {
            prefix_list: sel.prefixes.is_some(),
            pattern_list: sel.patterns.is_some(),
            storage_class: sel.storage_class,
            count_unit: sel.count_unit.clone(),
        };
        let rule = Rule {
            position,
            rule_priority: rule_priority?,
            description,
            tag_status: sel.tag_status,
            tag_prefixes: sel.prefixes.unwrap_or_default(),
            tag_patterns: sel.patterns.unwrap_or_default(),
            storage_class: sel.storage_class.unwrap_or(StorageClass::Standard),
            count_type: sel.count_type,
            count_number: sel.count_number,
            action,
        };
        self.rule_checks(&rule, &written);
        Some(rule)
    }

    fn selection(&mut self, at: RuleRef, sel: &Map<String, Value>) -> Option<Selection> {
        self.unknown_keys(
            sel,
            &[
                "tagStatus",
                "tagPatternList",
                "tagPrefixList",
                "storageClass",
                "countType",
                "countUnit",
                "countNumber",
            ],
            Some(at),
            "selection: ",
        );
        let missing = missing_keys(sel, &["tagStatus", "countType", "countNumber"]);
        if !missing.is_empty() {
            self.unusable(
                Check::V1,
                Some(at),
                format!("selection: object has missing required properties ([{missing}])"),
                None,
            );
        }
        let tag_status = sel.get("tagStatus").and_then(|v| {
            self.enum_value(
                Check::V1,
                at,
                "tagStatus",
                v,
                &[
                    ("tagged", TagStatus::Tagged),
                    ("untagged", TagStatus::Untagged),
                    ("any", TagStatus::Any),
                ],
            )
        });
        let prefixes = self.string_list(at, sel, "tagPrefixList");
        let patterns = self.string_list(at, sel, "tagPatternList");
        let storage_class = sel.get("storageClass").and_then(|v| {
            self.enum_value(
                Check::V1,
                at,
                "storageClass",
                v,
                &[
                    ("standard", StorageClass::Standard),
                    ("archive", StorageClass::Archive),
                ],
            )
        });
        let storage_class_bad = sel.contains_key("storageClass") && storage_class.is_none();
        let count_type = sel.get("countType").and_then(|v| {
            self.enum_value(
                Check::V1,
                at,
                "countType",
                v,
                &[
                    ("imageCountMoreThan", CountType::ImageCountMoreThan),
                    ("sinceImagePushed", CountType::SinceImagePushed),
                    ("sinceImagePulled", CountType::SinceImagePulled),
                    ("sinceImageTransitioned", CountType::SinceImageTransitioned),
                ],
            )
        });
        let count_unit = sel.get("countUnit").cloned();
        let count_number = match sel.get("countNumber") {
            None => None,
            Some(v) => match as_integer(v) {
                Some(n) if n >= 1 => u64::try_from(n).ok(),
                Some(0) => {
                    self.invalid(
                        Check::V7,
                        Some(at),
                        "countNumber: numeric instance is lower than the required minimum \
                         (minimum: 1, found: 0)"
                            .to_owned(),
                        None,
                    );
                    Some(0)
                }
                Some(n) => {
                    self.unusable(
                        Check::V7,
                        Some(at),
                        format!(
                            "countNumber: numeric instance is lower than the required minimum \
                             (minimum: 1, found: {n})"
                        ),
                        None,
                    );
                    None
                }
                None => {
                    self.unusable(
                        Check::V7,
                        Some(at),
                        format!("countNumber: {}", type_mismatch(v, "integer")),
                        None,
                    );
                    None
                }
            },
        };
        let (prefixes, patterns) = (prefixes.ok()?, patterns.ok()?);
        if storage_class_bad {
            return None;
        }
        Some(Selection {
            tag_status: tag_status?,
            prefixes,
            patterns,
            storage_class,
            count_type: count_type?,
            count_unit,
            count_number: count_number?,
        })
    }

    /// Reads an optional list of strings: `Ok(None)` when absent, `Err` when unusable.
    fn string_list(
        &mut self,
        at: RuleRef,
        sel: &Map<String, Value>,
        field: &str,
    ) -> Result<Option<Vec<String>>, ()> {
        match sel.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            self.unusable(
                                Check::V1,
                                Some(at),
                                format!("{field}[{i}]: {}", type_mismatch(other, "string")),
                                None,
                            );
                            return Err(());
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(other) => {
                self.unusable(
                    Check::V1,
                    Some(at),
                    format!("{field}: {}", type_mismatch(other, "array")),
                    None,
                );
                Err(())
            }
        }
    }

    fn action(&mut self, at: RuleRef, act: &Map<String, Value>) -> Option<Action> {
        self.unknown_keys(act, &["type", "targetStorageClass"], Some(at), "action: ");
        let Some(kind) = act.get("type") else {
            self.unusable(
                Check::V1,
                Some(at),
                "action: object has missing required properties ([\"type\"])".to_owned(),
                None,
            );
            return None;
        };
        #[derive(Clone, Copy)]
        enum Kind {
            Expire,
            Transition,
        }
        let kind = self.enum_value(
            Check::V1,
            at,
            "action.type",
            kind,
            &[("expire", Kind::Expire), ("transition", Kind::Transition)],
        )?;
        let target = match act.get("targetStorageClass") {
            None | Some(Value::Null) => None,
            Some(v) => Some(self.enum_value(
                Check::V11,
                at,
                "action.targetStorageClass",
                v,
                &[
                    ("archive", StorageClass::Archive),
                    ("standard", StorageClass::Standard),
                ],
            )?),
        };
        match (kind, target) {
            (Kind::Expire, None) => Some(Action::Expire),
            (Kind::Expire, Some(t)) => {
                // Inferred: the docs only say the field is required with `transition`.
                self.invalid(
                    Check::V11,
                    Some(at),
                    format!(
                        "action.targetStorageClass \"{}\" is only allowed with action type \
                         transition, not expire",
                        t.as_policy_str()
                    ),
                    None,
                );
                Some(Action::Expire)
            }
            (Kind::Transition, None) => {
                self.invalid(
                    Check::V11,
                    Some(at),
                    "action type transition requires targetStorageClass \"archive\"; it is \
                     evaluated as a transition to archive"
                        .to_owned(),
                    None,
                );
                Some(Action::Transition {
                    target: StorageClass::Archive,
                })
            }
            (Kind::Transition, Some(StorageClass::Standard)) => {
                self.invalid(
                    Check::V11,
                    Some(at),
                    "action.targetStorageClass must be \"archive\" (the only supported value), not \
                     \"standard\"; it is evaluated as a transition to archive"
                        .to_owned(),
                    None,
                );
                Some(Action::Transition {
                    target: StorageClass::Archive,
                })
            }
            (Kind::Transition, Some(StorageClass::Archive)) => Some(Action::Transition {
                target: StorageClass::Archive,
            }),
        }
    }

    /// V3–V11 and V9b on one rule.
    fn rule_checks(&mut self, rule: &Rule, written: &Written) {
        let at = Some(rule.reference());
        // Presence, not emptiness, matters for V3/V4: `"tagPrefixList": []` is present.
        let prefix_present = written.prefix_list;
        let pattern_present = written.pattern_list;
        let explicit_class = written.storage_class;
        let count_unit = written.count_unit.as_ref();
        match rule.tag_status {
            TagStatus::Tagged => {
                if !prefix_present && !pattern_present {
                    self.invalid(
                        Check::V3,
                        at,
                        "tagStatus is tagged but neither tagPrefixList nor tagPatternList is given"
                            .to_owned(),
                        Some("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED."),
                    );
                } else if prefix_present && pattern_present {
                    self.invalid(
                        Check::V3,
                        at,
                        "a rule may give tagPrefixList or tagPatternList, not both".to_owned(),
                        None,
                    );
                }
                if prefix_present && rule.tag_prefixes.is_empty() {
                    self.invalid(
                        Check::V3,
                        at,
                        "tagPrefixList is empty; a tagged rule needs at least one prefix"
                            .to_owned(),
                        None,
                    );
                }
                if pattern_present && rule.tag_patterns.is_empty() {
                    self.invalid(
                        Check::V3,
                        at,
                        "tagPatternList is empty; a tagged rule needs at least one pattern"
                            .to_owned(),
                        None,
                    );
                }
            }
            TagStatus::Untagged | TagStatus::Any => {
                for (present, field) in [
                    (prefix_present, "tagPrefixList"),
                    (pattern_present, "tagPatternList"),
                ] {
                    if present {
                        self.invalid(
                            Check::V4,
                            at,
                            format!(
                                "tagStatus {} does not allow {field}, not even an empty []; only \
                                 tagged rules filter on tags",
                                rule.tag_status.as_str()
                            ),
                            None,
                        );
                    }
                }
            }
        }
        for pattern in &rule.tag_patterns {
            let stars = pattern.matches('*').count();
            if stars > MAX_WILDCARDS {
                self.invalid(
                    Check::V5,
                    at,
                    format!(
                        "tagPatternList entry \"{}\" has {stars} wildcards; at most \
                         {MAX_WILDCARDS} are allowed",
                        escape(pattern)
                    ),
                    None,
                );
            }
        }

        match (rule.count_type, count_unit) {
            (CountType::ImageCountMoreThan, Some(unit)) => self.invalid(
                Check::V6,
                at,
                format!(
                    "countUnit ({}) is not allowed with countType imageCountMoreThan",
                    compact(unit)
                ),
                None,
            ),
            (CountType::ImageCountMoreThan, None) => {}
            (ct, None) => self.invalid(
                Check::V6,
                at,
                format!("countType {} requires countUnit \"days\"", ct.as_str()),
                None,
            ),
            (_, Some(Value::String(s))) if s == "days" => {}
            (_, Some(Value::String(s))) if s.eq_ignore_ascii_case("days") => self.advisory(
                Check::Casing,
                at,
                format!(
                    "countUnit \"{}\" is not the documented spelling \"days\"; AWS documents this \
                     spelling only and may reject others",
                    escape(s)
                ),
            ),
            (_, Some(unit)) => self.invalid(
                Check::V6,
                at,
                format!(
                    "countUnit: instance value ({}) not found in enum (possible values: \
                     [\"days\"]); it is evaluated as days",
                    compact(unit)
                ),
                None,
            ),
        }

        if rule.count_type == CountType::SinceImagePulled && rule.action == Action::Expire {
            self.invalid(
                Check::V8,
                at,
                "countType sinceImagePulled must be used with the transition action; it cannot \
                 expire images"
                    .to_owned(),
                None,
            );
        }
        if rule.count_type == CountType::SinceImageTransitioned {
            if rule.action != Action::Expire {
                self.invalid(
                    Check::V9,
                    at,
                    "countType sinceImageTransitioned must be used with the expire action"
                        .to_owned(),
                    None,
                );
            }
            if explicit_class != Some(StorageClass::Archive) {
                self.invalid(
                    Check::V9,
                    at,
                    "countType sinceImageTransitioned requires storageClass \"archive\"".to_owned(),
                    None,
                );
            }
            if rule.count_number < MIN_ARCHIVE_DAYS {
                self.advisory(
                    Check::V9b,
                    at,
                    format!(
                        "countNumber {} is below {MIN_ARCHIVE_DAYS}: images must stay archived for \
                         at least {MIN_ARCHIVE_DAYS} days before deletion, and AWS probably \
                         rejects this rule",
                        rule.count_number
                    ),
                );
            }
        } else if explicit_class == Some(StorageClass::Archive) {
            self.invalid(
                Check::V10,
                at,
                format!(
                    "storageClass \"archive\" is only allowed with countType \
                     sinceImageTransitioned, not {}",
                    rule.count_type.as_str()
                ),
                None,
            );
        }
    }
}

/// What [`Cx::selection`] read, before it is folded into a [`Rule`].
struct Selection {
    tag_status: TagStatus,
    prefixes: Option<Vec<String>>,
    patterns: Option<Vec<String>>,
    storage_class: Option<StorageClass>,
    count_type: CountType,
    count_unit: Option<Value>,
    count_number: u64,
}

/// What the rule's text said, where the [`Rule`] no longer shows it.
struct Written {
    prefix_list: bool,
    pattern_list: bool,
    storage_class: Option<StorageClass>,
    count_unit: Option<Value>,
}

/// V2, V12, V13 and V14: constraints between rules.
fn cross_checks(cx: &mut Cx, rules: &[Rule]) {
    // V2: unique rulePriority.
    let mut first_with: BTreeMap<i64, &Rule> = BTreeMap::new();
    for rule in rules {
        if let Some(first) = first_with.get(&rule.rule_priority) {
            cx.invalid(
                Check::V2,
                Some(rule.reference()),
                format!(
                    "rulePriority {} is also used by rule {}; every rule needs a unique \
                     rulePriority",
                    rule.rule_priority, first.position
                ),
                None,
            );
        } else {
            first_with.insert(rule.rule_priority, rule);
        }
    }

    let mut sorted: Vec<&Rule> = rules.iter().collect();
    sorted.sort_by_key(|r| (r.rule_priority, r.position));
    for class in [StorageClass::Standard, StorageClass::Archive] {
        let in_class: Vec<&Rule> = sorted
            .iter()
            .copied()
            .filter(|r| r.storage_class == class)
            .collect();
        // V12: an `any` rule comes last in its class.
        if let Some(last) = in_class.last() {
            for rule in in_class.iter().filter(|r| r.tag_status == TagStatus::Any) {
                if rule.position != last.position {
                    cx.invalid(
                        Check::V12,
                        Some(rule.reference()),
                        format!(
                            "a tagStatus any rule must have the highest rulePriority of storage \
                             class {}, but {} comes after it",
                            class.as_policy_str(),
                            last.reference()
                        ),
                        Some(
                            "Rule for tagStatus=ANY must have the lowest priority per storage \
                             class",
                        ),
                    );
                }
            }
        }
        // V13: one `untagged` rule per class.
        let mut untagged = in_class
            .iter()
            .filter(|r| r.tag_status == TagStatus::Untagged);
        if let Some(first) = untagged.next() {
            for rule in untagged {
                cx.invalid(
                    Check::V13,
                    Some(rule.reference()),
                    format!(
                        "only one rule may select untagged images in storage class {}, and {} \
                         already does",
                        class.as_policy_str(),
                        first.reference()
                    ),
                    Some("Only one rule can select Untagged images per storage class."),
                );
            }
        }
        // V14 (assumed reading): distinct tag lists, compared as sets.
        let mut seen: BTreeMap<(BTreeSet<&str>, BTreeSet<&str>), &Rule> = BTreeMap::new();
        for rule in in_class
            .iter()
            .filter(|r| r.tag_status == TagStatus::Tagged)
        {
            let key = (
                rule.tag_prefixes.iter().map(String::as_str).collect(),
                rule.tag_patterns.iter().map(String::as_str).collect(),
            );
            if let Some(first) = seen.get(&key) {
                cx.advisory(
                    Check::V14,
                    Some(rule.reference()),
                    format!(
                        "has the same tag list as {} in storage class {}; AWS requires \"a unique \
                         set of prefixes\" per storage class, and this rule can never own an image",
                        first.reference(),
                        class.as_policy_str()
                    ),
                );
            } else {
                seen.insert(key, rule);
            }
        }
    }
}

/// Reads an integer the way JSON schema does: `5` and `5.0` are integers, `5.5` is not.
fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64().and_then(|f| {
                // The bounds keep the cast exact and in range.
                (f.fract() == 0.0 && (-9.0e15..=9.0e15).contains(&f)).then_some(f as i64)
            })
        }),
        _ => None,
    }
}

fn missing_keys(obj: &Map<String, Value>, required: &[&str]) -> String {
    required
        .iter()
        .filter(|k| !obj.contains_key(**k))
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(",")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_mismatch(v: &Value, expected: &str) -> String {
    format!(
        "instance type ({}) does not match any allowed primitive type (allowed: [\"{expected}\"])",
        json_type(v)
    )
}

/// A short JSON rendering of a value for messages.
fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let short: String = s.chars().take(57).collect();
        format!("{short}...")
    } else {
        s
    }
}

/// Escapes a user string for inclusion between double quotes in a message.
fn escape(s: &str) -> String {
    s.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(rules: Value) -> String {
        serde_json::to_string_pretty(&json!({ "rules": rules })).unwrap_or_default()
    }

    fn count_rule(priority: i64, tag_status: &str) -> Value {
        json!({
            "rulePriority": priority,
            "selection": {
                "tagStatus": tag_status, "countType": "imageCountMoreThan", "countNumber": 5
            },
            "action": {"type": "expire"}
        })
    }

    fn tagged(priority: i64, prefixes: &[&str]) -> Value {
        json!({
            "rulePriority": priority,
            "selection": {"tagStatus": "tagged", "tagPrefixList": prefixes,
                          "countType": "imageCountMoreThan", "countNumber": 5},
            "action": {"type": "expire"}
        })
    }

    /// The strict-mode errors of `text`, as displayed.
    fn errors(text: &str) -> Vec<(Check, String)> {
        match parse_policy(text, ValidationMode::Strict) {
            Ok(_) => Vec::new(),
            Err(PolicyError::Json { .. }) => vec![(Check::V1, "json".to_owned())],
            Err(e) => e
                .errors()
                .iter()
                .map(|n| (n.check, n.to_string()))
                .collect(),
        }
    }

    /// Asserts exactly one strict error, of `check`, whose text contains every needle.
    #[track_caller]
    fn assert_one_error(text: &str, check: Check, needles: &[&str]) {
        let errs = errors(text);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].0, check, "{errs:#?}");
        for needle in needles {
            assert!(
                errs[0].1.contains(needle),
                "{:?} lacks {needle:?}",
                errs[0].1
            );
        }
    }

    fn warnings(text: &str) -> Vec<PolicyNote> {
        match parse_policy(text, ValidationMode::Strict) {
            Ok((_, notes)) => notes,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    #[test]
    fn v1_not_json() {
        let err = parse_policy("{\"rules\": [", ValidationMode::Accepted).unwrap_err();
        assert!(matches!(err, PolicyError::Json { line: 1, .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with("the lifecycle policy is not valid JSON (line 1"));
    }

    #[test]
    fn v1_missing_rules_and_wrong_shapes() {
        let padded = format!("{{\"rule\": []{}}}", " ".repeat(100));
        let errs = errors(&padded);
        assert!(errs
            .iter()
            .any(|(_, m)| m.contains("object has missing required properties ([\"rules\"])")));
        assert!(errs.iter().any(|(_, m)| m.contains(
            "object instance has properties which are not allowed by the schema: ([\"rule\"])"
        )));
        let not_array = format!("{{\"rules\": {{}}{}}}", " ".repeat(100));
        assert_one_error(
            &not_array,
            Check::V1,
            &["rules: instance type (object)", "allowed: [\"array\"]"],
        );
        let top_array = format!("[{}]", " ".repeat(100));
        assert_one_error(&top_array, Check::V1, &["instance type (array)"]);
    }

    #[test]
    fn v1_unknown_key_uses_aws_wording_and_names_the_rule() {
        let mut rule = count_rule(20, "any");
        rule["selection"]["storageclass"] = json!("standard");
        let text = doc(json!([tagged(10, &["v"]), rule]));
        assert_one_error(
            &text,
            Check::V1,
            &[
                "rule 2 (rulePriority 20): selection: object instance has properties which are not \
                 allowed by the schema: ([\"storageclass\"])",
                "\"storageclass\" is spelled \"storageClass\"",
            ],
        );
    }

    #[test]
    fn v1_missing_and_mistyped_fields() {
        let text = doc(json!([{
            "rulePriority": 1,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan"}
        }]));
        let errs = errors(&text);
        assert!(
            errs.iter().any(|(_, m)| m
                == "rule 1 (rulePriority 1): object has missing required properties \
                    ([\"action\"])"),
            "{errs:#?}"
        );
        assert!(errs.iter().any(|(_, m)| m
            .contains("selection: object has missing required properties ([\"countNumber\"])")));
        let text = doc(json!([{"rulePriority": "1", "selection": {}, "action": {}}]));
        let errs = errors(&text);
        assert!(
            errs.iter()
                .any(|(_, m)| m.starts_with("rule 1: rulePriority: instance type (string)")),
            "{errs:#?}"
        );
    }

    #[test]
    fn v1_rule_priority_at_least_one() {
        assert_one_error(
            &doc(json!([count_rule(0, "any")])),
            Check::V1,
            &["rule 1 (rulePriority 0): rulePriority: numeric instance is lower than the required \
               minimum (minimum: 1, found: 0)"],
        );
    }

    #[test]
    fn v1_unknown_enum_value() {
        let mut rule = count_rule(1, "any");
        rule["action"]["type"] = json!("delete");
        assert_one_error(
            &doc(json!([rule])),
            Check::V1,
            &[
                "action.type: instance value (\"delete\") not found in enum (possible values: \
                 [\"expire\",\"transition\"])",
            ],
        );
    }

    #[test]
    fn v2_duplicate_priority() {
        assert_one_error(
            &doc(json!([tagged(3, &["a"]), tagged(3, &["b"])])),
            Check::V2,
            &["rule 2 (rulePriority 3): rulePriority 3 is also used by rule 1"],
        );
    }

    #[test]
    fn v3_tagged_needs_exactly_one_list() {
        let mut neither = tagged(1, &["a"]);
        neither["selection"]
            .as_object_mut()
            .map(|s| s.remove("tagPrefixList"));
        assert_one_error(
            &doc(json!([neither])),
            Check::V3,
            &[
                "rule 1 (rulePriority 1): tagStatus is tagged but neither",
                "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.",
            ],
        );
        let mut both = tagged(1, &["a"]);
        both["selection"]["tagPatternList"] = json!(["b*"]);
        assert_one_error(
            &doc(json!([both])),
            Check::V3,
            &["rule 1 (rulePriority 1)", "not both"],
        );
        assert_one_error(
            &doc(json!([tagged(7, &[])])),
            Check::V3,
            &["rule 1 (rulePriority 7): tagPrefixList is empty"],
        );
    }

    #[test]
    fn v4_untagged_allows_no_list_not_even_empty() {
        let mut rule = count_rule(4, "untagged");
        rule["selection"]["tagPrefixList"] = json!([]);
        assert_one_error(
            &doc(json!([rule])),
            Check::V4,
            &["rule 1 (rulePriority 4): tagStatus untagged does not allow tagPrefixList, not even \
               an empty []"],
        );
    }

    #[test]
    fn v5_at_most_four_wildcards() {
        let ok = json!({"rulePriority": 10, "selection": {"tagStatus": "tagged",
            "tagPatternList": ["*test*1*2*3", "test*1*2*3*"],
            "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "expire"}});
        let bad = json!({"rulePriority": 20, "selection": {"tagStatus": "tagged",
            "tagPatternList": ["a*b*c*d*e*f"], "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "expire"}});
        assert_one_error(
            &doc(json!([ok, bad])),
            Check::V5,
            &["rule 2 (rulePriority 20): tagPatternList entry \"a*b*c*d*e*f\" has 5 wildcards; at \
               most 4 are allowed"],
        );
    }

    #[test]
    fn v6_count_unit() {
        let mut with_unit = count_rule(1, "any");
        with_unit["selection"]["countUnit"] = json!("days");
        assert_one_error(
            &doc(json!([with_unit])),
            Check::V6,
            &[
                "rule 1 (rulePriority 1): countUnit (\"days\") is not allowed with countType \
                 imageCountMoreThan",
            ],
        );
        let mut missing = count_rule(2, "any");
        missing["selection"]["countType"] = json!("sinceImagePushed");
        assert_one_error(
            &doc(json!([missing.clone()])),
            Check::V6,
            &["rule 1 (rulePriority 2): countType sinceImagePushed requires countUnit \"days\""],
        );
        missing["selection"]["countUnit"] = json!("hours");
        assert_one_error(
            &doc(json!([missing])),
            Check::V6,
            &["countUnit: instance value (\"hours\") not found in enum"],
        );
    }

    #[test]
    fn v7_count_number_at_least_one() {
        let mut rule = count_rule(5, "any");
        rule["selection"]["countNumber"] = json!(0);
        assert_one_error(
            &doc(json!([rule.clone()])),
            Check::V7,
            &["rule 1 (rulePriority 5): countNumber: numeric instance is lower than the required \
               minimum (minimum: 1, found: 0)"],
        );
        rule["selection"]["countNumber"] = json!(2.5);
        assert_one_error(
            &doc(json!([rule])),
            Check::V7,
            &["countNumber: instance type (number)"],
        );
    }

    #[test]
    fn v8_since_pulled_needs_transition() {
        let rule = json!({"rulePriority": 8, "selection": {"tagStatus": "any",
            "countType": "sinceImagePulled",
            "countUnit": "days", "countNumber": 30}, "action": {"type": "expire"}});
        assert_one_error(
            &doc(json!([rule])),
            Check::V8,
            &[
                "rule 1 (rulePriority 8): countType sinceImagePulled must be used with the \
                 transition action",
            ],
        );
    }

    #[test]
    fn v9_since_transitioned_needs_expire_and_archive() {
        let rule = json!({"rulePriority": 9, "selection": {"tagStatus": "any",
            "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 120},
            "action": {"type": "transition", "targetStorageClass": "archive"}});
        let errs = errors(&doc(json!([rule])));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs.iter().all(|(c, m)| *c == Check::V9
            && m.starts_with("rule 1 (rulePriority 9): countType sinceImageTransitioned")));
        assert!(errs
            .iter()
            .any(|(_, m)| m.contains("with the expire action")));
        assert!(errs
            .iter()
            .any(|(_, m)| m.contains("requires storageClass \"archive\"")));
    }

    #[test]
    fn v9b_short_archive_expiry_is_a_warning() {
        let rule = json!({"rulePriority": 9, "selection": {"tagStatus": "any",
            "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days",
            "countNumber": 30}, "action": {"type": "expire"}});
        let notes = warnings(&doc(json!([rule])));
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!(
            (notes[0].check, notes[0].severity),
            (Check::V9b, Severity::Warning)
        );
        assert!(notes[0]
            .to_string()
            .starts_with("rule 1 (rulePriority 9): countNumber 30 is below 90"));
    }

    #[test]
    fn v10_archive_class_only_for_since_transitioned() {
        let rule = json!({"rulePriority": 10, "selection": {"tagStatus": "any",
            "storageClass": "archive",
            "countType": "imageCountMoreThan", "countNumber": 3}, "action": {"type": "expire"}});
        assert_one_error(
            &doc(json!([rule])),
            Check::V10,
            &["rule 1 (rulePriority 10): storageClass \"archive\" is only allowed with countType \
               sinceImageTransitioned, not imageCountMoreThan"],
        );
    }

    #[test]
    fn v11_transition_target() {
        let mut rule = count_rule(11, "any");
        rule["action"] = json!({"type": "transition"});
        assert_one_error(
            &doc(json!([rule.clone()])),
            Check::V11,
            &[
                "rule 1 (rulePriority 11): action type transition requires targetStorageClass \
                 \"archive\"",
            ],
        );
        rule["action"] = json!({"type": "expire", "targetStorageClass": "archive"});
        assert_one_error(
            &doc(json!([rule])),
            Check::V11,
            &["only allowed with action type transition"],
        );
    }

    #[test]
    fn v12_any_rule_last_in_its_class() {
        assert_one_error(
            &doc(json!([count_rule(1, "any"), tagged(2, &["v"])])),
            Check::V12,
            &["rule 1 (rulePriority 1): a tagStatus any rule must have the highest rulePriority of \
               storage class standard, but rule 2 (rulePriority 2) comes after it"],
        );
        // One `any` rule per class is fine (AWS example "Combining archive and expire rules").
        let archive_any = json!({"rulePriority": 1, "selection": {"tagStatus": "any",
            "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days",
            "countNumber": 365}, "action": {"type": "expire"}});
        assert!(errors(&doc(json!([archive_any, count_rule(2, "any")]))).is_empty());
    }

    #[test]
    fn v13_one_untagged_rule_per_class() {
        assert_one_error(
            &doc(json!([
                count_rule(1, "untagged"),
                count_rule(2, "untagged"),
                count_rule(3, "any")
            ])),
            Check::V13,
            &["rule 2 (rulePriority 2): only one rule may select untagged images in storage class \
               standard, and rule 1 (rulePriority 1) already does"],
        );
    }

    #[test]
    fn v14_same_tag_list_is_a_warning() {
        let notes = warnings(&doc(json!([
            tagged(1, &["prod", "eu"]),
            tagged(2, &["eu", "prod"]),
            tagged(3, &["prod-eu"])
        ])));
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!(
            (notes[0].check, notes[0].severity),
            (Check::V14, Severity::Warning)
        );
        assert!(notes[0].to_string().starts_with(
            "rule 2 (rulePriority 2): has the same tag list as rule 1 (rulePriority 1)"
        ));
    }

    #[test]
    fn length_limits_apply_to_raw_text() {
        let compact =
            serde_json::to_string(&json!({"rules": [count_rule(1, "any")]})).unwrap_or_default();
        assert!(compact.len() >= MIN_POLICY_CHARS, "{}", compact.len());
        let tiny = r#"{"rules":[]}"#;
        let errs = errors(tiny);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].0, Check::Length);
        assert!(errs[0]
            .1
            .contains("is 12 characters long; AWS requires at least 100"));
        let huge = format!(
            "{}{}",
            doc(json!([count_rule(1, "any")])),
            " ".repeat(MAX_POLICY_CHARS)
        );
        assert_one_error(&huge, Check::Length, &["AWS accepts at most 30720"]);
    }

    #[test]
    fn other_casing_is_a_warning_and_still_evaluates() {
        let mut rule = tagged(1, &["v"]);
        rule["selection"]["tagStatus"] = json!("TAGGED");
        let (policy, notes) = parse_policy(&doc(json!([rule])), ValidationMode::Strict).unwrap();
        assert_eq!(policy.rules[0].tag_status, TagStatus::Tagged);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].check, notes[0].severity),
            (Check::Casing, Severity::Warning)
        );
        assert!(notes[0]
            .message
            .contains("tagStatus \"TAGGED\" is not the documented spelling \"tagged\""));
    }

    #[test]
    fn empty_rules_is_a_warning() {
        let text = format!("{{\"rules\": []{}}}", " ".repeat(100));
        let notes = warnings(&text);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].check, Check::EmptyRules);
    }

    #[test]
    fn accepted_mode_turns_violations_into_notes() {
        // Broken in several ways, but stored by AWS (or moto): evaluate, never refuse.
        let text = doc(json!([
            count_rule(1, "any"),
            count_rule(1, "untagged"),
            {"rulePriority": 2, "selection": {"tagStatus": "tagged",
             "tagPatternList": ["a*b*c*d*e*f"], "countType": "imageCountMoreThan", "countNumber": 1,
             "countUnit": "days", "extra": true},
             "action": {"type": "expire"}}
        ]));
        assert!(parse_policy(&text, ValidationMode::Strict).is_err());
        let (policy, notes) = parse_policy(&text, ValidationMode::Accepted).unwrap();
        assert_eq!(policy.rules.len(), 3);
        assert!(
            notes.iter().all(|n| n.severity == Severity::Note),
            "{notes:#?}"
        );
        let checks: BTreeSet<Check> = notes.iter().map(|n| n.check).collect();
        for c in [Check::V1, Check::V2, Check::V5, Check::V6, Check::V12] {
            assert!(checks.contains(&c), "{c:?} missing from {checks:?}");
        }
        // Rules come out sorted by priority, then position.
        let order: Vec<(i64, usize)> = policy
            .rules
            .iter()
            .map(|r| (r.rule_priority, r.position))
            .collect();
        assert_eq!(order, [(1, 1), (1, 2), (2, 3)]);
    }

    #[test]
    fn accepted_mode_refuses_what_cannot_be_evaluated() {
        let mut rule = count_rule(1, "any");
        rule["selection"]["countType"] = json!("sinceImageBuilt");
        let err = parse_policy(&doc(json!([rule])), ValidationMode::Accepted).unwrap_err();
        assert!(err.to_string().contains(
            "rule 1 (rulePriority 1): countType: instance value (\"sinceImageBuilt\") not found in \
             enum"
        ));
        assert!(err.to_string().contains("cannot be evaluated"));
    }

    #[test]
    fn rules_are_sorted_by_priority() {
        let (policy, notes) = parse_policy(
            &doc(json!([
                count_rule(30, "any"),
                tagged(10, &["a"]),
                tagged(20, &["b"])
            ])),
            ValidationMode::Strict,
        )
        .unwrap();
        assert!(notes.is_empty(), "{notes:#?}");
        let order: Vec<i64> = policy.rules.iter().map(|r| r.rule_priority).collect();
        assert_eq!(order, [10, 20, 30]);
        assert_eq!(policy.rule_by_priority(20).map(|r| r.position), Some(3));
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*", "a"));
        assert!(glob_match("*prod*", "prod"));
        assert!(glob_match("a*b*c", "aXbXbXc"));
        assert!(glob_match("**", "x"));
        assert!(glob_match("v1.0", "v1.0"));
        assert!(!glob_match("v1.0", "v1.0.1"));
        assert!(!glob_match("v1.0", "V1.0"));
        assert!(!glob_match("a*b", "a"));
        assert!(!glob_match("", "a"));
        assert!(glob_match("é*ü", "é-ä-ü"));
        assert!(!glob_match("*x*x*x*x", "xxx"));
    }

    #[test]
    fn tag_predicate_and_semantics() {
        let (policy, _) = parse_policy(
            &doc(json!([tagged(1, &["prod", "eu"])])),
            ValidationMode::Strict,
        )
        .unwrap();
        let rule = &policy.rules[0];
        let tags = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(rule.matches_tags(&tags(&["prod-1", "eu-west"])));
        assert!(rule.matches_tags(&tags(&["prod-eu", "eu"])));
        assert!(!rule.matches_tags(&tags(&["prod-eu"])));
        assert!(!rule.matches_tags(&[]));
    }
}
