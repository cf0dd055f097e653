//! `imgpin check`: offline; every literal reference must carry a digest.

use crate::cli::CheckArgs;
use crate::plan::plan_check;
use crate::report::{Printer, Status, Summary};

/// Run `check` and return the exit status.
pub fn run(args: &CheckArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let mut scan = crate::scan::scan(&args.walk.read_only_options())?;
    printer.findings(std::mem::take(&mut scan.findings))?;
    let mut summary = Summary {
        files_scanned: scan.files_scanned,
        files_failed: scan.files_failed,
        ..Summary::default()
    };
    for file in &scan.files {
        let plan = plan_check(file, args.strict);
        summary += &plan.summary;
        printer.findings(plan.findings)?;
    }
    printer.finish("check", &summary, &super::summary_line(&summary, ""))?;
    Ok(printer.status())
}
