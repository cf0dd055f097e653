//! One module per subcommand, gluing scan → resolve → plan → edit → report.

pub mod check;
pub mod ecs;
pub mod in_use;
pub mod lifecycle;
pub mod pin;
pub mod verify;

use crate::report::Summary;

/// The summary line for text output.
pub(crate) fn summary_line(s: &Summary, tail: &str) -> String {
    format!(
        "{} files scanned, {} with images: {} references, {} pinned, {} already pinned, {} unpinned, {} skipped, {} failed{tail}",
        s.files_scanned,
        s.files_with_images,
        s.references,
        s.pinned,
        s.already_pinned,
        s.unpinned,
        s.skipped,
        s.failed
    )
}
