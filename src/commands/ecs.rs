//! `imgpin ecs pin` and `imgpin ecs images`: live task definitions and the
//! images a cluster runs.
//!
//! `ecs pin` never prints, writes or registers anything when one image fails
//! to resolve: a half-pinned task definition is worse than none.

use crate::cli::{EcsArgs, EcsCommand, EcsImagesArgs, EcsPinArgs};
use crate::ecs::json::Json;
use crate::ecs::{self, ImagesDocument, InUseImage};
use crate::edit::{unified_diff, write_atomic};
use crate::reference::ImageRef;
use crate::report::{Code, Finding, Format, Printer, Severity, Status, Summary};
use crate::resolve::tag_key;
use crate::resolve::Resolve;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Run an `ecs` subcommand with a printer on stdout/stderr.
pub async fn run(args: &EcsArgs) -> anyhow::Result<Status> {
    match &args.command {
        EcsCommand::Pin(a) => pin(a, &mut a.output.printer().annotations_on_stderr()).await,
        EcsCommand::Images(a) => images(a, &mut a.output.printer()).await,
    }
}

/// The fields `ecs pin --format json` adds to the report document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PinDocument<'a> {
    task_definition_arn: &'a str,
    changed: bool,
    registered_task_definition_arn: Option<&'a str>,
    output: Option<&'a Path>,
    task_definition: &'a Json,
}

/// `imgpin ecs pin`.
pub async fn pin(args: &EcsPinArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let region = args
        .region
        .as_deref()
        .or_else(|| ecs::arn_region(&args.task_definition));
    let client = ecs::client(
        region,
        args.registry.aws_profile.as_deref(),
        Duration::from_secs(args.registry.timeout.max(1)),
    )
    .await?;
    let td = ecs::describe_task_definition(&client, &args.task_definition).await?;
    let label = td.label();
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    let images = td.images();
    summary.references = images.len();
    for key in td.reserved_tags() {
        findings.push(
            Finding::new(
                Code::Skipped,
                Severity::Warning,
                format!(
                    "tag {key} is left out: the aws: prefix is reserved for AWS use \
                     and registered tags must not carry it"
                ),
            )
            .in_file(&label)
            .location("tags"),
        );
    }
    for field in td.unknown_fields() {
        findings.push(
            Finding::new(
                Code::Skipped,
                Severity::Warning,
                format!(
                    "field {field} is newer than imgpin: kept as described; if \
                     RegisterTaskDefinition refuses it, it is read-only: remove it"
                ),
            )
            .in_file(&label)
            .location(field),
        );
    }

    // Parse every image; pick the ones to resolve.
    let mut parsed = Vec::new();
    for c in &images {
        let place = |f: Finding| {
            f.in_file(&label)
                .location(format!("containerDefinitions[{}].image", c.index))
                .reference(&c.image)
        };
        match ImageRef::parse(&c.image) {
            Err(e) => {
                summary.failed += 1;
                findings.push(place(Finding::new(
                    Code::InvalidReference,
                    Severity::Error,
                    format!("container {}: {e}", c.name),
                )));
            }
            Ok(r) if r.is_pinned() && !(args.update && r.tag().is_some()) => {
                summary.already_pinned += 1;
                findings.push(place(Finding::new(
                    Code::AlreadyPinned,
                    Severity::Note,
                    format!("container {}: {} is already pinned", c.name, c.image),
                )));
            }
            Ok(r) => {
                if c.tag_per_launch && r.digest().is_none() {
                    findings.push(place(Finding::new(
                        Code::TagPerLaunch,
                        Severity::Warning,
                        format!(
                            "container {}: {}",
                            c.name,
                            crate::plan::tag_per_launch(
                                &c.image,
                                "a revision registered with the pinned image ends it: `--register`",
                            )
                        ),
                    )));
                }
                parsed.push((c, r));
            }
        }
    }
    let resolutions = if parsed.is_empty() {
        Default::default()
    } else {
        let router = super::router(&args.registry, printer)?;
        printer.info(&format!("resolving {} image references", parsed.len()))?;
        let out = router
            .resolve_all(parsed.iter().map(|(_, r)| r.clone()).collect())
            .await;
        for note in router.notes() {
            printer.info(&note)?;
        }
        out
    };
    let mut replacements = Vec::new();
    for (c, r) in &parsed {
        let place = |f: Finding| {
            f.in_file(&label)
                .location(format!("containerDefinitions[{}].image", c.index))
                .reference(&c.image)
        };
        match resolutions.get(&tag_key(r)) {
            Some(Ok(resolved)) => {
                let text = r.pinned_text(&resolved.digest);
                if text == c.image {
                    summary.already_pinned += 1;
                    findings.push(place(Finding::new(
                        Code::AlreadyPinned,
                        Severity::Note,
                        format!(
                            "container {}: {} is pinned to the tag's digest",
                            c.name, c.image
                        ),
                    )));
                } else {
                    summary.pinned += 1;
                    findings.push(place(
                        Finding::new(
                            Code::Pinned,
                            Severity::Note,
                            format!("container {}: {} → {text}", c.name, c.image),
                        )
                        .replacement(&text),
                    ));
                    replacements.push((c.index, text));
                }
            }
            Some(Err(e)) => {
                summary.failed += 1;
                findings.push(place(Finding::new(
                    Code::ResolveFailed,
                    Severity::Error,
                    format!("container {}: {}: {e}", c.name, c.image),
                )));
            }
            None => {
                summary.failed += 1;
                findings.push(place(Finding::new(
                    Code::ResolveFailed,
                    Severity::Error,
                    format!(
                        "container {}: {}: no answer from the resolver",
                        c.name, c.image
                    ),
                )));
            }
        }
    }
    printer.findings(findings)?;
    if summary.failed > 0 {
        let line = format!(
            "{label}: {} images, {} failed; nothing printed, written or registered",
            summary.references, summary.failed
        );
        printer.finish("ecs pin", &summary, &line)?;
        return Ok(printer.status());
    }

    let changed = !replacements.is_empty();
    let input = td.register_input(&replacements);
    let new_text = input.to_pretty();
    if changed {
        summary.files_changed = 1;
        let old_text = td.register_input(&[]).to_pretty();
        printer.side_diff(
            PathBuf::from(&label),
            unified_diff(&label, old_text.as_bytes(), new_text.as_bytes()),
        )?;
    }
    let registered = if args.register && changed {
        Some(ecs::register_task_definition(&client, &input).await?)
    } else {
        None
    };
    if let Some(path) = &args.output_file {
        write_file(path, new_text.as_bytes())?;
    }
    if !matches!(args.output.format, Format::Json | Format::Sarif) {
        if args.register {
            printer.answer(&format!("{}\n", registered.as_deref().unwrap_or(&td.arn)))?;
        } else if args.output_file.is_none() {
            printer.answer(&new_text)?;
        }
    }
    let tail = match (&registered, changed, args.register) {
        (Some(arn), _, _) => format!("registered {arn}"),
        (None, false, true) => "nothing to pin; nothing registered".to_string(),
        (None, false, false) => "nothing to pin".to_string(),
        (None, true, _) => "not registered (use --register)".to_string(),
    };
    let line = format!(
        "{label}: {} images, {} pinned, {} already pinned; {tail}",
        summary.references, summary.pinned, summary.already_pinned
    );
    let document = PinDocument {
        task_definition_arn: &td.arn,
        changed,
        registered_task_definition_arn: registered.as_deref(),
        output: args.output_file.as_deref(),
        task_definition: &input,
    };
    printer.finish_with("ecs pin", &summary, &line, Some(&document))?;
    Ok(printer.status())
}

/// Write `bytes` to `path` atomically: over an existing file with its
/// permissions kept, or as a new file (temporary file, fsync, rename).
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(current) => write_atomic(path, &current, bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let io = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", path.display());
            let mut tmp = tempfile::Builder::new()
                .prefix(".imgpin-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(io)?;
            tmp.write_all(bytes).map_err(io)?;
            tmp.as_file().sync_all().map_err(io)?;
            tmp.persist(path).map_err(|e| io(e.error))?;
        }
        Err(e) => anyhow::bail!("{}: cannot read: {e}", path.display()),
    }
    Ok(())
}

/// `imgpin ecs images`.
pub async fn images(args: &EcsImagesArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    if args.output.format == Format::Sarif {
        anyhow::bail!(
            "`ecs images` lists images and reports no findings: use --format text or json"
        );
    }
    // A cluster ARN names its region, as a task definition ARN does for `ecs pin`.
    let region = args
        .region
        .as_deref()
        .or_else(|| ecs::arn_region(&args.cluster));
    let client = ecs::client(
        region,
        args.aws_profile.as_deref(),
        Duration::from_secs(args.timeout.max(1)),
    )
    .await?;
    let rows = ecs::list_images(&client, &args.cluster, &args.service).await?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let findings = storage_findings(&rows, args.aws_profile.clone(), timeout).await;
    if args.output.format == Format::Json {
        let problems = findings.iter().any(|f| f.severity == Severity::Problem);
        let document = ImagesDocument {
            version: 1,
            command: "ecs images".to_string(),
            cluster: args.cluster.clone(),
            images: rows,
        };
        let mut document = serde_json::to_value(&document)?;
        document["findings"] = serde_json::to_value(&findings)?;
        printer.answer(&(serde_json::to_string_pretty(&document)? + "\n"))?;
        return Ok(if problems {
            Status::Findings
        } else {
            Status::Clean
        });
    }
    printer.answer(&table(&rows))?;
    printer.findings(findings)?;
    let services: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.service.as_str()).collect();
    let count = services.iter().filter(|s| **s != "-").count();
    let line = format!(
        "cluster {}: {} images in use across {count} service{}",
        args.cluster,
        rows.len(),
        if count == 1 { "" } else { "s" }
    );
    printer.finish("ecs images", &Summary::default(), &line)?;
    Ok(printer.status())
}

/// Whether the ECR digests the rows run can still be pulled: one archived
/// (or being restored) from ECR's archive storage class is a
/// `digest-archived` problem at each row that runs it (a new task, a
/// scale-out or a rollback to it fails to pull), with the time and the
/// restore command; one gone from its repository a `digest-missing`
/// warning; a check that failed (no `ecr:DescribeImages`, …) a warning.
/// Rows of other registries are not asked.
async fn storage_findings(
    rows: &[InUseImage],
    profile: Option<String>,
    timeout: Duration,
) -> Vec<Finding> {
    let entries = super::in_use::entries_from_images(rows);
    // Each row's `name@digest`, where the registry is ECR.
    let pinned: Vec<(&crate::in_use::InUseEntry, ImageRef)> = entries
        .iter()
        .filter_map(|e| Some((e, super::in_use::pinned_ref(e)?)))
        .filter(|(_, r)| crate::reference::ecr::parse_ecr_host(r.domain()).is_some())
        .collect();
    if pinned.is_empty() {
        return Vec::new();
    }
    let options = crate::resolve::RegistryOptions {
        timeout,
        ..Default::default()
    };
    let resolver = crate::resolve::ecr::EcrResolver::new(&options, profile);
    let refs = pinned.iter().map(|(_, r)| r.clone()).collect();
    let existence = resolver.digests_exist(refs).await;
    let mut findings = Vec::new();
    for (entry, pinned) in &pinned {
        let Some(key) = crate::resolve::digest_key(pinned) else {
            continue;
        };
        let used = format!("{key}, used by {}", entry.label);
        let finding = match existence.get(&key) {
            Some(Err(e)) if e.kind == crate::resolve::ErrorKind::Archived => {
                Finding::new(Code::DigestArchived, Severity::Problem, format!("{used} — {e}"))
            }
            Some(Ok(false)) => Finding::new(
                Code::DigestMissing,
                Severity::Warning,
                format!("{used} — digest not found in its repository (deleted?): a new task of it fails to pull"),
            ),
            Some(Err(e)) => Finding::new(
                Code::AwsError,
                Severity::Warning,
                format!("{used}: whether it can still be pulled was not checked: {e}"),
            ),
            Some(Ok(true)) | None => continue,
        };
        findings.push(
            finding
                .reference(entry.written())
                .location(entry.label.clone()),
        );
    }
    findings
}

/// The text table of `ecs images`: a header and one aligned line per row;
/// the task definition is shown as `family:revision`.
pub fn table(rows: &[InUseImage]) -> String {
    let header = [
        "SERVICE",
        "TASK DEFINITION",
        "CONTAINER",
        "IMAGE",
        "DIGEST",
        "SOURCE",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            // `…:task-definition/F:N`, `…:daemon-task-definition/F:N`.
            let td = r
                .task_definition
                .rsplit_once("task-definition/")
                .map_or(r.task_definition.as_str(), |(_, t)| t);
            let owner = match &r.daemon {
                Some(daemon) => format!("daemon {daemon}"),
                None => r.service.clone(),
            };
            vec![
                owner,
                td.to_string(),
                r.container.clone(),
                r.image.clone(),
                r.digest.clone().unwrap_or_else(|| "-".to_string()),
                r.source.name().to_string(),
            ]
        })
        .collect();
    super::table(&header, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::ImageSource;

    #[test]
    fn table_aligns_columns_and_shortens_arns() {
        let rows = vec![
            InUseImage {
                cluster: "prod".into(),
                service: "web".into(),
                task_definition: "arn:aws:ecs:us-east-1:1:task-definition/web:12".into(),
                container: "app".into(),
                image: "nginx:1.27".into(),
                digest: None,
                source: ImageSource::Deployment,
                service_revision: None,
                daemon: None,
                daemon_revision: None,
                platform: None,
            },
            InUseImage {
                cluster: "prod".into(),
                service: "-".into(),
                task_definition: "arn:aws:ecs:us-east-1:1:task-definition/b:1".into(),
                container: "job".into(),
                image: "b".into(),
                digest: Some("sha256:ab".into()),
                source: ImageSource::Task,
                service_revision: None,
                daemon: None,
                daemon_revision: None,
                platform: None,
            },
            InUseImage {
                task_definition: "arn:aws:ecs:us-east-1:1:daemon-task-definition/agent:3".into(),
                container: "log".into(),
                daemon: Some("agent".into()),
                ..InUseImage::new("prod", ImageSource::Daemon, "fluent-bit:4", None)
            },
        ];
        assert_eq!(
            table(&rows),
            "SERVICE       TASK DEFINITION  CONTAINER  IMAGE         DIGEST     SOURCE\n\
             web           web:12           app        nginx:1.27    -          deployment\n\
             -             b:1              job        b             sha256:ab  task\n\
             daemon agent  agent:3          log        fluent-bit:4  -          daemon\n"
        );
    }
}
