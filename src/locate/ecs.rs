//! Amazon ECS task definitions: the input of `aws ecs register-task-definition`
//! (`containerDefinitions` at the top) and the output of
//! `describe-task-definition` (`taskDefinition.containerDefinitions`), in
//! JSON or YAML.
//!
//! Rule: recognised by content only; every `containerDefinitions[i].image` is
//! an occurrence, whatever registry it names (ECR or not). A
//! `runtimePlatform` (`cpuArchitecture`, `operatingSystemFamily`) is the
//! platform every container image must serve; `versionConsistency:
//! disabled` marks a container whose tag ECS resolves at every launch.

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::{normalize_arch, DeclaredPlatform, Occurrence};

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
    let platform = runtime_platform(root.get("taskDefinition").unwrap_or(root));
    defs.iter()
        .enumerate()
        .filter_map(|(i, def)| {
            let image = def.get("image")?;
            let mut found = occurrence(image, join_key(&join_index(path, i), "image"));
            found.platform = platform.clone().map(Box::new);
            found.tag_per_launch = literal(def, "versionConsistency")
                .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
            Some(found)
        })
        .collect()
}

/// The task definition's `runtimePlatform`, when it names an architecture
/// or an operating system family. A task definition that requires Fargate
/// and names no architecture runs on Fargate's default, `LINUX`/`X86_64`
/// (the ECS API reference's `RuntimePlatform`), so its images must serve
/// linux/amd64.
fn runtime_platform(task: &Node) -> Option<DeclaredPlatform> {
    let platform = task.get("runtimePlatform");
    let field = |key: &str| platform.and_then(|p| literal(p, key));
    let fargate = task
        .get("requiresCompatibilities")
        .and_then(Node::items)
        .is_some_and(|items| {
            items.iter().any(|i| {
                i.scalar()
                    .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("FARGATE"))
            })
        });
    task_platform(
        field("cpuArchitecture"),
        field("operatingSystemFamily"),
        fargate,
    )
}

/// The platform a task definition's `runtimePlatform.cpuArchitecture` and
/// `operatingSystemFamily` declare; with `fargate` (it requires FARGATE)
/// and no architecture, Fargate's default `LINUX`/`X86_64` (the ECS API
/// reference's `RuntimePlatform`). One rule for files and for the task
/// definitions live ECS services run.
pub(crate) fn task_platform(
    arch: Option<&str>,
    family: Option<&str>,
    fargate: bool,
) -> Option<DeclaredPlatform> {
    let arch = arch.map(|a| ("runtimePlatform.cpuArchitecture", a));
    let family = family.map(|f| ("runtimePlatform.operatingSystemFamily", f));
    if fargate && arch.is_none() {
        const DEFAULT: &str = "requiresCompatibilities FARGATE (no runtimePlatform.cpuArchitecture: Fargate runs X86_64)";
        let family = family.or(Some((DEFAULT, "LINUX")));
        let mut declared = declared_platform(Some((DEFAULT, "X86_64")), family)?;
        declared.source = match family {
            Some((at, value)) if at != DEFAULT => format!("{DEFAULT}, {at} {value}"),
            _ => DEFAULT.to_owned(),
        };
        return Some(declared);
    }
    declared_platform(arch, family)
}

/// The literal string value of `key`, trimmed and non-empty.
pub(super) fn literal<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    node.get(key)
        .and_then(Node::scalar)
        .filter(|s| s.is_string && s.custom_tag.is_none() && !s.value.contains('$'))
        .map(|s| s.value.trim())
        .filter(|v| !v.is_empty())
}

/// The platform an ECS `cpuArchitecture` (`X86_64`, `ARM64`) and
/// `operatingSystemFamily` (`LINUX`, `WINDOWS_SERVER_…`) declare, each given
/// with the path it was found at.
pub(super) fn declared_platform(
    arch: Option<(&str, &str)>,
    family: Option<(&str, &str)>,
) -> Option<DeclaredPlatform> {
    let os = family.map(|(_, f)| {
        if f.to_ascii_uppercase().starts_with("WINDOWS") {
            "windows".to_string()
        } else {
            f.to_ascii_lowercase()
        }
    });
    let source: Vec<String> = [arch, family]
        .into_iter()
        .flatten()
        .map(|(at, value)| format!("{at} {value}"))
        .collect();
    if source.is_empty() {
        return None;
    }
    Some(DeclaredPlatform {
        os,
        architectures: arch.iter().map(|(_, a)| normalize_arch(a)).collect(),
        source: source.join(", "),
    })
}
