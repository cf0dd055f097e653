//! Pull-time update exclusions against `sinceImagePulled` rules: a principal
//! on the registry's exclusion list (`ListPullTimeUpdateExclusions`) pulls
//! without refreshing `lastRecordedPullTime`, so if ECS (a task execution
//! role) or Lambda pulls as one, the images it runs look unused to a rule
//! that archives by last pull. Pure.

use super::policy::{CountType, Policy};
use super::repository::RepoMeta;
use crate::report::{Code, Finding, Severity};

/// The warning for one repository, when its policy has a `sinceImagePulled`
/// rule and the registry excludes principals from pull-time updates.
pub fn pull_time_warning(meta: &RepoMeta, policy: &Policy, excluded: &[String]) -> Option<Finding> {
    if excluded.is_empty() || !policy.acts_by_last_pull() {
        return None;
    }
    let rules: Vec<String> = policy
        .rules
        .iter()
        .filter(|r| r.count_type == CountType::SinceImagePulled)
        .map(|r| {
            format!(
                "{} ({} days since the last pull)",
                r.label(),
                r.count_number
            )
        })
        .collect();
    let shown: Vec<&str> = excluded.iter().take(5).map(String::as_str).collect();
    let more = match excluded.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    Some(
        Finding::new(
            Code::PullTimeExcluded,
            Severity::Warning,
            format!(
                "{}: {} archives by last pull, and the registry excludes {}{more} from pull-time updates: pulls by an excluded principal do not refresh lastRecordedPullTime, so if an ECS task execution role or a Lambda function pulls as one of them, the images it runs look unused to that rule (remove the exclusion with `aws ecr deregister-pull-time-update-exclusion`, or keep those images with a tag rule)",
                meta.label,
                rules.join(", "),
                shown.join(", ")
            ),
        )
        .location(meta.label.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::policy;

    fn meta() -> RepoMeta {
        RepoMeta {
            repository: Some("api".into()),
            registry_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            label: "repository api (account 123456789012, us-east-1)".into(),
        }
    }

    const PULLED: &str = r#"{"rules":[{"rulePriority":3,"description":"cold storage",
        "selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},
        "action":{"type":"transition","targetStorageClass":"archive"}}]}"#;

    #[test]
    fn an_exclusion_against_a_pull_rule_is_a_warning_naming_both() {
        let role = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole".to_owned();
        let f = pull_time_warning(&meta(), &policy(PULLED), std::slice::from_ref(&role)).unwrap();
        assert_eq!(f.code, Code::PullTimeExcluded);
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.message.starts_with(&format!(
                "repository api (account 123456789012, us-east-1): rule 3 (\"cold storage\") (90 days since the last pull) archives by last pull, and the registry excludes {role} from pull-time updates"
            )),
            "{}",
            f.message
        );
    }

    #[test]
    fn no_exclusion_or_no_pull_rule_no_warning() {
        assert!(pull_time_warning(&meta(), &policy(PULLED), &[]).is_none());
        let count = policy(crate::lifecycle::fixtures::KEEP_TWO);
        assert!(pull_time_warning(&meta(), &count, &["arn:aws:iam::1:role/x".into()]).is_none());
    }
}
