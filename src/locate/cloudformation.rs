//! AWS CloudFormation (and SAM, CDK-synthesised) templates, in JSON or YAML.
//!
//! Rule: a top-level `Resources` mapping in which some resource has a `Type`
//! this module knows is a template. Occurrences:
//! `AWS::ECS::TaskDefinition` → `Properties.ContainerDefinitions[i].Image`
//! (with `Properties.RuntimePlatform` as the declared platform),
//! `AWS::Batch::JobDefinition` → the `Image` of `ContainerProperties`, of
//! multi-node `NodeProperties.NodeRangeProperties[i].Container`, and of each
//! container in `EcsProperties.TaskProperties[i].Containers` and
//! `EksProperties.PodProperties.Containers` / `InitContainers` (also inside a
//! node range),
//! `AWS::Lambda::Function` and `AWS::Serverless::Function` →
//! `Properties.Code.ImageUri` / `Properties.ImageUri`. Intrinsic functions
//! (`!Sub`, `!Ref`, `{"Fn::Join": …}`) are not literals and are skipped.

use super::classify::occurrence;
use super::ecs::{declared_platform, literal};
use super::tree::{join_index, join_key, Node};
use super::{DeclaredPlatform, Occurrence};

const TYPES: [&str; 4] = [
    "AWS::ECS::TaskDefinition",
    "AWS::Batch::JobDefinition",
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
];

fn resource_type(resource: &Node) -> Option<&str> {
    let s = resource.get("Type")?.scalar()?;
    Some(s.value.as_str())
}

/// Whether `root` is a template with a resource that holds images.
pub(crate) fn detect(root: &Node) -> bool {
    root.get("Resources")
        .and_then(Node::entries)
        .is_some_and(|resources| {
            resources
                .iter()
                .any(|(_, r)| resource_type(r).is_some_and(|t| TYPES.contains(&t)))
        })
}

/// Every image of every known resource, in file order.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let resources = root
        .get("Resources")
        .and_then(Node::entries)
        .unwrap_or_default();
    for (name, resource) in resources {
        let Some(properties) = resource.get("Properties") else {
            continue;
        };
        let path = join_key(&join_key("Resources", name), "Properties");
        match resource_type(resource) {
            Some("AWS::ECS::TaskDefinition") => {
                let platform = runtime_platform(properties, &path);
                let defs = properties
                    .get("ContainerDefinitions")
                    .and_then(Node::items)
                    .unwrap_or_default();
                for (i, def) in defs.iter().enumerate() {
                    if let Some(image) = def.get("Image") {
                        let at = join_key(
                            &join_index(&join_key(&path, "ContainerDefinitions"), i),
                            "Image",
                        );
                        let mut found = occurrence(image, at);
                        found.platform = platform.clone().map(Box::new);
                        out.push(found);
                    }
                }
            }
            Some("AWS::Batch::JobDefinition") => {
                batch_images(properties, &path, &mut out);
            }
            Some("AWS::Lambda::Function") => {
                if let Some(uri) = properties.get("Code").and_then(|c| c.get("ImageUri")) {
                    out.push(occurrence(
                        uri,
                        join_key(&join_key(&path, "Code"), "ImageUri"),
                    ));
                }
            }
            Some("AWS::Serverless::Function") => {
                if let Some(uri) = properties.get("ImageUri") {
                    out.push(occurrence(uri, join_key(&path, "ImageUri")));
                }
            }
            _ => {}
        }
    }
    out
}

/// `RuntimePlatform` of an ECS task definition resource, when literal.
fn runtime_platform(properties: &Node, path: &str) -> Option<DeclaredPlatform> {
    let platform = properties.get("RuntimePlatform")?;
    let at = join_key(path, "RuntimePlatform");
    let (arch_at, family_at) = (
        join_key(&at, "CpuArchitecture"),
        join_key(&at, "OperatingSystemFamily"),
    );
    declared_platform(
        literal(platform, "CpuArchitecture").map(|a| (arch_at.as_str(), a)),
        literal(platform, "OperatingSystemFamily").map(|f| (family_at.as_str(), f)),
    )
}

/// Keys of a Batch job definition whose value is one container.
const BATCH_CONTAINER: [&str; 2] = ["ContainerProperties", "Container"];
/// Keys of a Batch job definition whose value is a list of containers.
const BATCH_CONTAINERS: [&str; 2] = ["Containers", "InitContainers"];

/// Every container `Image` of a Batch job definition's properties, at any
/// depth (single-node, multi-node ranges, ECS and EKS properties).
fn batch_images(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            for (key, value) in entries {
                let at = join_key(path, key);
                if BATCH_CONTAINER.contains(&key.as_str()) {
                    if let Some(image) = value.get("Image") {
                        out.push(occurrence(image, join_key(&at, "Image")));
                    }
                }
                if BATCH_CONTAINERS.contains(&key.as_str()) {
                    for (i, container) in value.items().unwrap_or_default().iter().enumerate() {
                        if let Some(image) = container.get("Image") {
                            out.push(occurrence(image, join_key(&join_index(&at, i), "Image")));
                        }
                    }
                }
                batch_images(value, &at, out);
            }
        }
        Node::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                batch_images(item, &join_index(path, i), out);
            }
        }
        Node::Scalar(_) => {}
    }
}
