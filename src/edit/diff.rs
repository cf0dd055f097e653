//! Unified diffs of a file before and after editing, as plain text.
//! Colour is the renderer's business, not this module's.

use similar::TextDiff;

/// A unified diff (three lines of context) from `old` to `new`, with
/// `a/<label>` and `b/<label>` headers. Empty when the bytes are equal.
/// Non-UTF-8 bytes are shown lossily; the edit itself is byte-exact.
pub fn unified_diff(label: &str, old: &[u8], new: &[u8]) -> String {
    if old == new {
        return String::new();
    }
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
    // A newline in a file name must not end the header line.
    let label = crate::report::escape_controls(label, &[]);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_give_no_diff() {
        assert_eq!(unified_diff("f", b"a\n", b"a\n"), "");
    }

    #[test]
    fn shows_only_the_changed_line() {
        let d = unified_diff(
            "x.yaml",
            b"a: 1\nimage: n\nb: 2\n",
            b"a: 1\nimage: m\nb: 2\n",
        );
        assert!(
            d.starts_with("--- a/x.yaml\n+++ b/x.yaml\n@@ -1,3 +1,3 @@\n"),
            "{d}"
        );
        assert!(d.contains("\n-image: n\n+image: m\n"), "{d}");
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = unified_diff("f", b"image: n", b"image: m");
        assert!(d.contains("No newline at end of file"), "{d}");
    }
}
