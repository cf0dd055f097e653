//! Decides whether a value found where an image belongs is a literal
//! reference that may be pinned, or something to report as skipped.
//!
//! Rule: when in doubt, skip. Only a non-empty string whose raw text in the
//! file is exactly its value and that carries no interpolation marker is a
//! literal. Everything else is reported with a reason and never rewritten:
//! `${…}` / `$NAME` / any `$` (shell and Compose interpolation; Compose's `$$`
//! escape is skipped too, which is safe), `{{ … }}` (Helm, Go templates),
//! `#{…}` (Octopus and others), `%{…}`, `<…>` placeholders (CodeDeploy's
//! `<IMAGE1_NAME>`; `<` and `>` never occur in a reference), match
//! patterns (`*`, `?`, `|`, a leading `!`: policy engines such as Kyverno),
//! empty values, non-strings, and escaped or multi-line strings. A
//! CloudFormation `!Sub`/`Fn::Sub` whose text has no `$` substitutes
//! nothing: its text is read as a literal.

use super::tree::Node;
use super::{Occurrence, SkipReason, Splice};

/// The occurrence for the value `node` found at `location`.
pub(crate) fn occurrence(node: &Node, location: String) -> Occurrence {
    if let Some(literal) = literal_sub(node) {
        return occurrence(literal, location);
    }
    match node {
        Node::Scalar(s) => {
            // `!Sub text` without a `$` substitutes nothing: the text is
            // the value (any `$` leaves it to the template marker rule).
            let literal_tag = s.custom_tag.as_deref() == Some("!Sub") && !s.value.contains('$');
            let skip = if let Some(tag) = s.custom_tag.as_ref().filter(|_| !literal_tag) {
                Some(SkipReason::Templated(format!("{tag} {}", s.value)))
            } else if s.value.trim().is_empty() {
                Some(SkipReason::Empty)
            } else if !s.is_string {
                Some(SkipReason::NotAString)
            } else if let Some(marker) = template_marker(&s.value) {
                Some(SkipReason::Templated(marker))
            } else if is_pattern(&s.value) {
                Some(SkipReason::Pattern)
            } else if !s.raw_matches_value {
                Some(SkipReason::EscapedOrMultiline)
            } else {
                None
            };
            Occurrence {
                span: s.span.clone(),
                text: s.value.to_string(),
                location,
                skip,
                platform: None,
                shown_at: None,
                tag_per_launch: false,
                splice: Splice::Reference,
            }
        }
        Node::Map { offset, .. } | Node::Seq { offset, .. } => Occurrence {
            span: *offset..*offset,
            text: String::new(),
            location,
            skip: Some(
                intrinsic_function(node).map_or(SkipReason::NotAString, |f| {
                    SkipReason::Templated(f.to_owned())
                }),
            ),
            platform: None,
            shown_at: None,
            tag_per_launch: false,
            splice: Splice::Reference,
        },
    }
}

/// The string of `{"Fn::Sub": "text"}` (or `["text", {…}]`) when the text
/// has no `$`: CloudFormation substitutes nothing, so it is a literal.
fn literal_sub(node: &Node) -> Option<&Node> {
    let [(name, value)] = node.entries()? else {
        return None;
    };
    if name != "Fn::Sub" {
        return None;
    }
    let text = match value {
        Node::Seq { items, .. } => items.first()?,
        other => other,
    };
    let s = text.scalar()?;
    (s.custom_tag.is_none() && !s.value.contains('$')).then_some(text)
}

/// The name of a CloudFormation intrinsic function written as a JSON
/// object (`{"Fn::Sub": …}`, `{"Ref": …}`): a value computed at deploy time.
fn intrinsic_function(node: &Node) -> Option<&str> {
    match node.entries()? {
        [(name, _)] if name == "Ref" || name.starts_with("Fn::") => Some(name),
        _ => None,
    }
}

/// Whether `value` is a match pattern rather than a reference: it has a
/// wildcard, an alternation or a leading negation (Kyverno writes
/// `image: "*:*"`, `"!*:latest"`, `"ghcr.io/* | quay.io/*"` in the pod
/// patterns it validates against).
pub(crate) fn is_pattern(value: &str) -> bool {
    value.contains(['*', '?', '|']) || value.trim_start().starts_with('!')
}

/// The first interpolation or template marker in `value`, as written
/// (`${TAG:-1.27}`, `$TAG`, `{{ .Values.tag }}`, `#{Tag}`, `%{tag}`,
/// `<IMAGE1_NAME>`), or
/// `None` for a value without one.
pub(crate) fn template_marker(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    for (i, c) in value.char_indices() {
        let next = bytes.get(i + 1).copied();
        let end = match (c, next) {
            ('$', Some(b'{')) => closing_brace(value, i + 2),
            ('$', Some(b'$')) => i + 2,
            ('$', Some(b)) if b == b'_' || b.is_ascii_alphabetic() => {
                i + 1
                    + value[i + 1..]
                        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                        .unwrap_or(value.len() - i - 1)
            }
            ('$', _) => i + 1,
            ('{', Some(b'{')) => value[i..].find("}}").map_or(value.len(), |e| i + e + 2),
            ('#' | '%', Some(b'{')) => value[i..].find('}').map_or(value.len(), |e| i + e + 1),
            ('<', _) => match value[i..].find('>') {
                Some(e) => i + e + 1,
                None => continue,
            },
            _ => continue,
        };
        return Some(value[i..end].to_owned());
    }
    None
}

/// End (exclusive) of a `${…}` whose body starts at `from`, allowing nested
/// `${…}` in defaults; the end of the value when it is not closed.
fn closing_brace(value: &str, from: usize) -> usize {
    let mut depth = 1usize;
    for (i, b) in value.bytes().enumerate().skip(from) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    value.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::tree::Scalar;

    #[test]
    fn template_markers_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("nginx:1.27", None),
            ("nginx", None),
            ("registry.example.com:5000/team/app:v1.2.3", None),
            ("nginx@sha256:0123456789abcdef", None),
            ("nginx:1.27@sha256:0123", None),
            ("ghcr.io/org/app:pr-12_3", None),
            ("nginx:${TAG}", Some("${TAG}")),
            ("nginx:${TAG:-1.27}", Some("${TAG:-1.27}")),
            ("${REGISTRY}/app:${TAG}", Some("${REGISTRY}")),
            ("app:${TAG:-${DEFAULT_TAG}}", Some("${TAG:-${DEFAULT_TAG}}")),
            ("app:${TAG", Some("${TAG")),
            ("$REGISTRY/app:1", Some("$REGISTRY")),
            ("app:$TAG_2-x", Some("$TAG_2")),
            ("app:$$literal", Some("$$")),
            ("app:1$", Some("$")),
            ("app:$1", Some("$")),
            (
                "{{ .Values.image.repository }}:{{ .Values.image.tag }}",
                Some("{{ .Values.image.repository }}"),
            ),
            ("repo:{{.Chart.AppVersion}}", Some("{{.Chart.AppVersion}}")),
            ("repo:{{ unclosed", Some("{{ unclosed")),
            (
                "repo:#{Octopus.Release.Number}",
                Some("#{Octopus.Release.Number}"),
            ),
            ("repo:%{tag}", Some("%{tag}")),
            ("répo✓:${T}", Some("${T}")),
            ("repo:{tag}", None),
            ("repo#frag", None),
            ("100%", None),
            ("<IMAGE1_NAME>", Some("<IMAGE1_NAME>")),
            ("repo:<tag>-x", Some("<tag>")),
            ("repo:a<b", None),
        ];
        for (value, want) in cases {
            assert_eq!(template_marker(value).as_deref(), *want, "{value:?}");
        }
    }

    fn scalar(value: &str, is_string: bool, raw_matches_value: bool) -> Node {
        Node::Scalar(Scalar {
            value: value.into(),
            span: 3..3 + value.len(),
            raw_matches_value,
            quoted: false,
            is_string,
            custom_tag: None,
        })
    }

    #[test]
    fn skip_reasons_table() {
        let cases: &[(Node, Option<SkipReason>)] = &[
            (scalar("nginx:1.27", true, true), None),
            (scalar("", true, true), Some(SkipReason::Empty)),
            (scalar("   ", true, true), Some(SkipReason::Empty)),
            (scalar("", false, true), Some(SkipReason::Empty)),
            (scalar("1.27", false, true), Some(SkipReason::NotAString)),
            (scalar("true", false, true), Some(SkipReason::NotAString)),
            (
                scalar("app:${TAG}", true, true),
                Some(SkipReason::Templated("${TAG}".into())),
            ),
            (
                scalar("app:${TAG}", true, false),
                Some(SkipReason::Templated("${TAG}".into())),
            ),
            (
                scalar("nginx:1.27", true, false),
                Some(SkipReason::EscapedOrMultiline),
            ),
            (scalar("*:*", true, true), Some(SkipReason::Pattern)),
            (scalar("!*:latest", true, true), Some(SkipReason::Pattern)),
            (
                scalar("!nginx:latest", true, true),
                Some(SkipReason::Pattern),
            ),
            (
                scalar("ghcr.io/acme/*", true, true),
                Some(SkipReason::Pattern),
            ),
            (scalar("nginx:1.2?", true, true), Some(SkipReason::Pattern)),
            (scalar("a:1 | b:2", true, true), Some(SkipReason::Pattern)),
            (
                Node::Map {
                    entries: vec![],
                    offset: 7,
                },
                Some(SkipReason::NotAString),
            ),
            (
                Node::Seq {
                    items: vec![],
                    offset: 7,
                },
                Some(SkipReason::NotAString),
            ),
        ];
        for (node, want) in cases {
            let occ = occurrence(node, "x.image".into());
            assert_eq!(&occ.skip, want, "{node:?}");
            assert_eq!(occ.location, "x.image");
        }
    }

    #[test]
    fn skip_reasons_display() {
        assert_eq!(
            SkipReason::Templated("${TAG}".into()).to_string(),
            "templated value (${TAG})"
        );
        assert_eq!(SkipReason::Empty.to_string(), "empty value");
        assert_eq!(SkipReason::NotAString.to_string(), "not a string");
        assert_eq!(
            SkipReason::EscapedOrMultiline.to_string(),
            "escaped or multi-line string"
        );
    }
}
