//! Docker Compose files, whatever they are called (`compose.yaml`,
//! `docker-compose.prod.yml`, overrides).
//!
//! Rule: a top-level mapping with a `services` mapping is a Compose file. Each
//! `services.<name>.image` is an occurrence (services that only `build:` have
//! none), and so is an `image` in a top-level `x-*` extension used as a
//! service template (`x-foo.image` or `x-foo.<name>.image`). A template merged
//! into services with `<<: *anchor` shares the anchor's span, so the caller's
//! de-duplication reports it once, at the template. A service's `platform`
//! (`linux/arm64`) is the platform its image must serve.

use super::classify::occurrence;
use super::tree::{join_key, Node};
use super::{DeclaredPlatform, Occurrence};

/// Whether `root` is a Compose file.
pub(crate) fn detect(root: &Node) -> bool {
    root.get("services").and_then(Node::entries).is_some()
}

/// Service images and extension-field template images, in file order.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for (key, value) in root.entries().unwrap_or_default() {
        if key == "services" {
            images_of_children(key, value, &mut out);
        } else if key.starts_with("x-") {
            if let Some(image) = value.get("image") {
                out.push(with_platform(
                    occurrence(image, join_key(key, "image")),
                    value,
                    key,
                ));
            }
            images_of_children(key, value, &mut out);
        }
    }
    out
}

/// `path.<name>.image` for each child mapping of `node`.
fn images_of_children(path: &str, node: &Node, out: &mut Vec<Occurrence>) {
    for (name, child) in node.entries().unwrap_or_default() {
        if let Some(image) = child.get("image") {
            let path = join_key(path, name);
            out.push(with_platform(
                occurrence(image, join_key(&path, "image")),
                child,
                &path,
            ));
        }
    }
}

/// The occurrence with the `platform` its service at `path` declares.
fn with_platform(mut found: Occurrence, service: &Node, path: &str) -> Occurrence {
    found.platform = service
        .get("platform")
        .and_then(Node::scalar)
        .filter(|s| s.is_string && super::classify::template_marker(&s.value).is_none())
        .and_then(|s| {
            let source = format!("{} {}", join_key(path, "platform"), s.value);
            DeclaredPlatform::from_platform_string(&s.value, source)
        });
    found
}
