//! `imgpin lifecycle`: will an ECR lifecycle policy delete or archive an image that is
//! still in use? (`lifecycle protect` is in [`protect`].)
//!
//! Glue only: in-use images are gathered ([`super::in_use`]), grouped by repository,
//! delete-replicated replicas' uses folded into their sources (`with_replicas`, [`crate::lifecycle::fold_replicas`]),
//! each repository's policy and images are read (a file, or live through
//! [`crate::aws::ecr::LiveEcr`]), and the pure steps in [`crate::lifecycle`]
//! ([`group_by_repository`], [`resolve_uses`], [`evaluate_repository`],
//! [`load_policy_file`]) decide; everything said goes through the [`Printer`].

pub mod protect;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{json, Map, Value as Json};

use super::in_use::{self, InUseSources};
use crate::aws::ecr::{AwsError, ImageList, LiveEcr};
use crate::cli::{AwsArgs, LifecycleArgs, LifecycleCommand, LifecycleSource};
use crate::in_use::{entries_from_scan, InUseEntry};
use crate::lifecycle::{
    evaluate_repository, group_by_repository, live_policy_source, load_policy_file, read_images,
    resolve_uses, Grouped, LivePolicy, PolicySource, RepoGroup, RepoMeta, RepoOutcome, Use,
};
use crate::reference::ecr::Repo;
use crate::report::{Code, Finding, Printer, Severity, Status};

/// The in-use sources of `lifecycle` and `lifecycle protect`.
fn sources<'a>(source: &'a LifecycleSource, aws: &'a AwsArgs) -> InUseSources<'a> {
    InUseSources {
        args: &source.in_use,
        profile: aws.aws_profile.as_deref(),
        timeout: aws.timeout,
    }
}

/// Everything the repositories contribute, for the summary and the JSON document.
#[derive(Debug, Default)]
struct Totals {
    repositories: Vec<Json>,
    results: Vec<Json>,
    next_pass: Vec<Json>,
    at_risk: Vec<Json>,
    images: usize,
    expiring: usize,
    archiving: usize,
    in_use: usize,
    in_use_at_risk: usize,
}

impl Totals {
    fn add(&mut self, meta: &RepoMeta, source: Option<&PolicySource>, outcome: RepoOutcome) {
        let mut doc = Map::new();
        doc.insert("repository".into(), json!(meta.repository));
        doc.insert("registryId".into(), json!(meta.registry_id));
        doc.insert("region".into(), json!(meta.region));
        if let Some(source) = source {
            source.describe(&mut doc);
        }
        doc.extend(outcome.doc);
        self.repositories.push(Json::Object(doc));
        self.results.extend(outcome.results);
        self.next_pass.extend(outcome.next_pass);
        self.at_risk.extend(outcome.at_risk);
        self.images += outcome.images;
        self.expiring += outcome.expiring;
        self.archiving += outcome.archiving;
        self.in_use += outcome.in_use;
        self.in_use_at_risk += outcome.in_use_at_risk;
    }

    fn finish(self, printer: &mut Printer, now: DateTime<Utc>) -> anyhow::Result<Status> {
        let line = format!(
            "{}, {}: {} would be expired, {} archived; {} in use, {} of them at risk",
            super::count(self.repositories.len(), "repository"),
            super::count(self.images, "image"),
            self.expiring,
            self.archiving,
            self.in_use,
            self.in_use_at_risk
        );
        let transitioning = if self.archiving == 0 {
            json!([])
        } else {
            json!([{"targetStorageClass": "ARCHIVE", "imageTotalCount": self.archiving}])
        };
        let mut doc = Map::new();
        doc.insert(
            "evaluatedAt".into(),
            crate::lifecycle::ser::rfc3339_string(&now).into(),
        );
        doc.insert("results".into(), Json::Array(self.results));
        doc.insert("nextPass".into(), Json::Array(self.next_pass));
        doc.insert("atRisk".into(), Json::Array(self.at_risk));
        doc.insert(
            "summary".into(),
            json!({
                "expiringImageTotalCount": self.expiring,
                "transitioningImageTotalCounts": transitioning,
                "repositories": self.repositories.len(),
                "images": self.images,
                "inUse": self.in_use,
                "inUseAtRisk": self.in_use_at_risk,
            }),
        );
        doc.insert("repositories".into(), Json::Array(self.repositories));
        printer.finish_document("lifecycle", &line, doc)?;
        Ok(printer.status())
    }
}

/// Run `lifecycle` (or `lifecycle protect`) and return the exit status.
pub async fn run(args: &LifecycleArgs) -> anyhow::Result<Status> {
    if let Some(LifecycleCommand::Protect(protect)) = &args.command {
        let mut printer = protect.output.printer();
        return protect::run(protect, &mut printer).await;
    }
    let mut printer = args.output.printer();
    run_evaluate(args, &mut printer).await
}

/// The policy file, or `Err(status)` after reporting why it was refused.
fn policy_file(
    source: &LifecycleSource,
    printer: &mut Printer,
) -> anyhow::Result<Result<Option<PolicySource>, ()>> {
    let Some(path) = &source.policy else {
        return Ok(Ok(None));
    };
    match load_policy_file(path) {
        Ok((policy, text, findings)) => {
            printer.findings(findings)?;
            Ok(Ok(Some(PolicySource::File(path.clone(), policy, text))))
        }
        Err(findings) => {
            printer.findings(findings)?;
            Ok(Err(()))
        }
    }
}

/// `imgpin lifecycle`: evaluate and report.
pub async fn run_evaluate(args: &LifecycleArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let now = args.at.unwrap_or_else(Utc::now);
    let mut totals = Totals::default();
    let Ok(file_policy) = policy_file(&args.source, printer)? else {
        return totals.finish(printer, now);
    };
    let entries = in_use::collect(&sources(&args.source, &args.aws), printer).await?;

    if let Some(images_path) = &args.images {
        // Offline: one repository, no AWS call.
        if !args.walk.paths.is_empty() {
            printer.finding(Finding::new(
                Code::InUseInvalid,
                Severity::Error,
                "PATH arguments are not read with --images (one saved repository); name the images in use with --in-use".to_owned(),
            ))?;
            return totals.finish(printer, now);
        }
        let (images, owner) = match read_images(images_path) {
            Ok(read) => read,
            Err(f) => {
                printer.finding(*f)?;
                return totals.finish(printer, now);
            }
        };
        if owner.partial {
            printer.finding(
                Finding::new(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    "the image list has a nextToken: it is one page of a longer DescribeImages answer, so counts and ranks may be wrong; save every page (`aws ecr describe-images` without --max-items or --no-paginate)".to_owned(),
                )
                .in_file(images_path),
            )?;
        }
        // A reference to another repository (an ECS cluster's list names many) must not
        // be resolved in this one: its tag would pick an unrelated image here.
        let (entries, elsewhere): (Vec<InUseEntry>, Vec<InUseEntry>) =
            entries.into_iter().partition(|e| owner.concerns(e));
        for entry in &elsewhere {
            printer.finding(entry.finding(
                Code::LifecycleImageMissing,
                Severity::Note,
                format!(
                    "{} is in another repository than the image list {} ({}): not evaluated here",
                    entry.written(),
                    images_path.display(),
                    owner.describe()
                ),
            ))?;
        }
        let meta = RepoMeta {
            repository: None,
            registry_id: None,
            region: None,
            label: format!("the image list {}", images_path.display()),
        };
        // Offline, every remaining entry concerns this one repository: bare digests included.
        let uses: Vec<Use> = resolve_uses(&entries, &images)
            .into_iter()
            .map(|mut u| {
                u.bare = false;
                u
            })
            .collect();
        let Some(source) = file_policy else {
            printer.finding(Finding::new(
                Code::PolicyInvalid,
                Severity::Error,
                "--images needs --policy FILE (a saved image list has no policy)".to_owned(),
            ))?;
            return totals.finish(printer, now);
        };
        let outcome = evaluate_repository(&meta, source.policy(), &images, now, &uses);
        printer.findings(outcome.findings.clone())?;
        totals.add(&meta, Some(&source), outcome);
        return totals.finish(printer, now);
    }

    let grouped = group_with_files(&args.walk, entries, printer)?;
    let live = live_ecr(&args.aws);
    let grouped = with_replicas(&live, grouped, &args.source.in_use.region, printer).await?;
    if grouped.groups.is_empty() {
        printer.finding(Finding::new(
            Code::LifecycleImageMissing,
            Severity::Note,
            "no Amazon ECR reference found in the files or --in-use values: nothing to evaluate (bare digests need a repository: give REPOSITORY@sha256:…)".to_owned(),
        ))?;
    }
    if !grouped.foreign.is_empty() {
        printer.info(&format!(
            "{} references outside Amazon ECR: no lifecycle policy applies to them",
            grouped.foreign.len()
        ))?;
    }
    let bare = grouped.bare.clone();
    let fetched = fetch_all(&live, grouped.groups, file_policy.is_none(), args.aws.jobs).await;
    let mut bare_found = BTreeSet::new();
    // Pull-time exclusions, read once per Region where a policy archives by last pull.
    let mut exclusions: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (mut group, result) in fetched {
        let meta = RepoMeta::of(&group.repo);
        let fetched = match result {
            Ok(f) => f,
            Err(e) => {
                printer.finding(group.failure(e.to_string()))?;
                continue;
            }
        };
        let mut findings = Vec::new();
        let source = match &file_policy {
            Some(s) => Some(s.clone()),
            None => live_policy_source(&group.repo, fetched.policy, &mut findings),
        };
        for index in &fetched.list.unread_indexes {
            findings.push(
                Finding::new(
                    Code::AwsError,
                    Severity::Warning,
                    format!(
                        "{}: the index {index} could not be read with BatchGetImage; its children are unknown and not treated as in use or guarded",
                        group.repo
                    ),
                )
                .location(group.repo.to_string()),
            );
        }
        if fetched.list.left_out > 0 {
            findings.push(
                Finding::new(
                    Code::AwsError,
                    Severity::Warning,
                    format!(
                        "{}: {} images without a digest or push time in the DescribeImages answer were left out",
                        group.repo, fetched.list.left_out
                    ),
                )
                .location(group.repo.to_string()),
            );
        }
        printer.findings(findings)?;
        let Some(source) = source else { continue };
        if let Some(policy) = source.policy().filter(|p| p.acts_by_last_pull()) {
            let region = group.repo.host.region.clone();
            if !exclusions.contains_key(&region) {
                let found = live.pull_time_exclusions(&region).await;
                if let Err(e) = &found {
                    printer.finding(
                        Finding::new(
                            Code::AwsError,
                            Severity::Warning,
                            format!("{e}; whether pulls refresh lastRecordedPullTime is not known"),
                        )
                        .location(format!("registry in {region}")),
                    )?;
                }
                exclusions.insert(region.clone(), found.unwrap_or_default());
            }
            let excluded = &exclusions[&region];
            if let Some(f) = crate::lifecycle::pull_time_warning(&meta, policy, excluded) {
                printer.finding(f)?;
            }
        }
        group.entries.extend(bare.iter().cloned());
        let uses = resolve_uses(&group.entries, &fetched.list.images);
        let outcome = evaluate_repository(&meta, source.policy(), &fetched.list.images, now, &uses);
        bare_found.extend(outcome.bare_found.iter().cloned());
        printer.findings(outcome.findings.clone())?;
        totals.add(&meta, Some(&source), outcome);
    }
    for entry in &bare {
        if let Some(d) = &entry.digest {
            if !bare_found.contains(d) {
                printer.finding(entry.finding(
                    Code::LifecycleImageMissing,
                    Severity::Warning,
                    format!(
                        "{d} is in none of the repositories evaluated; give it as REPOSITORY@{d} to name its repository"
                    ),
                ))?;
            }
        }
    }
    totals.finish(printer, now)
}

/// The groups with the uses of delete-replicated replicas folded into their
/// source repositories ([`crate::lifecycle::fold_replicas`]): the caller's
/// registry is asked for its replication rules (`DescribeRegistry`) once in
/// each Region that has a group or is named with `--region`. A Region whose
/// rules cannot be read is a warning: a delete-replicating rule there would
/// go unnoticed.
pub(super) async fn with_replicas(
    live: &LiveEcr,
    mut grouped: Grouped,
    regions: &[String],
    printer: &mut Printer,
) -> anyhow::Result<Grouped> {
    if grouped.groups.is_empty() {
        return Ok(grouped);
    }
    let mut asked: BTreeSet<String> = grouped
        .groups
        .iter()
        .map(|g| g.repo.host.region.clone())
        .collect();
    asked.extend(regions.iter().cloned());
    let mut registries = Vec::new();
    for region in asked {
        match live.replication(&region).await {
            Ok(replication) => {
                let deleting = replication
                    .rules
                    .iter()
                    .filter(|r| r.delete_replication)
                    .count();
                if deleting > 0 {
                    printer.info(&format!(
                        "registry {} in {region}: {deleting} replication rules replicate deletions",
                        replication.registry_id
                    ))?;
                }
                registries.push(replication);
            }
            Err(e) => printer.finding(
                Finding::new(
                    Code::AwsError,
                    Severity::Warning,
                    format!(
                        "{e}; a replication rule that replicates deletions from {region} is not accounted for"
                    ),
                )
                .location(format!("registry in {region}")),
            )?,
        }
    }
    grouped.groups = crate::lifecycle::fold_replicas(grouped.groups, &registries);
    Ok(grouped)
}

/// What one repository's calls returned.
#[derive(Debug)]
struct Fetched {
    policy: Option<LivePolicy>,
    list: ImageList,
}

async fn fetch(live: &LiveEcr, repo: &Repo, want_policy: bool) -> Result<Fetched, AwsError> {
    let policy = if want_policy {
        live.lifecycle_policy(repo).await?
    } else {
        None
    };
    let list = live.describe_images(repo).await?;
    Ok(Fetched { policy, list })
}

/// Each group's policy (unless a `--policy` file replaces it) and image list,
/// `jobs` repositories at a time, in the groups' order.
async fn fetch_all(
    live: &LiveEcr,
    groups: Vec<RepoGroup>,
    want_policy: bool,
    jobs: usize,
) -> Vec<(RepoGroup, Result<Fetched, AwsError>)> {
    futures::stream::iter(groups)
        .map(|g| async move {
            let result = fetch(live, &g.repo, want_policy).await;
            (g, result)
        })
        .buffered(jobs.max(1))
        .collect()
        .await
}

/// The ECR API client for `lifecycle` and `lifecycle protect`.
fn live_ecr(aws: &AwsArgs) -> LiveEcr {
    LiveEcr::new(
        aws.aws_profile.clone(),
        std::time::Duration::from_secs(aws.timeout.max(1)),
    )
}

/// The in-use `entries` plus the references in the files under `walk`,
/// grouped by repository (scan findings reported on the way).
fn group_with_files(
    walk: &crate::cli::WalkArgs,
    entries: Vec<InUseEntry>,
    printer: &mut Printer,
) -> anyhow::Result<Grouped> {
    let mut scan = crate::scan::scan(&walk.read_only_options())?;
    printer.findings(std::mem::take(&mut scan.findings))?;
    let mut all = entries_from_scan(&scan);
    all.extend(entries);
    Ok(group_by_repository(all))
}
