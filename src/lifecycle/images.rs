//! The image list a policy is evaluated against, and its parser.
//!
//! The rule of this module: read what AWS returns without losing anything the evaluator
//! needs. [`parse_describe_images`] takes the output of `aws ecr describe-images`
//! (`{"imageDetails": [...]}` with AWS's camelCase names; unknown fields are ignored), a
//! bare array of such entries, or the image format of the test vectors (`digest`, `tags`,
//! `pushedAt`, `manifestMediaType`). Timestamps may be RFC 3339 with an offset, as the CLI
//! prints them, or epoch seconds with a fraction, as the JSON protocol sends them; both are
//! kept at full precision. Each entry may carry the extension `"manifests"`: the child
//! digests of an index, read separately with `BatchGetImage`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::StorageClass;

/// An image's `imageStatus`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImageStatus {
    /// In standard storage (also the default when DescribeImages leaves the field out).
    Active,
    /// In archive storage: cannot be pulled.
    Archived,
    /// Being restored from archive (takes up to about 20 minutes).
    Activating,
    /// A value this version does not know; such images are left out of the evaluation.
    #[serde(untagged)]
    Other(String),
}

impl ImageStatus {
    /// The storage class an image of this status belongs to for rule selection, or `None`
    /// when it is left out (ACTIVATING, or an unknown status).
    pub fn storage_class(&self) -> Option<StorageClass> {
        match self {
            ImageStatus::Active => Some(StorageClass::Standard),
            ImageStatus::Archived => Some(StorageClass::Archive),
            ImageStatus::Activating | ImageStatus::Other(_) => None,
        }
    }
}

/// One image of the repository (one digest), as DescribeImages describes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDetail {
    /// `imageDigest`.
    pub digest: String,
    /// `imageTags`; empty means untagged.
    pub tags: Vec<String>,
    /// `imagePushedAt`: when the manifest was first stored. Adding a tag does not change it.
    pub pushed_at: DateTime<Utc>,
    /// `lastRecordedPullTime` (refreshed by ECR at least once every 24 h).
    pub last_recorded_pull_time: Option<DateTime<Utc>>,
    /// `imageStatus`.
    pub image_status: ImageStatus,
    /// `lastArchivedAt`.
    pub last_archived_at: Option<DateTime<Utc>>,
    /// `lastActivatedAt`: when it was last restored from archive.
    pub last_activated_at: Option<DateTime<Utc>>,
    /// `imageManifestMediaType`.
    pub manifest_media_type: Option<String>,
    /// `artifactMediaType`.
    pub artifact_media_type: Option<String>,
    /// `subjectManifestDigest`: set on OCI referrers (signatures, SBOMs, attestations).
    pub subject_manifest_digest: Option<String>,
    /// Child digests when this image is an index (not part of DescribeImages: read with
    /// `BatchGetImage`).
    pub manifests: Vec<String>,
}

impl ImageDetail {
    /// An ACTIVE image with only the three fields every image has.
    pub fn new(digest: impl Into<String>, tags: Vec<String>, pushed_at: DateTime<Utc>) -> Self {
        ImageDetail {
            digest: digest.into(),
            tags,
            pushed_at,
            last_recorded_pull_time: None,
            image_status: ImageStatus::Active,
            last_archived_at: None,
            last_activated_at: None,
            manifest_media_type: None,
            artifact_media_type: None,
            subject_manifest_digest: None,
            manifests: Vec::new(),
        }
    }

    /// True when the image is a manifest list / index: an index media type, or children.
    pub fn is_index(&self) -> bool {
        !self.manifests.is_empty()
            || self
                .manifest_media_type
                .as_deref()
                .is_some_and(crate::media::is_index)
    }

    /// The time count rules rank by and `sinceImagePushed` ages by: `lastActivatedAt` if
    /// the image was ever restored (restored images behave like newly pushed ones), else
    /// `imagePushedAt`.
    pub fn effective_time(&self) -> DateTime<Utc> {
        self.last_activated_at.unwrap_or(self.pushed_at)
    }
}

/// Why an image list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImagesError {
    /// The text is not JSON.
    #[error("the image list is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The document is JSON but not an image list.
    #[error(
        "the image list must be {{\"imageDetails\": [...]}} or an array of images, not {found}"
    )]
    NotAList {
        /// What was found instead.
        found: String,
    },
    /// One entry is malformed.
    #[error("image {index}{}: {message}", digest.as_deref().map(|d| format!(" \
        ({d})")).unwrap_or_default())]
    Entry {
        /// 1-based position of the entry.
        index: usize,
        /// Its digest, when it could be read.
        digest: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Parses the output of `aws ecr describe-images` (or a bare array of image entries, or the
/// test-vector image format) into image details, in input order.
pub fn parse_describe_images(json: &str) -> Result<Vec<ImageDetail>, ImagesError> {
    let value: Value = serde_json::from_str(json).map_err(|e| ImagesError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(obj) => match obj.get("imageDetails") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(ImagesError::NotAList {
                    found: format!("\"imageDetails\" of type {}", json_type(other)),
                })
            }
            None => {
                return Err(ImagesError::NotAList {
                    found: "an object without \"imageDetails\"".to_owned(),
                })
            }
        },
        other => {
            return Err(ImagesError::NotAList {
                found: format!("a {}", json_type(other)),
            })
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_entry(i + 1, item))
        .collect()
}

fn parse_entry(index: usize, item: &Value) -> Result<ImageDetail, ImagesError> {
    let fail = |digest: Option<&str>, message: String| ImagesError::Entry {
        index,
        digest: digest.map(str::to_owned),
        message,
    };
    let Value::Object(obj) = item else {
        return Err(fail(
            None,
            format!("expected an object, found a {}", json_type(item)),
        ));
    };
    let digest = match field(obj, "imageDigest", "digest").map_err(|m| fail(None, m))? {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(fail(
                None,
                format!("imageDigest must be a non-empty string, found {other}"),
            ))
        }
        None => return Err(fail(None, "imageDigest is missing".to_owned())),
    };
    let d = Some(digest.as_str());

    let tags = string_list(obj, "imageTags", "tags").map_err(|m| fail(d, m))?;
    let pushed_at = match field(obj, "imagePushedAt", "pushedAt").map_err(|m| fail(d, m))? {
        Some(v) => parse_timestamp(v).map_err(|m| fail(d, format!("imagePushedAt: {m}")))?,
        None => return Err(fail(d, "imagePushedAt is missing".to_owned())),
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ImagesError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_timestamp(v)
                .map(Some)
                .map_err(|m| fail(d, format!("{name}: {m}"))),
        }
    };
    let text = |primary: &str, alias: &str| -> Result<Option<String>, ImagesError> {
        match field(obj, primary, alias).map_err(|m| fail(d, m))? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(fail(
                d,
                format!("{primary} must be a string, found {other}"),
            )),
        }
    };
    let image_status = match text("imageStatus", "imageStatus")? {
        None => ImageStatus::Active,
        Some(s) => match s.as_str() {
            "ACTIVE" => ImageStatus::Active,
            "ARCHIVED" => ImageStatus::Archived,
            "ACTIVATING" => ImageStatus::Activating,
            _ => ImageStatus::Other(s),
        },
    };
    let manifests = match obj.get("manifests") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                Value::String(s) => Ok(s.clone()),
                // Also accept the entries of an index manifest as they are: {"digest": ...}.
                Value::Object(o) => match o.get("digest") {
                    Some(Value::String(s)) => Ok(s.clone()),
                    _ => Err(fail(d, format!("manifests[{i}] has no string \"digest\""))),
                },
                other => Err(fail(
                    d,
                    format!("manifests[{i}] must be a digest string, found {other}"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(fail(
                d,
                format!("manifests must be an array, found {other}"),
            ))
        }
    };

    Ok(ImageDetail {
        tags,
        pushed_at,
        last_recorded_pull_time: time("lastRecordedPullTime")?,
        image_status,
        last_archived_at: time("lastArchivedAt")?,
        last_activated_at: time("lastActivatedAt")?,
        manifest_media_type: text("imageManifestMediaType", "manifestMediaType")?,
        artifact_media_type: text("artifactMediaType", "artifactMediaType")?,
        subject_manifest_digest: text("subjectManifestDigest", "subjectManifestDigest")?,
        manifests,
        digest,
    })
}

/// Reads a field under its DescribeImages name or its test-vector alias (not both).
/// `null` counts as absent.
fn field<'a>(
    obj: &'a Map<String, Value>,
    primary: &str,
    alias: &str,
) -> Result<Option<&'a Value>, String> {
    let a = obj.get(primary).filter(|v| !v.is_null());
    let b = if alias == primary {
        None
    } else {
        obj.get(alias).filter(|v| !v.is_null())
    };
    match (a, b) {
        (Some(_), Some(_)) => Err(format!("both \"{primary}\" and \"{alias}\" are given")),
        (a, b) => Ok(a.or(b)),
    }
}

fn string_list(
    obj: &Map<String, Value>,
    primary: &str,
    alias: &str,
) -> Result<Vec<String>, String> {
    match field(obj, primary, alias)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{primary} must hold strings, found {other}")),
            })
            .collect(),
        Some(other) => Err(format!("{primary} must be an array, found {other}")),
    }
}

/// Parses a DescribeImages timestamp: RFC 3339 text, or epoch seconds (a JSON number or a
/// numeric string) with an optional fraction, kept to the nanosecond.
fn parse_timestamp(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
                return Ok(t.with_timezone(&Utc));
            }
            parse_epoch(s.trim()).ok_or_else(|| {
                format!(
                    "{v} is neither RFC 3339 (2022-12-15T10:01:02.123000+01:00) nor epoch seconds"
                )
            })
        }
        Value::Number(n) => {
            // `n` came from an f64 (or an integer); its shortest round-trip decimal form is
            // the digits that were sent, so parse that text instead of doing float maths.
            let digits = n
                .as_i64()
                .map(|i| i.to_string())
                .or_else(|| n.as_u64().map(|u| u.to_string()))
                .or_else(|| n.as_f64().map(|f| f.to_string()))
                .unwrap_or_default();
            parse_epoch(&digits).ok_or_else(|| format!("{v} is not a valid epoch time"))
        }
        other => Err(format!("expected a timestamp, found {other}")),
    }
}

/// Parses `[-]SECONDS[.FRACTION]` exactly (fraction truncated to nanoseconds).
fn parse_epoch(text: &str) -> Option<DateTime<Utc>> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let mut nanos: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        let exp = 8u32.checked_sub(u32::try_from(i).ok()?)?;
        nanos += u32::from(b - b'0') * 10u32.pow(exp);
    }
    let (secs, nanos) = if negative {
        if nanos == 0 {
            (secs.checked_neg()?, 0)
        } else {
            (secs.checked_neg()?.checked_sub(1)?, 1_000_000_000 - nanos)
        }
    } else {
        (secs, nanos)
    };
    DateTime::from_timestamp(secs, nanos)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::ser::rfc3339_string;

    #[test]
    fn describe_images_cli_output_with_both_timestamp_forms() {
        let json = r#"{
          "imageDetails": [
            {
              "registryId": "123456789012",
              "repositoryName": "web",
              "imageDigest": "sha256:aaaa",
              "imageTags": ["v1", "latest"],
              "imageSizeInBytes": 1234,
              "imagePushedAt": "2022-12-15T10:01:02.123000+01:00",
              "imageScanStatus": {"status": "COMPLETE", "description": "ok"},
              "imageScanFindingsSummary": {"findingSeverityCounts": {}},
              "imageManifestMediaType": "application/vnd.oci.image.index.v1+json",
              "artifactMediaType": "application/vnd.oci.image.config.v1+json",
              "lastRecordedPullTime": 1671094862.123,
              "imageStatus": "ACTIVE",
              "manifests": ["sha256:bbbb", {"digest": "sha256:cccc", "platform": {}}]
            },
            {
              "imageDigest": "sha256:bbbb",
              "imagePushedAt": 1671094862.123456,
              "imageStatus": "ARCHIVED",
              "lastArchivedAt": "1671094862",
              "lastActivatedAt": null,
              "subjectManifestDigest": "sha256:aaaa"
            }
          ],
          "nextToken": null
        }"#;
        let images = parse_describe_images(json).unwrap();
        assert_eq!(images.len(), 2);
        let a = &images[0];
        assert_eq!(a.tags, ["v1", "latest"]);
        assert_eq!(rfc3339_string(&a.pushed_at), "2022-12-15T09:01:02.123Z");
        assert_eq!(
            a.last_recorded_pull_time
                .map(|t| rfc3339_string(&t))
                .as_deref(),
            Some("2022-12-15T09:01:02.123Z")
        );
        assert!(a.is_index());
        assert_eq!(a.manifests, ["sha256:bbbb", "sha256:cccc"]);
        let b = &images[1];
        assert!(b.tags.is_empty(), "missing imageTags means untagged");
        assert_eq!(rfc3339_string(&b.pushed_at), "2022-12-15T09:01:02.123456Z");
        assert_eq!(b.image_status, ImageStatus::Archived);
        assert_eq!(b.image_status.storage_class(), Some(StorageClass::Archive));
        assert_eq!(
            b.last_archived_at.map(|t| t.timestamp()),
            Some(1_671_094_862)
        );
        assert_eq!(b.last_activated_at, None);
        assert_eq!(b.subject_manifest_digest.as_deref(), Some("sha256:aaaa"));
        assert!(!b.is_index());
    }

    #[test]
    fn vector_format_and_bare_array() {
        let json = r#"[{"digest": "sha256:1", "tags": [], "pushedAt": "2026-11-18T00:00:00Z",
            "manifestMediaType": "application/vnd.docker.distribution.manifest.list.v2+json"}]"#;
        let images = parse_describe_images(json).unwrap();
        assert_eq!(images[0].digest, "sha256:1");
        assert!(images[0].is_index());
        assert_eq!(images[0].image_status, ImageStatus::Active);
    }

    #[test]
    fn unknown_status_is_kept_as_other() {
        let json = r#"[{"imageDigest": "sha256:1", "imagePushedAt": 0, "imageStatus": "FROZEN"}]"#;
        let images = parse_describe_images(json).unwrap();
        assert_eq!(
            images[0].image_status,
            ImageStatus::Other("FROZEN".to_owned())
        );
        assert_eq!(images[0].image_status.storage_class(), None);
    }

    #[test]
    fn errors_name_the_entry() {
        let cases = [
            ("not json", "not valid JSON"),
            ("{}", "imageDetails"),
            ("42", "a number"),
            (r#"[{"imageTags": []}]"#, "image 1: imageDigest is missing"),
            (
                r#"[{"imageDigest": "sha256:x"}]"#,
                "image 1 (sha256:x): imagePushedAt is missing",
            ),
            (
                r#"[{"imageDigest": "sha256:x", "imagePushedAt": "yesterday"}]"#,
                "imagePushedAt: \"yesterday\" is neither",
            ),
            (
                r#"[{"imageDigest": "sha256:x", "digest": "sha256:y", "imagePushedAt": 1}]"#,
                "both \"imageDigest\" and \"digest\"",
            ),
            (
                r#"[{"imageDigest": "sha256:x", "imagePushedAt": 1, "imageTags": "v1"}]"#,
                "imageTags must be an array",
            ),
            (
                r#"[{"imageDigest": "sha256:x", "imagePushedAt": 1e300}]"#,
                "not a valid epoch time",
            ),
        ];
        for (json, want) in cases {
            let err = parse_describe_images(json).unwrap_err().to_string();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn epoch_parsing_is_exact() {
        let t = parse_epoch("1671094862.123456789").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_789);
        let t = parse_epoch("-1.25").unwrap();
        assert_eq!(
            (t.timestamp(), t.timestamp_subsec_nanos()),
            (-2, 750_000_000)
        );
        assert!(parse_epoch("").is_none());
        assert!(parse_epoch("1.2.3").is_none());
        assert!(parse_epoch("+1").is_none());
        assert!(parse_epoch("99999999999999999999").is_none());
    }
}
