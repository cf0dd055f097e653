//! CI systems that run each step in an image, found by their place
//! (`place.rs`): Bitbucket Pipelines, Drone and Woodpecker, Google Cloud
//! Build; and dev containers.
//!
//! Rules:
//! - Bitbucket: the top-level `image`, each `step`'s `image` at any depth
//!   (`pipelines.default`, branches, `parallel`, `definitions.steps`
//!   anchors) and `definitions.services.<name>.image`; an image is a
//!   string or a mapping's `name`.
//! - Drone / Woodpecker: the `image` of each entry of `steps`, `services`,
//!   `pipeline` (old Woodpecker) and `clone`, whether a list or a mapping of
//!   named entries.
//! - Cloud Build: `steps[].name` is the image a step runs (`images:` lists
//!   what the build pushes: outputs, not pulls).
//! - Dev containers: the top-level `image` (a `build` or
//!   `dockerComposeFile` container has none).

use super::ci::name_or_string;
use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::Occurrence;

/// Bitbucket Pipelines images, in file order.
pub(crate) fn collect_bitbucket(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    if let Some(image) = root.get("image") {
        out.extend(name_or_string(image, "image".to_string()));
    }
    let services = root.get("definitions").and_then(|d| d.get("services"));
    for (name, service) in services.and_then(Node::entries).unwrap_or_default() {
        if let Some(image) = service.get("image") {
            let at = join_key(&join_key("definitions.services", name), "image");
            out.extend(name_or_string(image, at));
        }
    }
    steps(root, "", &mut out);
    out
}

/// Every `step:` mapping's image below `node`.
fn steps(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            for (key, value) in entries {
                let path = join_key(path, key);
                if key == "step" {
                    if let Some(image) = value.get("image") {
                        out.extend(name_or_string(image, join_key(&path, "image")));
                    }
                }
                steps(value, &path, out);
            }
        }
        Node::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                steps(item, &join_index(path, i), out);
            }
        }
        Node::Scalar(_) => {}
    }
}

/// Drone and Woodpecker step, service and clone images.
pub(crate) fn collect_drone(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for key in ["clone", "pipeline", "steps", "services"] {
        let Some(list) = root.get(key) else { continue };
        let entries: Vec<(String, &Node)> = match list {
            Node::Seq { items, .. } => items
                .iter()
                .enumerate()
                .map(|(i, item)| (join_index(key, i), item))
                .collect(),
            Node::Map { entries, .. } => entries
                .iter()
                .map(|(name, item)| (join_key(key, name), item))
                .collect(),
            Node::Scalar(_) => Vec::new(),
        };
        for (path, entry) in entries {
            if let Some(image) = entry.get("image") {
                out.push(occurrence(image, join_key(&path, "image")));
            }
        }
    }
    out
}

/// Cloud Build's `steps[].name`.
pub(crate) fn collect_cloudbuild(root: &Node) -> Vec<Occurrence> {
    let steps = root.get("steps").and_then(Node::items).unwrap_or_default();
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| {
            let name = step.get("name")?;
            Some(occurrence(name, join_key(&join_index("steps", i), "name")))
        })
        .collect()
}

/// A dev container's `image`.
pub(crate) fn collect_devcontainer(root: &Node) -> Vec<Occurrence> {
    root.get("image")
        .map(|image| occurrence(image, "image".to_string()))
        .into_iter()
        .collect()
}
