//! The only home of the AWS SDK: configuration (the default credential chain,
//! `--aws-profile`, `AWS_ENDPOINT_URL`), clients per Region and endpoint
//! flavour, timeouts, retries, and the classification of SDK errors.
//!
//! Callers never see an SDK error type: each call returns imgpin's own types
//! or a [`Failure`], which the caller words for its user (ECR resolution in
//! [`crate::resolve::ecr`], the lifecycle's live data through [`ecr::LiveEcr`],
//! ECS through [`ecs`]). Nothing here prints, and no message carries a
//! credential: SDK errors are read through their `Display` chain only (their
//! `Debug` form would dump the raw response).

pub mod batch;
pub mod ecr;
pub mod ecs;
pub mod events;
pub mod lambda;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::config::timeout::TimeoutConfig;
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::error::BoxError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attempts per API call (the first plus retries) in the SDK's standard retry
/// mode: throttling, 5xx and transient network errors are retried with backoff.
pub const MAX_ATTEMPTS: u32 = 5;

/// The AWS SDK's default configuration chain (environment, `profile` or the
/// default profile, SSO, process credentials, instance metadata), with
/// `region` overriding the chain's Region when given.
pub async fn load_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

/// [`load_config`] for a client that needs a Region: an error in words when
/// neither `region` nor the chain names one (an empty `AWS_REGION`, a CI
/// variable set to nothing, is no Region either).
pub(crate) async fn regional_config(
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<SdkConfig, &'static str> {
    let base = load_config(profile, region).await;
    if base.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        return Err("no AWS region: pass --region, set AWS_REGION, or give the profile a region");
    }
    Ok(base)
}

/// The AWS configuration of each Region a run asks, loaded once per Region
/// (loading reads the profile files and may ask instance metadata), and the
/// ECS client of each: every live in-use source of one run shares them.
#[derive(Debug)]
pub struct Regional {
    profile: Option<String>,
    timeout: Duration,
    configs: std::collections::HashMap<Option<String>, SdkConfig>,
    ecs: std::collections::HashMap<Option<String>, aws_sdk_ecs::Client>,
}

impl Regional {
    /// Configurations from the default chain (or `profile`), `timeout` per attempt.
    pub fn new(profile: Option<&str>, timeout: Duration) -> Regional {
        Regional {
            profile: profile.map(str::to_owned),
            timeout,
            configs: Default::default(),
            ecs: Default::default(),
        }
    }

    /// The configuration for `region` (`None`: the chain's), loaded on first use.
    async fn config(&mut self, region: Option<&str>) -> Result<SdkConfig, &'static str> {
        let key = region.map(str::to_owned);
        if let Some(config) = self.configs.get(&key) {
            return Ok(config.clone());
        }
        let config = regional_config(self.profile.as_deref(), region).await?;
        self.configs.insert(key, config.clone());
        Ok(config)
    }

    /// The ECS client for `region`, made on first use.
    pub async fn ecs(
        &mut self,
        region: Option<&str>,
    ) -> Result<aws_sdk_ecs::Client, ecs::EcsError> {
        let key = region.map(str::to_owned);
        if let Some(client) = self.ecs.get(&key) {
            return Ok(client.clone());
        }
        let base = self
            .config(region)
            .await
            .map_err(|e| ecs::EcsError::new("configuration", ecs::EcsErrorKind::Other, e))?;
        let client = client_of!(aws_sdk_ecs, &base, self.timeout);
        self.ecs.insert(key, client.clone());
        Ok(client)
    }

    /// The container-image Lambda function versions of `region` ([`lambda::in_use`]).
    pub async fn lambda(
        &mut self,
        region: Option<&str>,
    ) -> Result<Vec<crate::in_use::InUseEntry>, String> {
        let base = self.config(region).await?;
        lambda::in_use(&client_of!(aws_sdk_lambda, &base, self.timeout)).await
    }

    /// The images of the latest Batch job definitions of `region` ([`batch::in_use`]).
    pub async fn batch(
        &mut self,
        region: Option<&str>,
    ) -> Result<Vec<crate::in_use::InUseEntry>, String> {
        let base = self.config(region).await?;
        batch::in_use(&client_of!(aws_sdk_batch, &base, self.timeout)).await
    }

    /// The ECS tasks EventBridge rules and schedules of `region` start
    /// ([`events::scheduled_tasks`]).
    pub async fn scheduled_tasks(
        &mut self,
        region: Option<&str>,
    ) -> Result<Vec<events::ScheduledTask>, String> {
        let base = self.config(region).await?;
        events::scheduled_tasks(&base, self.timeout).await
    }
}

/// A client of SDK crate `$sdk` on `$base` ([`SdkConfig`]) with imgpin's
/// standard retries and `$timeout` per attempt: one place for what every
/// service client shares.
macro_rules! client_of {
    ($sdk:ident, $base:expr, $timeout:expr) => {{
        let base: &aws_config::SdkConfig = $base;
        $sdk::Client::from_conf(
            $sdk::config::Builder::from(base)
                .retry_config($crate::aws::retries())
                .timeout_config($crate::aws::timeouts(base, $timeout))
                .build(),
        )
    }};
}
pub(crate) use client_of;

/// Every page of a paginated call: `call` gets the previous page's token
/// (`None` first) and answers the page's items and its next token. A token
/// seen before, or an empty one, ends the loop (a server that repeats a
/// token would otherwise loop forever).
pub(crate) async fn every_page<T, E, F, Fut>(mut call: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = None;
    loop {
        let (page, token) = call(next).await?;
        items.extend(page);
        match token {
            Some(token) if !token.is_empty() && seen.insert(token.clone()) => next = Some(token),
            _ => return Ok(items),
        }
    }
}

/// Standard retries, [`MAX_ATTEMPTS`] attempts.
pub(crate) fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// `timeout` per attempt, at most 10 s to connect, and the read timeout of
/// `base` kept when it sets one.
pub(crate) fn timeouts(base: &SdkConfig, timeout: Duration) -> TimeoutConfig {
    let mut timeouts = TimeoutConfig::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .operation_attempt_timeout(timeout);
    if let Some(read) = base.timeout_config().and_then(|t| t.read_timeout()) {
        timeouts = timeouts.read_timeout(read);
    }
    timeouts.build()
}

/// What went wrong with an AWS call, without SDK types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The error and its causes in words, shortened ([`crate::report::error_chain`]).
    pub detail: String,
}

/// The kinds of [`Failure`], in the order they are recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The service answered with an error.
    Service {
        /// The HTTP status.
        status: u16,
        /// AWS's error code (`AccessDeniedException`), empty when it sent none.
        code: String,
        /// AWS's message, trimmed; may be empty.
        message: String,
    },
    /// No credentials could be loaded from the chain.
    NoCredentials,
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached; `dns` when the name did not resolve.
    Unreachable {
        /// The host name did not resolve (a misspelt or unknown Region).
        dns: bool,
    },
    /// The request could not be built for the Region.
    BadRegion,
    /// An answer arrived that could not be read.
    Unreadable,
    /// Anything else.
    Other,
}

impl Failure {
    /// Classifies an SDK error.
    pub fn of<E>(err: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let chain = DisplayErrorContext(err).to_string();
        let kind = match err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                FailureKind::Service {
                    status: service.raw().status().as_u16(),
                    code: e.code().unwrap_or("").to_string(),
                    message: e.message().unwrap_or("").trim().to_string(),
                }
            }
            _ if is_credentials_error(&chain) => FailureKind::NoCredentials,
            SdkError::TimeoutError(_) => FailureKind::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => FailureKind::Timeout,
            SdkError::DispatchFailure(_) => FailureKind::Unreachable {
                dns: is_dns_error(&chain),
            },
            SdkError::ConstructionFailure(_) if chain.contains("region") => FailureKind::BadRegion,
            SdkError::ResponseError(_) => FailureKind::Unreadable,
            _ => FailureKind::Other,
        };
        Failure {
            kind,
            detail: crate::report::error_chain(err),
        }
    }

    /// AWS's error code, for a service error that has one.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Service { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// The failure in words for a call needing `permission`
    /// (`lambda:GetFunction`) on `subject` (`function api in us-east-1`):
    /// the permission when access was denied, the attempts when throttled,
    /// else the service's answer or what went wrong.
    pub fn words(&self, permission: &str, subject: &str) -> String {
        let answer = self.answer();
        match self.code() {
            Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation") => format!(
                "access denied for {subject}: the caller needs permission for {permission} ({answer})"
            ),
            Some(
                "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "RequestLimitExceeded",
            ) => format!("{subject}: still throttled after {MAX_ATTEMPTS} attempts ({answer})"),
            _ => format!("{subject}: {answer}"),
        }
    }

    /// `HTTP 400 Code: message` for a service error, else the detail.
    pub fn answer(&self) -> String {
        match &self.kind {
            FailureKind::Service {
                status,
                code,
                message,
            } => {
                let code = if code.is_empty() {
                    "(no error code)"
                } else {
                    code
                };
                if message.is_empty() {
                    format!("HTTP {status} {code}")
                } else {
                    format!("HTTP {status} {code}: {message}")
                }
            }
            _ => self.detail.clone(),
        }
    }
}

/// Whether an SDK error chain says no AWS credentials could be found.
pub(crate) fn is_credentials_error(chain: &str) -> bool {
    let c = chain.to_ascii_lowercase();
    c.contains("credential provider was not enabled")
        || c.contains("error occurred while loading credentials")
        || c.contains("credentials provider timed out")
        || c.contains("credentials provider was not properly configured")
        || c.contains("no credentials")
        || c.contains("failed to load credentials")
        || (c.contains("auth scheme") && c.contains("identity"))
}

fn is_dns_error(chain: &str) -> bool {
    let c = chain.to_ascii_lowercase();
    c.contains("dns error")
        || c.contains("failed to lookup address")
        || c.contains("name or service not known")
        || c.contains("no such host")
}

/// Keeps the body of a successful answer (read fully by the SDK before
/// deserialising, so `bytes()` is available after deserialisation): for
/// answers kept byte for byte, or read where the SDK's shapes are too strict.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyCapture(Arc<Mutex<Option<Vec<u8>>>>);

impl BodyCapture {
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok().and_then(|mut b| b.take())
    }
}

impl Intercept for BodyCapture {
    fn name(&self) -> &'static str {
        "imgpin::aws::BodyCapture"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_errors_are_recognised() {
        assert!(is_credentials_error(
            "dispatch failure: other: the credential provider was not enabled: no providers in chain provided credentials"
        ));
        assert!(!is_credentials_error(
            "dispatch failure: io error: connection refused"
        ));
        assert!(is_dns_error(
            "dispatch failure: io error: dns error: failed to lookup address information"
        ));
    }

    #[test]
    fn a_service_answer_reads_as_status_code_and_message() {
        let failure = |code: &str, message: &str| Failure {
            kind: FailureKind::Service {
                status: 400,
                code: code.into(),
                message: message.into(),
            },
            detail: String::new(),
        };
        assert_eq!(failure("X", "no").answer(), "HTTP 400 X: no");
        assert_eq!(
            failure("AccessDeniedException", "no").words("lambda:GetFunction", "function f"),
            "access denied for function f: the caller needs permission for lambda:GetFunction (HTTP 400 AccessDeniedException: no)"
        );
        assert_eq!(
            failure("TooManyRequestsException", "slow").words("lambda:ListFunctions", "the functions"),
            "the functions: still throttled after 5 attempts (HTTP 400 TooManyRequestsException: slow)"
        );
        assert_eq!(failure("X", "no").words("p", "s"), "s: HTTP 400 X: no");
        assert_eq!(failure("", "").answer(), "HTTP 400 (no error code)");
        assert_eq!(failure("", "").code(), None);
        assert_eq!(failure("X", "").code(), Some("X"));
    }
}
