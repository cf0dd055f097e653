//! Docker Compose files, whatever they are called (`compose.yaml`,
//! `docker-compose.prod.yml`, overrides).
//!
//! Rule: a top-level mapping with a `services` mapping is a Compose file. Each
//! `services.<name>.image` is an occurrence, and so is an `image` in a
//! top-level `x-*` extension used as a service template (`x-foo.image` or
//! `x-foo.<name>.image`). A service (or template) with `build:` names the
//! image Compose *builds* with `image`: that occurrence is skipped as a
//! build output, never pinned. A template merged into services with
//! `<<: *anchor` shares the anchor's span, so the caller's de-duplication
//! reports it once, at the template, and a build output wins: a template
//! that any building service merges is never pinned. A service's `platform`
//! (`linux/arm64`) is the platform its image must serve.

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::{DeclaredPlatform, Occurrence, SkipReason};

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
                let found = occurrence(image, join_key(key, "image"));
                out.push(if value.get("build").is_some() {
                    built(found, key)
                } else {
                    with_platform(found, value, key)
                });
            }
            images_of_children(key, value, &mut out);
        }
    }
    out
}

/// `path.<name>.image` for each child mapping of `node`. A service that
/// also has `build` names its *build output* with `image` (Compose tags the
/// image it builds with it): nothing to pin there.
fn images_of_children(path: &str, node: &Node, out: &mut Vec<Occurrence>) {
    for (name, child) in node.entries().unwrap_or_default() {
        if let Some(build) = child.get("build") {
            let path = join_key(path, name);
            build_contexts(&join_key(&path, "build"), build, out);
            if let Some(image) = child.get("image") {
                out.push(built(occurrence(image, join_key(&path, "image")), &path));
            }
            continue;
        }
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

/// The occurrence as the name the service at `path` builds: never pinned
/// (a template it merges shares the span, and this skip wins over the
/// template's own occurrence).
fn built(mut found: Occurrence, path: &str) -> Occurrence {
    if found.skip.is_none() {
        found.skip = Some(SkipReason::BuildOutput(path.to_string()));
    }
    found
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
        })
        .map(Box::new);
    found
}

const DOCKER_IMAGE: &str = "docker-image://";

/// The images of `build.additional_contexts` that name one
/// (`base: docker-image://alpine:3.20`, or `- base=docker-image://…` in the
/// list form); the span starts after the scheme.
fn build_contexts(path: &str, build: &Node, out: &mut Vec<Occurrence>) {
    let Some(contexts) = build.get("additional_contexts") else {
        return;
    };
    let path = join_key(path, "additional_contexts");
    let values: Vec<(String, &Node, usize)> = match contexts {
        Node::Map { entries, .. } => entries
            .iter()
            .map(|(k, v)| (join_key(&path, k), v, 0))
            .collect(),
        Node::Seq { items, .. } => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let (name, _) = v.scalar()?.value.split_once('=')?;
                Some((join_index(&path, i), v, name.len() + 1))
            })
            .collect(),
        Node::Scalar(_) => Vec::new(),
    };
    for (at, value, prefix) in values {
        let Some(s) = value.scalar() else { continue };
        if !s
            .value
            .get(prefix..)
            .is_some_and(|v| v.starts_with(DOCKER_IMAGE))
        {
            continue;
        }
        let mut found = occurrence(value, at);
        let skip = prefix + DOCKER_IMAGE.len();
        found.text.drain(..skip);
        if found.skip.is_none() {
            found.span.start += skip;
        }
        out.push(found);
    }
}
