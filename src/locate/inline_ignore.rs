//! Inline ignores: `# imgpin: ignore` (or `// imgpin: ignore`) after a value
//! on its line, or alone on the line above, leaves that reference alone.
//!
//! Rule: a comment is `#` or `//` followed by `imgpin:` and `ignore` (spaces
//! allowed around the colon, any case), on the value's own line after the
//! value, or on the line above when that line holds nothing but the
//! comment. Anything may follow (`# imgpin: ignore -- vendored chart`).
//! Works the same in YAML, Dockerfiles, HCL and JSONC; strict JSON has no
//! comments, so nothing there is ignored.

/// Whether the value whose text ends at `end` (its line holds `at`) is
/// ignored by a comment.
pub fn is_ignored(text: &[u8], at: usize, end: usize) -> bool {
    let at = at.min(text.len());
    let end = end.clamp(at, text.len());
    let line_start = text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = text[end..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| end + i);
    if has_marker(&text[end..line_end]) {
        return true;
    }
    if line_start == 0 {
        return false;
    }
    let above_end = line_start - 1;
    let above_start = text[..above_end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let above = String::from_utf8_lossy(&text[above_start..above_end]);
    let above = above.trim();
    (above.starts_with('#') || above.starts_with("//")) && has_marker(above.as_bytes())
}

/// `#` or `//`, then `imgpin`, `:`, `ignore`.
fn has_marker(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(['#', '/']) {
        let after = &rest[i..];
        let body = if let Some(b) = after.strip_prefix("//") {
            b
        } else if let Some(b) = after.strip_prefix('#') {
            b
        } else {
            rest = &after[1..];
            continue;
        };
        let body = body.trim_start();
        if let Some(b) = body.strip_prefix("imgpin") {
            if let Some(b) = b.trim_start().strip_prefix(':') {
                if b.trim_start().starts_with("ignore") {
                    return true;
                }
            }
        }
        rest = &after[1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(text: &str, value: &str) -> bool {
        let at = text.find(value).unwrap();
        is_ignored(text.as_bytes(), at, at + value.len())
    }

    #[test]
    fn a_comment_after_the_value_or_alone_above_ignores_it() {
        assert!(ignored("image: a:1  # imgpin: ignore\n", "a:1"));
        assert!(ignored("image: a:1 #IMGPIN:ignore (vendored)\r\n", "a:1"));
        assert!(ignored("  # imgpin: ignore\n  image: a:1\n", "a:1"));
        assert!(ignored("// imgpin: ignore\n\"image\": \"a:1\"\n", "a:1"));
        assert!(ignored("image = \"a:1\" // imgpin: ignore\n", "a:1"));
        assert!(ignored("# imgpin: ignore\r\nFROM a:1\r\n", "a:1"));
        // Not ignored: another line, a comment with code before it above,
        // a marker before the value, or another word.
        assert!(!ignored("image: a:1\nb: c # imgpin: ignore\n", "a:1"));
        assert!(!ignored("x: 1 # imgpin: ignore\nimage: a:1\n", "a:1"));
        assert!(!ignored("# imgpin: ignore\n\nimage: a:1\n", "a:1"));
        assert!(!ignored("image: a:1 # imgpin: pin\n", "a:1"));
        assert!(!ignored("image: a:1\n", "a:1"));
    }
}
