//! Helm chart values (`values*.yaml` beside a `Chart.yaml`, or files named
//! with `--helm-values`): the image blocks charts template into
//! `{{ .repository }}:{{ .tag }}`.
//!
//! Rule: at any depth, a mapping with a string `repository` and a `tag` is
//! an image block, `[registry/]repository:tag[@digest]`. A non-empty
//! `digest` value is the pin (`pin --update` rewrites it); an empty quoted
//! `digest: ""` is filled in place; otherwise the pin is appended to `tag`
//! (`tag: 1.2.3@sha256:…`), which the usual templates render as a valid
//! reference. A tag YAML reads as a number (`tag: 2.0` renders as `2`) is
//! skipped with a warning, not guessed; an empty tag (the chart's
//! `appVersion` decides) is skipped. A bare `image: repo:tag` string is an
//! occurrence as in any file.

use super::classify::{occurrence, template_marker};
use super::tree::{join_index, join_key, Node};
use super::{Occurrence, SkipReason, Splice};

/// Image blocks and `image:` strings, in file order.
pub(crate) fn collect(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out
}

fn walk(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    match node {
        Node::Map { entries, .. } => {
            if let Some(found) = block(node, path) {
                out.push(found);
                return;
            }
            for (key, value) in entries {
                let path = join_key(path, key);
                if key == "image" && value.scalar().is_some() {
                    out.push(occurrence(value, path));
                    continue;
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

/// The occurrence of an image block, if `node` is one.
fn block(node: &Node, path: &str) -> Option<Occurrence> {
    let repository = node.get("repository")?.scalar().filter(|s| s.is_string)?;
    let tag = node.get("tag")?.scalar()?;
    let registry = node
        .get("registry")
        .and_then(Node::scalar)
        .filter(|s| s.is_string && !s.value.trim().is_empty());
    let name = match registry {
        Some(registry) => format!("{}/{}", registry.value, repository.value),
        None => repository.value.to_string(),
    };
    let digest = node
        .get("digest")
        .and_then(Node::scalar)
        .filter(|s| s.is_string);
    let tag_path = join_key(path, "tag");
    let mut skip = [Some(repository), registry, Some(tag), digest]
        .into_iter()
        .flatten()
        .find_map(|s| {
            template_marker(&s.value)
                .map(SkipReason::Templated)
                .or_else(|| (!s.raw_matches_value).then_some(SkipReason::EscapedOrMultiline))
        });
    if tag.value.trim().is_empty() {
        skip = skip.or(Some(SkipReason::Empty));
    } else if !tag.is_string {
        skip = skip.or_else(|| Some(SkipReason::NumericTag(tag.value.to_string())));
    }
    let (text, span, splice, location) = match digest {
        Some(d) if !d.value.is_empty() => (
            format!("{name}:{}@{}", tag.value, d.value),
            d.span.clone(),
            Splice::Digest {
                before: String::new(),
            },
            join_key(path, "digest"),
        ),
        // `digest: ""`: filled inside its quotes.
        Some(d) if d.quoted => (
            format!("{name}:{}", tag.value),
            d.span.clone(),
            Splice::Digest {
                before: String::new(),
            },
            join_key(path, "digest"),
        ),
        _ => {
            let plain = tag.value.split('@').next().unwrap_or_default().to_string();
            (
                format!("{name}:{}", tag.value),
                tag.span.clone(),
                Splice::Tag { tag: plain },
                tag_path,
            )
        }
    };
    Some(Occurrence {
        span,
        text,
        location,
        skip,
        platform: None,
        splice,
        shown_at: None,
        tag_per_launch: false,
    })
}

/// Whether a file name is a chart's values file (`values.yaml`,
/// `values-prod.yml`, `values.staging.yaml`); it counts as one beside a
/// `Chart.yaml`.
pub fn is_values_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("values") && (lower.ends_with(".yaml") || lower.ends_with(".yml"))
}
