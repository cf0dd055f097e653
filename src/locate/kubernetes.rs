//! Kubernetes manifests in YAML or JSON: Pods, workloads (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), `List`s, and custom
//! resources that embed pod templates (Argo Rollouts, Knative Services, …).
//!
//! Rule: an object with both `apiVersion` and `kind` is a manifest. At any
//! depth, a key `containers`, `initContainers` or `ephemeralContainers` whose
//! value is a sequence holds containers, and each container mapping's `image`
//! is an occurrence. Being structural, the rule needs no list of kinds.

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::Occurrence;

/// Keys whose value is a list of containers.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Whether `root` is a Kubernetes object.
pub(crate) fn detect(root: &Node) -> bool {
    root.get("apiVersion").is_some() && root.get("kind").is_some()
}

/// Every container image in the object, in file order.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out
}

fn walk(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            for (key, value) in entries {
                let path = join_key(path, key);
                if CONTAINER_LISTS.contains(&key.as_str()) {
                    for (i, container) in value.items().unwrap_or_default().iter().enumerate() {
                        if let Some(image) = container.get("image") {
                            out.push(occurrence(image, join_key(&join_index(&path, i), "image")));
                        }
                    }
                }
                walk(value, &path, out);
            }
        }
        Node::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &join_index(path, i), out);
            }
        }
        Node::Scalar(_) => {}
    }
}
