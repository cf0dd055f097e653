//! Live Amazon ECS: task definitions as registered, and the images a cluster runs.
//!
//! Two jobs, both I/O at the edge of the pipeline:
//!
//! - `ecs pin` reads a task definition with `DescribeTaskDefinition` and keeps
//!   the **raw answer body** (captured after the response is read), so the register input it prints carries every field,
//!   in ECS's order, without mapping typed SDK structs back to JSON
//!   ([`taskdef`], [`json`]). `--register` sends that exact JSON: the request
//!   body is replaced before signing, so SigV4 covers it.
//! - `ecs images` walks services (every deployment, not only PRIMARY, and
//!   the service revisions in use, with the digests ECS resolved) and
//!   running tasks (whose `imageDigest` is the digest really running) and
//!   returns [`InUseImage`] rows, the in-use list `lifecycle` consumes.
//!   Task definitions are always resolved through `DescribeTaskDefinition`
//!   (cached per name), never by parsing the name.
//!
//! The SDK calls themselves are in [`crate::aws::ecs`]; the listing's sit
//! behind its small `aws::ecs::EcsApi` trait, so pagination,
//! chunking and the deployment logic here are unit-tested with fakes.

pub mod json;
pub mod taskdef;

use crate::aws::ecs as aws;
pub use crate::aws::ecs::{arn_region, client, list_clusters, EcsError, EcsErrorKind};
use crate::aws::ecs::{EcsApi, Page, ServiceInfo, TaskDefinitionImages};
pub use crate::aws::ecs::{DESCRIBE_REVISIONS_MAX, DESCRIBE_SERVICES_MAX, DESCRIBE_TASKS_MAX};
use crate::reference::ImageRef;
use futures::StreamExt;
use json::Json;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use taskdef::DescribedTaskDefinition;

/// How many `DescribeTaskDefinition` calls `ecs images` makes at once.
pub const DESCRIBE_CONCURRENCY: usize = 8;

/// `DescribeTaskDefinition` (with tags) of `FAMILY`, `FAMILY:REVISION` or an
/// ARN, keeping the answer exactly as ECS sent it.
pub async fn describe_task_definition(
    client: &aws_sdk_ecs::Client,
    name: &str,
) -> Result<DescribedTaskDefinition, EcsError> {
    let body = aws::describe_task_definition(client, name).await?;
    DescribedTaskDefinition::parse(&body).map_err(|e| {
        EcsError::new(
            "DescribeTaskDefinition",
            EcsErrorKind::Other,
            format!("{name}: {e}"),
        )
    })
}

/// `RegisterTaskDefinition` with `input` sent byte for byte as the request
/// body (set before signing); returns the new revision's ARN.
pub async fn register_task_definition(
    client: &aws_sdk_ecs::Client,
    input: &Json,
) -> Result<String, EcsError> {
    let family = input
        .get("family")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let body = serde_json::to_vec(input).map_err(|e| {
        EcsError::new(
            "RegisterTaskDefinition",
            EcsErrorKind::Other,
            format!("{family}: {e}"),
        )
    })?;
    aws::register_task_definition(client, &family, body).await
}

/// Where an in-use row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// A service deployment's task definition (PRIMARY, ACTIVE, …).
    Deployment,
    /// A running task.
    Task,
    /// A task that stopped recently (ECS lists stopped tasks for about an hour).
    #[serde(rename = "stopped-task")]
    StoppedTask,
    /// A service revision: the digests ECS resolved for a deployment, which
    /// its tasks and a rollback to it run (`DescribeServiceRevisions`).
    Revision,
    /// An ECS Managed Daemon revision: running now, or what a rollback of
    /// the daemon's latest deployment returns to (`DescribeDaemonRevisions`).
    Daemon,
}

impl ImageSource {
    /// Every source, for the check that [`ImageSource::name`] is the JSON name.
    pub const ALL: [ImageSource; 5] = [
        ImageSource::Deployment,
        ImageSource::Task,
        ImageSource::StoppedTask,
        ImageSource::Revision,
        ImageSource::Daemon,
    ];

    /// The name `ecs images` writes: `deployment`, `task`, `stopped-task`,
    /// `revision`, `daemon`.
    pub fn name(self) -> &'static str {
        match self {
            ImageSource::Deployment => "deployment",
            ImageSource::Task => "task",
            ImageSource::StoppedTask => "stopped-task",
            ImageSource::Revision => "revision",
            ImageSource::Daemon => "daemon",
        }
    }
}

/// One image a cluster uses: a row of `ecs images`, and what `lifecycle`
/// reads as "in use". The JSON field names are a contract (docs/ecs.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InUseImage {
    /// The cluster, as given.
    pub cluster: String,
    /// The service name; `-` for a task that belongs to no service.
    pub service: String,
    /// The task definition ARN, with its revision.
    pub task_definition: String,
    /// The container name.
    pub container: String,
    /// The image reference as written in the task definition.
    pub image: String,
    /// The digest running (a task's `imageDigest`), else the digest written in
    /// the reference, else `null`.
    pub digest: Option<String>,
    /// Where the row comes from.
    pub source: ImageSource,
    /// The service revision ARN, for a [`ImageSource::Revision`] row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_revision: Option<String>,
    /// The Managed Daemon's name, for a [`ImageSource::Daemon`] row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
    /// The daemon revision ARN, for a [`ImageSource::Daemon`] row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_revision: Option<String>,
    /// The platform the image must serve where ECS runs it: the service
    /// revision's `overrides.runtimePlatform`, else the task definition's
    /// `runtimePlatform` (Fargate's default linux/amd64 when it names no
    /// architecture), else a task's `ecs.cpu-architecture` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<crate::locate::DeclaredPlatform>,
}

impl InUseImage {
    /// A row of `cluster` with nothing but its image known yet.
    pub fn new(
        cluster: &str,
        source: ImageSource,
        image: &str,
        digest: Option<String>,
    ) -> InUseImage {
        InUseImage {
            cluster: cluster.to_string(),
            service: "-".to_string(),
            task_definition: String::new(),
            container: String::new(),
            image: image.to_string(),
            digest: digest.or_else(|| written_digest(image)),
            source,
            service_revision: None,
            daemon: None,
            daemon_revision: None,
            platform: None,
        }
    }
}

/// The JSON document `ecs images --format json` prints (and `lifecycle --in-use` reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesDocument {
    /// Schema version: 1.
    pub version: u32,
    /// `ecs images`.
    pub command: String,
    /// The cluster, as given.
    pub cluster: String,
    /// The rows.
    pub images: Vec<InUseImage>,
}

/// Every image `cluster` uses: each service's deployments (all of them, not
/// only PRIMARY) and each running task, for the services named in
/// `services` or, when it is empty, every service and every task of the
/// cluster. Rows are in discovery order, without duplicates.
pub async fn list_images(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    services: &[String],
) -> Result<Vec<InUseImage>, EcsError> {
    list_images_with(client, cluster, services).await
}

/// The digest written in a reference, if any.
fn written_digest(image: &str) -> Option<String> {
    ImageRef::parse(image)
        .ok()
        .and_then(|r| r.digest().map(ToString::to_string))
}

async fn all_pages<F, Fut>(mut call: F) -> Result<Vec<String>, EcsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page, EcsError>>,
{
    crate::aws::every_page(|next| {
        let page = call(next);
        async move { page.await.map(|p| (p.items, p.next)) }
    })
    .await
}

pub(crate) async fn list_images_with<A: EcsApi>(
    api: &A,
    cluster: &str,
    services: &[String],
) -> Result<Vec<InUseImage>, EcsError> {
    let names = if services.is_empty() {
        all_pages(|next| api.list_services(cluster, next)).await?
    } else {
        services.to_vec()
    };
    let mut described = Vec::new();
    for chunk in names.chunks(DESCRIBE_SERVICES_MAX) {
        let (found, missing) = api.describe_services(cluster, chunk).await?;
        // A service ListServices named and DescribeServices no longer finds
        // was deleted in between: it runs nothing (and a task it left still
        // running is listed below). Only a service the caller named is an error.
        if !missing.is_empty() && !services.is_empty() {
            return Err(EcsError::new(
                "DescribeServices",
                EcsErrorKind::NotFound,
                format!("not found in cluster {cluster}: {}", missing.join(", ")),
            ));
        }
        described.extend(found);
    }
    let revisions = service_revisions(api, cluster, &described).await?;
    let wanted = |service: &ServiceInfo| {
        let mut names = service.deployments.clone();
        names.extend(service.task_definition.clone());
        names
    };
    let cache = task_definitions(
        api,
        described.iter().flat_map(wanted).collect(),
        revisions
            .iter()
            .filter_map(|r| r.task_definition.clone())
            .collect(),
    )
    .await?;
    let platform_of = |name: &str| cache.get(name).and_then(|td| td.platform.clone());
    let mut rows: Vec<InUseImage> = Vec::new();
    for service in &described {
        for name in wanted(service) {
            let Some(td) = cache.get(&name) else {
                continue;
            };
            for (container, image) in &td.containers {
                rows.push(InUseImage {
                    service: service.name.clone(),
                    task_definition: td.arn.clone(),
                    container: container.clone(),
                    platform: td.platform.clone(),
                    ..InUseImage::new(cluster, ImageSource::Deployment, image, None)
                });
            }
        }
    }
    // A revision names the digest ECS resolved for a deployment's task
    // definition: the deployment row without one says nothing more.
    let revisions: Vec<InUseImage> = revisions
        .iter()
        .flat_map(|revision| {
            // The revision ARN names its service
            // (`…:service-revision/CLUSTER/SERVICE/ID`); so does `serviceArn`.
            let service = service_of_revision(&revision.arn)
                .or_else(|| {
                    let arn = revision.service_arn.as_deref()?;
                    arn.rsplit('/').next().map(str::to_string)
                })
                .unwrap_or_else(|| "-".to_string());
            let task_definition = revision.task_definition.clone().unwrap_or_default();
            let platform = overridden(
                platform_of(&task_definition),
                revision.cpu_architecture.as_deref(),
                "service revision overrides.runtimePlatform.cpuArchitecture",
            );
            revision
                .containers
                .iter()
                .map(move |(container, image, digest)| InUseImage {
                    service: service.clone(),
                    task_definition: task_definition.clone(),
                    container: container.clone(),
                    service_revision: Some(revision.arn.clone()),
                    platform: platform.clone(),
                    ..InUseImage::new(cluster, ImageSource::Revision, image, digest.clone())
                })
        })
        .collect();
    fn place(r: &InUseImage) -> (&str, &str, &str, &str) {
        (&r.service, &r.task_definition, &r.container, &r.image)
    }
    let resolved: HashSet<_> = revisions
        .iter()
        .filter(|r| r.digest.is_some())
        .map(place)
        .collect();
    rows.retain(|r| r.digest.is_some() || !resolved.contains(&place(r)));
    rows.extend(revisions);
    // ListTasks filters by service *name*; a service given by its ARN
    // (`arn:aws:ecs:…:service/CLUSTER/NAME`) is asked for by its name.
    let scopes: Vec<Option<&str>> = if services.is_empty() {
        vec![None]
    } else {
        services
            .iter()
            .map(|s| Some(s.rsplit('/').next().unwrap_or(s)))
            .collect()
    };
    // Running tasks, then the stopped ones ECS still lists (about an hour):
    // a task that crashed and is replaced runs the same image again.
    let listings = scopes
        .iter()
        .flat_map(|scope| [(*scope, false), (*scope, true)]);
    for (scope, stopped) in listings {
        let arns = all_pages(|next| api.list_tasks(cluster, scope, stopped, next)).await?;
        let source = if stopped {
            ImageSource::StoppedTask
        } else {
            ImageSource::Task
        };
        for chunk in arns.chunks(DESCRIBE_TASKS_MAX) {
            for task in api.describe_tasks(cluster, chunk).await? {
                let group = task.group.as_deref();
                let service = match (scope, group) {
                    (Some(name), Some(g)) => {
                        if g.strip_prefix("service:") != Some(name) {
                            // Not this service's task (moto ignores the serviceName filter).
                            continue;
                        }
                        name.to_string()
                    }
                    (Some(s), None) => s.to_string(),
                    (None, Some(g)) if g.starts_with("service:") => {
                        g["service:".len()..].to_string()
                    }
                    (None, _) => "-".to_string(),
                };
                let platform = overridden(
                    platform_of(&task.task_definition),
                    task.cpu_architecture.as_deref(),
                    "the running task's attribute ecs.cpu-architecture",
                );
                for (container, image, digest) in &task.containers {
                    rows.push(InUseImage {
                        service: service.clone(),
                        task_definition: task.task_definition.clone(),
                        container: container.clone(),
                        platform: platform.clone(),
                        ..InUseImage::new(cluster, source, image, digest.clone())
                    });
                }
            }
        }
    }
    // Managed Daemons belong to the cluster, not to a service.
    if services.is_empty() {
        rows.extend(daemon_rows(api, cluster).await?);
    }
    let mut seen = HashSet::new();
    rows.retain(|row| seen.insert(row.clone()));
    Ok(rows)
}

/// Each task definition named, described once, [`DESCRIBE_CONCURRENCY`] at
/// a time (a cluster of a few hundred services is seconds, not minutes),
/// keyed by the name asked and by its ARN. Those in `needed` must be
/// described; those in `optional` (the revisions' own, read for their
/// platform only) may be gone (deleted after deregistering).
async fn task_definitions<A: EcsApi>(
    api: &A,
    needed: Vec<String>,
    optional: Vec<String>,
) -> Result<HashMap<String, TaskDefinitionImages>, EcsError> {
    let mut unique: Vec<(String, bool)> = needed.into_iter().map(|n| (n, true)).collect();
    unique.extend(optional.into_iter().map(|n| (n, false)));
    let mut seen = HashSet::new();
    unique.retain(|(name, _)| seen.insert(name.clone()));
    let fetched: Vec<(String, bool, Result<TaskDefinitionImages, EcsError>)> =
        futures::stream::iter(unique)
            .map(|(name, needed)| async move {
                let td = api.task_definition(&name).await;
                (name, needed, td)
            })
            .buffered(DESCRIBE_CONCURRENCY)
            .collect()
            .await;
    let mut cache = HashMap::new();
    for (name, needed, td) in fetched {
        let td = match td {
            Ok(td) => td,
            Err(e) if needed => return Err(e),
            Err(_) => continue,
        };
        cache.insert(td.arn.clone(), td.clone());
        cache.insert(name, td);
    }
    Ok(cache)
}

/// `platform` with its architecture replaced by `arch` where ECS says it
/// runs another one (a service revision's override, a task's attribute).
fn overridden(
    platform: Option<crate::locate::DeclaredPlatform>,
    arch: Option<&str>,
    what: &str,
) -> Option<crate::locate::DeclaredPlatform> {
    let Some(arch) = arch.map(str::trim).filter(|a| !a.is_empty()) else {
        return platform;
    };
    Some(crate::locate::DeclaredPlatform::of_arch(
        platform.and_then(|p| p.os),
        arch,
        format!("{what} {arch}"),
    ))
}

/// Every service revision in use: each service's current revisions, and
/// the source and target revisions of its current deployment (what a
/// rollback returns to), each described once.
async fn service_revisions<A: EcsApi>(
    api: &A,
    cluster: &str,
    services: &[ServiceInfo],
) -> Result<Vec<crate::aws::ecs::RevisionInfo>, EcsError> {
    let deployments: Vec<String> = services
        .iter()
        .filter_map(|s| s.current_deployment.clone())
        .collect();
    let current: Vec<String> = services
        .iter()
        .flat_map(|s| s.revisions.iter().cloned())
        .collect();
    described_once(
        current,
        &deployments,
        |chunk| async move { api.deployment_revisions(cluster, &chunk).await },
        |chunk| async move { api.service_revisions(cluster, &chunk).await },
    )
    .await
}

/// The revisions named in `current` and by the `deployments` (their
/// source, target and rollback-target revisions), each described once,
/// [`DESCRIBE_REVISIONS_MAX`] ARNs a call: service and daemon revisions alike.
async fn described_once<D, DF, R, RF>(
    mut wanted: Vec<String>,
    deployments: &[String],
    mut deployment: D,
    mut revisions: R,
) -> Result<Vec<crate::aws::ecs::RevisionInfo>, EcsError>
where
    D: FnMut(Vec<String>) -> DF,
    DF: std::future::Future<Output = Result<Vec<String>, EcsError>>,
    R: FnMut(Vec<String>) -> RF,
    RF: std::future::Future<Output = Result<Vec<crate::aws::ecs::RevisionInfo>, EcsError>>,
{
    for chunk in deployments.chunks(DESCRIBE_REVISIONS_MAX) {
        wanted.extend(deployment(chunk.to_vec()).await?);
    }
    let mut seen = HashSet::new();
    wanted.retain(|arn| seen.insert(arn.clone()));
    let mut out = Vec::new();
    for chunk in wanted.chunks(DESCRIBE_REVISIONS_MAX) {
        out.extend(revisions(chunk.to_vec()).await?);
    }
    Ok(out)
}

/// The rows of the cluster's ECS Managed Daemons: each daemon's current
/// revisions and the source, target and rollback-target revisions of its
/// latest deployment, with the digests ECS resolved. Managed Daemons run
/// only on ECS Managed Instances capacity providers (CreateDaemon's API
/// reference), so a cluster with none is not asked (`ListDaemons` needs
/// `ecs:ListDaemons`, and is not in every ECS endpoint imgpin is tested against).
async fn daemon_rows<A: EcsApi>(api: &A, cluster: &str) -> Result<Vec<InUseImage>, EcsError> {
    let (cluster_arn, providers) = api.cluster_capacity(cluster).await?;
    // FARGATE and FARGATE_SPOT are ECS's own, never Managed Instances.
    let others: Vec<String> = providers
        .into_iter()
        .filter(|p| !matches!(p.as_str(), "FARGATE" | "FARGATE_SPOT"))
        .collect();
    if others.is_empty() || !api.has_managed_instances(cluster, &others).await? {
        return Ok(Vec::new());
    }
    let daemons = all_pages(|next| api.list_daemons(&cluster_arn, next)).await?;
    let mut wanted = Vec::new();
    let mut deployments = Vec::new();
    for arn in &daemons {
        let daemon = api.describe_daemon(arn).await?;
        wanted.extend(daemon.revisions);
        deployments.extend(daemon.deployment);
    }
    let revisions = described_once(
        wanted,
        &deployments,
        |chunk| async move { api.daemon_deployment_revisions(cluster, &chunk).await },
        |chunk| async move { api.daemon_revisions(cluster, &chunk).await },
    )
    .await?;
    let mut rows = Vec::new();
    for revision in revisions {
        let daemon = revision
            .service_arn
            .as_deref()
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_string);
        for (container, image, digest) in &revision.containers {
            rows.push(InUseImage {
                task_definition: revision.task_definition.clone().unwrap_or_default(),
                container: container.clone(),
                daemon: daemon.clone(),
                daemon_revision: Some(revision.arn.clone()),
                ..InUseImage::new(cluster, ImageSource::Daemon, image, digest.clone())
            });
        }
    }
    Ok(rows)
}

/// The service a revision ARN names: `arn:…:service-revision/CLUSTER/SERVICE/ID`.
fn service_of_revision(arn: &str) -> Option<String> {
    let (_, path) = arn.split_once(":service-revision/")?;
    let mut parts = path.split('/');
    let (_cluster, service, _id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(service.to_string())
}

#[cfg(test)]
mod tests;
