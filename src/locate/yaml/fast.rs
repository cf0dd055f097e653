//! The YAML loader's fast path: one pass over the bytes for the plain YAML
//! most deploy files are written in, producing the very events libyaml-safer
//! would produce for it, fed to the same [`Loader`].
//!
//! What it reads: `---` between documents; block mappings (one-line plain or
//! quoted keys) and block sequences, indentless ones included; one-line
//! plain, single-quoted and double-quoted (no escapes) scalars; literal
//! block scalars (`|`, `|-`, `|+`); flow sequences and mappings, over
//! several lines too; comments; LF or CRLF. On anything else (anchors,
//! aliases, tags, folded scalars, other scalars over several lines,
//! escapes, tabs, a lone CR, directives, `...`, complex keys, characters
//! YAML does not print), on anything it is unsure of, and on every error, it gives up and
//! the caller parses the stream with libyaml-safer. It never reports an
//! error of its own, so acceptance and error messages stay libyaml's.
//!
//! Rule: a document the fast path hands over is the document libyaml's
//! events would build; the tests compare both loaders on the YAML test
//! suite, the fixtures and generated files.

use libyaml_safer::{Encoding, Event, EventData, MappingStyle, Mark, ScalarStyle, SequenceStyle};

use super::Loader;
use crate::locate::tree::Text;

/// The fast path gave up: parse the stream with libyaml-safer.
#[derive(Debug)]
pub(super) struct GiveUp;

type Step<T> = Result<T, GiveUp>;

/// Longest implicit key accepted: libyaml looks 1024 characters ahead for
/// the `:`; staying well inside that keeps the answer certain.
const MAX_KEY: usize = 1000;

/// Feed every document of `input` (the text after its BOM, ending in a line
/// break) to `loader`, or give up.
pub(super) fn load(input: &str, loader: &mut Loader<'_>) -> Step<()> {
    if !printable(input) {
        return Err(GiveUp);
    }
    Fast { s: input, loader }.stream()
}

/// Whether every character is one the fast path may read: a line feed or a
/// character YAML prints, without tab, CR, NEL, the line and paragraph
/// separators, or a byte order mark (libyaml treats them specially).
fn printable(input: &str) -> bool {
    // A CR only as part of CRLF: a lone one is a line break to libyaml.
    let bytes = input.as_bytes();
    let crlf = |i: usize| bytes.get(i + 1) == Some(&b'\n');
    let ascii =
        |(i, &b): (usize, &u8)| b == b'\n' || (b' '..=b'~').contains(&b) || (b == b'\r' && crlf(i));
    if bytes.iter().enumerate().all(ascii) {
        return true;
    }
    input.char_indices().all(|(i, c)| {
        (matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && !matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}'))
            || (c == '\r' && crlf(i))
    })
}

fn mark(index: usize) -> Mark {
    let mut mark = Mark::default();
    mark.index = index as u64;
    mark
}

/// Characters that cannot start a plain scalar (`-` can, before a
/// non-blank; `?` and `:` could in block context, but are left to libyaml).
const INDICATORS: &[u8] = b"-?:,[]{}#&*!|>'\"%@`";

struct Fast<'s, 'l, 't> {
    s: &'s str,
    loader: &'l mut Loader<'t>,
}

impl Fast<'_, '_, '_> {
    /// The byte at `i`; 0 past the end (the input holds no NUL: see
    /// [`printable`]).
    fn byte(&self, i: usize) -> u8 {
        self.s.as_bytes().get(i).copied().unwrap_or(0)
    }

    fn len(&self) -> usize {
        self.s.len()
    }

    /// A space, a line break (LF, or the CR of CRLF) or the end.
    fn blankz(&self, i: usize) -> bool {
        matches!(self.byte(i), b' ' | b'\n' | b'\r' | 0)
    }

    /// A line break (LF, or the CR of CRLF) or the end.
    fn breakz(&self, i: usize) -> bool {
        matches!(self.byte(i), b'\n' | b'\r' | 0)
    }

    fn column(&self, i: usize) -> usize {
        let line = memchr::memrchr(b'\n', &self.s.as_bytes()[..i]).map_or(0, |n| n + 1);
        i - line
    }

    /// `---` or `...` starting a line, then a blank: a document marker.
    fn marker(&self, i: usize) -> bool {
        let b = self.s.as_bytes();
        self.column(i) == 0
            && (b[i..].starts_with(b"---") || b[i..].starts_with(b"..."))
            && self.blankz(i + 3)
    }

    fn spaces(&self, mut i: usize) -> usize {
        while self.byte(i) == b' ' {
            i += 1;
        }
        i
    }

    /// The position after the line break that ends the line `i` is on.
    fn next_line(&self, i: usize) -> usize {
        memchr::memchr(b'\n', &self.s.as_bytes()[i.min(self.len())..])
            .map_or(self.len(), |n| i + n + 1)
    }

    /// From the start of a line: the first character of the next line that
    /// holds more than spaces and a comment, or the end.
    fn content(&self, mut i: usize) -> usize {
        loop {
            let j = self.spaces(i);
            match self.byte(j) {
                b'\n' | b'\r' | b'#' => i = self.next_line(j),
                _ if j >= self.len() => return self.len(),
                _ => return j,
            }
        }
    }

    /// After a node on its line: only spaces and a comment may follow; the
    /// next content, or the end.
    fn end_line(&self, i: usize) -> Step<usize> {
        let j = self.spaces(i);
        match self.byte(j) {
            b'\n' | b'\r' => Ok(self.content(self.next_line(j))),
            _ if j >= self.len() => Ok(self.len()),
            b'#' if j > i || self.byte(i.wrapping_sub(1)) == b' ' => {
                Ok(self.content(self.next_line(j)))
            }
            _ => Err(GiveUp),
        }
    }

    fn emit(&mut self, data: EventData, start: usize, end: usize) -> Step<()> {
        // `Event` is non-exhaustive: built from a constructor, then filled.
        let mut event = Event::stream_end();
        event.data = data;
        event.start_mark = mark(start);
        event.end_mark = mark(end);
        match self.loader.event(event) {
            Ok(_) => Ok(()),
            Err(_) => Err(GiveUp),
        }
    }

    /// A scalar goes to the loader as its value, not as an event: a short
    /// value is stored inline, with no buffer.
    fn scalar(&mut self, value: Text, style: ScalarStyle, start: usize, end: usize) -> Step<()> {
        let marks = (mark(start), mark(end));
        match self.loader.scalar_event(value, style, None, None, marks) {
            Ok(()) => Ok(()),
            Err(_) => Err(GiveUp),
        }
    }

    /// libyaml's empty scalar (a missing value) at `at`.
    fn empty(&mut self, at: usize) -> Step<()> {
        self.scalar(Text::default(), ScalarStyle::Plain, at, at)
    }

    fn stream(&mut self) -> Step<()> {
        self.emit(
            EventData::StreamStart {
                encoding: Encoding::Utf8,
            },
            0,
            0,
        )?;
        let mut p = self.content(0);
        while p < self.len() {
            let start = p;
            let explicit = self.marker(p) && self.byte(p) == b'-';
            if explicit {
                p = self.end_line(p + 3)?;
            } else if self.marker(p) || (self.column(p) == 0 && self.byte(p) == b'%') {
                return Err(GiveUp);
            }
            let data = EventData::DocumentStart {
                version_directive: None,
                tag_directives: Vec::new(),
                implicit: !explicit,
            };
            self.emit(data, start, start)?;
            if p >= self.len() || self.marker(p) {
                // `---` with nothing after it: an empty scalar at the next
                // token (the next marker or the end).
                self.empty(p)?;
            } else {
                p = self.block(p, None, false)?;
                if p < self.len() && !self.marker(p) {
                    return Err(GiveUp);
                }
            }
            self.emit(EventData::DocumentEnd { implicit: true }, p, p)?;
        }
        let end = self.len();
        self.emit(EventData::StreamEnd, end, end)
    }

    /// Whether a line's content at `i` ends the collection at `column`:
    /// the end, a document marker or less indentation. More indentation
    /// than `column` where a sibling should be is not read here.
    fn ends(&self, i: usize, column: usize) -> Step<bool> {
        if i >= self.len() || self.marker(i) {
            return Ok(true);
        }
        match self.column(i) {
            c if c < column => Ok(true),
            c if c == column => Ok(false),
            _ => Err(GiveUp),
        }
    }

    /// A block node at `p` inside a collection at `parent` (`None` at the
    /// root); `inline` when `p` follows `key:` on its line (no collection
    /// may start there). Returns the next content.
    fn block(&mut self, p: usize, parent: Option<usize>, inline: bool) -> Step<usize> {
        let b = self.byte(p);
        if b == b'-' && self.blankz(p + 1) {
            return if inline {
                Err(GiveUp)
            } else {
                self.sequence(p, false)
            };
        }
        if b == b'[' || b == b'{' {
            let end = self.flow(p, parent.unwrap_or(0))?;
            return self.end_line(end);
        }
        if b == b'|' {
            return self.literal(p, parent);
        }
        let token = self.token(p, false)?;
        let after = self.spaces(token.stop);
        if self.byte(after) == b':' && self.blankz(after + 1) {
            return if inline { Err(GiveUp) } else { self.mapping(p) };
        }
        let stop = token.stop;
        self.scalar(token.value, token.style, p, token.end)?;
        self.end_line(stop)
    }

    /// A block mapping whose first key is at `p`.
    fn mapping(&mut self, mut p: usize) -> Step<usize> {
        let column = self.column(p);
        let data = EventData::MappingStart {
            anchor: None,
            tag: None,
            implicit: true,
            style: MappingStyle::Block,
        };
        self.emit(data, p, p)?;
        loop {
            let key = self.token(p, false)?;
            let colon = self.colon(p, &key)?;
            self.scalar(key.value, key.style, p, key.end)?;
            p = self.value(colon + 1, column, true)?;
            if self.ends(p, column)? {
                break;
            }
        }
        self.emit(EventData::MappingEnd, p, p)?;
        Ok(p)
    }

    /// The `:` after the key `key` at `p`: spaces, then `:` and a blank,
    /// within [`MAX_KEY`] of the key's start.
    fn colon(&self, p: usize, key: &Token) -> Step<usize> {
        let colon = self.spaces(key.stop);
        if self.byte(colon) != b':' || !self.blankz(colon + 1) || colon - p > MAX_KEY {
            return Err(GiveUp);
        }
        Ok(colon)
    }

    /// The node after a key's `:` (`key`) or a `-` ending at `at`, in a
    /// collection at `column`: on the same line, on the lines below (deeper,
    /// or after a key an indentless sequence), or none: an empty scalar at
    /// `at`, where libyaml places it. Returns the next content.
    fn value(&mut self, at: usize, column: usize, key: bool) -> Step<usize> {
        let q = self.spaces(at);
        if !(self.breakz(q) || self.byte(q) == b'#') {
            return self.block(q, Some(column), key);
        }
        let next = self.end_line(at)?;
        let below = next < self.len() && !self.marker(next);
        if below && self.column(next) > column {
            self.block(next, Some(column), false)
        } else if key
            && below
            && self.column(next) == column
            && self.byte(next) == b'-'
            && self.blankz(next + 1)
        {
            self.sequence(next, true)
        } else {
            self.empty(at)?;
            Ok(next)
        }
    }

    /// A block sequence whose first `-` is at `p`; `indentless` when it is a
    /// mapping's value at the mapping's own indentation.
    fn sequence(&mut self, mut p: usize, indentless: bool) -> Step<usize> {
        let column = self.column(p);
        let data = EventData::SequenceStart {
            anchor: None,
            tag: None,
            implicit: true,
            style: SequenceStyle::Block,
        };
        self.emit(data, p, p)?;
        loop {
            p = self.value(p + 1, column, false)?;
            if self.ends(p, column)? {
                break;
            }
            if !(self.byte(p) == b'-' && self.blankz(p + 1)) {
                if indentless {
                    break;
                }
                return Err(GiveUp);
            }
        }
        self.emit(EventData::SequenceEnd, p, p)?;
        Ok(p)
    }

    /// A literal block scalar (`|`, `|-`, `|+`) at `p` inside a collection
    /// at `parent`, its indentation found from its first line as libyaml
    /// finds it; an explicit indentation (`|2`), leading blank lines deeper
    /// than the first line, or no content at all gives up.
    fn literal(&mut self, p: usize, parent: Option<usize>) -> Step<usize> {
        let mut i = p + 1;
        let chomp = self.byte(i);
        if chomp == b'-' || chomp == b'+' {
            i += 1;
        }
        if self.byte(i).is_ascii_digit() || !self.blankz(i) {
            return Err(GiveUp);
        }
        // The rest of the header line: spaces and a comment.
        let j = self.spaces(i);
        if !(self.breakz(j) || (self.byte(j) == b'#' && j > i)) {
            return Err(GiveUp);
        }
        let mut line = self.next_line(j);
        let least = parent.map_or(1, |c| c + 1);
        // Leading blank lines, then the first content line's indentation.
        let (mut breaks, mut deepest) = (0, 0);
        let indent = loop {
            let k = self.spaces(line);
            if k >= self.len() {
                return Err(GiveUp);
            }
            if !self.breakz(k) {
                break k - line;
            }
            deepest = deepest.max(k - line);
            breaks += 1;
            line = self.next_line(k);
        };
        if indent < least || deepest > indent {
            return Err(GiveUp);
        }
        let mut value = "\n".repeat(breaks);
        loop {
            // `line` starts a content line indented at least `indent`.
            let next = self.next_line(line);
            let mut stop = next - 1;
            if self.byte(stop.wrapping_sub(1)) == b'\r' && stop > line {
                stop -= 1;
            }
            value.push_str(self.s.get(line + indent..stop).ok_or(GiveUp)?);
            line = next;
            // Blank lines (no deeper than `indent`) wait: they count only
            // before more content, or when kept.
            let mut pending = 1;
            let content = loop {
                let k = self.spaces(line);
                if k >= self.len() {
                    break false;
                }
                if !self.breakz(k) {
                    break k - line >= indent;
                }
                if k - line > indent {
                    break true;
                }
                pending += 1;
                line = self.next_line(k);
            };
            if !content {
                match chomp {
                    b'-' => {}
                    b'+' => value.push_str(&"\n".repeat(pending)),
                    _ => value.push('\n'),
                }
                break;
            }
            value.push_str(&"\n".repeat(pending));
        }
        self.scalar(value.into(), ScalarStyle::Literal, p, line)?;
        Ok(self.content(line))
    }

    /// A one-line scalar at `p`: plain (in flow context when `flow`),
    /// single- or double-quoted.
    fn token(&self, p: usize, flow: bool) -> Step<Token> {
        match self.byte(p) {
            b'"' => self.double(p),
            b'\'' => self.single(p),
            b'-' if !self.blankz(p + 1) => self.plain(p, flow),
            b if self.blankz(p) || INDICATORS.contains(&b) => Err(GiveUp),
            _ => self.plain(p, flow),
        }
    }

    /// libyaml's plain scalar, on one line: words separated by spaces, up
    /// to `: ` (or `:` at the line's end), ` #`, the line's end, and in flow
    /// context `,[]{}`.
    fn plain(&self, p: usize, flow: bool) -> Step<Token> {
        let (mut i, mut end) = (p, p);
        loop {
            if self.byte(i) == b'#' {
                break;
            }
            while !self.blankz(i) {
                let b = self.byte(i);
                if flow && b == b':' && b",?[]{}".contains(&self.byte(i + 1)) {
                    return Err(GiveUp);
                }
                if (b == b':' && self.blankz(i + 1)) || (flow && b",[]{}".contains(&b)) {
                    break;
                }
                i += 1;
                end = i;
            }
            if self.byte(i) != b' ' {
                break;
            }
            i = self.spaces(i);
        }
        let value = Text::new(self.s.get(p..end).ok_or(GiveUp)?);
        Ok(Token {
            value,
            style: ScalarStyle::Plain,
            end,
            stop: i,
        })
    }

    /// A double-quoted scalar on one line, without escapes.
    fn double(&self, p: usize) -> Step<Token> {
        let rest = &self.s.as_bytes()[p + 1..];
        let close = memchr::memchr3(b'"', b'\\', b'\n', rest).ok_or(GiveUp)?;
        if rest[close] != b'"' {
            return Err(GiveUp);
        }
        let value = Text::new(self.s.get(p + 1..p + 1 + close).ok_or(GiveUp)?);
        let end = p + close + 2;
        Ok(Token {
            value,
            style: ScalarStyle::DoubleQuoted,
            end,
            stop: end,
        })
    }

    /// A single-quoted scalar on one line (`''` is one quote).
    fn single(&self, p: usize) -> Step<Token> {
        // A buffer only once a `''` is met: until then the value is the text.
        let mut unquoted: Option<String> = None;
        let mut i = p + 1;
        loop {
            let rest = &self.s.as_bytes()[i..];
            let at = memchr::memchr2(b'\'', b'\n', rest).ok_or(GiveUp)?;
            if rest[at] == b'\n' {
                return Err(GiveUp);
            }
            let run = self.s.get(i..i + at).ok_or(GiveUp)?;
            i += at + 1;
            if self.byte(i) == b'\'' {
                let value = unquoted.get_or_insert_with(String::new);
                value.push_str(run);
                value.push('\'');
                i += 1;
            } else {
                if let Some(value) = unquoted.as_mut() {
                    value.push_str(run);
                }
                break;
            }
        }
        let value = match unquoted {
            Some(value) => Text::from(value),
            None => Text::new(self.s.get(p + 1..i - 1).ok_or(GiveUp)?),
        };
        Ok(Token {
            value,
            style: ScalarStyle::SingleQuoted,
            end: i,
            stop: i,
        })
    }

    /// Blanks, line breaks and comments inside a flow collection; a line
    /// indented less than `column` (the enclosing block's) or a document
    /// marker gives up.
    fn flow_space(&self, mut i: usize, column: usize) -> Step<usize> {
        loop {
            let j = self.spaces(i);
            match self.byte(j) {
                b'\n' | b'\r' => {
                    i = self.next_line(j);
                    let k = self.spaces(i);
                    if i < self.len() && (self.marker(i) || (k - i < column && !self.breakz(k))) {
                        return Err(GiveUp);
                    }
                }
                b'#' if j > i || matches!(self.byte(j.wrapping_sub(1)), b' ' | b'\n') || j == 0 => {
                    i = self.next_line(j) - 1;
                    if self.byte(i) != b'\n' {
                        return Err(GiveUp);
                    }
                    if self.byte(i - 1) == b'\r' {
                        i -= 1;
                    }
                }
                _ => return Ok(j),
            }
        }
    }

    /// A flow collection at `p` (`[` or `{`) inside a block at `column`;
    /// returns the position after its closing bracket.
    fn flow(&mut self, p: usize, column: usize) -> Step<usize> {
        let map = self.byte(p) == b'{';
        let close = if map { b'}' } else { b']' };
        let data = if map {
            EventData::MappingStart {
                anchor: None,
                tag: None,
                implicit: true,
                style: MappingStyle::Flow,
            }
        } else {
            EventData::SequenceStart {
                anchor: None,
                tag: None,
                implicit: true,
                style: SequenceStyle::Flow,
            }
        };
        self.emit(data, p, p)?;
        let mut i = self.flow_space(p + 1, column)?;
        if self.byte(i) != close {
            loop {
                if map {
                    let key = self.token(i, true)?;
                    let colon = self.colon(i, &key)?;
                    self.scalar(key.value, key.style, i, key.end)?;
                    i = self.flow_space(colon + 1, column)?;
                    if matches!(self.byte(i), b',' | b'}') {
                        return Err(GiveUp);
                    }
                }
                i = self.flow_node(i, column)?;
                i = self.flow_space(i, column)?;
                match self.byte(i) {
                    b',' => {
                        i = self.flow_space(i + 1, column)?;
                        if self.byte(i) == close {
                            return Err(GiveUp);
                        }
                    }
                    b if b == close => break,
                    _ => return Err(GiveUp),
                }
            }
        }
        let end = if map {
            EventData::MappingEnd
        } else {
            EventData::SequenceEnd
        };
        self.emit(end, i, i + 1)?;
        Ok(i + 1)
    }

    /// One entry of a flow collection: a nested collection or a scalar;
    /// returns the position after it.
    fn flow_node(&mut self, i: usize, column: usize) -> Step<usize> {
        if matches!(self.byte(i), b'[' | b'{') {
            return self.flow(i, column);
        }
        let token = self.token(i, true)?;
        let end = token.end;
        self.scalar(token.value, token.style, i, end)?;
        Ok(end)
    }
}

/// A scalar token: its value and style, where its text ends (`end`) and
/// where scanning stopped (`stop`: at `:`, `#`, a flow indicator or the
/// line's end; after the closing quote for a quoted scalar).
struct Token {
    value: Text,
    style: ScalarStyle,
    end: usize,
    stop: usize,
}

#[cfg(test)]
mod tests;
