//! Loads a YAML stream into span-annotated [`Node`] trees, one per document,
//! from `saphyr-parser` events.
//!
//! Rule: spans are byte offsets into the original text, and a scalar is only
//! marked rewritable when the bytes of its span are exactly its value.
//! `saphyr-parser` reports positions as *character* indices, and the span of
//! a node starts at its anchor or tag and, for a quoted scalar, ends after
//! any trailing blanks and comment; this loader converts indices to bytes and
//! finds the scalar's own text itself. Aliases yield a copy of the anchored
//! node with the anchor's spans (so an edit lands once, on the anchor), and
//! merge keys (`<<: *base`, `<<: [*a, *b]`) are resolved with explicit keys
//! winning. Alias expansion and nesting are bounded so no input can exhaust
//! memory or the stack.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use std::collections::{HashMap, HashSet};

use super::tree::{Node, Scalar};
use super::LocateError;

/// Deepest nesting accepted, aliases included.
const MAX_DEPTH: usize = 256;
/// Most nodes a stream may expand to, aliases included ("billion laughs").
const MAX_NODES: usize = 1_000_000;

/// Parse every document of `text` (the whole file, BOM included).
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, LocateError> {
    let mut loader = Loader {
        text,
        offsets: CharOffsets::new(text),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| loader.scan_error(&e))?;
        if !loader.event(event, span)? {
            break;
        }
    }
    Ok(loader.documents)
}

/// Character index → byte offset.
struct CharOffsets {
    /// Byte offset of each character, then the text length; empty when the
    /// text is ASCII and indices are offsets.
    starts: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let starts = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        };
        CharOffsets {
            starts,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.starts.is_empty() {
            char_index.min(self.len)
        } else {
            self.starts.get(char_index).copied().unwrap_or(self.len)
        }
    }
}

/// A mapping or sequence being built.
enum Frame {
    Map {
        entries: Vec<(String, Node)>,
        /// `<<` values and the entry index they were written at.
        merges: Vec<(usize, Node)>,
        /// The key waiting for its value; `true` when it is a merge key.
        key: Option<(String, bool)>,
        anchor: usize,
        offset: usize,
    },
    Seq {
        items: Vec<Node>,
        anchor: usize,
        offset: usize,
    },
}

/// An anchored node with its size and depth, for the expansion limits.
struct Anchored {
    node: Node,
    size: usize,
    depth: usize,
}

struct Loader<'a> {
    text: &'a str,
    offsets: CharOffsets,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    root: Option<Node>,
    documents: Vec<Node>,
}

impl Loader<'_> {
    fn scan_error(&self, e: &ScanError) -> LocateError {
        LocateError {
            offset: self.offsets.byte(e.marker().index()),
            message: format!("invalid YAML: {}", e.info()),
        }
    }

    fn error(&self, span: Span, message: &str) -> LocateError {
        LocateError {
            offset: self.offsets.byte(span.start.index()),
            message: format!("invalid YAML: {message}"),
        }
    }

    /// Handle one event; `false` at the end of the stream.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, LocateError> {
        match event {
            Event::StreamEnd => return Ok(false),
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or_else(|| {
                    let at = self.offsets.byte(span.start.index());
                    Node::Scalar(empty_scalar(at))
                });
                self.documents.push(root);
                self.stack.clear();
            }
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(self.error(span, "alias to a node that is not complete yet"));
                };
                if self.stack.len().saturating_add(anchored.depth) > MAX_DEPTH {
                    return Err(self.error(span, "nesting too deep"));
                }
                let (size, node) = (anchored.size, anchored.node.clone());
                self.count(size, span)?;
                self.finish(node, 0, span)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1, span)?;
                let scalar = self.scalar(value.into_owned(), style, anchor, tag.as_deref(), span);
                self.finish(Node::Scalar(scalar), anchor, span)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(span)?;
                let offset = self.offsets.byte(span.start.index());
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    offset,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.open(span)?;
                let offset = self.offsets.byte(span.start.index());
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                    anchor,
                    offset,
                });
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    offset,
                }) => self.finish(Node::Seq { items, offset }, anchor, span)?,
                _ => return Err(self.error(span, "unbalanced sequence end")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    entries,
                    merges,
                    anchor,
                    offset,
                    ..
                }) => {
                    let entries = merge(entries, merges);
                    self.finish(Node::Map { entries, offset }, anchor, span)?;
                }
                _ => return Err(self.error(span, "unbalanced mapping end")),
            },
        }
        Ok(true)
    }

    /// Account for `n` more nodes.
    fn count(&mut self, n: usize, span: Span) -> Result<(), LocateError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.error(span, "too many nodes (alias expansion?)"));
        }
        Ok(())
    }

    /// Checks before a mapping or sequence starts.
    fn open(&mut self, span: Span) -> Result<(), LocateError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(span, "nesting too deep"));
        }
        self.count(1, span)
    }

    /// A node is complete: register its anchor and attach it to its parent.
    fn finish(&mut self, node: Node, anchor: usize, span: Span) -> Result<(), LocateError> {
        if anchor > 0 {
            // The stored copy counts too, so nested anchors cannot multiply
            // memory past the limit.
            let size = node.size();
            self.count(size, span)?;
            let anchored = Anchored {
                size,
                depth: depth(&node),
                node: node.clone(),
            };
            self.anchors.insert(anchor, anchored);
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_some() {
                    return Err(self.error(span, "more than one root node in a document"));
                }
                self.root = Some(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => *key = Some(key_name(&node)),
                Some((_, true)) => merges.push((entries.len(), node)),
                Some((name, false)) => entries.push((name, node)),
            },
        }
        Ok(())
    }

    fn scalar(
        &self,
        value: String,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
    ) -> Scalar {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index()).max(start);
        let content = if anchor > 0 || tag.is_some() {
            skip_properties(self.text.as_bytes(), start, end)
        } else {
            start
        };
        let bytes = self.text.as_bytes();
        let (span, quoted) = match style {
            ScalarStyle::Plain => (content..end.max(content), false),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let single = style == ScalarStyle::SingleQuoted;
                let quote = if single { b'\'' } else { b'"' };
                let span = match bytes.get(content) {
                    Some(&b) if b == quote => {
                        let open = content.saturating_add(1);
                        closing_quote(bytes, open, single)
                            .map_or(content..content, |close| open..close)
                    }
                    _ => content..content,
                };
                (span, true)
            }
            ScalarStyle::Literal | ScalarStyle::Folded => (content..end.max(content), true),
        };
        let raw = self.text.get(span.clone());
        let span = if raw.is_some() { span } else { start..start };
        let literal_style = !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        Scalar {
            raw_matches_value: literal_style && raw == Some(value.as_str()),
            is_string: is_string(&value, style, tag),
            custom_tag: tag
                .filter(|t| !t.is_yaml_core_schema())
                .map(|t| format!("{}{}", t.handle, t.suffix)),
            value,
            span,
            quoted,
        }
    }
}

/// An empty, null scalar at `at`.
fn empty_scalar(at: usize) -> Scalar {
    Scalar {
        value: String::new(),
        span: at..at,
        raw_matches_value: true,
        quoted: false,
        is_string: false,
        custom_tag: None,
    }
}

/// The name a key node is known by, and whether it is the merge key `<<`.
fn key_name(node: &Node) -> (String, bool) {
    match node {
        Node::Scalar(s) => (s.value.clone(), !s.quoted && s.value == "<<"),
        Node::Map { .. } | Node::Seq { .. } => ("<complex key>".to_owned(), false),
    }
}

/// Depth of a tree (a scalar is 1). Trees here are at most `MAX_DEPTH` deep.
fn depth(node: &Node) -> usize {
    match node {
        Node::Map { entries, .. } => 1 + entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        Node::Seq { items, .. } => 1 + items.iter().map(depth).max().unwrap_or(0),
        Node::Scalar(_) => 1,
    }
}

/// Resolve merge keys: the merged mappings' entries are inserted where the
/// `<<` key was written, skipping keys the mapping sets itself or an earlier
/// merged mapping already provided. A `<<` whose value is not a mapping or a
/// sequence of mappings stays an ordinary entry.
fn merge(entries: Vec<(String, Node)>, merges: Vec<(usize, Node)>) -> Vec<(String, Node)> {
    if merges.is_empty() {
        return entries;
    }
    let mut seen: HashSet<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    let mut out = Vec::with_capacity(entries.len());
    let mut merges = merges.into_iter().peekable();
    let mut entries = entries.into_iter();
    let mut index = 0;
    loop {
        while let Some((_, source)) = merges.next_if(|(at, _)| *at == index) {
            let sources: Vec<Node> = match source {
                Node::Map { .. } => vec![source],
                Node::Seq { items, .. } if items.iter().all(|i| i.entries().is_some()) => items,
                other => {
                    out.push(("<<".to_owned(), other));
                    continue;
                }
            };
            for map in sources {
                if let Node::Map { entries, .. } = map {
                    for (k, v) in entries {
                        if seen.insert(k.clone()) {
                            out.push((k, v));
                        }
                    }
                }
            }
        }
        match entries.next() {
            Some(entry) => out.push(entry),
            None => break,
        }
        index += 1;
    }
    out
}

/// Skip a node's anchor and tag (and the blanks, line breaks and comments
/// around them) to reach its content.
fn skip_properties(bytes: &[u8], mut pos: usize, end: usize) -> usize {
    let end = end.min(bytes.len());
    loop {
        while pos < end && matches!(bytes[pos], b' ' | b'\t' | b'\r' | b'\n') {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'#') => {
                while pos < end && bytes[pos] != b'\n' {
                    pos += 1;
                }
            }
            Some(b'!') if bytes.get(pos + 1) == Some(&b'<') => {
                while pos < end && bytes[pos] != b'>' {
                    pos += 1;
                }
                pos = (pos + 1).min(end);
            }
            Some(b'&' | b'!') => {
                while pos < end
                    && !matches!(
                        bytes[pos],
                        b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
                    )
                {
                    pos += 1;
                }
            }
            _ => return pos,
        }
        if pos >= end {
            return end;
        }
    }
}

/// Offset of the quote closing a quoted scalar whose text starts at `pos`.
fn closing_quote(bytes: &[u8], mut pos: usize, single: bool) -> Option<usize> {
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'\'' if single => {
                if bytes.get(pos + 1) == Some(&b'\'') {
                    pos += 2;
                    continue;
                }
                return Some(pos);
            }
            b'"' if !single => return Some(pos),
            b'\\' if !single => pos += 1,
            _ => {}
        }
        pos += 1;
    }
    None
}

/// Whether a scalar is a string under the YAML 1.2 core schema: quoted and
/// block scalars are; a plain scalar is unless it reads as null, a boolean or
/// a number. `!!str` forces a string, `!!int` & co. force a non-string.
fn is_string(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> bool {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        match tag.suffix.as_str() {
            "str" => return true,
            "int" | "float" | "bool" | "null" => return false,
            _ => {}
        }
    }
    style != ScalarStyle::Plain || !(is_null(value) || is_bool(value) || is_number(value))
}

fn is_null(v: &str) -> bool {
    matches!(v, "" | "~" | "null" | "Null" | "NULL")
}

fn is_bool(v: &str) -> bool {
    matches!(v, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}

fn is_number(v: &str) -> bool {
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(oct) = v.strip_prefix("0o") {
        return digits(oct, 8);
    }
    if let Some(hex) = v.strip_prefix("0x") {
        return digits(hex, 16);
    }
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(v, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac, 10),
        Some((int, frac)) => digits(int, 10) && (frac.is_empty() || digits(frac, 10)),
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar at a dotted path of plain keys and `[i]` indices.
    fn at<'n>(node: &'n Node, path: &str) -> &'n Scalar {
        let mut node = node;
        for part in path.split('.') {
            node = match part.parse::<usize>() {
                Ok(i) => &node.items().expect("a sequence")[i],
                Err(_) => node.get(part).unwrap_or_else(|| panic!("no key {part}")),
            };
        }
        node.scalar().expect("a scalar")
    }

    #[test]
    fn plain_and_quoted_spans_are_exact() {
        let text = "a: nginx:1.27   # c\nb: \"quoted\"  # c\nc: 'it''s'\nd: \"esc\\tx\"\n";
        let doc = &parse(text).unwrap()[0];
        let a = at(doc, "a");
        assert_eq!(&text[a.span.clone()], "nginx:1.27");
        assert!(a.raw_matches_value && !a.quoted);
        let b = at(doc, "b");
        assert_eq!(&text[b.span.clone()], "quoted");
        assert!(b.raw_matches_value && b.quoted);
        let c = at(doc, "c");
        assert_eq!((c.value.as_str(), &text[c.span.clone()]), ("it's", "it''s"));
        assert!(!c.raw_matches_value);
        assert!(!at(doc, "d").raw_matches_value);
    }

    #[test]
    fn offsets_are_bytes_after_multibyte_text_bom_and_crlf() {
        let text = "\u{feff}# ünïcödé ✓ 日本\r\nx: \"é\"\r\nimage: 'nginx:1.27'\r\n";
        let doc = &parse(text).unwrap()[0];
        let s = at(doc, "image");
        assert_eq!(&text[s.span.clone()], "nginx:1.27");
        assert_eq!(s.span.start, text.find("nginx").unwrap());
    }

    #[test]
    fn anchors_tags_and_comments_before_the_scalar_are_skipped() {
        let text = "a: &x !!str nginx:1\nb: &y # note\n  \"redis:7\"\nc: !<tag:yaml.org,2002:str> busybox\nd: *y\n";
        let doc = &parse(text).unwrap()[0];
        for (key, want) in [
            ("a", "nginx:1"),
            ("b", "redis:7"),
            ("c", "busybox"),
            ("d", "redis:7"),
        ] {
            let s = at(doc, key);
            assert_eq!(&text[s.span.clone()], want, "{key}");
            assert!(s.raw_matches_value, "{key}");
        }
        assert_eq!(at(doc, "b").span, at(doc, "d").span);
    }

    #[test]
    fn block_and_multi_line_scalars_are_not_rewritable() {
        let text = "a: |\n  nginx\nb: >-\n  nginx\nc: nginx\n  :1.27\nd: \"ngi\n  nx\"\n";
        let doc = &parse(text).unwrap()[0];
        for key in ["a", "b", "c", "d"] {
            assert!(!at(doc, key).raw_matches_value, "{key}");
        }
    }

    #[test]
    fn merge_keys_resolve_with_explicit_keys_winning() {
        let text = "\
a: &a {image: a, x: 1}
b: &b {image: b, y: 2, z: 3}
m:
  z: own
  <<: [*a, *b]
n:
  <<: *b
  image: own
q:
  \"<<\": *a
";
        let doc = &parse(text).unwrap()[0];
        assert_eq!(at(doc, "m.image").value, "a");
        assert_eq!(at(doc, "m.y").value, "2");
        assert_eq!(at(doc, "m.z").value, "own");
        assert_eq!(at(doc, "m.image").span, at(doc, "a.image").span);
        assert_eq!(at(doc, "n.image").value, "own");
        assert!(doc.get("q").unwrap().get("<<").is_some());
    }

    #[test]
    fn documents_are_split_and_empty_ones_kept() {
        let docs = parse("a: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n").unwrap();
        assert_eq!(docs.len(), 4);
        assert!(docs[1].scalar().is_some_and(|s| s.value.is_empty()));
        assert!(docs[3].get("b").is_some());
    }

    #[test]
    fn scalars_resolve_like_the_core_schema() {
        let text = "[a, '1', 1, 1.5, .5, 1e3, -1, 0x1F, 0o7, .inf, .NaN, true, False, null, ~, '', !!str 2, 1.27.1, 2024-01-01]";
        let doc = &parse(text).unwrap()[0];
        let got: Vec<bool> = doc
            .items()
            .unwrap()
            .iter()
            .map(|n| n.scalar().unwrap().is_string)
            .collect();
        let want = [
            true, true, false, false, false, false, false, false, false, false, false, false,
            false, false, false, true, true, true, true,
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn errors_carry_a_byte_offset() {
        let text = "é: ✓\nkey: [unclosed\n";
        let err = parse(text).unwrap_err();
        assert!(err.offset <= text.len());
        assert!(text.is_char_boundary(err.offset));
        assert!(err.message.starts_with("invalid YAML: "));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_errors() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let alias = format!("*{prev}");
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![alias; 10].join(", ")
            ));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("too many nodes"));
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        let mut chain = String::from("a0: &a0 ");
        chain.push_str(&"[".repeat(200));
        chain.push_str(&"]".repeat(200));
        chain.push('\n');
        for i in 1..5 {
            chain.push_str(&format!("a{i}: &a{i} [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a{}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", i - 1));
        }
        assert!(parse(&chain).unwrap_err().message.contains("too deep"));
        let mut nested = String::new();
        for i in 0..200 {
            nested.push_str(&format!("&n{i} ["));
        }
        nested.push_str(&vec!["x"; 10_000].join(", "));
        nested.push_str(&"]".repeat(200));
        assert!(parse(&nested)
            .unwrap_err()
            .message
            .contains("too many nodes"));
    }
}
