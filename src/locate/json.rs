//! A small JSON parser that builds the span-annotated [`Node`] tree.
//!
//! Rule: it reads, it never writes. Each string keeps the byte span of its raw
//! text between the quotes and whether that text is its decoded value (no
//! escapes), which is what lets a locator hand the span to the editor.
//! `serde_json` cannot give spans, hence this parser. It accepts what people
//! put in `.json` deploy files in practice: a UTF-8 byte order mark, `//` and
//! `/* */` comments and trailing commas (JSONC, as in tsconfig or
//! devcontainer files), so such files are recognised as "not ours" instead of
//! being reported as broken.

use super::tree::{Node, Scalar, Text};
use super::LocateError;

/// Deepest nesting accepted; deeper input is an error rather than a stack
/// overflow.
const MAX_DEPTH: usize = 256;

/// Parse `text` (the whole file, BOM included) into one value.
pub(crate) fn parse(text: &str) -> Result<Node, LocateError> {
    let mut p = JsonParser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    if text.starts_with('\u{feff}') {
        p.pos = '\u{feff}'.len_utf8();
    }
    p.skip_blank()?;
    let root = p.value(0)?;
    p.skip_blank()?;
    if p.pos < p.bytes.len() {
        return Err(p.error("unexpected text after the JSON value"));
    }
    Ok(root)
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl JsonParser<'_> {
    fn error(&self, message: &str) -> LocateError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, offset: usize, message: &str) -> LocateError {
        LocateError {
            offset: offset.min(self.bytes.len()),
            message: format!("invalid JSON: {message}"),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skip whitespace and comments.
    fn skip_blank(&mut self) -> Result<(), LocateError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match self.bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        while !matches!(self.peek(), None | Some(b'\n')) {
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => {
                        let start = self.pos;
                        let body = self.pos + 2;
                        match self.text.get(body..).and_then(|rest| rest.find("*/")) {
                            Some(end) => self.pos = body + end + 2,
                            None => return Err(self.error_at(start, "unterminated comment")),
                        }
                    }
                    _ => return Err(self.error("unexpected character '/'")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, LocateError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Node::Scalar),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error(&format!(
                "unexpected character {}, expected a value",
                self.char_here()
            ))),
        }
    }

    /// The character at the current position, quoted, for messages.
    fn char_here(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_owned(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, LocateError> {
        let offset = self.pos;
        self.pos += 1; // '{'
        let mut entries = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Map { entries, offset });
                }
                Some(b'"') => {}
                None => return Err(self.error_at(offset, "unterminated object")),
                Some(_) => {
                    return Err(self.error(&format!(
                        "expected a string key or '}}', found {}",
                        self.char_here()
                    )))
                }
            }
            let key = self.string()?.value;
            self.skip_blank()?;
            if self.peek() != Some(b':') {
                return Err(self.error(&format!(
                    "expected ':' after an object key, found {}",
                    self.char_here()
                )));
            }
            self.pos += 1;
            self.skip_blank()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => return Err(self.error_at(offset, "unterminated object")),
                Some(_) => {
                    return Err(self.error(&format!(
                        "expected ',' or '}}' in an object, found {}",
                        self.char_here()
                    )))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, LocateError> {
        let offset = self.pos;
        self.pos += 1; // '['
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Seq { items, offset });
                }
                None => return Err(self.error_at(offset, "unterminated array")),
                Some(_) => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                None => return Err(self.error_at(offset, "unterminated array")),
                Some(_) => {
                    return Err(self.error(&format!(
                        "expected ',' or ']' in an array, found {}",
                        self.char_here()
                    )))
                }
            }
        }
    }

    fn literal(&mut self, word: &str) -> Result<Node, LocateError> {
        let start = self.pos;
        if !self
            .text
            .get(start..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            return Err(self.error(&format!(
                "unexpected character {}, expected a value",
                self.char_here()
            )));
        }
        self.pos += word.len();
        Ok(self.non_string(start))
    }

    fn number(&mut self) -> Result<Node, LocateError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.digits() == 0 {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(self.non_string(start))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number, boolean or null from `start` to the current position.
    fn non_string(&self, start: usize) -> Node {
        Node::Scalar(Scalar {
            value: self.text.get(start..self.pos).unwrap_or_default().into(),
            span: start..self.pos,
            raw_matches_value: true,
            quoted: false,
            is_string: false,
            custom_tag: None,
        })
    }

    /// A string; the position is on its opening quote.
    fn string(&mut self) -> Result<Scalar, LocateError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        let mut escaped = false;
        loop {
            // Copy the run of plain characters up to the next quote, backslash
            // or control character. Those are all ASCII, so the slice is on
            // character boundaries.
            let run_start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            if escaped {
                value.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            }
            match self.peek() {
                Some(b'"') => {
                    let span = start..self.pos;
                    self.pos += 1;
                    // Without escapes the value is the raw text: no buffer.
                    let value = if escaped {
                        Text::from(value)
                    } else {
                        Text::new(self.text.get(span.clone()).unwrap_or_default())
                    };
                    return Ok(Scalar {
                        value,
                        span,
                        raw_matches_value: !escaped,
                        quoted: true,
                        is_string: true,
                        custom_tag: None,
                    });
                }
                Some(b'\\') => {
                    if !escaped {
                        escaped = true;
                        value.push_str(self.text.get(start..self.pos).unwrap_or_default());
                    }
                    self.escape(&mut value)?;
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error_at(open, "unterminated string")),
            }
        }
    }

    /// Decode one escape sequence; the position is on the backslash.
    fn escape(&mut self, value: &mut String) -> Result<(), LocateError> {
        let at = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4(at)?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.error_at(at, "unpaired surrogate in \\u escape"));
                    }
                    self.pos += 2;
                    let low = self.hex4(at)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error_at(at, "unpaired surrogate in \\u escape"));
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                let c =
                    char::from_u32(code).ok_or_else(|| self.error_at(at, "invalid \\u escape"))?;
                value.push(c);
                return Ok(());
            }
            _ => return Err(self.error_at(at, "invalid escape sequence")),
        };
        self.pos += 1;
        value.push(c);
        Ok(())
    }

    fn hex4(&mut self, at: usize) -> Result<u32, LocateError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error_at(at, "invalid \\u escape"))?;
        let code =
            u32::from_str_radix(digits, 16).map_err(|_| self.error_at(at, "invalid \\u escape"))?;
        self.pos += 4;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &Scalar {
        node.scalar().expect("a scalar")
    }

    #[test]
    fn strings_keep_the_span_inside_the_quotes() {
        let text = r#"{"a": "nginx:1.27", "b": ["x\"y", "é✓"]}"#;
        let root = parse(text).unwrap();
        let a = scalar(root.get("a").unwrap());
        assert_eq!(&text[a.span.clone()], "nginx:1.27");
        assert!(a.raw_matches_value && a.is_string);
        let b = root.get("b").unwrap().items().unwrap();
        let esc = scalar(&b[0]);
        assert_eq!(esc.value, "x\"y");
        assert_eq!(&text[esc.span.clone()], "x\\\"y");
        assert!(!esc.raw_matches_value);
        let multi = scalar(&b[1]);
        assert_eq!(&text[multi.span.clone()], "é✓");
        assert!(multi.raw_matches_value);
    }

    #[test]
    fn escapes_are_decoded() {
        let root = parse(r#"["\u00e9\n\ud83d\ude00\/"]"#).unwrap();
        assert_eq!(scalar(&root.items().unwrap()[0]).value, "é\n😀/");
        // Text before, between and after escapes, past the inline length.
        let root = parse(r#"["registry.example.com/team\/app:1.0 \"x\" and the rest"]"#).unwrap();
        let s = scalar(&root.items().unwrap()[0]);
        assert_eq!(
            s.value,
            "registry.example.com/team/app:1.0 \"x\" and the rest"
        );
        assert!(!s.raw_matches_value);
    }

    #[test]
    fn numbers_booleans_and_null_are_not_strings() {
        let root = parse("[1, -2.5e3, true, false, null]").unwrap();
        for item in root.items().unwrap() {
            assert!(!scalar(item).is_string);
        }
        assert_eq!(scalar(&root.items().unwrap()[1]).value, "-2.5e3");
    }

    #[test]
    fn comments_trailing_commas_and_bom_are_accepted() {
        let text = "\u{feff}{\n  // a comment\n  \"a\": [1, 2,], /* more */\n}";
        let root = parse(text).unwrap();
        assert_eq!(root.get("a").unwrap().items().unwrap().len(), 2);
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        let cases: &[(&str, usize)] = &[
            ("{\"a\" 1}", 5),
            ("{\"a\": 1 \"b\": 2}", 8),
            ("[1, 2", 0),
            ("\"abc", 0),
            ("{\"a\": tru}", 6),
            ("{\"a\": \"\\x\"}", 7),
            ("[1] 2", 4),
            ("", 0),
            ("[1x]", 2),
            ("[-]", 2),
            ("[\"\\ud800\"]", 2),
            ("/* open", 0),
        ];
        for (text, offset) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.offset, *offset, "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).unwrap_err().message.contains("too deep"));
    }
}
