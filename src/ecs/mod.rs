//! Live Amazon ECS: task definitions as registered, and the images a cluster runs.
//!
//! Two jobs, both I/O at the edge of the pipeline:
//!
//! - `ecs pin` reads a task definition with `DescribeTaskDefinition` and keeps
//!   the **raw answer body** (captured by an SDK interceptor after the
//!   response is read), so the register input it prints carries every field,
//!   in ECS's order, without mapping typed SDK structs back to JSON
//!   ([`taskdef`], [`json`]). `--register` sends that exact JSON: the request
//!   body is replaced before signing, so SigV4 covers it.
//! - `ecs images` walks services (every deployment, not only PRIMARY) and
//!   running tasks (whose `imageDigest` is the digest really running) and
//!   returns [`InUseImage`] rows, the in-use list `lifecycle` consumes.
//!   Task definitions are always resolved through `DescribeTaskDefinition`
//!   (cached per name), never by parsing the name.
//!
//! The SDK calls of the listing sit behind the small `EcsApi` trait, so
//! pagination, chunking and the deployment logic are unit-tested with fakes.

pub mod json;
pub mod taskdef;

use crate::reference::ImageRef;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecs::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::config::timeout::TimeoutConfig;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::TaskDefinitionField;
use futures::StreamExt;
use json::Json;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use taskdef::DescribedTaskDefinition;

/// `DescribeServices` takes at most this many services per call.
pub const DESCRIBE_SERVICES_MAX: usize = 10;
/// `DescribeTasks` takes at most this many tasks per call.
pub const DESCRIBE_TASKS_MAX: usize = 100;
/// Attempts per call (SDK standard retry: throttling and 5xx are retried with backoff).
pub const MAX_ATTEMPTS: u32 = 5;
/// How many `DescribeTaskDefinition` calls `ecs images` makes at once.
pub const DESCRIBE_CONCURRENCY: usize = 8;

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
    fn new(action: &'static str, kind: EcsErrorKind, message: impl Into<String>) -> EcsError {
        EcsError {
            action,
            kind,
            message: message.into(),
        }
    }
}

/// Word an SDK error for the user: the action, the subject, and ECS's answer.
fn map_sdk<E, R>(action: &'static str, subject: &str, err: SdkError<E, R>) -> EcsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let SdkError::ServiceError(service) = &err else {
        let message = format!("{subject}: {}", crate::report::error_chain(&err));
        return EcsError::new(action, EcsErrorKind::Other, message);
    };
    let e = service.err();
    let code = e.code().unwrap_or("Unknown");
    let text = e.message().unwrap_or("");
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let base = loader.load().await;
    // An empty AWS_REGION (a CI variable set to nothing) is no region either.
    if base.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        return Err(EcsError::new(
            "configuration",
            EcsErrorKind::Other,
            "no AWS region: pass --region, set AWS_REGION, or give the profile a region",
        ));
    }
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .operation_attempt_timeout(timeout)
        .build();
    let config = aws_sdk_ecs::config::Builder::from(&base)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts)
        .build();
    Ok(aws_sdk_ecs::Client::from_conf(config))
}

/// The region an ECS ARN names (`arn:aws:ecs:REGION:ACCOUNT:…`), if it is one.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("ecs"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// Keeps the body of a successful answer (read fully by the SDK before
/// deserialising, so `bytes()` is available after deserialisation).
#[derive(Debug, Clone, Default)]
struct BodyCapture(Arc<Mutex<Option<Vec<u8>>>>);

impl BodyCapture {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok().and_then(|mut b| b.take())
    }
}

impl Intercept for BodyCapture {
    fn name(&self) -> &'static str {
        "imgpin::ecs::BodyCapture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success() {
            if let (Some(bytes), Ok(mut slot)) = (response.body().bytes(), self.0.lock()) {
                *slot = Some(bytes.to_vec());
            }
        }
        Ok(())
    }
}

/// `DescribeTaskDefinition` (with tags) of `FAMILY`, `FAMILY:REVISION` or an
/// ARN, keeping the answer exactly as ECS sent it.
pub async fn describe_task_definition(
    client: &aws_sdk_ecs::Client,
    name: &str,
) -> Result<DescribedTaskDefinition, EcsError> {
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
    DescribedTaskDefinition::parse(&body)
        .map_err(|e| EcsError::new(ACTION, EcsErrorKind::Other, format!("{name}: {e}")))
}

/// `RegisterTaskDefinition` with `input` sent byte for byte as the request
/// body (set before signing); returns the new revision's ARN.
pub async fn register_task_definition(
    client: &aws_sdk_ecs::Client,
    input: &Json,
) -> Result<String, EcsError> {
    const ACTION: &str = "RegisterTaskDefinition";
    let family = input
        .get("family")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let body = serde_json::to_vec(input)
        .map_err(|e| EcsError::new(ACTION, EcsErrorKind::Other, format!("{family}: {e}")))?;
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

/// Where an in-use row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// A service deployment's task definition (PRIMARY, ACTIVE, …).
    Deployment,
    /// A running task.
    Task,
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

/// One page of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) items: Vec<String>,
    pub(crate) next: Option<String>,
}

/// What the listing needs of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceInfo {
    pub(crate) name: String,
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
}

/// What the listing needs of a task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskDefinitionImages {
    pub(crate) arn: String,
    /// (container name, image).
    pub(crate) containers: Vec<(String, String)>,
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
    /// One page of `ListTasks` (RUNNING), optionally for one service.
    async fn list_tasks(
        &self,
        cluster: &str,
        service: Option<&str>,
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
        next: Option<String>,
    ) -> Result<Page, EcsError> {
        let out = self
            .list_tasks()
            .cluster(cluster)
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
        Ok(TaskDefinitionImages {
            arn: td.task_definition_arn().unwrap_or(name).to_string(),
            containers: td
                .container_definitions()
                .iter()
                .filter_map(|c| Some((c.name().unwrap_or("-").to_string(), c.image()?.to_string())))
                .collect(),
        })
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
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut next = None;
    loop {
        let page = call(next).await?;
        items.extend(page.items);
        match page.next {
            // A token seen before would loop forever: stop.
            Some(token) if !token.is_empty() && seen.insert(token.clone()) => next = Some(token),
            _ => return Ok(items),
        }
    }
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
    // Each task definition once, DESCRIBE_CONCURRENCY at a time: a cluster
    // of a few hundred services is seconds, not minutes.
    let wanted = |service: &ServiceInfo| {
        let mut names = service.deployments.clone();
        names.extend(service.task_definition.clone());
        names
    };
    let mut unique: Vec<String> = described.iter().flat_map(wanted).collect();
    let mut seen_names = HashSet::new();
    unique.retain(|name| seen_names.insert(name.clone()));
    let fetched: Vec<(String, Result<TaskDefinitionImages, EcsError>)> =
        futures::stream::iter(unique)
            .map(|name| async move {
                let td = api.task_definition(&name).await;
                (name, td)
            })
            .buffered(DESCRIBE_CONCURRENCY)
            .collect()
            .await;
    let mut cache: HashMap<String, TaskDefinitionImages> = HashMap::new();
    for (name, td) in fetched {
        cache.insert(name, td?);
    }
    let mut rows: Vec<InUseImage> = Vec::new();
    for service in &described {
        for name in wanted(service) {
            let Some(td) = cache.get(&name) else {
                continue;
            };
            for (container, image) in &td.containers {
                rows.push(InUseImage {
                    cluster: cluster.to_string(),
                    service: service.name.clone(),
                    task_definition: td.arn.clone(),
                    container: container.clone(),
                    image: image.clone(),
                    digest: written_digest(image),
                    source: ImageSource::Deployment,
                });
            }
        }
    }
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
    for scope in scopes {
        let arns = all_pages(|next| api.list_tasks(cluster, scope, next)).await?;
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
                for (container, image, digest) in &task.containers {
                    rows.push(InUseImage {
                        cluster: cluster.to_string(),
                        service: service.clone(),
                        task_definition: task.task_definition.clone(),
                        container: container.clone(),
                        image: image.clone(),
                        digest: digest.clone().or_else(|| written_digest(image)),
                        source: ImageSource::Task,
                    });
                }
            }
        }
    }
    let mut seen = HashSet::new();
    rows.retain(|row| seen.insert(row.clone()));
    Ok(rows)
}

#[cfg(test)]
mod tests;
