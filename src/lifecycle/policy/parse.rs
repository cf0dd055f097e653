//! Walking a policy document by hand: every key, type and enum value checked with AWS's
//! JSON-schema wording, each problem tied to its rule, and the rules folded into the model.

use serde_json::{Map, Value};

use super::validate::cross_checks;
use super::*;

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
pub(super) struct Cx {
    pub(super) mode: ValidationMode,
    pub(super) notes: Vec<PolicyNote>,
}

impl Cx {
    pub(super) fn push(
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
    pub(super) fn invalid(
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
    pub(super) fn advisory(&mut self, check: Check, rule: Option<RuleRef>, message: String) {
        let severity = match self.mode {
            ValidationMode::Strict => Severity::Warning,
            ValidationMode::Accepted => Severity::Note,
        };
        self.push(severity, check, rule, message, None);
    }

    /// The policy cannot be evaluated: an error in both modes.
    pub(super) fn unusable(
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
    pub(super) fn unknown_keys(
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
    pub(super) fn enum_value<T: Copy>(
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
    pub(super) fn rule(&mut self, position: usize, value: &Value) -> Option<Rule> {
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

    pub(super) fn selection(&mut self, at: RuleRef, sel: &Map<String, Value>) -> Option<Selection> {
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
    pub(super) fn string_list(
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

    pub(super) fn action(&mut self, at: RuleRef, act: &Map<String, Value>) -> Option<Action> {
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
}

/// What [`Cx::selection`] read, before it is folded into a [`Rule`].
pub(super) struct Selection {
    pub(super) tag_status: TagStatus,
    pub(super) prefixes: Option<Vec<String>>,
    pub(super) patterns: Option<Vec<String>>,
    pub(super) storage_class: Option<StorageClass>,
    pub(super) count_type: CountType,
    pub(super) count_unit: Option<Value>,
    pub(super) count_number: u64,
}

/// What the rule's text said, where the [`Rule`] no longer shows it.
pub(super) struct Written {
    pub(super) prefix_list: bool,
    pub(super) pattern_list: bool,
    pub(super) storage_class: Option<StorageClass>,
    pub(super) count_unit: Option<Value>,
}

/// Reads an integer the way JSON schema does: `5` and `5.0` are integers, `5.5` is not.
pub(super) fn as_integer(v: &Value) -> Option<i64> {
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

pub(super) fn missing_keys(obj: &Map<String, Value>, required: &[&str]) -> String {
    required
        .iter()
        .filter(|k| !obj.contains_key(**k))
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn json_type(v: &Value) -> &'static str {
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

pub(super) fn type_mismatch(v: &Value, expected: &str) -> String {
    format!(
        "instance type ({}) does not match any allowed primitive type (allowed: [\"{expected}\"])",
        json_type(v)
    )
}

/// A short JSON rendering of a value for messages.
pub(super) fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let short: String = s.chars().take(57).collect();
        format!("{short}...")
    } else {
        s
    }
}

/// Escapes a user string for inclusion between double quotes in a message.
pub(super) fn escape(s: &str) -> String {
    s.escape_debug().to_string()
}
