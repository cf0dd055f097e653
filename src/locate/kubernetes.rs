//! Kubernetes manifests in YAML or JSON: Pods, workloads (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), `List`s, and custom
//! resources that embed pod templates (Argo Rollouts, Knative Services, …).
//!
//! Rule: an object with both `apiVersion` and `kind` is a manifest. At any
//! depth, a key `containers`, `initContainers` or `ephemeralContainers` whose
//! value is a sequence holds containers, and each container mapping's `image`
//! is an occurrence, and so are the `image` of Tekton `steps`/`sidecars` and of
//! a single-container mapping under `container`, `script` (Argo Workflows)
//! or `stepTemplate`. Image volumes' `volumes[].image.reference`, a Tekton
//! StepAction's `spec.image` and Tekton bundles (`taskRef`/`pipelineRef`
//! `bundle:` or the bundles resolver's `bundle` parameter) are images too.
//! So is any string `image` under `spec` (outside metadata and status): a
//! custom resource's own image (`Prometheus.spec.image`, ECK, KubeVirt
//! `containerDisk.image`). Being structural, the rule needs no list of kinds.
//! The pod spec holding the containers may pin them to architectures with a
//! `nodeSelector` on `kubernetes.io/arch` (or `kubernetes.io/os`) or a
//! required node affinity `In` those labels; every image must serve each
//! architecture allowed.

use super::classify::occurrence;
use super::tree::{join_index, join_key, push_index, push_key, Node};
use super::{normalize_arch, DeclaredPlatform, Occurrence};

const ARCH_LABELS: [&str; 2] = ["kubernetes.io/arch", "beta.kubernetes.io/arch"];
const OS_LABELS: [&str; 2] = ["kubernetes.io/os", "beta.kubernetes.io/os"];

/// Keys whose value is a list of containers: pod specs, and Tekton's
/// `steps` and `sidecars` (whose items are containers too).
const CONTAINER_LISTS: [&str; 5] = [
    "containers",
    "initContainers",
    "ephemeralContainers",
    "steps",
    "sidecars",
];

/// Keys whose value is one container: Argo Workflows' `container` and
/// `script` templates, Tekton's `stepTemplate`.
const CONTAINER_KEYS: [&str; 3] = ["container", "script", "stepTemplate"];

/// Keys whose value may name a Tekton bundle (an OCI image of tasks).
const BUNDLE_REFS: [&str; 2] = ["taskRef", "pipelineRef"];

/// Whether `root` is a Kubernetes object.
pub(crate) fn detect(root: &Node) -> bool {
    root.get("apiVersion").is_some() && root.get("kind").is_some()
}

/// Every container image in the object, in file order.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    walk(root, &mut String::new(), Part::Outside, false, &mut out);
    out
}

/// Where in an object a node lies, for the `image` under `spec` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Not under `spec` yet.
    Outside,
    /// Under `spec`: a string `image` is an image.
    Spec,
    /// Under metadata, status, or Crossplane's `forProvider`/`initProvider`
    /// (cloud API fields, where `image` is a VM image): never.
    Excluded,
}

impl Part {
    fn below(self, key: &str) -> Part {
        match (self, key) {
            (Part::Excluded, _) => Part::Excluded,
            (_, "metadata" | "status" | "forProvider" | "initProvider") => Part::Excluded,
            (Part::Outside, "spec") => Part::Spec,
            (part, _) => part,
        }
    }
}

/// Push `image` found at `at`, with the platform of the pod spec `spec`
/// (computed once per mapping into `platform`).
fn push(
    out: &mut Vec<Occurrence>,
    platform: &mut Option<Option<DeclaredPlatform>>,
    spec: &Node,
    image: &Node,
    at: String,
) {
    let mut found = occurrence(image, at);
    found.platform = platform
        .get_or_insert_with(|| pod_platform(spec))
        .clone()
        .map(Box::new);
    out.push(found);
}

/// A Tekton bundle named by a `taskRef`/`pipelineRef`: the old `bundle:`
/// field, or the bundles resolver's `bundle` parameter.
fn bundle(reference: &Node, path: &str, out: &mut Vec<Occurrence>) {
    if let Some(image) = reference.get("bundle") {
        out.push(occurrence(image, join_key(path, "bundle")));
    }
    if string(reference.get("resolver")) != Some("bundles") {
        return;
    }
    let params = reference
        .get("params")
        .and_then(Node::items)
        .unwrap_or_default();
    for (i, param) in params.iter().enumerate() {
        if string(param.get("name")) == Some("bundle") {
            if let Some(value) = param.get("value") {
                out.push(occurrence(
                    value,
                    join_key(&join_index(&join_key(path, "params"), i), "value"),
                ));
            }
        }
    }
}

/// `container`: `node` is a container whose `image` its parent already
/// took (the `image` under `spec` rule would find it a second time).
/// `path` is one buffer for the whole walk: each key and index is pushed
/// and truncated again; a path is copied only for an occurrence.
fn walk(node: &Node, path: &mut String, part: Part, container: bool, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            let mut platform = None;
            for (key, value) in entries {
                let len = path.len();
                push_key(path, key);
                if CONTAINER_LISTS.contains(&key.as_str()) {
                    for (i, container) in value.items().unwrap_or_default().iter().enumerate() {
                        if let Some(image) = container.get("image") {
                            let at = join_key(&join_index(path, i), "image");
                            push(out, &mut platform, node, image, at);
                        }
                    }
                }
                if key == "volumes" {
                    // Image volumes (Kubernetes 1.31+): `image.reference`.
                    for (i, volume) in value.items().unwrap_or_default().iter().enumerate() {
                        if let Some(reference) =
                            volume.get("image").and_then(|v| v.get("reference"))
                        {
                            let at =
                                join_key(&join_key(&join_index(path, i), "image"), "reference");
                            push(out, &mut platform, node, reference, at);
                        }
                    }
                }
                // A custom resource's own image (`Prometheus.spec.image`,
                // ECK, KubeVirt `containerDisk.image`, a Tekton StepAction's
                // `spec.image`): any string `image` under `spec`, except a
                // container's, taken above.
                if key == "image" && value.scalar().is_some() && part == Part::Spec && !container {
                    push(out, &mut platform, node, value, path.clone());
                }
                if BUNDLE_REFS.contains(&key.as_str()) {
                    bundle(value, path, out);
                }
                if CONTAINER_KEYS.contains(&key.as_str()) {
                    if let Some(image) = value.get("image") {
                        push(out, &mut platform, node, image, join_key(path, "image"));
                    }
                }
                let below = part.below(key);
                if CONTAINER_LISTS.contains(&key.as_str()) && value.items().is_some() {
                    for (i, item) in value.items().unwrap_or_default().iter().enumerate() {
                        let len = path.len();
                        push_index(path, i);
                        walk(item, path, below, true, out);
                        path.truncate(len);
                    }
                } else {
                    let container = CONTAINER_KEYS.contains(&key.as_str());
                    walk(value, path, below, container, out);
                }
                path.truncate(len);
            }
        }
        Node::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                push_index(path, i);
                walk(item, path, part, false, out);
                path.truncate(len);
            }
        }
        Node::Scalar(_) => {}
    }
}

/// The platform a pod spec requires through its node selector or its
/// required node affinity.
fn pod_platform(spec: &Node) -> Option<DeclaredPlatform> {
    let mut architectures: Vec<String> = Vec::new();
    let mut os = None;
    let mut sources = Vec::new();
    if let Some(selector) = spec.get("nodeSelector") {
        for label in ARCH_LABELS {
            if let Some(value) = string(selector.get(label)) {
                sources.push(format!("nodeSelector {label}={value}"));
                architectures.push(normalize_arch(value));
            }
        }
        for label in OS_LABELS {
            if let Some(value) = string(selector.get(label)) {
                sources.push(format!("nodeSelector {label}={value}"));
                os = Some(value.to_ascii_lowercase());
            }
        }
    }
    let terms = spec
        .get("affinity")
        .and_then(|a| a.get("nodeAffinity"))
        .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution"))
        .and_then(|r| r.get("nodeSelectorTerms"))
        .and_then(Node::items)
        .unwrap_or_default();
    for term in terms {
        let expressions = term
            .get("matchExpressions")
            .and_then(Node::items)
            .unwrap_or_default();
        for expression in expressions {
            let key = string(expression.get("key")).unwrap_or_default();
            if !ARCH_LABELS.contains(&key) || string(expression.get("operator")) != Some("In") {
                continue;
            }
            let values: Vec<&str> = expression
                .get("values")
                .and_then(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| string(Some(v)))
                .collect();
            sources.push(format!("node affinity {key} In [{}]", values.join(", ")));
            architectures.extend(values.into_iter().map(normalize_arch));
        }
    }
    architectures.sort();
    architectures.dedup();
    if architectures.is_empty() && os.is_none() {
        return None;
    }
    Some(DeclaredPlatform {
        os,
        architectures,
        source: sources.join(", "),
    })
}

fn string(node: Option<&Node>) -> Option<&str> {
    node.and_then(Node::scalar)
        .filter(|s| s.is_string)
        .map(|s| s.value.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walker finds each image once (the file-level dedup is not what
    /// keeps a container's image from being found again by the `image`
    /// under `spec` rule: that doubled the work and the memory of a scan).
    #[test]
    fn each_image_is_found_once_by_the_walker() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: crd/own:1\n  template:\n    spec:\n      initContainers:\n        - {name: i, image: a:1}\n      containers:\n        - name: c\n          image: b:1\n      volumes:\n        - name: v\n          image: {reference: c:1}\n  workflow:\n    container: {image: d:1}\n    script:\n      image: e:1\n";
        let documents = super::super::yaml::parse(text).unwrap();
        let found: Vec<String> = collect(&documents[0]).into_iter().map(|o| o.text).collect();
        assert_eq!(found, ["crd/own:1", "a:1", "b:1", "c:1", "d:1", "e:1"]);
    }
}
