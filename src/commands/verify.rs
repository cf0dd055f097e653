//! `imgpin verify`: every pinned digest must still exist in its registry;
//! moved tags, disagreeing pins and unpinned references are reported too.

use super::in_use::{self, InUseSources};
use crate::cli::VerifyArgs;
use crate::plan::{plan_verify, platform_wanted, verify_wanted, Facts, VerifyOptions};
use crate::report::{Printer, Status, Summary};
use crate::resolve::Resolve;

/// The in-use entries without repeats: a service's deployment and its
/// running tasks name the same image in the same place, which is one use to
/// report (the same image in two places stays two entries).
fn distinct(entries: Vec<in_use::InUseEntry>) -> Vec<in_use::InUseEntry> {
    let mut seen = std::collections::HashSet::new();
    entries
        .into_iter()
        .filter(|e| seen.insert((e.label.clone(), e.written(), e.digest.clone())))
        .collect()
}

/// Run `verify` and return the exit status.
pub async fn run(args: &VerifyArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let mut scan = crate::scan::scan(&args.walk.options())?;
    printer.findings(std::mem::take(&mut scan.findings))?;
    let sources = InUseSources {
        values: &args.in_use,
        ecs_clusters: &args.ecs_cluster,
        region: args.region.as_deref(),
        profile: args.registry.aws_profile.as_deref(),
        timeout: args.registry.timeout,
    };
    let in_use = distinct(in_use::collect(&sources, printer).await?);
    let (mut pinned, tagged) = verify_wanted(&scan.files);
    pinned.extend(in_use::pinned(&in_use));
    let (existence, tags, facts) = if pinned.is_empty() {
        Default::default()
    } else {
        let router = super::router(&args.registry, printer)?;
        printer.info(&format!(
            "checking {} pinned digests and {} tags",
            pinned.len(),
            tagged.len()
        ))?;
        let (existence, tags) =
            futures::join!(router.verify_all(pinned), router.resolve_all(tagged));
        // Platform checks read manifests only where a file declares a
        // platform or a tag moved away from the pin.
        let wanted = platform_wanted(&scan.files, &existence, &tags);
        let facts = if wanted.is_empty() {
            Facts::new()
        } else {
            printer.info(&format!(
                "reading {} manifests for platform checks",
                wanted.len()
            ))?;
            router.manifest_facts_all(wanted).await
        };
        for note in router.notes() {
            printer.info(&note)?;
        }
        (existence, tags, facts)
    };
    let options = VerifyOptions {
        strict: args.strict,
        pinned_only: args.pinned_only,
    };
    let plan = plan_verify(&scan.files, &existence, &tags, &facts, options);
    let mut summary = Summary {
        files_scanned: scan.files_scanned,
        ..Summary::default()
    };
    summary += &plan.summary;
    printer.findings(plan.findings)?;
    let (findings, counts) = in_use::verify_findings(&in_use, &existence);
    summary += &counts;
    printer.findings(findings)?;
    let line = format!(
        "{} files scanned: {} pinned references, {} digests missing, {} tags moved, {} unpinned, {} failed",
        summary.files_scanned,
        summary.already_pinned + summary.missing,
        summary.missing,
        summary.drifted,
        summary.unpinned,
        summary.failed
    );
    printer.finish("verify", &summary, &line)?;
    Ok(printer.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::in_use::{entries_from_ecs_rows, EcsImageRow};

    #[test]
    fn one_use_per_place_and_image() {
        let row = |service: &str, digest: Option<&str>, source: &str| EcsImageRow {
            cluster: Some("prod".into()),
            service: Some(service.into()),
            task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:1".into()),
            container: Some("app".into()),
            image: Some("shop/web:1".into()),
            digest: digest.map(str::to_string),
            source: Some(source.into()),
        };
        let d1 = format!("sha256:{}", "1".repeat(64));
        let d2 = format!("sha256:{}", "2".repeat(64));
        let entries = entries_from_ecs_rows(&[
            row("web", Some(&d1), "deployment"),
            row("web", Some(&d1), "task"),
            row("web", Some(&d2), "task"),
            row("api", Some(&d1), "deployment"),
        ]);
        let kept: Vec<(String, Option<String>)> = distinct(entries)
            .into_iter()
            .map(|e| (e.label, e.digest))
            .collect();
        let label = |s: &str| format!("service {s} container app (cluster prod)");
        assert_eq!(
            kept,
            [
                (label("web"), Some(d1.clone())),
                (label("web"), Some(d2)),
                (label("api"), Some(d1)),
            ]
        );
    }
}
