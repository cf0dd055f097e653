//! The lifecycle's input files and their findings: policy files (a policy,
//! or `aws ecr get-lifecycle-policy` output) validated strictly with every
//! note placed at its rule (`path:line:col`), the live policy read as AWS
//! accepted it ([`PolicySource`]), and image lists (`aws ecr describe-images`
//! output) with the repositories they cover ([`ListOwner`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};

use crate::in_use::InUseEntry;
use crate::lifecycle::{
    parse_describe_images, parse_policy, ImageDetail, Policy, PolicyError, PolicyNote,
    ValidationMode,
};
use crate::reference::ecr::{parse_ecr_host, Repo};
use crate::report::{Code, Finding, Severity};

/// A lifecycle policy as `GetLifecyclePolicy` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePolicy {
    /// `lifecyclePolicyText`, verbatim.
    pub text: String,
    /// `lastEvaluatedAt`: when ECR last ran the policy.
    pub last_evaluated_at: Option<DateTime<Utc>>,
}

/// Reads and strictly validates a policy file. Findings point at the rule
/// (`path:line:col` of the rule object): errors refuse the file, warnings are returned
/// with the policy.
pub fn load_policy_file(path: &Path) -> Result<(Policy, String, Vec<Finding>), Vec<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Finding::new(
            Code::ReadError,
            Severity::Error,
            format!("cannot read the policy: {e}"),
        )
        .in_file(path)]
    })?;
    // `aws ecr get-lifecycle-policy` output (or a put-lifecycle-policy input): the policy
    // is the string in lifecyclePolicyText. Places then name the line inside that string.
    let (text, wrapped) = match wrapped_policy_text(&text) {
        Some((inner, at)) => (inner, Some(at)),
        None => (text, None),
    };
    let rewrap = |findings: Vec<Finding>| -> Vec<Finding> {
        let Some(at) = wrapped else { return findings };
        findings
            .into_iter()
            .map(|mut f| {
                if let (Some(l), Some(c)) = (f.line, f.column) {
                    f.message = format!("{} (lifecyclePolicyText line {l}, column {c})", f.message);
                }
                f.at(at)
            })
            .collect()
    };
    match parse_policy(&text, ValidationMode::Strict) {
        Ok((policy, notes)) => {
            let findings = rewrap(policy_note_findings(path, &text, &notes));
            Ok((policy, text, findings))
        }
        Err(PolicyError::Json {
            line,
            column,
            message,
        }) => Err(rewrap(vec![Finding::new(
            Code::PolicyInvalid,
            Severity::Error,
            format!("the lifecycle policy is not valid JSON: {message}"),
        )
        .in_file(path)
        .at((line, column))])),
        Err(PolicyError::Invalid { problems }) => {
            Err(rewrap(policy_note_findings(path, &text, &problems)))
        }
    }
}

/// The policy inside a `{"lifecyclePolicyText": "…"}` document (what `aws ecr
/// get-lifecycle-policy` prints), with the line and column of that key in the file.
fn wrapped_policy_text(text: &str) -> Option<(String, (usize, usize))> {
    let value: Json = serde_json::from_str(text).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("rules") {
        return None;
    }
    let inner = obj.get("lifecyclePolicyText")?.as_str()?.to_owned();
    let offset = text.find("\"lifecyclePolicyText\"").unwrap_or(0);
    Some((inner, crate::locate::line_col(text.as_bytes(), offset)))
}

/// One finding per validation note, at the rule it is about.
fn policy_note_findings(path: &Path, text: &str, notes: &[PolicyNote]) -> Vec<Finding> {
    let places = rule_places(text);
    notes
        .iter()
        .map(|note| {
            let (code, severity) = match note.severity {
                crate::lifecycle::Severity::Error => (Code::PolicyInvalid, Severity::Error),
                crate::lifecycle::Severity::Warning => (Code::PolicyNote, Severity::Warning),
                crate::lifecycle::Severity::Note => (Code::PolicyNote, Severity::Note),
            };
            let place = note
                .rule
                .and_then(|r| places.get(r.position.checked_sub(1)?).copied())
                .unwrap_or((1, 1));
            Finding::new(code, severity, format!("[{}] {note}", note.check.code()))
                .in_file(path)
                .at(place)
        })
        .collect()
}

/// Line and column of each element of the top-level `rules` array, in order.
fn rule_places(text: &str) -> Vec<(usize, usize)> {
    use crate::locate::tree::Node;
    let Ok(root) = crate::locate::json::parse(text) else {
        return Vec::new();
    };
    let Some(items) = root.get("rules").and_then(Node::items) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let offset = match item {
                Node::Map { offset, .. } | Node::Seq { offset, .. } => *offset,
                Node::Scalar(s) => s.span.start,
            };
            crate::locate::line_col(text.as_bytes(), offset)
        })
        .collect()
}

/// Which policy a repository is evaluated with.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// `--policy FILE`.
    File(PathBuf, Policy, String),
    /// The repository's live policy.
    Live(Policy, LivePolicy),
    /// The repository has none.
    None,
}

impl PolicySource {
    /// The policy evaluated, if the repository has one.
    pub fn policy(&self) -> Option<&Policy> {
        match self {
            PolicySource::File(_, p, _) | PolicySource::Live(p, _) => Some(p),
            PolicySource::None => None,
        }
    }

    /// The policy text as written (file) or as AWS stores it (live).
    pub fn text(&self) -> Option<&str> {
        match self {
            PolicySource::File(_, _, t) => Some(t),
            PolicySource::Live(_, live) => Some(&live.text),
            PolicySource::None => None,
        }
    }

    /// Names the source in a repository's entry of the JSON document
    /// (`policy`, and `policyFile` or `lastEvaluatedAt`).
    pub fn describe(&self, doc: &mut Map<String, Json>) {
        match self {
            PolicySource::File(path, _, _) => {
                doc.insert("policy".into(), "file".into());
                doc.insert("policyFile".into(), path.display().to_string().into());
            }
            PolicySource::Live(_, live) => {
                doc.insert("policy".into(), "live".into());
                if let Some(t) = live.last_evaluated_at {
                    doc.insert(
                        "lastEvaluatedAt".into(),
                        crate::lifecycle::ser::rfc3339_string(&t).into(),
                    );
                }
            }
            PolicySource::None => {
                doc.insert("policy".into(), "none".into());
            }
        }
    }
}

/// The live policy of `repo`, read as AWS accepted it; notes become findings.
pub fn live_policy_source(
    repo: &Repo,
    live: Option<LivePolicy>,
    findings: &mut Vec<Finding>,
) -> Option<PolicySource> {
    let Some(live) = live else {
        findings.push(
            Finding::new(
                Code::LifecycleNoPolicy,
                Severity::Note,
                format!("{repo}: no lifecycle policy: nothing expires"),
            )
            .location(repo.to_string()),
        );
        return Some(PolicySource::None);
    };
    match parse_policy(&live.text, ValidationMode::Accepted) {
        Ok((policy, notes)) => {
            for note in notes {
                findings.push(
                    Finding::new(
                        Code::PolicyNote,
                        Severity::Note,
                        format!("{repo}: live policy: [{}] {note}", note.check.code()),
                    )
                    .location(repo.to_string()),
                );
            }
            Some(PolicySource::Live(policy, live))
        }
        Err(e) => {
            findings.push(
                Finding::new(
                    Code::PolicyInvalid,
                    Severity::Error,
                    format!("{repo}: the live lifecycle policy cannot be evaluated: {e}"),
                )
                .location(repo.to_string()),
            );
            None
        }
    }
}

/// The repository a saved image list belongs to, from the `repositoryName` and
/// `registryId` that `aws ecr describe-images` prints on every image (empty when the list
/// does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOwner {
    /// Every `repositoryName` in the list.
    pub repositories: BTreeSet<String>,
    /// Every `registryId` in the list.
    pub accounts: BTreeSet<String>,
    /// The document carries a `nextToken`: it is one page of a longer list.
    pub partial: bool,
}

impl ListOwner {
    /// Reads `repositoryName`/`registryId` from a describe-images document (or array).
    pub fn of(text: &str) -> ListOwner {
        let mut owner = ListOwner::default();
        let Ok(value) = serde_json::from_str::<Json>(text) else {
            return owner;
        };
        owner.partial = value
            .get("nextToken")
            .is_some_and(|t| !t.is_null() && t.as_str() != Some(""));
        let list = value.get("imageDetails").unwrap_or(&value);
        for image in list.as_array().into_iter().flatten() {
            if let Some(r) = image.get("repositoryName").and_then(Json::as_str) {
                owner.repositories.insert(r.to_owned());
            }
            if let Some(a) = image.get("registryId").and_then(Json::as_str) {
                owner.accounts.insert(a.to_owned());
            }
        }
        owner
    }

    /// Whether `entry` may concern this list: bare digests always; an Amazon ECR
    /// reference when its repository (and account) is the list's; any other reference
    /// when its name, as written, is the list's repository (`api:1` for `api`). A list
    /// that names no repository takes every entry.
    pub fn concerns(&self, entry: &InUseEntry) -> bool {
        let Some(reference) = &entry.reference else {
            return true;
        };
        if self.repositories.is_empty() {
            return true;
        }
        match parse_ecr_host(reference.domain()) {
            Some(host) => {
                self.repositories.contains(reference.repository())
                    && (self.accounts.is_empty() || self.accounts.contains(&host.account))
            }
            None => {
                self.repositories.contains(reference.written_name())
                    || self.repositories.contains(reference.repository())
            }
        }
    }

    /// `repository api (account 123456789012)`, for messages.
    pub fn describe(&self) -> String {
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        if self.accounts.is_empty() {
            format!("repository {}", join(&self.repositories))
        } else {
            format!(
                "repository {} (account {})",
                join(&self.repositories),
                join(&self.accounts)
            )
        }
    }
}

/// Reads a saved `aws ecr describe-images` answer, and the repository it names; the
/// error is placed in the file.
pub fn read_images(path: &Path) -> Result<(Vec<ImageDetail>, ListOwner), Box<Finding>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Finding::new(
            Code::ReadError,
            Severity::Error,
            format!("cannot read the image list: {e}"),
        )
        .in_file(path)
    })?;
    let images = parse_describe_images(&text).map_err(|e| {
        let f = Finding::new(Code::ParseError, Severity::Error, e.to_string()).in_file(path);
        Box::new(match e {
            crate::lifecycle::ImagesError::Json { line, column, .. } => f.at((line, column)),
            _ => f,
        })
    })?;
    // Digests end up in messages and tags: a malformed one is refused here, naming the
    // image, rather than trusted.
    for (i, image) in images.iter().enumerate() {
        let bad = std::iter::once(("imageDigest", &image.digest))
            .chain(image.manifests.iter().map(|m| ("manifests", m)))
            .find_map(|(field, d)| {
                crate::digest::Digest::parse(d)
                    .err()
                    .map(|e| format!("{field} {d:?}: {e}"))
            });
        if let Some(why) = bad {
            return Err(Box::new(
                Finding::new(
                    Code::ParseError,
                    Severity::Error,
                    format!("image {}: {why}", i + 1),
                )
                .in_file(path),
            ));
        }
    }
    Ok((images, ListOwner::of(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_file_errors_point_at_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let text = "{\n  \"rules\": [\n    {\"rulePriority\": 1, \"selection\": {\"tagStatus\": \"any\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 5}, \"action\": {\"type\": \"expire\"}},\n    {\"rulePriority\": 2, \"selection\": {\"tagStatus\": \"tagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 0}, \"action\": {\"type\": \"expire\"}}\n  ]\n}\n";
        std::fs::write(&path, text).unwrap();
        let errors = load_policy_file(&path).unwrap_err();
        assert!(!errors.is_empty());
        assert!(errors
            .iter()
            .all(|f| f.file.as_deref() == Some(path.as_path())));
        let second_rule: Vec<&Finding> = errors.iter().filter(|f| f.line == Some(4)).collect();
        assert!(!second_rule.is_empty(), "{errors:?}");
        assert_eq!(second_rule[0].column, Some(5));
        assert!(
            errors.iter().any(|f| f.message.contains("[V3]")),
            "{errors:?}"
        );
        std::fs::write(&path, "{\n  \"rules\": [\n").unwrap();
        let json_error = load_policy_file(&path).unwrap_err();
        assert_eq!(json_error[0].code, Code::PolicyInvalid);
        assert_eq!(json_error[0].line, Some(3));
    }

    #[test]
    fn get_lifecycle_policy_output_is_a_policy_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("glp.json");
        let inner = serde_json::to_string_pretty(&json!({"rules": [
            {"rulePriority": 1, "description": "keep two releases",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
             "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}}]}))
        .unwrap();
        let doc = json!({"registryId": "123456789012", "repositoryName": "api",
                         "lifecyclePolicyText": inner, "lastEvaluatedAt": 1.7e9});
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        let (policy, text, findings) = load_policy_file(&path).unwrap();
        assert_eq!(policy.rules.len(), 1);
        assert_eq!(text, inner, "the policy text proposals build on");
        assert!(findings.is_empty(), "{findings:?}");
        // A refused wrapped policy points at the lifecyclePolicyText line of the file.
        let bad = json!({"repositoryName": "api", "lifecyclePolicyText":
            inner.replace("\"countNumber\": 2", "\"countNumber\": 0")});
        std::fs::write(&path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
        let errors = load_policy_file(&path).unwrap_err();
        assert_eq!(errors[0].code, Code::PolicyInvalid);
        // Line 2 is "repositoryName", line 3 the policy text (keys in insertion order).
        assert_eq!(errors[0].line, Some(3), "{errors:?}");
        assert!(
            errors[0]
                .message
                .contains("(lifecyclePolicyText line 3, column 5)"),
            "{errors:?}"
        );
    }
}
