//! The keys a run's lookups are filed under, so every spelling of one image
//! is resolved or checked once and the planner finds each answer again.

use crate::reference::ImageRef;

/// The key a tag reference is resolved under: the canonical name and the
/// tag (`latest` when none), so every spelling of one image resolves once.
pub fn tag_key(reference: &ImageRef) -> String {
    format!(
        "{}:{}",
        reference.canonical_name(),
        reference.tag_or_latest()
    )
}

/// The key a pinned reference's digest is checked under: the canonical name
/// and the digest, so every spelling of one pinned image is checked once.
/// `None` for a reference without a digest.
pub fn digest_key(reference: &ImageRef) -> Option<String> {
    reference.digest().map(|d| digest_key_at(reference, d))
}

/// The [`digest_key`] of `reference`'s repository at `digest` (another
/// digest than the one written: what a tag points at now, what a task runs).
pub fn digest_key_at(reference: &ImageRef, digest: &impl std::fmt::Display) -> String {
    format!("{}@{digest}", reference.canonical_name())
}
