//! Policy parsing and validation tests: every check, both modes, AWS's wording.

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
        &[
            "rule 1 (rulePriority 0): rulePriority: numeric instance is lower than the required \
           minimum (minimum: 1, found: 0)",
        ],
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
        &[
            "rule 1 (rulePriority 4): tagStatus untagged does not allow tagPrefixList, not even \
           an empty []",
        ],
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
        &[
            "rule 2 (rulePriority 20): tagPatternList entry \"a*b*c*d*e*f\" has 5 wildcards; at \
           most 4 are allowed",
        ],
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
        &[
            "rule 1 (rulePriority 5): countNumber: numeric instance is lower than the required \
           minimum (minimum: 1, found: 0)",
        ],
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
        &[
            "rule 1 (rulePriority 10): storageClass \"archive\" is only allowed with countType \
           sinceImageTransitioned, not imageCountMoreThan",
        ],
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
        &[
            "rule 1 (rulePriority 1): a tagStatus any rule must have the highest rulePriority of \
           storage class standard, but rule 2 (rulePriority 2) comes after it",
        ],
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
        &[
            "rule 2 (rulePriority 2): only one rule may select untagged images in storage class \
           standard, and rule 1 (rulePriority 1) already does",
        ],
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
    assert!(notes[0]
        .to_string()
        .starts_with("rule 2 (rulePriority 2): has the same tag list as rule 1 (rulePriority 1)"));
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
