//! Byte offset → 1-based line and column, computed only when a place is
//! shown. The one implementation: [`super::line_col`] and the scanner both use it.

/// Finds lines by counting line breaks forward from the last place asked
/// for: no index is built (a file's line starts would cost 8 bytes a
/// line), and places asked for in file order cost one pass over the file.
#[derive(Debug, Clone, Default)]
pub struct LineCursor {
    /// Offset counted up to.
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
    /// Where that line starts.
    line_start: usize,
}

impl LineCursor {
    /// A cursor at the start of a file.
    pub fn new() -> LineCursor {
        LineCursor {
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// 1-based line, and 1-based column counted in characters (a BOM does
    /// not count), of `offset` in `bytes` (a line ends at `\n`; `\r\n`
    /// counts once). Going back starts again from the top.
    pub fn line_col(&mut self, bytes: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(bytes.len());
        if offset < self.pos {
            *self = LineCursor::new();
        }
        for i in memchr::memchr_iter(b'\n', &bytes[self.pos..offset]) {
            self.line += 1;
            self.line_start = self.pos + i + 1;
        }
        self.pos = offset;
        let start = self.line_start.min(offset);
        let mut prefix = &bytes[start..offset];
        if start == 0 {
            prefix = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
        }
        // Count the bytes that start a character (not UTF-8 continuation
        // bytes): never fails, not even on invalid UTF-8.
        let chars = prefix.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        (self.line, chars + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_forward_and_back() {
        let text = "\u{feff}a: 1\r\nbé: x\nc";
        let b = text.as_bytes();
        let mut at = LineCursor::new();
        assert_eq!(at.line_col(b, 3), (1, 1));
        let x = text.find('x').unwrap();
        assert_eq!(at.line_col(b, x), (2, 5));
        assert_eq!(at.line_col(b, b.len()), (3, 2));
        assert_eq!(at.line_col(b, 999), (3, 2));
        // Back to an earlier place: counted again from the top.
        assert_eq!(at.line_col(b, x), (2, 5));
        assert_eq!(at.line_col(b, 3), (1, 1));
        assert_eq!(LineCursor::new().line_col(b"\n\n\nz", 3), (4, 1));
    }
}
