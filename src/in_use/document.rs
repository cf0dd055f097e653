//! The `imgpin in-use` document: every in-use entry of every source with
//! where it comes from, as one JSON document (docs/in-use.schema.json) that
//! `--in-use FILE` reads back. A document gathered with errors says so
//! (`"complete": false`) and is refused when read: a partial in-use set would
//! let `lifecycle` call a running image unused.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::{InUseEntry, Origin};
use crate::reference::ImageRef;

/// The `command` field that marks the document.
pub const COMMAND: &str = "in-use";

/// The version of the document this imgpin writes and reads.
pub const VERSION: u64 = 1;

/// One entry as the document writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocEntry {
    /// Where it is used, for people.
    label: String,
    /// The image reference as written where it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    /// The digest in use, `null` when unknown.
    #[serde(default)]
    digest: Option<String>,
    /// The file, 1-based line and column, for a file entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    /// The platform the image must serve where it runs, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<crate::locate::DeclaredPlatform>,
    /// The source and its fields.
    #[serde(flatten)]
    origin: Origin,
}

/// The document's fields besides `version`, `command` and `findings` (which
/// the printer adds): `complete` and `entries`.
pub fn fields(entries: &[InUseEntry], complete: bool) -> Map<String, Json> {
    let rows: Vec<DocEntry> = entries
        .iter()
        .map(|e| DocEntry {
            label: e.label.clone(),
            image: e.reference.as_ref().map(|r| r.as_written().to_owned()),
            digest: e.digest.clone(),
            file: e.place.as_ref().map(|(f, _, _)| f.clone()),
            line: e.place.as_ref().map(|(_, l, _)| *l),
            column: e.place.as_ref().map(|(_, _, c)| *c),
            platform: e.platform.clone(),
            origin: e.origin.clone(),
        })
        .collect();
    let mut out = Map::new();
    out.insert("complete".into(), complete.into());
    out.insert(
        "entries".into(),
        serde_json::to_value(rows).unwrap_or_else(|_| Json::Array(Vec::new())),
    );
    out
}

/// Whether `value` is an `imgpin in-use` document.
pub fn is_document(value: &Json) -> bool {
    value.get("command").and_then(Json::as_str) == Some(COMMAND)
}

/// The entries of an `imgpin in-use` document; `shown` names the file in errors.
pub fn entries(value: &Json, shown: &str) -> Result<Vec<InUseEntry>, String> {
    match value.get("version").and_then(Json::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "{shown}: an `imgpin in-use` document of version {v}; this imgpin reads version {VERSION}"
            ))
        }
        None => return Err(format!("{shown}: \"version\" must be {VERSION}")),
    }
    if value.get("complete").and_then(Json::as_bool) != Some(true) {
        let errors: Vec<&str> = value
            .get("findings")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter(|f| f.get("severity").and_then(Json::as_str) == Some("error"))
            .filter_map(|f| f.get("message").and_then(Json::as_str))
            .collect();
        let why = if errors.is_empty() {
            String::new()
        } else {
            format!(": {}", errors.join("; "))
        };
        return Err(format!(
            "{shown}: this in-use document is incomplete (gathered with errors{why}); \
             images missing from it would count as unused: gather it again with `imgpin in-use`"
        ));
    }
    let rows: Vec<DocEntry> = serde_json::from_value(
        value
            .get("entries")
            .cloned()
            .ok_or_else(|| format!("{shown}: the document has no \"entries\""))?,
    )
    .map_err(|e| format!("{shown}: \"entries\": {e}"))?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| entry(row).map_err(|e| format!("{shown}: entries[{}]: {e}", i + 1)))
        .collect()
}

/// One entry back from the document: an image or a digest must be there and be valid.
fn entry(row: DocEntry) -> Result<InUseEntry, String> {
    if let Some(d) = &row.digest {
        crate::digest::Digest::parse(d)
            .map_err(|e| format!("digest {d:?} is not a digest: {e}"))?;
    }
    let reference = match &row.image {
        Some(image) => match ImageRef::parse(image) {
            Ok(r) => Some(r),
            Err(_) if row.digest.is_some() => None,
            Err(e) => {
                return Err(format!(
                    "image {image:?} is not an image reference ({e}) and the entry has no digest"
                ))
            }
        },
        None if row.digest.is_none() => {
            return Err("the entry has neither \"image\" nor \"digest\"".to_owned())
        }
        None => None,
    };
    let place = match (row.file, row.line, row.column) {
        (Some(file), Some(line), Some(column)) => Some((file, line, column)),
        (Some(file), line, column) => Some((file, line.unwrap_or(1), column.unwrap_or(1))),
        _ => None,
    };
    Ok(InUseEntry {
        label: row.label,
        place,
        reference,
        digest: row.digest,
        origin: row.origin,
        platform: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn document(entries: &[InUseEntry], complete: bool) -> Json {
        let mut doc = fields(entries, complete);
        doc.insert("version".into(), 1.into());
        doc.insert("command".into(), COMMAND.into());
        Json::Object(doc)
    }

    #[test]
    fn a_document_reads_back_as_the_entries_it_was_written_from() {
        let written = vec![
            InUseEntry {
                label: "k8s/web.yaml:3:12".into(),
                place: Some(("k8s/web.yaml".into(), 3, 12)),
                reference: ImageRef::parse("nginx:1.27").ok(),
                digest: None,
                origin: Origin::of("file"),
                platform: None,
            },
            InUseEntry {
                label: "service web container app (cluster prod)".into(),
                place: None,
                reference: ImageRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1")
                    .ok(),
                digest: Some(D1.into()),
                origin: Origin {
                    cluster: Some("prod".into()),
                    service: Some("web".into()),
                    container: Some("app".into()),
                    ..Origin::of("ecs-task")
                }
                .with_arn("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"),
                platform: None,
            },
        ];
        let doc = document(&written, true);
        assert_eq!(doc["entries"][1]["region"], "eu-west-1");
        assert_eq!(doc["entries"][1]["account"], "123456789012");
        assert_eq!(doc["entries"][0]["line"], 3);
        assert!(doc["entries"][0]["digest"].is_null());
        assert!(doc["entries"][0].get("cluster").is_none());
        let text = serde_json::to_string(&doc).unwrap();
        let back = entries(&serde_json::from_str(&text).unwrap(), "in-use.json").unwrap();
        assert_eq!(back, written);
    }

    #[test]
    fn an_incomplete_or_unknown_document_is_refused_in_words() {
        let mut doc = document(&[], false);
        doc["findings"] = serde_json::json!([
            {"severity": "error", "code": "aws-error", "message": "cannot list the ECS clusters in eu-west-1: denied"}
        ]);
        let err = entries(&doc, "in-use.json").unwrap_err();
        assert!(
            err.starts_with("in-use.json: this in-use document is incomplete (gathered with errors: cannot list the ECS clusters in eu-west-1: denied)"),
            "{err}"
        );
        let mut doc = document(&[], true);
        doc["version"] = 2.into();
        assert!(entries(&doc, "x").unwrap_err().contains("version 2"));
        let mut doc = document(&[], true);
        doc["entries"] = serde_json::json!([{"label": "a", "source": "lambda"}]);
        assert_eq!(
            entries(&doc, "x").unwrap_err(),
            "x: entries[1]: the entry has neither \"image\" nor \"digest\""
        );
        doc["entries"] = serde_json::json!([{"label": "a", "source": "lambda", "image": "${X}", "digest": null}]);
        assert!(entries(&doc, "x")
            .unwrap_err()
            .contains("is not an image reference"));
        doc["entries"] =
            serde_json::json!([{"label": "a", "source": "lambda", "digest": "sha256:zz"}]);
        assert!(entries(&doc, "x").unwrap_err().contains("is not a digest"));
        doc["entries"] = serde_json::json!([{"label": "a", "digest": D1}]);
        assert!(
            entries(&doc, "x").unwrap_err().contains("source"),
            "every entry names its source"
        );
    }
}
