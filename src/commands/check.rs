//! `imgpin check`: offline; every literal reference must carry a digest.

use crate::cli::CheckArgs;
use crate::plan::plan_check;
use crate::report::{Printer, Status, Summary};
use crate::scan::Scanned;

/// Run `check` and return the exit status. Files are checked as they are
/// read (a batch at a time), so memory does not follow the tree.
pub fn run(args: &CheckArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let mut summary = Summary::default();
    let mut failed: Option<std::io::Error> = None;
    let scan = crate::scan::scan_each(&args.walk.read_only_options(), &mut |item| {
        if failed.is_some() {
            return;
        }
        let shown = match item {
            Scanned::Finding(finding) => printer.finding(finding),
            Scanned::File(file) => {
                let mut shown = Ok(());
                plan_check(&file, args.strict, &mut |plan| {
                    summary += &plan.summary;
                    if shown.is_ok() {
                        shown = printer.findings(plan.findings);
                    }
                });
                shown
            }
        };
        failed = shown.err();
    })?;
    if let Some(err) = failed {
        return Err(err.into());
    }
    summary.files_scanned = scan.files_scanned;
    summary.files_failed = scan.files_failed;
    printer.finish("check", &summary, &super::summary_line(&summary, ""))?;
    Ok(printer.status())
}
