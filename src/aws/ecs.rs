//! Amazon ECS through the SDK: the client (Region from `--region`, the ARN or
//! the chain), the task-definition calls that keep bodies byte for byte
//! (`DescribeTaskDefinition` read raw, `RegisterTaskDefinition` sent raw and
//! signed), and the calls behind `ecs images` as the small `EcsApi` trait,
//! so [`crate::ecs`]'s listing logic is unit-tested with fakes.
//!
//! Errors are [`EcsError`]: the action, its subject and ECS's answer, never
//! a credential.

use super::{BodyCapture, Failure, FailureKind, MAX_ATTEMPTS};
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::TaskDefinitionField;
use std::time::Duration;

/// `DescribeServices` takes at most this many services per call.
pub const DESCRIBE_SERVICES_MAX: usize = 10;
/// `DescribeTasks` takes at most this many tasks per call.
pub const DESCRIBE_TASKS_MAX: usize = 100;
/// `DescribeServiceDeployments` and `DescribeServiceRevisions` take at most
/// this many ARNs per call.
pub const DESCRIBE_REVISIONS_MAX: usize = 20;
/// What kind of failure an ECS call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcsErrorKind {
    /// The task definition, cluster or service does not exist.
    NotFound,
    /// The caller may not call the action.
    AccessDenied,
    /// Still throttled after the SDK's retries.
    Throttled,
    /// Anything else (network, credentials, bad answer).
    Other,
}

/// A failed ECS call, naming the action and its subject (never a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ecs:{action}: {message}")]
pub struct EcsError {
    /// The API action, e.g. `DescribeTaskDefinition`.
    pub action: &'static str,
    /// What kind of failure.
    pub kind: EcsErrorKind,
    /// What went wrong, in words.
    pub message: String,
}

impl EcsError {
    pub(crate) fn new(
        action: &'static str,
        kind: EcsErrorKind,
        message: impl Into<String>,
    ) -> EcsError {
        EcsError {
            action,
            kind,
            message: message.into(),
        }
    }
}

/// Word a failed call for the user: the action, the subject, and ECS's answer.
fn map_sdk<E>(action: &'static str, subject: &str, err: SdkError<E, HttpResponse>) -> EcsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map_failure(action, subject, &Failure::of(&err))
}

fn map_failure(action: &'static str, subject: &str, failure: &Failure) -> EcsError {
    let FailureKind::Service { code, message, .. } = &failure.kind else {
        let message = format!("{subject}: {}", failure.detail);
        return EcsError::new(action, EcsErrorKind::Other, message);
    };
    let code = if code.is_empty() { "Unknown" } else { code };
    let text = message.as_str();
    let answer = format!("{code}: {text}");
    let (kind, message) = match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => (
            EcsErrorKind::AccessDenied,
            format!("access denied for {subject}: the caller needs permission for ecs:{action} ({answer})"),
        ),
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => (
            EcsErrorKind::Throttled,
            format!("{subject}: still throttled after {MAX_ATTEMPTS} attempts ({answer})"),
        ),
        "ClusterNotFoundException" => (
            EcsErrorKind::NotFound,
            format!("cluster {subject} not found in this region ({answer})"),
        ),
        "ServiceNotFoundException" => (
            EcsErrorKind::NotFound,
            format!("service not found in cluster {subject} ({answer})"),
        ),
        "ClientException" if text.contains("Unable to describe task definition") => (
            EcsErrorKind::NotFound,
            format!("task definition {subject} not found: check the family, the revision and the region ({answer})"),
        ),
        _ => (EcsErrorKind::Other, format!("{subject}: {answer}")),
    };
    EcsError::new(action, kind, message)
}

/// An ECS client from the AWS default chain, with `region` and `profile`
/// overriding it, standard retries ([`MAX_ATTEMPTS`]) and `timeout` per attempt.
pub async fn client(
    region: Option<&str>,
    profile: Option<&str>,
    timeout: Duration,
) -> Result<aws_sdk_ecs::Client, EcsError> {
    let base = super::regional_config(profile, region)
        .await
        .map_err(|e| EcsError::new("configuration", EcsErrorKind::Other, e))?;
    Ok(super::client_of!(aws_sdk_ecs, &base, timeout))
}

/// Every cluster ARN of the client's account and Region (`ListClusters`,
/// every page), for `--all-clusters`.
pub async fn list_clusters(client: &aws_sdk_ecs::Client) -> Result<Vec<String>, EcsError> {
    let region = client
        .config()
        .region()
        .map_or_else(|| "this region".to_owned(), ToString::to_string);
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let out = client
            .list_clusters()
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| map_sdk("ListClusters", &format!("the clusters of {region}"), e))?;
        arns.extend(out.cluster_arns().iter().cloned());
        match out.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => return Ok(arns),
        }
    }
}

/// The region an ECS ARN names (`arn:aws:ecs:REGION:ACCOUNT:…`), if it is one.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("ecs"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// `DescribeTaskDefinition` (with tags) of `FAMILY`, `FAMILY:REVISION` or an
/// ARN, keeping the answer exactly as ECS sent it.
pub async fn describe_task_definition(
    client: &aws_sdk_ecs::Client,
    name: &str,
) -> Result<Vec<u8>, EcsError> {
    const ACTION: &str = "DescribeTaskDefinition";
    let capture = BodyCapture::default();
    let sent = client
        .describe_task_definition()
        .task_definition(name)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await;
    let body = match (sent, capture.take()) {
        // The typed answer is not used; a 2xx body the SDK's shapes reject
        // (a field type it does not expect) is still read raw.
        (Ok(_), Some(body)) | (Err(SdkError::ResponseError(_)), Some(body)) => body,
        (Err(e), _) => return Err(map_sdk(ACTION, name, e)),
        (Ok(_), None) => {
            return Err(EcsError::new(
                ACTION,
                EcsErrorKind::Other,
                format!("{name}: the answer body could not be read"),
            ))
        }
    };
    Ok(body)
}

/// `RegisterTaskDefinition` of `family` with `body` sent byte for byte as
/// the request body (set before signing); returns the new revision's ARN.
pub async fn register_task_definition(
    client: &aws_sdk_ecs::Client,
    family: &str,
    body: Vec<u8>,
) -> Result<String, EcsError> {
    const ACTION: &str = "RegisterTaskDefinition";
    let family = family.to_string();
    let out = client
        .register_task_definition()
        .family(&family)
        .customize()
        .mutate_request(move |request| {
            let length = body.len().to_string();
            *request.body_mut() = body.clone().into();
            request.headers_mut().insert("content-length", length);
        })
        .send()
        .await
        .map_err(|e| map_sdk(ACTION, &family, e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| {
            EcsError::new(
                ACTION,
                EcsErrorKind::Other,
                format!("{family}: the answer names no taskDefinitionArn"),
            )
        })
}

/// One page of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) items: Vec<String>,
    pub(crate) next: Option<String>,
}

/// What the listing needs of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServiceInfo {
    pub(crate) name: String,
    /// `currentServiceRevisions[].arn`: the service revisions tasks run now.
    pub(crate) revisions: Vec<String>,
    /// `currentServiceDeployment`: the deployment whose source revisions a
    /// rollback returns to.
    pub(crate) current_deployment: Option<String>,
    /// `service.taskDefinition` (may be a short name: moto stores what UpdateService got).
    pub(crate) task_definition: Option<String>,
    /// Every deployment's `taskDefinition`, PRIMARY first as ECS lists them,
    /// then every task set's (CODE_DEPLOY and EXTERNAL deployment controllers).
    pub(crate) deployments: Vec<String>,
}

/// What the listing needs of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskInfo {
    pub(crate) task_definition: String,
    pub(crate) group: Option<String>,
    /// (name, image, imageDigest).
    pub(crate) containers: Vec<(String, String, Option<String>)>,
    /// The task's `ecs.cpu-architecture` attribute (Fargate sets it).
    pub(crate) cpu_architecture: Option<String>,
}

/// What the listing needs of a service revision: the digests ECS resolved
/// for it (`containerImages[]`), which its tasks and a rollback to it run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RevisionInfo {
    pub(crate) arn: String,
    pub(crate) service_arn: Option<String>,
    pub(crate) task_definition: Option<String>,
    /// (container name, image, imageDigest).
    pub(crate) containers: Vec<(String, String, Option<String>)>,
    /// `overrides.runtimePlatform.cpuArchitecture`: the architecture ECS
    /// runs this revision's tasks on where it differs from the task
    /// definition's.
    pub(crate) cpu_architecture: Option<String>,
}

/// What the listing needs of a task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskDefinitionImages {
    pub(crate) arn: String,
    /// (container name, image).
    pub(crate) containers: Vec<(String, String)>,
    /// The platform its `runtimePlatform` (or Fargate's default) requires.
    pub(crate) platform: Option<crate::locate::DeclaredPlatform>,
}

/// What the listing needs of an ECS Managed Daemon (`DescribeDaemon`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DaemonInfo {
    pub(crate) arn: String,
    /// `currentRevisions[].arn`: the daemon revisions running now.
    pub(crate) revisions: Vec<String>,
    /// `deploymentArn`: the latest deployment, whose source revisions and
    /// rollback target a rollback returns to.
    pub(crate) deployment: Option<String>,
}

/// The ECS calls behind `ecs images`; the SDK client in production, fakes in tests.
pub(crate) trait EcsApi {
    /// One page of `ListServices`.
    async fn list_services(&self, cluster: &str, next: Option<String>) -> Result<Page, EcsError>;
    /// `DescribeServices` of at most [`DESCRIBE_SERVICES_MAX`] names: found services and missing names.
    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<(Vec<ServiceInfo>, Vec<String>), EcsError>;
    /// One page of `ListTasks` (RUNNING, or STOPPED when `stopped`),
    /// optionally for one service.
    async fn list_tasks(
        &self,
        cluster: &str,
        service: Option<&str>,
        stopped: bool,
        next: Option<String>,
    ) -> Result<Page, EcsError>;
    /// `DescribeTasks` of at most [`DESCRIBE_TASKS_MAX`] ARNs.
    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskInfo>, EcsError>;
    /// `DescribeTaskDefinition` of a name or ARN.
    async fn task_definition(&self, name: &str) -> Result<TaskDefinitionImages, EcsError>;
    /// `DescribeServiceDeployments` of at most [`DESCRIBE_REVISIONS_MAX`]
    /// ARNs: every source and target service revision ARN they name.
    async fn deployment_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError>;
    /// `DescribeServiceRevisions` of at most [`DESCRIBE_REVISIONS_MAX`] ARNs.
    async fn service_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError>;
    /// `DescribeClusters` of one cluster: its ARN and the names of the
    /// capacity providers associated with it.
    async fn cluster_capacity(&self, cluster: &str) -> Result<(String, Vec<String>), EcsError>;
    /// `DescribeCapacityProviders` of `names` in `cluster`: whether one is
    /// an ECS Managed Instances capacity provider (the only kind Managed
    /// Daemons run on).
    async fn has_managed_instances(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<bool, EcsError>;
    /// One page of `ListDaemons` of a cluster (by ARN).
    async fn list_daemons(&self, cluster_arn: &str, next: Option<String>)
        -> Result<Page, EcsError>;
    /// `DescribeDaemon` of one daemon ARN.
    async fn describe_daemon(&self, arn: &str) -> Result<DaemonInfo, EcsError>;
    /// `DescribeDaemonDeployments` of at most [`DESCRIBE_REVISIONS_MAX`]
    /// ARNs: every source, target and rollback-target revision they name.
    async fn daemon_deployment_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError>;
    /// `DescribeDaemonRevisions` of at most [`DESCRIBE_REVISIONS_MAX`] ARNs
    /// ([`RevisionInfo::service_arn`] is the daemon's ARN,
    /// [`RevisionInfo::task_definition`] its daemon task definition).
    async fn daemon_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError>;
}

impl EcsApi for aws_sdk_ecs::Client {
    async fn list_services(&self, cluster: &str, next: Option<String>) -> Result<Page, EcsError> {
        let out = self
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| map_sdk("ListServices", cluster, e))?;
        Ok(Page {
            items: out.service_arns().to_vec(),
            next: out.next_token().map(str::to_string),
        })
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<(Vec<ServiceInfo>, Vec<String>), EcsError> {
        let out = self
            .describe_services()
            .cluster(cluster)
            .set_services(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeServices", cluster, e))?;
        let services = out
            .services()
            .iter()
            .map(|s| ServiceInfo {
                name: s.service_name().unwrap_or("-").to_string(),
                revisions: s
                    .current_service_revisions()
                    .iter()
                    .filter_map(|r| r.arn())
                    .map(str::to_string)
                    .collect(),
                current_deployment: s.current_service_deployment().map(str::to_string),
                task_definition: s.task_definition().map(str::to_string),
                // A CODE_DEPLOY or EXTERNAL service has no deployments: its
                // task sets (blue and green) carry the task definitions.
                deployments: s
                    .deployments()
                    .iter()
                    .filter_map(|d| d.task_definition())
                    .chain(s.task_sets().iter().filter_map(|t| t.task_definition()))
                    .map(str::to_string)
                    .collect(),
            })
            .collect();
        let missing = out
            .failures()
            .iter()
            .map(|f| {
                let arn = f.arn().unwrap_or("?");
                format!("{arn} ({})", f.reason().unwrap_or("failure"))
            })
            .collect();
        Ok((services, missing))
    }

    async fn list_tasks(
        &self,
        cluster: &str,
        service: Option<&str>,
        stopped: bool,
        next: Option<String>,
    ) -> Result<Page, EcsError> {
        let status = if stopped {
            aws_sdk_ecs::types::DesiredStatus::Stopped
        } else {
            aws_sdk_ecs::types::DesiredStatus::Running
        };
        let out = self
            .list_tasks()
            .cluster(cluster)
            .desired_status(status)
            .set_service_name(service.map(str::to_string))
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| map_sdk("ListTasks", cluster, e))?;
        Ok(Page {
            items: out.task_arns().to_vec(),
            next: out.next_token().map(str::to_string),
        })
    }

    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskInfo>, EcsError> {
        // Read from the raw answer: the few fields needed, and an answer
        // whose other fields do not fit the SDK's shapes (moto sends
        // `containers[].cpu` as a number) is still usable.
        const ACTION: &str = "DescribeTasks";
        let capture = BodyCapture::default();
        let sent = self
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()))
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let body = capture.take();
        match (sent, body) {
            (Ok(_), Some(body)) | (Err(SdkError::ResponseError(_)), Some(body)) => {
                tasks_from_answer(&body).map_err(|e| {
                    EcsError::new(ACTION, EcsErrorKind::Other, format!("{cluster}: {e}"))
                })
            }
            (Err(e), _) => Err(map_sdk(ACTION, cluster, e)),
            (Ok(_), None) => Err(EcsError::new(
                ACTION,
                EcsErrorKind::Other,
                format!("{cluster}: the answer body could not be read"),
            )),
        }
    }

    async fn task_definition(&self, name: &str) -> Result<TaskDefinitionImages, EcsError> {
        let out = self
            .describe_task_definition()
            .task_definition(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeTaskDefinition", name, e))?;
        let td = out.task_definition().ok_or_else(|| {
            EcsError::new(
                "DescribeTaskDefinition",
                EcsErrorKind::Other,
                format!("{name}: the answer has no taskDefinition"),
            )
        })?;
        let runtime = td.runtime_platform();
        let fargate = td
            .requires_compatibilities()
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case("FARGATE"));
        Ok(TaskDefinitionImages {
            arn: td.task_definition_arn().unwrap_or(name).to_string(),
            containers: td
                .container_definitions()
                .iter()
                .filter_map(|c| Some((c.name().unwrap_or("-").to_string(), c.image()?.to_string())))
                .collect(),
            platform: crate::locate::task_platform(
                runtime
                    .and_then(|r| r.cpu_architecture())
                    .map(|a| a.as_str()),
                runtime
                    .and_then(|r| r.operating_system_family())
                    .map(|f| f.as_str()),
                fargate,
            ),
        })
    }

    async fn deployment_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError> {
        let out = self
            .describe_service_deployments()
            .set_service_deployment_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeServiceDeployments", cluster, e))?;
        let mut revisions = Vec::new();
        for d in out.service_deployments() {
            revisions.extend(
                d.source_service_revisions()
                    .iter()
                    .filter_map(|r| r.arn())
                    .map(str::to_string),
            );
            revisions.extend(
                d.target_service_revision()
                    .and_then(|r| r.arn())
                    .map(str::to_string),
            );
        }
        Ok(revisions)
    }

    async fn service_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError> {
        let out = self
            .describe_service_revisions()
            .set_service_revision_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeServiceRevisions", cluster, e))?;
        Ok(out
            .service_revisions()
            .iter()
            .map(|r| RevisionInfo {
                arn: r.service_revision_arn().unwrap_or("?").to_string(),
                service_arn: r.service_arn().map(str::to_string),
                task_definition: r.task_definition().map(str::to_string),
                containers: r
                    .container_images()
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c.container_name().unwrap_or("-").to_string(),
                            c.image()?.to_string(),
                            c.image_digest().map(str::to_string),
                        ))
                    })
                    .collect(),
                cpu_architecture: r
                    .overrides()
                    .and_then(|o| o.runtime_platform())
                    .and_then(|p| p.cpu_architecture())
                    .map(str::to_string),
            })
            .collect())
    }

    async fn cluster_capacity(&self, cluster: &str) -> Result<(String, Vec<String>), EcsError> {
        let out = self
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeClusters", cluster, e))?;
        let found = out.clusters().first().ok_or_else(|| {
            EcsError::new(
                "DescribeClusters",
                EcsErrorKind::NotFound,
                format!("cluster {cluster} not found"),
            )
        })?;
        Ok((
            found.cluster_arn().unwrap_or(cluster).to_string(),
            found.capacity_providers().to_vec(),
        ))
    }

    async fn has_managed_instances(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<bool, EcsError> {
        let pages = super::every_page(|next| async move {
            let out = self
                .describe_capacity_providers()
                .set_capacity_providers(Some(names.to_vec()))
                .cluster(cluster)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk("DescribeCapacityProviders", cluster, e))?;
            let managed = out.capacity_providers().iter().any(|p| {
                p.managed_instances_provider().is_some()
                    || matches!(
                        p.r#type(),
                        Some(aws_sdk_ecs::types::CapacityProviderType::ManagedInstances)
                    )
            });
            Ok((vec![managed], out.next_token().map(str::to_string)))
        })
        .await?;
        Ok(pages.contains(&true))
    }

    async fn list_daemons(
        &self,
        cluster_arn: &str,
        next: Option<String>,
    ) -> Result<Page, EcsError> {
        let out = self
            .list_daemons()
            .cluster_arn(cluster_arn)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| map_sdk("ListDaemons", cluster_arn, e))?;
        Ok(Page {
            items: out
                .daemon_summaries_list()
                .iter()
                .filter_map(|d| d.daemon_arn())
                .map(str::to_string)
                .collect(),
            next: out.next_token().map(str::to_string),
        })
    }

    async fn describe_daemon(&self, arn: &str) -> Result<DaemonInfo, EcsError> {
        let out = self
            .describe_daemon()
            .daemon_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDaemon", arn, e))?;
        let Some(daemon) = out.daemon() else {
            return Ok(DaemonInfo {
                arn: arn.to_string(),
                ..DaemonInfo::default()
            });
        };
        Ok(DaemonInfo {
            arn: daemon.daemon_arn().unwrap_or(arn).to_string(),
            revisions: daemon
                .current_revisions()
                .iter()
                .filter_map(|r| r.arn())
                .map(str::to_string)
                .collect(),
            deployment: daemon.deployment_arn().map(str::to_string),
        })
    }

    async fn daemon_deployment_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<String>, EcsError> {
        let out = self
            .describe_daemon_deployments()
            .set_daemon_deployment_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDaemonDeployments", cluster, e))?;
        let mut revisions = Vec::new();
        for d in out.daemon_deployments() {
            revisions.extend(
                d.source_daemon_revisions()
                    .iter()
                    .filter_map(|r| r.arn())
                    .map(str::to_string),
            );
            revisions.extend(
                d.target_daemon_revision()
                    .and_then(|r| r.arn())
                    .map(str::to_string),
            );
            revisions.extend(
                d.rollback()
                    .and_then(|r| r.rollback_target_daemon_revision_arn())
                    .map(str::to_string),
            );
        }
        Ok(revisions)
    }

    async fn daemon_revisions(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<RevisionInfo>, EcsError> {
        let out = self
            .describe_daemon_revisions()
            .set_daemon_revision_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDaemonRevisions", cluster, e))?;
        Ok(out
            .daemon_revisions()
            .iter()
            .map(|r| RevisionInfo {
                arn: r.daemon_revision_arn().unwrap_or("?").to_string(),
                service_arn: r.daemon_arn().map(str::to_string),
                task_definition: r.daemon_task_definition_arn().map(str::to_string),
                containers: r
                    .container_images()
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c.container_name().unwrap_or("-").to_string(),
                            c.image()?.to_string(),
                            c.image_digest().map(str::to_string),
                        ))
                    })
                    .collect(),
                cpu_architecture: None,
            })
            .collect())
    }
}

/// The tasks of a `DescribeTasks` answer body.
fn tasks_from_answer(body: &[u8]) -> Result<Vec<TaskInfo>, String> {
    let answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let text =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
    let empty = Vec::new();
    let tasks = answer
        .get("tasks")
        .and_then(|t| t.as_array())
        .unwrap_or(&empty);
    Ok(tasks
        .iter()
        .map(|t| TaskInfo {
            task_definition: text(t, "taskDefinitionArn").unwrap_or_else(|| "-".to_string()),
            group: text(t, "group"),
            cpu_architecture: t
                .get("attributes")
                .and_then(|a| a.as_array())
                .unwrap_or(&empty)
                .iter()
                .find(|a| text(a, "name").as_deref() == Some("ecs.cpu-architecture"))
                .and_then(|a| text(a, "value")),
            containers: t
                .get("containers")
                .and_then(|c| c.as_array())
                .unwrap_or(&empty)
                .iter()
                .map(|c| {
                    (
                        text(c, "name").unwrap_or_else(|| "-".to_string()),
                        text(c, "image").unwrap_or_default(),
                        text(c, "imageDigest"),
                    )
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(family_rev: &str) -> String {
        format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family_rev}")
    }

    #[test]
    fn arn_region_reads_only_ecs_arns() {
        assert_eq!(arn_region(&arn("web:1")), Some("us-east-1"));
        assert_eq!(arn_region("web:1"), None);
        assert_eq!(arn_region("arn:aws:iam::1:role/x"), None);
    }

    #[test]
    fn service_errors_name_the_action_and_the_permission() {
        use aws_sdk_ecs::error::ErrorMetadata;
        use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
        let err = |code: &str, message: &str| {
            let e = DescribeTaskDefinitionError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            );
            map_sdk(
                "DescribeTaskDefinition",
                "web:3",
                SdkError::service_error(e, HttpResponse::new(400.try_into().unwrap(), "".into())),
            )
        };
        let denied = err(
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/ci is not authorized",
        );
        assert_eq!(denied.kind, EcsErrorKind::AccessDenied);
        assert!(
            denied.to_string().starts_with(
                "ecs:DescribeTaskDefinition: access denied for web:3: the caller needs permission for ecs:DescribeTaskDefinition"
            ),
            "{denied}"
        );
        let missing = err("ClientException", "Unable to describe task definition.");
        assert_eq!(missing.kind, EcsErrorKind::NotFound);
        assert!(
            missing
                .to_string()
                .contains("task definition web:3 not found"),
            "{missing}"
        );
        let throttled = err("ThrottlingException", "Rate exceeded");
        assert_eq!(throttled.kind, EcsErrorKind::Throttled);
        assert!(
            throttled
                .to_string()
                .contains("still throttled after 5 attempts"),
            "{throttled}"
        );
        let other = err("ClientException", "Invalid revision");
        assert_eq!(other.kind, EcsErrorKind::Other);
        assert_eq!(
            other.to_string(),
            "ecs:DescribeTaskDefinition: web:3: ClientException: Invalid revision"
        );
    }

    #[test]
    fn describe_tasks_answers_are_read_raw() {
        let body = br#"{"tasks":[{"taskArn":"t","taskDefinitionArn":"arn:td/web:1","group":"service:web",
            "containers":[{"name":"app","image":"web:1","imageDigest":"sha256:ab","cpu":0}],
            "attributes":[{"name":"ecs.os-type","value":"linux"},{"name":"ecs.cpu-architecture","value":"arm64"}]}],"failures":[]}"#;
        let tasks = tasks_from_answer(body).unwrap();
        assert_eq!(
            tasks,
            vec![TaskInfo {
                task_definition: "arn:td/web:1".into(),
                group: Some("service:web".into()),
                containers: vec![("app".into(), "web:1".into(), Some("sha256:ab".into()))],
                cpu_architecture: Some("arm64".into()),
            }]
        );
        assert!(tasks_from_answer(b"<html>").is_err());
    }
}
