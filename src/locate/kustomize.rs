//! Kustomize `images:` entries: a Kustomization rewrites the images of its
//! resources to `newName:newTag`, and pins them with its own `digest:` field.
//!
//! Rule: an entry with `newTag` and no `digest` is the reference
//! `(newName or name):newTag`; pinning inserts a `digest:` field after the
//! `newTag` line (same indentation, the file's line ending; `, digest: …`
//! in a flow mapping), keeping `newName`/`newTag`. An entry with `digest`
//! is pinned already (`name:newTag@digest`); `pin --update` rewrites the
//! digest value in place. An entry with neither only renames: the tag is in
//! the resources, which are read on their own. Fields are read as Go reads
//! them into strings, so `newTag: 1.27` is the tag `1.27`.

use super::classify::template_marker;
use super::tree::{join_index, join_key, Node, Scalar};
use super::{Occurrence, SkipReason, Splice};

/// Whether `root` is a Kustomization (or a Component).
pub(crate) fn detect(root: &Node) -> bool {
    let api = field(root, "apiVersion").map(|s| s.value.as_str());
    let kind = field(root, "kind").map(|s| s.value.as_str());
    api.is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
        && matches!(kind, Some("Kustomization" | "Component"))
}

/// The pinnable `images:` entries, in file order.
pub(crate) fn collect(root: &Node, text: &str) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let entries = root.get("images").and_then(Node::items).unwrap_or_default();
    for (i, entry) in entries.iter().enumerate() {
        let path = join_index("images", i);
        let Some(name) = field(entry, "newName").or_else(|| field(entry, "name")) else {
            continue;
        };
        let tag = field(entry, "newTag");
        // An insertion is shown where the tag is, not at the line's end.
        let shown_at = tag
            .filter(|_| field(entry, "digest").is_none())
            .map(|t| t.span.start);
        let (found, location) = match (field(entry, "digest"), tag) {
            (Some(digest), _) => {
                let reference = match tag {
                    Some(tag) => format!("{}:{}@{}", name.value, tag.value, digest.value),
                    None => format!("{}@{}", name.value, digest.value),
                };
                let splice = Splice::Digest {
                    before: String::new(),
                };
                (
                    (reference, digest.span.clone(), splice),
                    join_key(&path, "digest"),
                )
            }
            (None, Some(tag)) => (
                (
                    format!("{}:{}", name.value, tag.value),
                    insertion(entry, tag, text),
                    Splice::Digest {
                        before: before_digest(entry, tag, text),
                    },
                ),
                join_key(&path, "newTag"),
            ),
            (None, None) => continue,
        };
        let (reference, span, splice) = found;
        let parts = [Some(name), tag, field(entry, "digest")];
        let skip = parts.iter().flatten().find_map(|s| skip_of(s));
        out.push(Occurrence {
            span,
            text: reference,
            location,
            skip,
            platform: None,
            splice,
            shown_at,
            tag_per_launch: false,
        });
    }
    out
}

/// A scalar field, whatever YAML type it resolves to (Go reads it as text).
fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Scalar> {
    node.get(key)?
        .scalar()
        .filter(|s| !s.value.trim().is_empty())
}

fn skip_of(s: &Scalar) -> Option<SkipReason> {
    if let Some(marker) = template_marker(&s.value) {
        Some(SkipReason::Templated(marker))
    } else if s.custom_tag.is_some() || !s.raw_matches_value {
        Some(SkipReason::EscapedOrMultiline)
    } else {
        None
    }
}

/// Whether `entry` is a flow mapping (`{name: app, newTag: v2}`).
fn is_flow(entry: &Node, text: &str) -> bool {
    matches!(entry, Node::Map { offset, .. } if text.as_bytes().get(*offset) == Some(&b'{'))
}

/// Where a new `digest` field goes: after the tag in a flow mapping (after
/// its closing quote), else at the end of the `newTag` line.
fn insertion(entry: &Node, tag: &Scalar, text: &str) -> std::ops::Range<usize> {
    let at = if is_flow(entry, text) {
        tag.span.end + usize::from(tag.quoted)
    } else {
        let end = text[tag.span.end..]
            .find('\n')
            .map_or(text.len(), |i| tag.span.end + i);
        if end > 0 && text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    };
    at..at
}

/// The text before the digest: `, digest: ` in a flow mapping, else a line
/// break (the file's) and the `newTag` key's indentation.
fn before_digest(entry: &Node, tag: &Scalar, text: &str) -> String {
    if is_flow(entry, text) {
        return ", digest: ".to_string();
    }
    let line_start = text[..tag.span.start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..tag.span.start];
    let column = prefix.find("newTag").unwrap_or(0);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    format!(
        "{eol}{}digest: ",
        " ".repeat(prefix[..column].chars().count())
    )
}
