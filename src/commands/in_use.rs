//! Gathering in-use images for `lifecycle`, `verify` and `imgpin in-use`:
//! the `--in-use` values and files ([`crate::in_use`]) and live ECS clusters
//! (`--ecs-cluster`, `--all-clusters`, in each `--region`, through
//! [`crate::ecs`]); `verify`'s findings for them; and the `in-use` command,
//! which prints them as a table or as the document `--in-use FILE` reads.

use crate::cli::{InUseArgs, InUseCommandArgs};
use crate::in_use::{collect_in_use, dedup};
pub use crate::in_use::{
    entries_from_ecs_rows, entries_from_scan, parse_in_use, parse_in_use_json, EcsImageRow,
    InUseEntry,
};
use crate::reference::ImageRef;
use crate::report::{Code, Finding, Format, Printer, Severity, Status, Summary};
use std::collections::HashMap;

impl From<&crate::ecs::InUseImage> for EcsImageRow {
    fn from(row: &crate::ecs::InUseImage) -> EcsImageRow {
        EcsImageRow {
            cluster: Some(row.cluster.clone()),
            service: Some(row.service.clone()),
            task_definition: Some(row.task_definition.clone()),
            container: Some(row.container.clone()),
            image: Some(row.image.clone()),
            digest: row.digest.clone(),
            source: Some(row.source.name().to_owned()),
            service_revision: row.service_revision.clone(),
            daemon: row.daemon.clone(),
            daemon_revision: row.daemon_revision.clone(),
            platform: row.platform.clone(),
        }
    }
}

/// The in-use entries of a live ECS listing (what `ecs images` prints).
pub fn entries_from_images(rows: &[crate::ecs::InUseImage]) -> Vec<InUseEntry> {
    let rows: Vec<EcsImageRow> = rows.iter().map(EcsImageRow::from).collect();
    entries_from_ecs_rows(&rows)
}

/// Where in-use images come from besides the files: `--in-use` values,
/// `--ecs-cluster` names, and how to reach ECS.
#[derive(Debug, Clone, Copy)]
pub struct InUseSources<'a> {
    /// `--in-use`, `--ecs-cluster`, `--region`.
    pub args: &'a InUseArgs,
    /// `--aws-profile`.
    pub profile: Option<&'a str>,
    /// Seconds to wait for an AWS answer.
    pub timeout: u64,
}

/// The clusters named with `--ecs-cluster NAME` or `--in-use ecs:NAME`.
fn ecs_clusters(args: &InUseArgs) -> Vec<String> {
    let mut clusters = args.ecs_cluster.clone();
    clusters.extend(
        args.in_use
            .iter()
            .filter_map(|v| v.strip_prefix("ecs:"))
            .map(str::to_owned),
    );
    clusters
}

/// The clusters to list, each with the Region to ask in (`None`: the AWS
/// chain's): an ARN in its own Region, a name in each `--region`.
fn named_clusters(args: &InUseArgs) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for cluster in ecs_clusters(args) {
        match crate::ecs::arn_region(&cluster) {
            Some(region) => out.push((Some(region.to_owned()), cluster)),
            None if args.region.is_empty() => out.push((None, cluster)),
            None => out.extend(
                args.region
                    .iter()
                    .map(|r| (Some(r.clone()), cluster.clone())),
            ),
        }
    }
    out
}

/// The Regions a whole-account source is read in: each `--region`, else
/// the AWS chain's (`None`).
fn regions_of(args: &InUseArgs) -> Vec<Option<String>> {
    if args.region.is_empty() {
        vec![None]
    } else {
        args.region.iter().cloned().map(Some).collect()
    }
}

/// Adds what a whole-Region source found (said with `-v`), or reports why
/// it could not be read as an error finding.
fn gathered(
    printer: &mut Printer,
    entries: &mut Vec<InUseEntry>,
    found: Result<Vec<InUseEntry>, String>,
    what: &str,
) -> std::io::Result<()> {
    match found {
        Ok(found) => {
            printer.info(&format!("{what}: {} images in use", found.len()))?;
            entries.extend(found);
            Ok(())
        }
        Err(err) => printer.finding(Finding::new(
            Code::AwsError,
            Severity::Error,
            format!("cannot read {what}: {err}"),
        )),
    }
}

/// The images of the ECS task definitions EventBridge rules and Scheduler
/// schedules start in `region`, each task definition described once.
async fn scheduled(
    aws: &mut crate::aws::Regional,
    region: Option<&str>,
) -> Result<Vec<InUseEntry>, String> {
    use crate::aws::ecs::EcsApi;
    let tasks = aws.scheduled_tasks(region).await?;
    let ecs = aws.ecs(region).await.map_err(|e| e.to_string())?;
    let mut described: HashMap<String, crate::aws::ecs::TaskDefinitionImages> = HashMap::new();
    let mut out = Vec::new();
    for task in tasks {
        if !described.contains_key(&task.task_definition) {
            let td = ecs
                .task_definition(&task.task_definition)
                .await
                .map_err(|e| format!("{}: {e}", task.owner))?;
            described.insert(task.task_definition.clone(), td);
        }
        let td = &described[&task.task_definition];
        let shown = td
            .arn
            .rsplit_once(":task-definition/")
            .map_or(td.arn.as_str(), |(_, t)| t);
        let place = region.map(|r| format!(" ({r})")).unwrap_or_default();
        for (container, image) in &td.containers {
            let Ok(reference) = ImageRef::parse(image) else {
                return Err(format!(
                    "{} task definition {shown} container {container}: image {image:?} is not an image reference",
                    task.owner
                ));
            };
            out.push(InUseEntry {
                label: format!(
                    "{} task definition {shown} container {container}{place}",
                    task.owner
                ),
                place: None,
                digest: reference.digest().map(ToString::to_string),
                reference: Some(reference),
                origin: crate::in_use::Origin {
                    rule: Some(task.name.clone()),
                    task_definition: Some(td.arn.clone()),
                    container: Some(container.clone()),
                    ..crate::in_use::Origin::of(task.source)
                }
                .with_arn(&td.arn),
                platform: td.platform.clone(),
            });
        }
    }
    Ok(out)
}

/// Every in-use entry the sources name besides the files: `--in-use`
/// values, and the images of the live ECS clusters (`ecs images` rows:
/// every deployment and running task) named or, with `--all-clusters`,
/// listed in each Region, then with `--lambda` and `--batch` the function
/// versions and job definitions of each Region. A value that cannot be
/// read, or a cluster, Region or service that cannot be listed, is an error
/// finding; the rest still count.
pub async fn collect(
    sources: &InUseSources<'_>,
    printer: &mut Printer,
) -> anyhow::Result<Vec<InUseEntry>> {
    let (mut entries, bad) = collect_in_use(&sources.args.in_use);
    printer.findings(bad)?;
    // One AWS configuration and ECS client per Region for the whole run.
    let timeout = std::time::Duration::from_secs(sources.timeout.max(1));
    let mut aws = crate::aws::Regional::new(sources.profile, timeout);
    let mut clusters = named_clusters(sources.args);
    if sources.args.all_clusters {
        for region in regions_of(sources.args) {
            let listed = match aws.ecs(region.as_deref()).await {
                Ok(client) => crate::ecs::list_clusters(&client).await,
                Err(err) => Err(err),
            };
            let shown = region.as_deref().unwrap_or("the default region");
            match listed {
                Ok(arns) => {
                    printer.info(&format!("ECS in {shown}: {} clusters", arns.len()))?;
                    for arn in arns {
                        if !clusters.iter().any(|(_, c)| c == &arn) {
                            let own = crate::ecs::arn_region(&arn).map(str::to_owned);
                            clusters.push((own.or_else(|| region.clone()), arn));
                        }
                    }
                }
                Err(err) => printer.finding(Finding::new(
                    Code::AwsError,
                    Severity::Error,
                    format!("cannot list the ECS clusters in {shown}: {err}"),
                ))?,
            }
        }
    }
    // A name looked for in several Regions needs to be in one of them.
    let searched = sources.args.region.len() > 1;
    let mut missing: std::collections::BTreeMap<String, usize> = Default::default();
    for (region, cluster) in clusters {
        let by_name = searched && crate::ecs::arn_region(&cluster).is_none();
        let listed = match aws.ecs(region.as_deref()).await {
            Ok(client) => crate::ecs::list_images(&client, &cluster, &[]).await,
            Err(err) => Err(err),
        };
        match listed {
            Ok(rows) => {
                printer.info(&format!(
                    "ECS cluster {cluster}: {} images in use",
                    rows.len()
                ))?;
                entries.extend(entries_from_images(&rows));
            }
            Err(err) if by_name && err.kind == crate::ecs::EcsErrorKind::NotFound => {
                printer.info(&format!(
                    "ECS cluster {cluster}: not in {}",
                    region.as_deref().unwrap_or("the default region")
                ))?;
                *missing.entry(cluster).or_default() += 1;
            }
            Err(err) => {
                let place = region.map(|r| format!(" in {r}")).unwrap_or_default();
                printer.finding(Finding::new(
                    Code::AwsError,
                    Severity::Error,
                    format!("cannot list the images of ECS cluster {cluster}{place}: {err}"),
                ))?
            }
        }
    }
    for (cluster, times) in missing {
        if times == sources.args.region.len() {
            printer.finding(Finding::new(
                Code::AwsError,
                Severity::Error,
                format!(
                    "ECS cluster {cluster} was not found in any of the regions {}",
                    sources.args.region.join(", ")
                ),
            ))?;
        }
    }
    for region in regions_of(sources.args) {
        let region = region.as_deref();
        let shown = region.unwrap_or("the default region");
        if sources.args.lambda {
            let found = aws.lambda(region).await;
            gathered(printer, &mut entries, found, &format!("Lambda in {shown}"))?;
        }
        if sources.args.scheduled {
            let found = scheduled(&mut aws, region).await;
            let what = format!("EventBridge in {shown}");
            gathered(printer, &mut entries, found, &what)?;
        }
        if sources.args.batch {
            let found = aws.batch(region).await;
            gathered(
                printer,
                &mut entries,
                found,
                &format!("AWS Batch in {shown}"),
            )?;
        }
    }
    Ok(dedup(entries))
}

/// The `name@digest` of each entry that names both a repository and a
/// digest (the digest in use, which for a running task may differ from the
/// one written), for an existence check.
pub fn pinned(entries: &[InUseEntry]) -> Vec<ImageRef> {
    entries.iter().filter_map(pinned_ref).collect()
}

/// The pinned references of the entries that say which platform they run
/// on, with it: `verify` checks those platforms.
pub fn platform_uses(entries: &[InUseEntry]) -> Vec<(ImageRef, crate::locate::DeclaredPlatform)> {
    entries
        .iter()
        .filter_map(|e| Some((pinned_ref(e)?, e.platform.clone()?)))
        .collect()
}

/// The `name@digest` of one entry, when it names a repository and a digest.
pub(crate) fn pinned_ref(entry: &InUseEntry) -> Option<ImageRef> {
    let (reference, digest) = (entry.reference.as_ref()?, entry.digest.as_ref()?);
    ImageRef::parse(&crate::resolve::digest_key_at(reference, digest)).ok()
}

/// `verify`'s findings for images in use outside the files, and the counts
/// to add to the summary: a digest gone is a problem, one that cannot be
/// checked (no digest known, no repository) a note; where the entry says
/// which platform runs it, the platform checks files get.
pub fn verify_findings(
    entries: &[InUseEntry],
    existence: &crate::resolve::Existence,
    facts: &crate::resolve::Facts,
) -> (Vec<Finding>, crate::report::Summary) {
    let mut findings = Vec::new();
    let mut summary = crate::report::Summary::default();
    for entry in entries {
        summary.references += 1;
        let shown = match (&entry.reference, &entry.digest) {
            (Some(r), Some(d)) if r.digest().map(|w| w.to_string()).as_ref() != Some(d) => {
                format!("{} (running {d})", r.as_written())
            }
            _ => entry.written(),
        };
        let used = format!("{shown}, used by {}", entry.label);
        let pinned = pinned_ref(entry);
        let key = pinned.as_ref().and_then(crate::resolve::digest_key);
        let (Some(pinned), Some(key)) = (pinned, key) else {
            summary.unpinned += 1;
            let why = if entry.reference.is_none() {
                "a digest without a repository cannot be checked; name it as REPOSITORY@sha256:…"
            } else {
                "no digest is known for it (a tag only): pin the task definition with `imgpin ecs pin`"
            };
            findings.push(entry.finding(Code::Unpinned, Severity::Note, format!("{used}: {why}")));
            continue;
        };
        let (code, severity, message) =
            crate::plan::existence_finding(existence.get(&key), &used, &mut summary);
        findings.push(entry.finding(code, severity, message));
        if let (Some(platform), Some(Ok(true))) = (&entry.platform, existence.get(&key)) {
            let checks =
                crate::plan::platform_findings(&used, &pinned, platform, None, existence, facts);
            for (code, severity, message) in checks {
                findings.push(entry.finding(code, severity, message));
            }
        }
    }
    (findings, summary)
}

/// `imgpin in-use`: every source gathered; the table (text) or the document
/// (JSON). A source that cannot be read makes the document incomplete and
/// the exit status 2.
pub async fn run(args: &InUseCommandArgs) -> anyhow::Result<Status> {
    let mut printer = args.output.printer();
    if args.output.format == Format::Sarif {
        anyhow::bail!("`in-use` lists images: use --format text or json");
    }
    let mut entries = Vec::new();
    if !args.no_files {
        let mut scan = crate::scan::scan(&args.walk.read_only_options())?;
        printer.findings(std::mem::take(&mut scan.findings))?;
        entries = entries_from_scan(&scan);
    }
    let sources = InUseSources {
        args: &args.in_use,
        profile: args.aws_profile.as_deref(),
        timeout: args.timeout,
    };
    entries.extend(collect(&sources, &mut printer).await?);
    let entries = dedup(entries);
    let complete = printer.status() != Status::Error;
    let line = in_use_line(&entries, complete);
    if args.output.format == Format::Json {
        let fields = crate::in_use::document::fields(&entries, complete);
        printer.finish_document(crate::in_use::document::COMMAND, &line, fields)?;
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![
                    e.origin.source.clone(),
                    e.label.clone(),
                    e.reference
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |r| r.as_written().to_owned()),
                    e.digest.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        printer.answer(&super::table(
            &["SOURCE", "WHERE", "IMAGE", "DIGEST"],
            &rows,
        ))?;
        printer.finish("in-use", &Summary::default(), &line)?;
    }
    Ok(if complete {
        Status::Clean
    } else {
        Status::Error
    })
}

/// `5 uses: 3 file, 2 ecs-task` (by source, in [`crate::in_use::SOURCES`]
/// order), and whether sources failed.
fn in_use_line(entries: &[InUseEntry], complete: bool) -> String {
    let mut by_source: Vec<String> = Vec::new();
    let mut kinds: Vec<&str> = crate::in_use::SOURCES.to_vec();
    for e in entries {
        if !kinds.contains(&e.origin.source.as_str()) {
            kinds.push(&e.origin.source);
        }
    }
    for kind in kinds {
        let n = entries.iter().filter(|e| e.origin.source == kind).count();
        if n > 0 {
            by_source.push(format!("{kind} {n}"));
        }
    }
    let tail = if complete {
        ""
    } else {
        "; INCOMPLETE: a source could not be read (see the errors above)"
    };
    let list = if by_source.is_empty() {
        String::new()
    } else {
        format!(" by source: {}", by_source.join(", "))
    };
    format!("{}{list}{tail}", super::count(entries.len(), "use"))
}
