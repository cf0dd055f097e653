//! Editing files: splice replacement text into the original bytes, render a
//! unified diff, and write the result atomically.
//!
//! The rule: **splice, never re-serialise.** Locators hand over byte spans;
//! this module sorts them, rejects overlapping or touching spans, and copies
//! every byte outside the spans unchanged. Comments, quoting, CRLF, a BOM and
//! a missing final newline survive without special code.

mod diff;
mod write;

pub use diff::unified_diff;
pub use write::{write_atomic, WriteError};

use std::ops::Range;

/// Replace the bytes in `span` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte span in the original file.
    pub span: Range<usize>,
    /// The new text for that span.
    pub replacement: String,
}

/// Why a set of edits cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Two spans share bytes.
    #[error("edits overlap: bytes {first:?} and {second:?}")]
    Overlap {
        /// The earlier span.
        first: Range<usize>,
        /// The later span.
        second: Range<usize>,
    },
    /// Two spans touch; splicing both would merge two values into one.
    #[error("edits are adjacent: bytes {first:?} and {second:?}")]
    Adjacent {
        /// The earlier span.
        first: Range<usize>,
        /// The later span.
        second: Range<usize>,
    },
    /// A span ends past the end of the file or is reversed.
    #[error("edit span {span:?} is outside the file ({len} bytes)")]
    OutOfBounds {
        /// The offending span.
        span: Range<usize>,
        /// File length.
        len: usize,
    },
}

/// Apply `edits` to `original` and return the new bytes.
///
/// Spans are sorted first, so callers may pass them in any order. Empty
/// spans (insertions) are allowed; overlapping or adjacent spans are not.
pub fn apply(original: &[u8], edits: &[Edit]) -> Result<Vec<u8>, EditError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    for edit in &sorted {
        if edit.span.start > edit.span.end || edit.span.end > original.len() {
            return Err(EditError::OutOfBounds {
                span: edit.span.clone(),
                len: original.len(),
            });
        }
    }
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0].span, &pair[1].span);
        if b.start < a.end || (a.start == b.start && a != b) || a == b {
            return Err(EditError::Overlap {
                first: a.clone(),
                second: b.clone(),
            });
        }
        if b.start == a.end {
            return Err(EditError::Adjacent {
                first: a.clone(),
                second: b.clone(),
            });
        }
    }
    let grow: usize = sorted.iter().map(|e| e.replacement.len()).sum();
    let mut out = Vec::with_capacity(original.len() + grow);
    let mut pos = 0;
    for edit in sorted {
        out.extend_from_slice(&original[pos..edit.span.start]);
        out.extend_from_slice(edit.replacement.as_bytes());
        pos = edit.span.end;
    }
    out.extend_from_slice(&original[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(span: Range<usize>, r: &str) -> Edit {
        Edit {
            span,
            replacement: r.to_string(),
        }
    }

    #[test]
    fn grows_and_shrinks() {
        let src = b"image: a\nimage: bbbbbb\n";
        let out = apply(src, &[e(7..8, "aaaa"), e(16..22, "b")]).unwrap();
        assert_eq!(out, b"image: aaaa\nimage: b\n");
    }

    #[test]
    fn edits_at_start_and_end() {
        let out = apply(b"abc", &[e(0..1, "X"), e(2..3, "YZ")]).unwrap();
        assert_eq!(out, b"XbYZ");
    }

    #[test]
    fn unsorted_input_is_sorted() {
        let out = apply(b"0123456789", &[e(8..9, "b"), e(1..2, "a")]).unwrap();
        assert_eq!(out, b"0a234567b9");
    }

    #[test]
    fn no_edits_is_identity() {
        let src = "\u{feff}a: b\r\nc: d".as_bytes();
        assert_eq!(apply(src, &[]).unwrap(), src);
    }

    #[test]
    fn overlap_is_rejected() {
        let err = apply(b"0123456789", &[e(1..5, "x"), e(4..6, "y")]).unwrap_err();
        assert!(matches!(err, EditError::Overlap { .. }), "{err}");
        let same = apply(b"0123456789", &[e(1..5, "x"), e(1..5, "y")]).unwrap_err();
        assert!(matches!(same, EditError::Overlap { .. }));
    }

    #[test]
    fn adjacent_is_rejected() {
        let err = apply(b"0123456789", &[e(1..3, "x"), e(3..6, "y")]).unwrap_err();
        assert!(matches!(err, EditError::Adjacent { .. }), "{err}");
    }

    #[test]
    fn out_of_bounds_is_rejected() {
        assert!(matches!(
            apply(b"abc", &[e(2..9, "x")]),
            Err(EditError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn multibyte_text_around_the_span_survives() {
        let src = "# café ☕\nimage: \"nginx\" # 日本\n";
        let start = src.find("nginx").unwrap();
        let out = apply(
            src.as_bytes(),
            &[e(start..start + 5, "nginx:latest@sha256:00")],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# café ☕\nimage: \"nginx:latest@sha256:00\" # 日本\n"
        );
    }

    #[test]
    fn crlf_and_bom_survive() {
        let src = "\u{feff}a: x\r\nb: y\r\n";
        let start = src.find('y').unwrap();
        let out = apply(src.as_bytes(), &[e(start..start + 1, "zz")]).unwrap();
        assert_eq!(out, "\u{feff}a: x\r\nb: zz\r\n".as_bytes());
    }
}
