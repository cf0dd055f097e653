//! Builders for test images: blobs and manifest bytes, with no I/O.
//!
//! Rule: a digest is always the sha256 of the exact bytes that are sent, so
//! a returned `Manifest::digest` is what a conforming registry answers in
//! `Docker-Content-Digest`. Every single-platform image gets a fresh
//! random-content layer, so two builds never share a digest.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI uncompressed layer media type (the test layers are not gzipped).
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config media type.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer media type.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// Every manifest media type the helpers push, for `Accept` headers.
pub const ALL_MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// A platform as `(os, architecture, variant)`, e.g. `("linux", "arm64", Some("v8"))`.
pub type Platform<'a> = (&'a str, &'a str, Option<&'a str>);

/// linux/amd64.
pub const LINUX_AMD64: Platform<'static> = ("linux", "amd64", None);
/// linux/arm64/v8.
pub const LINUX_ARM64: Platform<'static> = ("linux", "arm64", Some("v8"));
/// linux/arm/v7.
pub const LINUX_ARM_V7: Platform<'static> = ("linux", "arm", Some("v7"));

/// One blob (config or layer) with its digest.
#[derive(Debug, Clone)]
pub struct Blob {
    /// `sha256:<hex>` of `data`.
    pub digest: String,
    /// The blob's bytes.
    pub data: Vec<u8>,
}

impl Blob {
    /// A blob holding `data`, with its digest computed.
    pub fn new(data: Vec<u8>) -> Blob {
        Blob {
            digest: sha256_digest(&data),
            data,
        }
    }
}

/// A manifest ready to push: its exact bytes, media type and digest, the
/// blobs it references directly, and the child manifests an index needs.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Content-Type to send.
    pub media_type: &'static str,
    /// The exact bytes to send.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    /// Config and layer blobs (empty for an index).
    pub blobs: Vec<Blob>,
    /// Child manifests (only for an index / manifest list), pushed first.
    pub children: Vec<Manifest>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let mut out = String::from("sha256:");
    for byte in Sha256::digest(bytes) {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// 64 bytes that differ on every call (in this process and across runs).
pub fn random_bytes() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{}:{}:{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let first = Sha256::digest(seed.as_bytes());
    let second = Sha256::digest(first);
    first.iter().chain(second.iter()).copied().collect()
}

/// A single-platform OCI image manifest with a fresh random layer.
pub fn oci_image(platform: Platform<'_>) -> Manifest {
    single(platform, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, None)
}

/// A single-platform OCI image whose config says it was built at `created` (RFC 3339).
pub fn oci_image_created(platform: Platform<'_>, created: &str) -> Manifest {
    single(platform, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, Some(created))
}

/// An OCI image index over `children` (one per platform, in order), with
/// `annotations` on the index (e.g. `org.opencontainers.image.revision`).
pub fn oci_index_over(
    platforms: &[Platform<'_>],
    children: Vec<Manifest>,
    annotations: Value,
) -> Manifest {
    let mut built = index(OCI_INDEX, platforms, children);
    let mut doc: Value = serde_json::from_slice(&built.bytes).expect("index JSON");
    doc["annotations"] = annotations;
    built.bytes = to_bytes(&doc);
    built.digest = sha256_digest(&built.bytes);
    built
}

/// A single-platform Docker schema 2 manifest with a fresh random layer.
pub fn docker_v2_image(platform: Platform<'_>) -> Manifest {
    single(platform, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, None)
}

/// An OCI image index over one fresh OCI image per platform.
pub fn oci_index(platforms: &[Platform<'_>]) -> Manifest {
    let children = platforms.iter().map(|p| oci_image(*p)).collect();
    index(OCI_INDEX, platforms, children)
}

/// A Docker manifest list over one fresh Docker schema 2 image per platform.
pub fn docker_manifest_list(platforms: &[Platform<'_>]) -> Manifest {
    let children = platforms.iter().map(|p| docker_v2_image(*p)).collect();
    index(DOCKER_MANIFEST_LIST, platforms, children)
}

fn single(
    (os, arch, variant): Platform<'_>,
    media_type: &'static str,
    config_type: &str,
    layer_type: &str,
    created: Option<&str>,
) -> Manifest {
    let layer = Blob::new(random_bytes());
    let mut config = json!({
        "architecture": arch,
        "os": os,
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [layer.digest] },
    });
    if let Some(created) = created {
        config["created"] = json!(created);
    }
    if let Some(variant) = variant {
        config["variant"] = json!(variant);
    }
    let config = Blob::new(to_bytes(&config));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": { "mediaType": config_type, "digest": config.digest, "size": config.data.len() },
        "layers": [ { "mediaType": layer_type, "digest": layer.digest, "size": layer.data.len() } ],
    });
    let bytes = to_bytes(&manifest);
    Manifest {
        media_type,
        digest: sha256_digest(&bytes),
        bytes,
        blobs: vec![config, layer],
        children: Vec::new(),
    }
}

fn index(
    media_type: &'static str,
    platforms: &[Platform<'_>],
    children: Vec<Manifest>,
) -> Manifest {
    let entries: Vec<Value> = children
        .iter()
        .zip(platforms)
        .map(|(child, (os, arch, variant))| {
            let mut platform = json!({ "architecture": arch, "os": os });
            if let Some(variant) = variant {
                platform["variant"] = json!(variant);
            }
            json!({
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": child.bytes.len(),
                "platform": platform,
            })
        })
        .collect();
    let manifest = json!({ "schemaVersion": 2, "mediaType": media_type, "manifests": entries });
    let bytes = to_bytes(&manifest);
    Manifest {
        media_type,
        digest: sha256_digest(&bytes),
        bytes,
        blobs: Vec::new(),
        children,
    }
}

/// Pretty JSON, so the bytes look like what real tools push (and are not
/// accidentally the canonical form a registry might recompute).
fn to_bytes(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialise JSON");
    bytes.push(b'\n');
    bytes
}
