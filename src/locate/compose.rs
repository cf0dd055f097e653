//! Docker Compose files, whatever they are called (`compose.yaml`,
//! `docker-compose.prod.yml`, overrides).
//!
//! Rule: a top-level mapping with a `services` mapping is a Compose file. Each
//! `services.<name>.image` is an occurrence (services that only `build:` have
//! none), and so is an `image` in a top-level `x-*` extension used as a
//! service template (`x-foo.image` or `x-foo.<name>.image`). A template merged
//! into services with `<<: *anchor` shares the anchor's span, so the caller's
//! de-duplication reports it once, at the template.

use super::classify::occurrence;
use super::tree::{join_key, Node};
use super::Occurrence;

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
                out.push(occurrence(image, join_key(key, "image")));
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
            out.push(occurrence(image, join_key(&join_key(path, name), "image")));
        }
    }
}
