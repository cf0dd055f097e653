//! Manifest media types, in one place: what imgpin asks registries for, and
//! which of them are multi-platform indexes; and what a manifest says about
//! the platforms it serves ([`ManifestFacts`]), and the [`Platform`] names
//! that describe them. Pure.

use std::str::FromStr;

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type imgpin accepts, index types first, so a multi-arch
/// tag answers with its index (the digest `docker pull` prints).
pub const ACCEPTED: [&str; 4] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
];

/// Whether `media_type` is a multi-platform index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// A platform, as `--platform os/arch[/variant]` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture, e.g. `arm64`.
    pub architecture: String,
    /// Variant, e.g. `v8`.
    pub variant: Option<String>,
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "invalid platform {s:?}: expected os/arch or os/arch/variant, e.g. linux/arm64"
            )),
        }
    }
}

impl Platform {
    /// Whether an image of this platform runs where `wanted` is asked for:
    /// same OS and architecture; a variant only counts when both name one
    /// (`arm64` and `arm64/v8` are the same platform).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        let variant = |p: &Platform| {
            p.variant
                .clone()
                .filter(|v| !(p.architecture == "arm64" && v == "v8"))
        };
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && match (variant(self), variant(wanted)) {
                (Some(have), Some(want)) => have == want,
                _ => true,
            }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Checks that `bytes` are a manifest imgpin may pin: a JSON object with
/// `schemaVersion` 2, a `mediaType` (when present) that imgpin accepts, and
/// the shape of its kind (an index lists `manifests`; an image manifest has a
/// `config` with a `digest` and a `layers` list). `content_type` is what the
/// registry said the body is: when it names an accepted type, the body must be
/// of the same kind. Anything else (an HTML page, `{"status":"ok"}`, a
/// truncated body) is an error saying what is wrong.
pub fn check_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(1)]).into_owned();
        if start == "<" {
            "the body is an HTML page, not a manifest".to_string()
        } else {
            format!("the body is not a JSON manifest ({e})")
        }
    })?;
    let Some(object) = doc.as_object() else {
        return Err("the body is JSON but not a manifest object".to_string());
    };
    if object
        .get("schemaVersion")
        .and_then(serde_json::Value::as_u64)
        != Some(2)
    {
        return Err("the body is JSON but not a manifest (no schemaVersion 2)".to_string());
    }
    let declared = object.get("mediaType").and_then(serde_json::Value::as_str);
    if let Some(t) = declared {
        if !ACCEPTED.contains(&t) {
            return Err(format!("unsupported manifest type {t}"));
        }
    }
    let served = content_type.filter(|t| ACCEPTED.contains(t));
    let index = match (declared, served) {
        (Some(t), _) | (None, Some(t)) => is_index(t),
        (None, None) => object.contains_key("manifests"),
    };
    if let (Some(d), Some(s)) = (declared, served) {
        if is_index(d) != is_index(s) {
            return Err(format!("the registry said {s} but the body is a {d}"));
        }
    }
    let has_list = |key: &str| object.get(key).is_some_and(serde_json::Value::is_array);
    if index {
        if !has_list("manifests") {
            return Err("the index has no manifests list".to_string());
        }
    } else {
        let config_digest = object
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(serde_json::Value::as_str);
        if config_digest.is_none() || !has_list("layers") {
            return Err("the image manifest has no config digest or no layers list".to_string());
        }
    }
    Ok(())
}

/// What a manifest says about the platforms it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestFacts {
    /// A multi-platform index (OCI index or Docker manifest list).
    Index {
        /// Each child manifest, with its platform when the index names one.
        children: Vec<Child>,
    },
    /// A single-platform image manifest.
    Image {
        /// The platform from the image's config blob, or `None` when the
        /// config was not read (ECR serves blobs only through S3 links).
        platform: Option<Platform>,
        /// The config blob's digest, to read the platform from.
        config: Option<String>,
    },
}

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The child manifest's digest.
    pub digest: String,
    /// Its platform, when the index gives one.
    pub platform: Option<Platform>,
}

impl ManifestFacts {
    /// The platforms an index lists, or the image's own platform.
    pub fn platforms(&self) -> Vec<&Platform> {
        match self {
            ManifestFacts::Index { children } => children
                .iter()
                .filter_map(|c| c.platform.as_ref())
                .collect(),
            ManifestFacts::Image { platform, .. } => platform.iter().collect(),
        }
    }

    /// The index entry for `digest`, when this is an index that lists it.
    pub fn child(&self, digest: &str) -> Option<&Child> {
        match self {
            ManifestFacts::Index { children } => children.iter().find(|c| c.digest == digest),
            ManifestFacts::Image { .. } => None,
        }
    }
}

/// Reads a manifest's JSON: an index with its children's platforms, or an
/// image manifest with its config digest (platform unknown until the config
/// is read with [`config_platform`]).
pub fn parse_manifest(bytes: &[u8]) -> Result<ManifestFacts, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let media_type = doc.get("mediaType").and_then(|m| m.as_str());
    let manifests = doc.get("manifests").and_then(|m| m.as_array());
    if media_type.is_some_and(is_index) || (media_type.is_none() && manifests.is_some()) {
        let children = manifests
            .map(|m| m.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                let digest = entry.get("digest")?.as_str()?.to_string();
                let platform = entry.get("platform").and_then(platform_of);
                Some(Child { digest, platform })
            })
            .collect();
        return Ok(ManifestFacts::Index { children });
    }
    if doc.get("config").is_none() && doc.get("layers").is_none() {
        return Err(match media_type {
            Some(t) => format!("unsupported manifest type {t}"),
            None => "the manifest has neither manifests, config nor layers".to_string(),
        });
    }
    let config = doc
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(|d| d.as_str())
        .map(str::to_string);
    Ok(ManifestFacts::Image {
        platform: None,
        config,
    })
}

/// What a manifest or an image config says about where it came from: the
/// `org.opencontainers.image.revision` and `.created` annotations (a
/// manifest's `annotations`, or a config's `config.Labels`, where docker
/// build puts them) and a config's own `created` time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The source revision (a commit), when annotated.
    pub revision: Option<String>,
    /// When the image was built (RFC 3339), from the annotation or the config.
    pub created: Option<String>,
}

impl Provenance {
    /// The fields of `self`, else those of `other`.
    pub fn or(self, other: Provenance) -> Provenance {
        Provenance {
            revision: self.revision.or(other.revision),
            created: self.created.or(other.created),
        }
    }
}

const REVISION: &str = "org.opencontainers.image.revision";
const CREATED: &str = "org.opencontainers.image.created";

/// The provenance a manifest's (or an index's) `annotations` give.
pub fn manifest_provenance(bytes: &[u8]) -> Provenance {
    let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let get = |k: &str| {
        doc.get("annotations")
            .and_then(|a| a.get(k))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Provenance {
        revision: get(REVISION),
        created: get(CREATED),
    }
}

/// The provenance an image config gives: its labels, else its `created`.
pub fn config_provenance(bytes: &[u8]) -> Provenance {
    let doc: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let label = |k: &str| {
        doc.get("config")
            .and_then(|c| c.get("Labels"))
            .and_then(|l| l.get(k))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let created = doc
        .get("created")
        .and_then(|v| v.as_str())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    Provenance {
        revision: label(REVISION),
        created: label(CREATED).or(created),
    }
}

/// The platform an image config blob declares (`os`, `architecture`, `variant`).
pub fn config_platform(bytes: &[u8]) -> Option<Platform> {
    platform_of(&serde_json::from_slice(bytes).ok()?)
}

fn platform_of(value: &serde_json::Value) -> Option<Platform> {
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(Platform {
        os: field("os")?,
        architecture: field("architecture")?,
        variant: field("variant").filter(|v| !v.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_from_annotations_labels_and_created() {
        let index = br#"{"schemaVersion":2,"manifests":[],"annotations":{"org.opencontainers.image.revision":"3f2a1c9","org.opencontainers.image.created":"2026-12-01T10:00:00Z"}}"#;
        assert_eq!(
            manifest_provenance(index),
            Provenance {
                revision: Some("3f2a1c9".into()),
                created: Some("2026-12-01T10:00:00Z".into())
            }
        );
        let config = br#"{"created":"2026-12-02T08:00:00Z","config":{"Labels":{"org.opencontainers.image.revision":"abc"}}}"#;
        assert_eq!(
            config_provenance(config),
            Provenance {
                revision: Some("abc".into()),
                created: Some("2026-12-02T08:00:00Z".into())
            }
        );
        assert_eq!(manifest_provenance(b"not json"), Provenance::default());
    }

    #[test]
    fn only_manifests_pass_the_check() {
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:aa"},"layers":[]}"#;
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(check_manifest(image, Some(OCI_MANIFEST)), Ok(()));
        assert_eq!(check_manifest(image, None), Ok(()));
        assert_eq!(check_manifest(index, Some(OCI_INDEX)), Ok(()));
        assert_eq!(check_manifest(index, None), Ok(()));
        let no_type = br#"{"schemaVersion":2,"config":{"digest":"sha256:aa"},"layers":[]}"#;
        assert_eq!(check_manifest(no_type, Some(DOCKER_MANIFEST)), Ok(()));
        for (body, content_type, why) in [
            (&b"<html><title>Sign in</title></html>"[..], Some("text/html"), "HTML page"),
            (br#"{"status":"ok"}"#, Some("application/json"), "no schemaVersion 2"),
            (br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"dig"#, None, "not a JSON manifest"),
            (br#"[1,2]"#, None, "not a manifest object"),
            (br#"{"schemaVersion":1,"name":"x"}"#, None, "no schemaVersion 2"),
            (br#"{"schemaVersion":2,"mediaType":"application/x-other"}"#, None, "unsupported manifest type"),
            (index, Some(OCI_MANIFEST), "no config digest"),
            (image, Some(OCI_INDEX), "the registry said"),
            (br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#, None, "no manifests list"),
        ] {
            let err = check_manifest(body, content_type).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn platform_parses() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//x".parse::<Platform>().is_err());
    }

    #[test]
    fn platforms_satisfy_by_os_arch_and_variant_when_both_name_one() {
        let ok = |have: &str, want: &str| {
            have.parse::<Platform>()
                .unwrap()
                .satisfies(&want.parse().unwrap())
        };
        assert!(ok("linux/amd64", "linux/amd64"));
        assert!(ok("linux/arm64", "linux/arm64/v8"));
        assert!(ok("linux/arm64/v8", "linux/arm64"));
        assert!(ok("linux/arm/v7", "linux/arm"));
        assert!(ok("linux/arm", "linux/arm/v7"));
        assert!(!ok("linux/arm/v6", "linux/arm/v7"));
        assert!(!ok("linux/amd64", "linux/arm64"));
        assert!(!ok("windows/amd64", "linux/amd64"));
    }

    #[test]
    fn an_index_lists_its_children_platforms() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[
              {"digest":"sha256:aa","platform":{"os":"linux","architecture":"amd64"}},
              {"digest":"sha256:bb","platform":{"os":"linux","architecture":"arm","variant":"v7"}},
              {"digest":"sha256:cc","annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let facts = parse_manifest(index).unwrap();
        let names: Vec<String> = facts.platforms().iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm/v7"]);
        assert_eq!(
            facts
                .child("sha256:bb")
                .unwrap()
                .platform
                .as_ref()
                .unwrap()
                .architecture,
            "arm"
        );
        assert!(facts.child("sha256:cc").unwrap().platform.is_none());
        assert!(facts.child("sha256:dd").is_none());
        // An OCI index may leave out mediaType.
        let bare = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            parse_manifest(bare).unwrap(),
            ManifestFacts::Index { children: vec![] }
        );
    }

    #[test]
    fn an_image_manifest_names_its_config() {
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c0","size":2},
            "layers":[]}"#;
        assert_eq!(
            parse_manifest(image).unwrap(),
            ManifestFacts::Image {
                platform: None,
                config: Some("sha256:c0".into())
            }
        );
        assert!(parse_manifest(b"{}").unwrap_err().contains("neither"));
        assert!(parse_manifest(b"nope").unwrap_err().contains("not JSON"));
        let config = br#"{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{}}"#;
        assert_eq!(
            config_platform(config).unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert!(config_platform(br#"{"os":"linux"}"#).is_none());
    }

    #[test]
    fn indexes_are_recognised() {
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(!is_index(OCI_MANIFEST) && !is_index(DOCKER_MANIFEST) && !is_index(""));
        assert!(ACCEPTED.iter().take(2).all(|m| is_index(m)));
    }
}
