//! The documented constraints (ECR-LIFECYCLE.md part 1): V3–V11 and V9b on one rule,
//! V2, V12, V13 and V14 between rules, as errors in strict mode and notes for a policy
//! AWS already accepted.

use super::parse::{compact, escape, Cx, Written};
use super::*;

impl Cx {
    /// V3–V11 and V9b on one rule.
    pub(super) fn rule_checks(&mut self, rule: &Rule, written: &Written) {
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

/// V2, V12, V13 and V14: constraints between rules.
pub(super) fn cross_checks(cx: &mut Cx, rules: &[Rule]) {
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
