//! Manifest media types, in one place: what imgpin asks registries for, and
//! which of them are multi-platform indexes. Pure data.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_recognised() {
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(!is_index(OCI_MANIFEST) && !is_index(DOCKER_MANIFEST) && !is_index(""));
        assert!(ACCEPTED.iter().take(2).all(|m| is_index(m)));
    }
}
