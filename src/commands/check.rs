//! `imgpin check`: offline; every literal reference must carry a digest.

use crate::cli::CheckArgs;
use crate::plan::plan_check;
use crate::report::{Printer, Status, Summary};

/// Run `check` and return the exit status.
pub fn run(args: &CheckArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let scan = crate::scan::scan(&args.walk.options())?;
    let mut findings = super::report_scan(&scan, printer)?;
    let mut summary = Summary {
        files_scanned: scan.files_scanned,
        ..Summary::default()
    };
    for file in &scan.files {
        let plan = plan_check(file, args.strict);
        summary += &plan.summary;
        for f in plan.findings {
            printer.finding(f.clone())?;
            findings.push(f);
        }
    }
    printer.finish("check", &summary, &super::summary_line(&summary, ""))?;
    Ok(Status::of(&findings))
}
