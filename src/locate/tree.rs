//! The span-annotated document tree that both parsers build and every format
//! module reads.
//!
//! Rule: the tree only *describes* the original bytes. Every scalar carries the
//! byte span of its raw text in the original file (inside the quotes for a
//! quoted scalar) and says whether that raw text is exactly its value, so a
//! format module can hand out a span that an editor may overwrite safely. The
//! tree is never turned back into text.

use std::ops::Range;

/// A key or scalar value: short ones (most keys, tags, ports) are stored
/// inline, with no allocation.
pub(crate) type Text = smol_str::SmolStr;

/// A node of a JSON value or a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A mapping (JSON object), entries in file order.
    Map {
        /// Key and value of each entry.
        entries: Vec<(Text, Node)>,
        /// Byte offset where the mapping starts.
        offset: usize,
    },
    /// A sequence (JSON array).
    Seq {
        /// The items in file order.
        items: Vec<Node>,
        /// Byte offset where the sequence starts.
        offset: usize,
    },
    /// A scalar: a string, number, boolean or null.
    Scalar(Scalar),
}

/// A scalar and where its text is in the original bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    /// The value after decoding escapes, folding and quoting.
    pub value: Text,
    /// Byte span of the raw text in the original bytes: inside the quotes for
    /// a quoted scalar, exactly the characters of a plain one.
    pub span: Range<usize>,
    /// `true` when `bytes[span] == value`: no escapes, no folding, no block
    /// scalar. Only then may the span be rewritten.
    pub raw_matches_value: bool,
    /// `true` for a quoted scalar (or a YAML block scalar).
    pub quoted: bool,
    /// `true` when the scalar is a string (JSON string; YAML quoted, block,
    /// or plain that does not resolve to null, a boolean or a number).
    pub is_string: bool,
    /// A YAML tag outside the core schema, as written (`!Ref`, `!Sub`):
    /// the value means something to another tool (CloudFormation's
    /// intrinsic functions) and is not a literal.
    pub custom_tag: Option<String>,
}

impl Node {
    /// The value of the last entry named `key`, if this is a mapping.
    ///
    /// The last one wins, as in JSON parsers and most YAML loaders.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The entries, if this is a mapping.
    pub(crate) fn entries(&self) -> Option<&[(Text, Node)]> {
        match self {
            Node::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub(crate) fn items(&self) -> Option<&[Node]> {
        match self {
            Node::Seq { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The scalar, if this is one.
    pub(crate) fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Number of nodes in this subtree, this one included.
    pub(crate) fn size(&self) -> usize {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .fold(1usize, |n, (_, v)| n.saturating_add(v.size())),
            Node::Seq { items, .. } => items.iter().fold(1usize, |n, v| n.saturating_add(v.size())),
            Node::Scalar(_) => 1,
        }
    }
}

/// `path.key`, or `key` at the root. Keys that would read ambiguously in a
/// dotted path (dots, brackets, quotes, blanks, empty) are written `["key"]`.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let mut joined = path.to_owned();
    push_key(&mut joined, key);
    joined
}

/// [`join_key`] in place: a walker keeps one path buffer and truncates it
/// back, instead of a new string for every key it passes.
pub(crate) fn push_key(path: &mut String, key: &str) {
    use std::fmt::Write;
    let plain = !key.is_empty()
        && !key.chars().any(|c| {
            matches!(c, '.' | '[' | ']' | '"' | '\'') || c.is_whitespace() || c.is_control()
        });
    if !plain {
        let _ = write!(path, "[{key:?}]");
        return;
    }
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// `path[index]`.
pub(crate) fn join_index(path: &str, index: usize) -> String {
    let mut joined = path.to_owned();
    push_index(&mut joined, index);
    joined
}

/// [`join_index`] in place.
pub(crate) fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(path, "[{index}]");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_the_file() {
        assert_eq!(join_key("", "services"), "services");
        assert_eq!(join_key("services", "web"), "services.web");
        assert_eq!(join_key("services", "my.api"), "services[\"my.api\"]");
        assert_eq!(join_key("", ""), "[\"\"]");
        assert_eq!(join_index("", 2), "[2]");
        assert_eq!(join_index("items", 0), "items[0]");
    }
}
