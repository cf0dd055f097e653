//! `imgpin verify`: every pinned digest must still exist in its registry;
//! moved tags, disagreeing pins and unpinned references are reported too.

use super::in_use::{self, InUseSources};
use crate::cli::VerifyArgs;
use crate::plan::{
    children_wanted, file_platform_uses, plan_verify, platform_wanted, verify_wanted, VerifyOptions,
};
use crate::report::{Printer, Status, Summary};
use crate::resolve::{Facts, Resolve};

/// Run `verify` and return the exit status.
pub async fn run(args: &VerifyArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let mut scan = crate::scan::scan(&args.walk.read_only_options())?;
    printer.findings(std::mem::take(&mut scan.findings))?;
    let sources = InUseSources {
        args: &args.in_use,
        profile: args.registry.aws_profile.as_deref(),
        timeout: args.registry.timeout,
    };
    let in_use = in_use::collect(&sources, printer).await?;
    let (mut pinned, tagged) = verify_wanted(&scan.files);
    pinned.extend(in_use::pinned(&in_use));
    let (existence, tags, facts) = if pinned.is_empty() {
        Default::default()
    } else {
        // Tags are checked against what they serve to every platform (the
        // index); a pin to the --platform child of it is recognised below,
        // not reported as a moved tag.
        let mut registry = args.registry.clone();
        registry.platform = None;
        let progress = printer.progress();
        let router = super::router(&registry, printer)?.with_progress(progress.clone());
        printer.info(&format!(
            "checking {} pinned digests and {} tags",
            pinned.len(),
            tagged.len()
        ))?;
        let unique = crate::resolve::Router::unique_digest_count(&pinned)
            + crate::resolve::Router::unique_count(&tagged);
        progress.phase("verifying", unique);
        let (mut existence, tags) =
            futures::join!(router.verify_all(pinned), router.resolve_all(tagged));
        // Platform checks read manifests only where a file or a live source
        // says which platform runs the image, or a tag moved away from the
        // pin; a pinned index is pullable on a platform only if the child it
        // lists for that platform is there too.
        let live = in_use::platform_uses(&in_use);
        let uses: Vec<(
            &crate::reference::ImageRef,
            &crate::locate::DeclaredPlatform,
        )> = file_platform_uses(&scan.files)
            .into_iter()
            .chain(live.iter().map(|(r, p)| (r, p)))
            .collect();
        let wanted = platform_wanted(&scan.files, uses.iter().map(|(r, _)| *r), &existence, &tags);
        let facts = if wanted.is_empty() {
            Facts::new()
        } else {
            printer.info(&format!(
                "reading {} manifests for platform checks",
                wanted.len()
            ))?;
            router.manifest_facts_all(wanted).await
        };
        let children = children_wanted(uses, &existence, &facts);
        if !children.is_empty() {
            printer.info(&format!(
                "checking {} platform manifests of pinned indexes",
                children.len()
            ))?;
            existence.extend(router.verify_all(children).await);
        }
        for note in router.notes() {
            printer.info(&note)?;
        }
        (existence, tags, facts)
    };
    let options = VerifyOptions {
        strict: args.strict,
        pinned_only: args.pinned_only,
        platform: args.registry.platform.clone(),
    };
    let plan = plan_verify(&scan.files, &existence, &tags, &facts, options);
    let mut summary = Summary {
        files_scanned: scan.files_scanned,
        files_failed: scan.files_failed,
        ..Summary::default()
    };
    summary += &plan.summary;
    printer.findings(plan.findings)?;
    let (findings, counts) = in_use::verify_findings(&in_use, &existence, &facts);
    summary += &counts;
    printer.findings(findings)?;
    let line = format!(
        "{} scanned: {}, {} missing{}, {} moved, {} unpinned, {} failed{}",
        super::count(summary.files_scanned, "file"),
        super::count(summary.already_pinned + summary.missing, "pinned reference"),
        super::count(summary.missing, "digest"),
        if summary.archived > 0 {
            format!(" ({} archived)", summary.archived)
        } else {
            String::new()
        },
        super::count(summary.drifted, "tag"),
        summary.unpinned,
        summary.failed,
        super::files_failed(&summary)
    );
    printer.finish("verify", &summary, &line)?;
    Ok(printer.status())
}
