//! The in-use model: one [`InUseEntry`] per use of an image, whatever the
//! source, with its [`Origin`]; and the readers of every offline source: the
//! scanned files, `--in-use` values (digests, references, JSON files:
//! `imgpin in-use` documents in `document.rs`, `imgpin ecs images` output,
//! `kubectl get pods -o json` in `kubectl.rs`, lists of references).
//! `lifecycle` and `verify` read entries the same way; a new source needs
//! only an adapter to [`InUseEntry`]. No network: live sources (ECS
//! clusters, Lambda, Batch) are asked by `aws` and the commands and adapted
//! here ([`entries_from_ecs_rows`]) or there.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::reference::ImageRef;
use crate::report::{Code, Finding, Severity};
use crate::scan::{Scan, Value};

pub mod document;
mod kubectl;

/// One use of an image: where it is used and what names it.
///
/// Every source of in-use images produces these: files (with a place), `--in-use`
/// values, and ECS rows ([`entries_from_ecs_rows`]); a new source needs only an adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUseEntry {
    /// Where it is used, for people: `k8s/web.yaml:12:16`, `service web container app
    /// (cluster prod)`, `--in-use`.
    pub label: String,
    /// The file it is used in, with 1-based line and column, when it comes from a file.
    pub place: Option<(PathBuf, usize, usize)>,
    /// The image reference, when there is one.
    pub reference: Option<ImageRef>,
    /// The digest in use, when known (pinned reference, a bare digest, an ECS digest).
    pub digest: Option<String>,
    /// Where it comes from, field by field (the `imgpin in-use` document keeps it).
    pub origin: Origin,
    /// The platform the image must serve where it runs, when the source
    /// says (an ECS task definition's `runtimePlatform`, a service
    /// revision's override, a task's architecture): `verify` checks it.
    pub platform: Option<crate::locate::DeclaredPlatform>,
}

/// Where an in-use entry comes from, field by field: the kind of source and
/// what it knows of account, Region, cluster, service, function, …. The JSON
/// names are a contract (docs/in-use.schema.json).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// One of [`SOURCES`].
    pub source: String,
    /// The AWS account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The AWS Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The ECS cluster (name or ARN, as listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The ECS service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The ECS service revision ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_revision: Option<String>,
    /// The ECS Managed Daemon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
    /// The ECS Managed Daemon revision ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_revision: Option<String>,
    /// The ECS task definition (ARN or family:revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// The container name (ECS, Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The Lambda function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The Lambda function version (`$LATEST` or a number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The AWS Batch job definition (`name:revision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_definition: Option<String>,
    /// The EventBridge rule or Scheduler schedule that starts the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The Kubernetes pod (`namespace/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// The kinds of source an entry can come from, as [`Origin::source`] names them.
pub const SOURCES: &[&str] = &[
    "file",
    "in-use",
    "list",
    "ecs-deployment",
    "ecs-task",
    "ecs-stopped-task",
    "ecs-revision",
    "ecs-daemon",
    "kubernetes",
    "lambda",
    "batch",
    "eventbridge",
    "scheduler",
];

impl Origin {
    /// An origin of kind `source` with nothing else known.
    pub fn of(source: &str) -> Origin {
        Origin {
            source: source.to_owned(),
            ..Origin::default()
        }
    }

    /// This origin with the Region and account an ARN names
    /// (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`), where it names them.
    pub fn with_arn(mut self, arn: &str) -> Origin {
        if let Some((region, account)) = arn_region_account(arn) {
            self.region.get_or_insert_with(|| region.to_owned());
            self.account.get_or_insert_with(|| account.to_owned());
        }
        self
    }
}

/// The Region and account an ARN names (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`),
/// when both are there.
pub fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some(_), Some(region), Some(account))
            if !region.is_empty() && !account.is_empty() =>
        {
            Some((region, account))
        }
        _ => None,
    }
}

impl InUseEntry {
    /// The reference as written, else the digest.
    pub fn written(&self) -> String {
        match (&self.reference, &self.digest) {
            (Some(r), _) => r.as_written().to_owned(),
            (None, Some(d)) => d.clone(),
            (None, None) => self.label.clone(),
        }
    }

    /// A finding placed where this entry is used.
    pub(crate) fn finding(&self, code: Code, severity: Severity, message: String) -> Finding {
        let mut f = Finding::new(code, severity, message).reference(self.written());
        match &self.place {
            Some((file, line, col)) => f = f.in_file(file).at((*line, *col)),
            None => f = f.location(self.label.clone()),
        }
        f
    }
}

/// Every literal image reference in the scanned files.
pub fn entries_from_scan(scan: &Scan) -> Vec<InUseEntry> {
    let mut out = Vec::new();
    for file in &scan.files {
        for item in &file.items {
            if let Value::Reference(r) = &item.value {
                let (line, col) = item.line_col;
                out.push(InUseEntry {
                    label: format!("{}:{line}:{col}", file.path.display()),
                    place: Some((file.path.clone(), line, col)),
                    digest: r.digest().map(ToString::to_string),
                    reference: Some(r.clone()),
                    origin: Origin::of("file"),
                    platform: None,
                });
            }
        }
    }
    out
}

/// One row of `imgpin ecs images --format json` (`{"images": [row…]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsImageRow {
    /// The cluster.
    pub cluster: Option<String>,
    /// The service.
    pub service: Option<String>,
    /// The task definition (ARN or family:revision).
    pub task_definition: Option<String>,
    /// The container name.
    pub container: Option<String>,
    /// The image as the task definition names it.
    pub image: Option<String>,
    /// The digest ECS resolved or a task runs, when known.
    pub digest: Option<String>,
    /// Where the row came from (deployment, task, stopped-task, revision).
    pub source: Option<String>,
    /// The service revision ARN of a `revision` row.
    pub service_revision: Option<String>,
    /// The Managed Daemon of a `daemon` row.
    pub daemon: Option<String>,
    /// The daemon revision ARN of a `daemon` row.
    pub daemon_revision: Option<String>,
    /// The platform ECS runs the row's tasks on, when known.
    pub platform: Option<crate::locate::DeclaredPlatform>,
}

/// The adapter from ECS rows to in-use entries: the digest when known, else the image
/// reference; labelled `service S container C (cluster K)`.
pub fn entries_from_ecs_rows(rows: &[EcsImageRow]) -> Vec<InUseEntry> {
    rows.iter()
        .filter(|row| row.image.is_some() || row.digest.is_some())
        .map(|row| {
            let unknown = || "?".to_owned();
            let stopped = if row.source.as_deref() == Some("stopped-task") {
                " (stopped task)"
            } else {
                ""
            };
            // `…:service-revision/CLUSTER/SERVICE/ID`, `…/DAEMON/ID`: the ID names it.
            let id = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_owned();
            let owner = match (&row.service, &row.task_definition) {
                _ if row.daemon.is_some() || row.daemon_revision.is_some() => format!(
                    "daemon {}{}",
                    row.daemon.clone().unwrap_or_else(unknown),
                    row.daemon_revision
                        .as_deref()
                        .map_or(String::new(), |arn| format!(" revision {}", id(arn)))
                ),
                // `ecs images` writes `-` for a task no service started.
                (Some(s), Some(t)) if s == "-" => format!("task of {t}"),
                (Some(s), None) if s == "-" => "task".to_owned(),
                (Some(s), _) => match row.service_revision.as_deref() {
                    Some(arn) => format!("service {s} revision {}", id(arn)),
                    None => format!("service {s}"),
                },
                (None, Some(t)) => format!("task definition {t}"),
                (None, None) => "task".to_owned(),
            };
            let label = format!(
                "{owner}{stopped} container {} (cluster {})",
                row.container.clone().unwrap_or_else(unknown),
                row.cluster.clone().unwrap_or_else(unknown)
            );
            let reference = row.image.as_deref().and_then(|i| ImageRef::parse(i).ok());
            let digest = row
                .digest
                .clone()
                .or_else(|| reference.as_ref()?.digest().map(ToString::to_string));
            let source = match row.source.as_deref() {
                Some("task") => "ecs-task",
                Some("stopped-task") => "ecs-stopped-task",
                Some("revision") => "ecs-revision",
                Some("daemon") => "ecs-daemon",
                _ => "ecs-deployment",
            };
            let mut origin = Origin {
                cluster: row.cluster.clone(),
                service: row.service.clone().filter(|s| s != "-"),
                service_revision: row.service_revision.clone(),
                daemon: row.daemon.clone(),
                daemon_revision: row.daemon_revision.clone(),
                task_definition: row.task_definition.clone(),
                container: row.container.clone(),
                ..Origin::of(source)
            };
            for arn in [&row.cluster, &row.task_definition].into_iter().flatten() {
                origin = origin.with_arn(arn);
            }
            InUseEntry {
                label,
                place: None,
                reference,
                digest,
                origin,
                platform: row.platform.clone(),
            }
        })
        .collect()
}

/// Reads one `--in-use` value: a digest, a path to a JSON file (an array of references
/// or digests, or `{"images": [ECS rows]}`), or an image reference.
pub fn parse_in_use(value: &str) -> Result<Vec<InUseEntry>, String> {
    let trimmed = value.trim();
    if trimmed == "-" {
        // `imgpin ecs images --format json | imgpin lifecycle --in-use -`
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("--in-use -: cannot read standard input: {e}"))?;
        return parse_in_use_json(&text, Path::new("<stdin>"));
    }
    if is_digest_like(trimmed) {
        return digest_or_reference(value).map(|e| vec![e]);
    }
    let path = Path::new(trimmed);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let yaml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if yaml {
            return parse_in_use_yaml(&text, path);
        }
        return parse_in_use_json(&text, path);
    }
    if trimmed.ends_with(".json") && !trimmed.contains('@') && !trimmed.contains(':') {
        return Err(format!("{trimmed}: no such file"));
    }
    digest_or_reference(value).map(|e| vec![e]).map_err(|e| {
        e.replace(
            "is not a digest or",
            "is not a digest, an existing JSON file or",
        )
    })
}

fn is_digest_like(value: &str) -> bool {
    value.starts_with("sha256:") || value.starts_with("sha512:")
}

/// One digest or image reference (never a file: the entries of a JSON list are read
/// with this, so that a list cannot name itself).
fn digest_or_reference(value: &str) -> Result<InUseEntry, String> {
    let trimmed = value.trim();
    if is_digest_like(trimmed) {
        let digest = crate::digest::Digest::parse(trimmed)
            .map_err(|e| format!("--in-use {value:?}: invalid digest: {e}"))?;
        return Ok(InUseEntry {
            label: format!("--in-use {digest}"),
            place: None,
            reference: None,
            digest: Some(digest.to_string()),
            origin: Origin::of("in-use"),
            platform: None,
        });
    }
    let reference = ImageRef::parse(trimmed)
        .map_err(|e| format!("--in-use {value:?} is not a digest or an image reference: {e}"))?;
    Ok(InUseEntry {
        label: format!("--in-use {trimmed}"),
        place: None,
        digest: reference.digest().map(ToString::to_string),
        reference: Some(reference),
        origin: Origin::of("in-use"),
        platform: None,
    })
}

/// `--in-use FILE.yaml`: `kubectl get pods -A -o yaml` (a List or Pods,
/// one document or several).
pub fn parse_in_use_yaml(text: &str, path: &Path) -> Result<Vec<InUseEntry>, String> {
    let shown = path.display().to_string();
    let documents = crate::locate::yaml_documents(text).map_err(|e| format!("{shown}:{e}"))?;
    let mut out = Vec::new();
    for doc in documents.iter().filter(|d| !d.is_null()) {
        if !kubectl::is_pods(doc) {
            return Err(format!(
                "{shown}: a YAML --in-use file must be `kubectl get pods -o yaml` output (kind List or Pod)"
            ));
        }
        out.extend(kubectl::entries(doc, &shown)?);
    }
    Ok(out)
}

/// The JSON forms of `--in-use FILE`.
pub fn parse_in_use_json(text: &str, path: &Path) -> Result<Vec<InUseEntry>, String> {
    let shown = path.display();
    let value: Json = serde_json::from_str(text)
        .map_err(|e| format!("{shown}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    match &value {
        Json::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else {
                    return Err(format!(
                        "{shown}: entry {} must be a string (an image reference or a digest)",
                        i + 1
                    ));
                };
                let mut entry =
                    digest_or_reference(s).map_err(|e| format!("{shown}: entry {}: {e}", i + 1))?;
                entry.label = format!("{shown} entry {}", i + 1);
                entry.origin = Origin::of("list");
                out.push(entry);
            }
            Ok(out)
        }
        Json::Object(_) if kubectl::is_pods(&value) => kubectl::entries(&value, &shown.to_string()),
        Json::Object(_) if document::is_document(&value) => {
            document::entries(&value, &shown.to_string())
        }
        Json::Object(obj) => {
            let Some(images) = obj.get("images") else {
                return Err(format!(
                    "{shown}: expected a JSON array of references/digests, the output of \
                     `imgpin in-use --format json`, of `imgpin ecs images --format json` \
                     ({{\"images\": [...]}}) or of `kubectl get pods -A -o json`"
                ));
            };
            let rows: Vec<EcsImageRow> = serde_json::from_value(images.clone())
                .map_err(|e| format!("{shown}: \"images\": {e}"))?;
            // A row that names no usable image would otherwise drop out silently, and
            // with it an image in use: refuse the file instead, naming the row.
            for (i, row) in rows.iter().enumerate() {
                let n = i + 1;
                if let Some(d) = &row.digest {
                    crate::digest::Digest::parse(d).map_err(|e| {
                        format!("{shown}: images[{n}]: digest {d:?} is not a digest: {e}")
                    })?;
                }
                match &row.image {
                    Some(image) => {
                        if let Err(e) = ImageRef::parse(image) {
                            if row.digest.is_none() {
                                return Err(format!(
                                    "{shown}: images[{n}]: image {image:?} is not an image reference ({e}) and the row has no digest"
                                ));
                            }
                        }
                    }
                    None if row.digest.is_none() => {
                        return Err(format!(
                            "{shown}: images[{n}]: the row has neither \"image\" nor \"digest\""
                        ));
                    }
                    None => {}
                }
            }
            Ok(entries_from_ecs_rows(&rows))
        }
        _ => Err(format!(
            "{shown}: expected a JSON array or object, found {}",
            match value {
                Json::Null => "null",
                Json::Bool(_) => "a boolean",
                Json::Number(_) => "a number",
                _ => "a string",
            }
        )),
    }
}

/// The entries without repeats: a service's deployment and its running task
/// name the same image in the same place; one finding is enough.
pub fn dedup(entries: Vec<InUseEntry>) -> Vec<InUseEntry> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|e| {
            seen.insert((
                e.label.clone(),
                e.reference.as_ref().map(|r| r.as_written().to_owned()),
                e.digest.clone(),
            ))
        })
        .collect()
}

/// The entries of `--in-use` values (`ecs:NAME` values are clusters, asked live
/// elsewhere); each value that cannot be read is an error finding.
pub fn collect_in_use(values: &[String]) -> (Vec<InUseEntry>, Vec<Finding>) {
    let mut entries = Vec::new();
    let mut findings = Vec::new();
    for v in values.iter().filter(|v| !v.starts_with("ecs:")) {
        match parse_in_use(v) {
            Ok(e) => entries.extend(e),
            Err(message) => {
                findings.push(Finding::new(Code::InUseInvalid, Severity::Error, message))
            }
        }
    }
    (entries, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn entry(text: &str) -> InUseEntry {
        parse_in_use(text).unwrap().remove(0)
    }

    fn row(service: &str, digest: Option<&str>) -> EcsImageRow {
        EcsImageRow {
            cluster: Some("prod".into()),
            service: Some(service.into()),
            task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:3".into()),
            container: Some("app".into()),
            image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1".into()),
            digest: digest.map(str::to_owned),
            source: Some("task".into()),
            ..EcsImageRow::default()
        }
    }

    #[test]
    fn standalone_tasks_are_labelled_as_tasks_and_repeats_are_dropped() {
        let d = format!("sha256:{}", "a".repeat(64));
        let entries = entries_from_ecs_rows(&[
            row("-", Some(&d)),
            row("web", Some(&d)),
            row("web", Some(&d)),
        ]);
        assert_eq!(
            entries[0].label,
            "task of arn:aws:ecs:us-east-1:1:task-definition/web:3 container app (cluster prod)"
        );
        assert_eq!(entries[1].label, "service web container app (cluster prod)");
        let unique = dedup(entries);
        assert_eq!(unique.len(), 2, "the deployment and its task name one use");
    }

    #[test]
    fn one_use_per_place_and_image() {
        let row = |service: &str, digest: Option<&str>, source: &str| EcsImageRow {
            cluster: Some("prod".into()),
            service: Some(service.into()),
            task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:1".into()),
            container: Some("app".into()),
            image: Some("shop/web:1".into()),
            digest: digest.map(str::to_string),
            source: Some(source.into()),
            ..EcsImageRow::default()
        };
        let d1 = format!("sha256:{}", "1".repeat(64));
        let d2 = format!("sha256:{}", "2".repeat(64));
        let entries = entries_from_ecs_rows(&[
            row("web", Some(&d1), "deployment"),
            row("web", Some(&d1), "task"),
            row("web", Some(&d2), "task"),
            row("api", Some(&d1), "deployment"),
        ]);
        let kept: Vec<(String, Option<String>)> = dedup(entries)
            .into_iter()
            .map(|e| (e.label, e.digest))
            .collect();
        let label = |s: &str| format!("service {s} container app (cluster prod)");
        assert_eq!(
            kept,
            [
                (label("web"), Some(d1.clone())),
                (label("web"), Some(d2)),
                (label("api"), Some(d1)),
            ]
        );
    }

    #[test]
    fn in_use_values_are_digests_references_or_files() {
        let d = entry(D1);
        assert_eq!(d.digest.as_deref(), Some(D1));
        assert!(d.reference.is_none());
        let r = entry(&format!("{HOST}/api:1.4"));
        assert_eq!(r.reference.as_ref().unwrap().tag(), Some("1.4"));
        assert!(r.digest.is_none());
        let pinned = entry(&format!("{HOST}/api:1.4@{D2}"));
        assert_eq!(pinned.digest.as_deref(), Some(D2));
        assert!(parse_in_use("sha256:abc")
            .unwrap_err()
            .contains("invalid digest"));
        assert!(parse_in_use("Not A Ref").is_err());
        assert!(parse_in_use("missing.json")
            .unwrap_err()
            .contains("no such file"));
    }

    #[test]
    fn in_use_json_array_and_ecs_document() {
        let path = Path::new("in-use.json");
        let list = parse_in_use_json(&format!(r#"["{HOST}/api:1", "{D1}"]"#), path).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].label, "in-use.json entry 1");
        assert_eq!(list[1].digest.as_deref(), Some(D1));
        let ecs = format!(
            r#"{{"images":[
              {{"cluster":"prod","service":"web","taskDefinition":"web:3","container":"app",
                "image":"{HOST}/api:1.4","digest":"{D2}","source":"deployment"}},
              {{"cluster":"prod","service":"jobs","taskDefinition":"jobs:1","container":"w",
                "image":"{HOST}/api:2","digest":null,"source":"deployment"}}]}}"#
        );
        let rows = parse_in_use_json(&ecs, path).unwrap();
        assert_eq!(rows[0].label, "service web container app (cluster prod)");
        assert_eq!(rows[0].digest.as_deref(), Some(D2));
        assert_eq!(rows[1].digest, None);
        assert_eq!(rows[1].reference.as_ref().unwrap().tag(), Some("2"));
        assert!(parse_in_use_json("[1]", path)
            .unwrap_err()
            .contains("entry 1"));
        // A list's entries are digests or references, never files: a list that names
        // itself (or a file next to it) is no endless recursion.
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("self.json");
        std::fs::write(&own, format!(r#"["{}"]"#, own.display())).unwrap();
        let err = parse_in_use(&own.display().to_string()).unwrap_err();
        assert!(err.contains("entry 1"), "{err}");
        // A row with no usable image is refused (it would drop an in-use image silently).
        let bad_image = r#"{"images":[{"service":"a","image":"api:1"},{"service":"b","image":"${IMAGE}","digest":null}]}"#;
        let err = parse_in_use_json(bad_image, path).unwrap_err();
        assert!(
            err.starts_with("in-use.json: images[2]: image \"${IMAGE}\""),
            "{err}"
        );
        let bad_digest = r#"{"images":[{"service":"a","image":"api:1","digest":"sha256:zz"}]}"#;
        assert!(parse_in_use_json(bad_digest, path)
            .unwrap_err()
            .contains("images[1]: digest"));
        let empty_row = r#"{"images":[{"service":"a"}]}"#;
        assert!(parse_in_use_json(empty_row, path)
            .unwrap_err()
            .contains("neither"));
        assert!(parse_in_use_json("{}", path)
            .unwrap_err()
            .contains("ecs images"));
        assert!(parse_in_use_json("[", path)
            .unwrap_err()
            .starts_with("in-use.json:1:"));
    }
}
