//! Amazon ECS task definitions: the input of `aws ecs register-task-definition`
//! (`containerDefinitions` at the top) and the output of
//! `describe-task-definition` (`taskDefinition.containerDefinitions`), in
//! JSON or YAML.
//!
//! Rule: recognised by content only; every `containerDefinitions[i].image` is
//! an occurrence, whatever registry it names (ECR or not).

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::Occurrence;

/// The container definitions of a task definition and the path to them.
fn container_definitions(root: &Node) -> Option<(&'static str, &[Node])> {
    if let Some(defs) = root.get("containerDefinitions").and_then(Node::items) {
        return Some(("containerDefinitions", defs));
    }
    root.get("taskDefinition")?
        .get("containerDefinitions")?
        .items()
        .map(|defs| ("taskDefinition.containerDefinitions", defs))
}

/// Whether `root` is a task definition.
pub(crate) fn detect(root: &Node) -> bool {
    container_definitions(root).is_some()
}

/// Every container definition's `image`.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let Some((path, defs)) = container_definitions(root) else {
        return Vec::new();
    };
    defs.iter()
        .enumerate()
        .filter_map(|(i, def)| {
            let image = def.get("image")?;
            Some(occurrence(image, join_key(&join_index(path, i), "image")))
        })
        .collect()
}
