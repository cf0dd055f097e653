//! One module per subcommand, gluing scan → resolve → plan → edit → report.

pub mod check;
pub mod pin;
pub mod verify;

use crate::report::{Printer, Summary};

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

/// Send the scan's own findings (unreadable, malformed, passed-over files) to the printer.
pub(crate) fn report_scan(
    scan: &crate::scan::Scan,
    printer: &mut Printer,
) -> std::io::Result<Vec<crate::report::Finding>> {
    for f in &scan.findings {
        printer.finding(f.clone())?;
    }
    Ok(scan.findings.clone())
}
