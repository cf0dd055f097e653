//! Loads a YAML stream into span-annotated [`Node`] trees, one per document,
//! from `libyaml-safer` events.
//!
//! Why libyaml: go-yaml v3, the parser behind kubectl, Helm and Kustomize,
//! is a port of libyaml, and so is PyYAML's C loader; a libyaml port accepts
//! what they accept (a flow sequence closed at its key's indentation, say),
//! which is the rule: a file the ecosystem deploys is a file imgpin reads.
//!
//! Rule: spans are byte offsets into the original text, and a scalar is only
//! marked rewritable when the bytes of its span are exactly its value. The
//! parser's marks are byte offsets from the start of its input (the text
//! after a BOM); a node's start mark sits at its anchor or tag, so the
//! loader finds the scalar's own text itself. A block scalar (`|`, `>-`)
//! whose content is one line is rewritable at that line. Aliases yield a
//! copy of the anchored node with the anchor's spans (so an edit lands once,
//! on the anchor), and merge keys (`<<: *base`, `<<: [*a, *b]`) are resolved
//! with explicit keys winning. What aliases *add* is bounded (a file's own
//! size is not: `--max-file-size` bounds it), and so is nesting, so no input
//! can exhaust memory or the stack.

use libyaml_safer::{Encoding, Event, EventData, Mark, Parser, ScalarStyle};
use std::collections::{HashMap, HashSet};

use super::tree::{Node, Scalar, Text};
use super::LocateError;

mod fast;

/// Deepest nesting accepted, aliases included.
const MAX_DEPTH: usize = 256;
/// Nodes aliases may add to a stream beyond [`ALIAS_RATIO`] times the
/// stream's own nodes ("billion laughs" needs far more).
const MAX_ALIAS_NODES: usize = 1_000_000;
/// How many times its own size a stream may grow through aliases before
/// [`MAX_ALIAS_NODES`] applies.
const ALIAS_RATIO: usize = 4;

/// The YAML core schema's tag prefix (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG: &str = "tag:yaml.org,2002:";

/// Parse every document of `text` (the whole file, BOM included), all kept.
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, LocateError> {
    let mut documents = Vec::new();
    each_document(text, &mut |document| documents.push(document))?;
    Ok(documents)
}

/// Parse `text` (the whole file, BOM included) and hand each document to
/// `take` as soon as it is complete, so memory follows the largest
/// document, not the stream.
///
/// The [`fast`] path reads the plain YAML most deploy files are written in
/// at memory speed; on anything else it gives up and libyaml-safer parses
/// the stream, so what is accepted, and every error, is libyaml's. The
/// documents the fast path already handed over are not handed again.
pub(crate) fn each_document(text: &str, take: &mut dyn FnMut(Node)) -> Result<(), LocateError> {
    let (base, input) = prepared(text);
    let mut handed = 0usize;
    let mut counted = |document| {
        handed += 1;
        take(document);
    };
    // A panic in the fast path (a bug) is a give-up too: libyaml reads on.
    let mut loader = Loader::new(text, base, &mut counted);
    let read = super::guard::guarded("the YAML fast path", base, || {
        fast::load(&input, &mut loader)
    });
    if matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    drop(loader);
    let mut skip = handed;
    let mut rest = |document| {
        if skip > 0 {
            skip -= 1;
        } else {
            take(document);
        }
    };
    with_libyaml(&input, &mut Loader::new(text, base, &mut rest))
}

/// Where the parsers' input starts in `text` (after a BOM) and the input:
/// the rest of the text, ending in a line break. libyaml-safer panics at an
/// end of input right after spaces or a backslash; a final line break avoids
/// that and changes no mark of the text (it is only added when missing,
/// after the last byte).
fn prepared(text: &str) -> (usize, std::borrow::Cow<'_, str>) {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let input = if text.ends_with('\n') {
        std::borrow::Cow::Borrowed(&text[base..])
    } else {
        std::borrow::Cow::Owned(format!("{}\n", &text[base..]))
    };
    (base, input)
}

/// Parse `input` (see [`prepared`]) with libyaml-safer, feeding `loader`.
fn with_libyaml(input: &str, loader: &mut Loader<'_>) -> Result<(), LocateError> {
    let mut parser = Parser::new();
    parser.set_encoding(Encoding::Utf8);
    parser.set_input(Chunks {
        rest: input.as_bytes(),
    });
    // Where the last event ended: a parser panic is placed there.
    let mut reached = loader.base;
    loop {
        let event = super::guard::guarded("the YAML parser (libyaml-safer)", reached, || {
            parser.parse()
        })?
        .map_err(|e| loader.parse_error(&e))?;
        reached = loader.at(event.end_mark);
        if !loader.event(event)? {
            break;
        }
    }
    Ok(())
}

/// The input handed to the parser a bounded piece at a time: libyaml-safer
/// decodes all a reader offers into a queue of `char`s (4 bytes each), so a
/// whole 8 MB stream offered at once costs 32 MB or more before the first
/// event. 64 KiB at a time, memory follows the document being read.
struct Chunks<'a> {
    rest: &'a [u8],
}

/// How much of the input the parser sees at once.
const CHUNK: usize = 64 * 1024;

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

impl std::io::BufRead for Chunks<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.rest[..self.rest.len().min(CHUNK)])
    }

    fn consume(&mut self, amount: usize) {
        self.rest = &self.rest[amount.min(self.rest.len())..];
    }
}

/// A mapping or sequence being built.
enum Frame {
    Map {
        entries: Vec<(Text, Node)>,
        /// `<<` values and the entry index they were written at.
        merges: Vec<(usize, Node)>,
        /// The key waiting for its value; `true` when it is a merge key.
        key: Option<(Text, bool)>,
        anchor: Option<String>,
        offset: usize,
    },
    Seq {
        items: Vec<Node>,
        anchor: Option<String>,
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
    /// Length of the BOM the parser did not see: marks are offsets after it.
    base: usize,
    stack: Vec<Frame>,
    /// The current document's anchors (an anchor's scope is its document).
    anchors: HashMap<String, Anchored>,
    /// Nodes written in the stream.
    own: usize,
    /// Nodes added by aliases and by the copies anchors keep.
    aliased: usize,
    root: Option<Node>,
    /// Where each complete document goes.
    take: &'a mut dyn FnMut(Node),
}

impl<'a> Loader<'a> {
    fn new(text: &'a str, base: usize, take: &'a mut dyn FnMut(Node)) -> Self {
        Loader {
            text,
            base,
            stack: Vec::new(),
            anchors: HashMap::new(),
            own: 0,
            aliased: 0,
            root: None,
            take,
        }
    }

    /// Byte offset in the text of a parser mark.
    fn at(&self, mark: Mark) -> usize {
        usize::try_from(mark.index)
            .unwrap_or(usize::MAX)
            .saturating_add(self.base)
            .min(self.text.len())
    }

    fn parse_error(&self, e: &libyaml_safer::Error) -> LocateError {
        // An error found at the end of the input (an unclosed quote or
        // bracket) is placed where the unclosed thing started.
        let at_end = |m: Mark| self.at(m) >= self.text.len();
        let mark = match (e.problem_mark(), e.context_mark()) {
            (Some(problem), Some(context)) if at_end(problem) => Some(context),
            (problem, _) => problem,
        };
        let offset = mark.map_or(self.base, |m| self.at(m));
        let mut message = format!("invalid YAML: {}", e.problem());
        if let Some(context) = e.context() {
            message.push_str(&format!(" {context}"));
            // Where the context began, when that is not the place reported.
            if let Some(start) = e.context_mark().filter(|m| self.at(*m) != offset) {
                message.push_str(&format!(
                    " (begun at line {}, column {})",
                    start.line + 1,
                    start.column + 1
                ));
            }
        }
        if self.text.as_bytes().get(offset) == Some(&b'\t') {
            message.push_str(" (a tab: YAML indents and separates with spaces)");
        }
        LocateError { offset, message }
    }

    fn error(&self, mark: Mark, message: &str) -> LocateError {
        LocateError {
            offset: self.at(mark),
            message: format!("invalid YAML: {message}"),
        }
    }

    /// Handle one event; `false` at the end of the stream.
    fn event(&mut self, event: Event) -> Result<bool, LocateError> {
        let (mark, end_mark) = (event.start_mark, event.end_mark);
        match event.data {
            EventData::StreamEnd => return Ok(false),
            EventData::StreamStart { .. } | EventData::DocumentStart { .. } => {}
            EventData::DocumentEnd { .. } => {
                let root = self.root.take().unwrap_or_else(|| {
                    let at = self.at(mark);
                    Node::Scalar(empty_scalar(at))
                });
                (self.take)(root);
                self.stack.clear();
                self.anchors.clear();
            }
            EventData::Alias { anchor } => {
                let Some(anchored) = self.anchors.get(&anchor) else {
                    return Err(self.error(mark, &format!("unknown anchor '{anchor}' referenced")));
                };
                if self.stack.len().saturating_add(anchored.depth) > MAX_DEPTH {
                    return Err(self.error(mark, "nesting too deep"));
                }
                let (size, node) = (anchored.size, anchored.node.clone());
                self.add_aliased(size, mark)?;
                self.finish(node, None, mark)?;
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                self.scalar_event(value.into(), style, anchor, tag, (mark, end_mark))?;
            }
            EventData::SequenceStart { anchor, .. } => {
                self.open(mark)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    offset: self.at(mark),
                });
            }
            EventData::MappingStart { anchor, .. } => {
                self.open(mark)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                    anchor,
                    offset: self.at(mark),
                });
            }
            EventData::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    offset,
                }) => self.finish(Node::Seq { items, offset }, anchor, mark)?,
                _ => return Err(self.error(mark, "unbalanced sequence end")),
            },
            EventData::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    entries,
                    merges,
                    anchor,
                    offset,
                    ..
                }) => {
                    let entries = merge(entries, merges);
                    self.finish(Node::Map { entries, offset }, anchor, mark)?;
                }
                _ => return Err(self.error(mark, "unbalanced mapping end")),
            },
        }
        Ok(true)
    }

    /// A scalar event, from libyaml or straight from the fast path.
    fn scalar_event(
        &mut self,
        value: Text,
        style: ScalarStyle,
        anchor: Option<String>,
        tag: Option<String>,
        marks: (Mark, Mark),
    ) -> Result<(), LocateError> {
        self.own = self.own.saturating_add(1);
        let scalar = self.scalar(value, style, anchor.is_some(), tag, marks);
        self.finish(Node::Scalar(scalar), anchor, marks.0)
    }

    /// Account for `n` more nodes added by an alias or an anchor's copy.
    fn add_aliased(&mut self, n: usize, mark: Mark) -> Result<(), LocateError> {
        self.aliased = self.aliased.saturating_add(n);
        let allowed = self
            .own
            .saturating_mul(ALIAS_RATIO)
            .saturating_add(MAX_ALIAS_NODES);
        if self.aliased > allowed {
            return Err(self.error(
                mark,
                &format!(
                    "aliases expand to more than {allowed} nodes (an alias bomb?); \
                     the file itself has {}",
                    self.own
                ),
            ));
        }
        Ok(())
    }

    /// Checks before a mapping or sequence starts.
    fn open(&mut self, mark: Mark) -> Result<(), LocateError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(mark, "nesting too deep"));
        }
        self.own = self.own.saturating_add(1);
        Ok(())
    }

    /// A node is complete: register its anchor and attach it to its parent.
    fn finish(
        &mut self,
        node: Node,
        anchor: Option<String>,
        mark: Mark,
    ) -> Result<(), LocateError> {
        if let Some(anchor) = anchor {
            // The stored copy counts as added, so nested anchors cannot
            // multiply memory past the limit.
            let size = node.size();
            self.add_aliased(size, mark)?;
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
                    return Err(self.error(mark, "more than one root node in a document"));
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
                None => *key = Some(key_name(node)),
                Some((_, true)) => merges.push((entries.len(), node)),
                Some((name, false)) => entries.push((name, node)),
            },
        }
        Ok(())
    }

    fn scalar(
        &self,
        value: Text,
        style: ScalarStyle,
        anchored: bool,
        tag: Option<String>,
        (start, end): (Mark, Mark),
    ) -> Scalar {
        let start = self.at(start);
        let end = self.at(end).max(start);
        let content = if anchored || tag.is_some() {
            skip_properties(self.text.as_bytes(), start, end)
        } else {
            start
        };
        let bytes = self.text.as_bytes();
        let (span, quoted) = match style {
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
            ScalarStyle::Literal | ScalarStyle::Folded => {
                (block_line(bytes, content, end, &value), true)
            }
            _ => (content..end.max(content), false),
        };
        let raw = self.text.get(span.clone());
        let span = if raw.is_some() { span } else { start..start };
        let raw_matches_value = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                raw.is_some_and(|r| !r.is_empty() && r == value.trim_end_matches(['\n', '\r']))
            }
            _ => raw == Some(value.as_str()),
        };
        let value =
            if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) && raw_matches_value {
                // `image: |` keeps the line break in the value; the reference
                // is the line.
                Text::new(value.trim_end_matches(['\n', '\r']))
            } else {
                value
            };
        let core = tag.as_deref().and_then(|t| t.strip_prefix(CORE_TAG));
        Scalar {
            raw_matches_value,
            is_string: is_string(&value, style, core, tag.as_deref() == Some("!")),
            custom_tag: tag.filter(|t| t != "!" && !t.starts_with(CORE_TAG)),
            value,
            span,
            quoted,
        }
    }
}

/// The span of a block scalar's only content line: after the header line
/// (`|`, `>-`, `|2+`, a comment) and the indentation, up to the line break.
/// An empty span at `start` when the content is not one line.
fn block_line(bytes: &[u8], start: usize, end: usize, value: &str) -> std::ops::Range<usize> {
    let end = end.min(bytes.len());
    let trimmed = value.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() || trimmed.contains(['\n', '\r']) {
        return start..start;
    }
    let Some(header_end) = bytes[start..end].iter().position(|&b| b == b'\n') else {
        return start..start;
    };
    let mut pos = start + header_end + 1;
    while pos < end {
        let line_end = bytes[pos..end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(end, |i| pos + i);
        let line = &bytes[pos..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.iter().position(|&b| b != b' ') {
            Some(indent) => return pos + indent..pos + line.len(),
            None => pos = line_end + 1,
        }
    }
    start..start
}

/// An empty, null scalar at `at`.
fn empty_scalar(at: usize) -> Scalar {
    Scalar {
        value: Text::default(),
        span: at..at,
        raw_matches_value: true,
        quoted: false,
        is_string: false,
        custom_tag: None,
    }
}

/// The name a key node is known by, and whether it is the merge key `<<`.
fn key_name(node: Node) -> (Text, bool) {
    match node {
        Node::Scalar(s) => {
            let merge = !s.quoted && s.value == "<<";
            (s.value, merge)
        }
        Node::Map { .. } | Node::Seq { .. } => (Text::new_static("<complex key>"), false),
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
fn merge(entries: Vec<(Text, Node)>, merges: Vec<(usize, Node)>) -> Vec<(Text, Node)> {
    if merges.is_empty() {
        return entries;
    }
    let mut seen: HashSet<Text> = entries.iter().map(|(k, _)| k.clone()).collect();
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
                    out.push((Text::new_static("<<"), other));
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
/// a number. `!!str` (`core` is the tag's name after the core prefix) and the
/// non-specific tag `!` force a string, `!!int` & co. a non-string.
fn is_string(value: &str, style: ScalarStyle, core: Option<&str>, non_specific: bool) -> bool {
    match core {
        Some("str") => return true,
        Some("int" | "float" | "bool" | "null") => return false,
        _ => {}
    }
    non_specific
        || style != ScalarStyle::Plain
        || !(is_null(value) || is_bool(value) || is_number(value))
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

    #[test]
    fn the_parser_is_offered_at_most_a_chunk_and_marks_stay_right_across_chunks() {
        use std::io::BufRead;
        let mut chunks = Chunks {
            rest: &[b'x'; 3 * CHUNK][..],
        };
        assert_eq!(chunks.fill_buf().unwrap().len(), CHUNK);
        // A long stream of two-byte characters, so chunk edges split some
        // of them; the last document's image must be found at its byte.
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!(
                "# é{}\nkind: Pod\nname: p{i}\n---\n",
                "é".repeat(40)
            ));
        }
        text.push_str("kind: Pod\nimage: nginx:1.27\n");
        assert!(text.len() > 2 * CHUNK);
        let documents = parse(&text).unwrap();
        let last = documents.last().unwrap();
        let image = last.get("image").and_then(Node::scalar).unwrap();
        assert_eq!(&text[image.span.clone()], "nginx:1.27");
        assert_eq!(image.span.start, text.rfind("nginx:1.27").unwrap());
    }

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
    fn multi_line_scalars_are_not_rewritable() {
        let text =
            "c: nginx\n  :1.27\nd: \"ngi\n  nx\"\ne: |\n  nginx\n  :1.27\nf: >\n  nginx\n  :1.27\n";
        // A leading empty line is content: the value is "\nnginx".
        let text = &format!("{text}g: |\n\n  nginx\n");
        let doc = &parse(text).unwrap()[0];
        for key in ["c", "d", "e", "f", "g"] {
            assert!(!at(doc, key).raw_matches_value, "{key}");
        }
    }

    #[test]
    fn a_one_line_block_scalar_is_rewritable_at_its_line() {
        let text = "a: |\n  nginx:1.27\nb: >-  # folded\n    redis:7\r\n\nc: &x !!str |+\n  busybox\n\nd: *x\n";
        let doc = &parse(text).unwrap()[0];
        for (key, want) in [
            ("a", "nginx:1.27"),
            ("b", "redis:7"),
            ("c", "busybox"),
            ("d", "busybox"),
        ] {
            let s = at(doc, key);
            assert_eq!(&text[s.span.clone()], want, "{key}");
            assert_eq!(s.value, want, "{key}");
            assert!(s.raw_matches_value && s.is_string, "{key}");
        }
    }

    #[test]
    fn flow_collections_closed_at_the_key_indentation_parse() {
        // go-yaml (kubectl) and PyYAML accept this; the old parser did not.
        let text = "spec:\n  containers:\n    - image: nginx:1.27\n      command: [\n        \"/bin/api\",\n        \"--port=8080\"\n      ]\n      env: {\n        A: b\n      }\n";
        let doc = &parse(text).unwrap()[0];
        assert_eq!(at(doc, "spec.containers.0.image").value, "nginx:1.27");
        assert_eq!(at(doc, "spec.containers.0.command.1").value, "--port=8080");
    }

    #[test]
    fn honest_size_is_not_an_alias_bomb() {
        // 300,000 nodes and an alias to each of many small anchors.
        let mut text = String::from("base: &b {image: nginx:1.27, x: 1}\nitems:\n");
        for i in 0..100_000 {
            text.push_str(&format!("  - {{n: {i}, <<: *b}}\n"));
        }
        let doc = &parse(&text).unwrap()[0];
        assert_eq!(doc.get("items").unwrap().items().unwrap().len(), 100_000);
    }

    #[test]
    fn unknown_anchors_and_custom_tags() {
        let err = parse("a: *nope\n").unwrap_err();
        assert!(
            err.message.contains("unknown anchor 'nope'"),
            "{}",
            err.message
        );
        let doc = &parse("a: !Sub nginx:1\nb: ! 1.5\nc: !!int 3\n").unwrap()[0];
        assert_eq!(at(doc, "a").custom_tag.as_deref(), Some("!Sub"));
        assert!(at(doc, "b").is_string && at(doc, "b").custom_tag.is_none());
        assert!(!at(doc, "c").is_string);
        // An anchor's scope is its document.
        assert!(parse("a: &x 1\n---\nb: *x\n").is_err());
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
    fn parser_panics_are_errors_placed_after_the_last_event() {
        // libyaml-safer 0.3 panics (`TODO`) on a tag followed by `,`.
        let text = "a: ok\nb: [!foo, x]\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("gave up"), "{}", err.message);
        assert!(err.offset > 0 && err.offset <= text.len(), "{}", err.offset);
    }

    #[test]
    fn an_end_of_input_without_a_line_break_does_not_reach_the_parser_panics() {
        // Without the added final line break these panic in libyaml-safer.
        let err = parse("a: b\nc: \"x\\").unwrap_err();
        assert!(err.message.starts_with("invalid YAML: "), "{}", err.message);
        let doc = &parse("foo: |\n  x\n   ").unwrap()[0];
        assert_eq!(at(doc, "foo").value, "x\n \n"); // as the suite says (L24T)
        let doc = &parse("image: nginx:1.27").unwrap()[0];
        assert_eq!(at(doc, "image").span, 7..17);
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
        assert!(parse(&bomb).unwrap_err().message.contains("alias bomb"));
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
        assert!(parse(&nested).unwrap_err().message.contains("alias bomb"));
    }
}
