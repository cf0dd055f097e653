//! Byte offset → 1-based line and column, computed only when a place is
//! shown. The one implementation: [`super::line_col`] and the scanner both use it.

/// Start offsets of every line in a file, for fast lookups.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the line starts of `bytes` (a line ends at `\n`; `\r\n` counts once).
    pub fn new(bytes: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line, and 1-based column counted in characters (a BOM does not count).
    pub fn line_col(&self, bytes: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(bytes.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1].min(offset);
        let mut prefix = &bytes[start..offset];
        if start == 0 {
            prefix = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
        }
        // Count the bytes that start a character (not UTF-8 continuation
        // bytes): never fails, not even on invalid UTF-8.
        let chars = prefix.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        (line, chars + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let text = "\u{feff}a: 1\r\nbé: x\nc";
        let b = text.as_bytes();
        let idx = LineIndex::new(b);
        assert_eq!(idx.line_col(b, 3), (1, 1));
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(b, x), (2, 5));
        assert_eq!(idx.line_col(b, b.len()), (3, 2));
        assert_eq!(idx.line_col(b, 999), (3, 2));
    }
}
