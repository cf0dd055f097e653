//! Amazon ECR through the SDK: one client per Region and endpoint flavour
//! ([`EcrClients`], from the registry host), the `BatchGetImage` request
//! resolution sends, and the lifecycle's live data ([`LiveEcr`]): the policy
//! text (`GetLifecyclePolicy`), every image (`DescribeImages`, all pages),
//! index children and manifests (`BatchGetImage` by digest) and adding a tag
//! to an existing manifest (`PutImage`).
//!
//! SDK types are turned into the pure [`crate::lifecycle`] model at once
//! ([`map_image_detail`]). Every error names the ECR action and the
//! repository, and carries the service's answer, never a credential.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, ImageStatusFilter};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::{Failure, FailureKind};
use crate::lifecycle::{ImageDetail, ImageStatus, LivePolicy};
use crate::reference::ecr::{EcrHost, Repo};

/// The most image ids `BatchGetImage` takes in one call.
pub const BATCH_SIZE: usize = 100;

/// What the image ids of a `BatchGetImage` call are: tags or manifest digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// `imageTag` ids: the tag of each reference (`latest` when none is written).
    Tag,
    /// `imageDigest` ids: the digest of each reference; references without one are left out.
    Digest,
}

/// ECR clients, one per (Region, FIPS, dual-stack) as the registry host names
/// them, built on one base configuration loaded on first use, so runs without
/// ECR references never touch the credential chain.
pub struct EcrClients {
    base: OnceCell<SdkConfig>,
    profile: Option<String>,
    timeout: Duration,
    clients: Mutex<HashMap<(String, bool, bool), aws_sdk_ecr::Client>>,
}

impl std::fmt::Debug for EcrClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcrClients")
            .field("profile", &self.profile)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EcrClients {
    /// Clients from the AWS default chain (or `profile`), `timeout` per attempt.
    pub fn new(profile: Option<String>, timeout: Duration) -> EcrClients {
        EcrClients {
            base: OnceCell::new(),
            profile,
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Clients built on `config` as given (endpoint, credentials, …) instead of
    /// the default chain; the Region still comes from each host.
    pub fn with_config(config: SdkConfig, timeout: Duration) -> EcrClients {
        let clients = EcrClients::new(None, timeout);
        // A fresh cell cannot be full.
        let _ = clients.base.set(config);
        clients
    }

    /// The profile the default chain is asked for, if one was named.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    async fn base(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| super::load_config(self.profile.as_deref(), None))
            .await
    }

    /// The client for `host`'s Region and endpoint flavour, standard retries
    /// ([`super::MAX_ATTEMPTS`]) and the per-attempt timeout.
    pub async fn client(&self, host: &EcrHost) -> aws_sdk_ecr::Client {
        let key = (host.region.clone(), host.fips, host.dual_stack);
        if let Some(client) = lock(&self.clients).get(&key) {
            return client.clone();
        }
        let base = self.base().await;
        let mut config = aws_sdk_ecr::config::Builder::from(base)
            .region(Region::new(host.region.clone()))
            .retry_config(super::retries())
            .timeout_config(super::timeouts(base, self.timeout));
        if host.fips {
            config = config.use_fips(true);
        }
        if host.dual_stack {
            config = config.use_dual_stack(true);
        }
        let client = aws_sdk_ecr::Client::from_conf(config.build());
        lock(&self.clients).entry(key).or_insert(client).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A `BatchGetImage` request for `ids` (tags or digests, per `kind`) in
/// `repository` of `account`, accepting every manifest type imgpin reads
/// (index types first, so a multi-arch tag answers with its index).
pub(crate) fn batch_get_image(
    client: &aws_sdk_ecr::Client,
    account: &str,
    repository: &str,
    kind: IdKind,
    ids: &[String],
) -> aws_sdk_ecr::operation::batch_get_image::builders::BatchGetImageFluentBuilder {
    let mut request = client
        .batch_get_image()
        .registry_id(account)
        .repository_name(repository);
    for id in ids {
        let image_id = match kind {
            IdKind::Tag => ImageIdentifier::builder().image_tag(id),
            IdKind::Digest => ImageIdentifier::builder().image_digest(id),
        };
        request = request.image_ids(image_id.build());
    }
    for media_type in crate::media::ACCEPTED {
        request = request.accepted_media_types(media_type);
    }
    request
}

/// A `DescribeImages` request for `digests` in `repository` of `account`,
/// whatever their storage class (`filter.imageStatus = ANY`: without it ECR
/// lists only ACTIVE images). ECR fails the whole call with
/// `ImageNotFoundException` when one of the digests is not there.
pub(crate) fn describe_images_by_digest(
    client: &aws_sdk_ecr::Client,
    account: &str,
    repository: &str,
    digests: &[String],
) -> aws_sdk_ecr::operation::describe_images::builders::DescribeImagesFluentBuilder {
    let mut request = client
        .describe_images()
        .registry_id(account)
        .repository_name(repository)
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        );
    for digest in digests {
        request = request.image_ids(ImageIdentifier::builder().image_digest(digest).build());
    }
    request
}

/// A failed ECR call: the action, the repository and what AWS (or the network) said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ECR {action} for {repo} failed: {message}")]
pub struct AwsError {
    /// The ECR action, e.g. `DescribeImages`.
    pub action: &'static str,
    /// The repository, as words.
    pub repo: String,
    /// AWS's error code and message, or the transport failure.
    pub message: String,
}

/// A manifest read back with `BatchGetImage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// `imageManifest`, verbatim.
    pub manifest: String,
    /// `imageManifestMediaType` (or the manifest's own `mediaType` when ECR leaves it out).
    pub media_type: Option<String>,
}

/// A repository's images as read from ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageList {
    /// The images, index children filled in.
    pub images: Vec<ImageDetail>,
    /// Images left out because DescribeImages gave no digest or push time.
    pub left_out: usize,
    /// Indexes whose manifest could not be read (`digest: reason`): their children are
    /// unknown, so they are neither in use nor guarded in the simulation.
    pub unread_indexes: Vec<String>,
}

/// What `PutImage` of an existing manifest under a new tag did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The tag was added.
    Tagged,
    /// The image already carries this tag (`ImageAlreadyExistsException`).
    AlreadyTagged,
}

/// Live ECR calls for lifecycle work, with one SDK client per region.
#[derive(Debug)]
pub struct LiveEcr {
    clients: EcrClients,
}

impl LiveEcr {
    /// Clients from the AWS default chain (or `profile`), with a per-attempt timeout.
    pub fn new(profile: Option<String>, timeout: Duration) -> LiveEcr {
        LiveEcr {
            clients: EcrClients::new(profile, timeout),
        }
    }

    /// Clients built on `config` as given (tests: the SDK's replay client).
    pub fn with_config(config: SdkConfig, timeout: Duration) -> LiveEcr {
        LiveEcr {
            clients: EcrClients::with_config(config, timeout),
        }
    }

    /// `GetLifecyclePolicy`; `Ok(None)` when the repository has no policy.
    pub async fn lifecycle_policy(&self, repo: &Repo) -> Result<Option<LivePolicy>, AwsError> {
        let client = self.clients.client(&repo.host).await;
        let answer = client
            .get_lifecycle_policy()
            .registry_id(&repo.host.account)
            .repository_name(&repo.repository)
            .send()
            .await;
        match answer {
            Ok(out) => Ok(Some(LivePolicy {
                text: out.lifecycle_policy_text().unwrap_or_default().to_owned(),
                last_evaluated_at: out.last_evaluated_at().and_then(to_chrono),
            })),
            Err(err) => {
                let failure = Failure::of(&err);
                if failure.code() == Some("LifecyclePolicyNotFoundException") {
                    return Ok(None);
                }
                Err(aws_error("GetLifecyclePolicy", repo, &failure))
            }
        }
    }

    /// The client for the caller's own registry in `region` (registry-level
    /// calls name no account).
    async fn registry_client(&self, region: &str) -> aws_sdk_ecr::Client {
        let host = EcrHost {
            account: String::new(),
            region: region.to_owned(),
            fips: false,
            dual_stack: false,
        };
        self.clients.client(&host).await
    }

    /// The replication rules of the caller's registry in `region`
    /// (`DescribeRegistry`), read from the raw answer so that fields the SDK
    /// model does not carry (`deleteReplication`) are kept.
    pub async fn replication(
        &self,
        region: &str,
    ) -> Result<crate::lifecycle::Replication, AwsError> {
        const ACTION: &str = "DescribeRegistry";
        let words = |message: String| AwsError {
            action: ACTION,
            repo: format!("the registry in {region}"),
            message,
        };
        let client = self.registry_client(region).await;
        let capture = super::BodyCapture::default();
        let sent = client
            .describe_registry()
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        if let Err(err) = sent {
            let failure = Failure::of(&err);
            return Err(words(failure.words("ecr:DescribeRegistry", "the registry")));
        }
        let body = capture
            .take()
            .ok_or_else(|| words("the answer body could not be read".to_owned()))?;
        crate::lifecycle::parse_describe_registry(&body, region).map_err(words)
    }

    /// The repository's tag mutability (`DescribeRepositories`).
    pub async fn tag_mutability(
        &self,
        repo: &Repo,
    ) -> Result<crate::lifecycle::protect::Mutability, AwsError> {
        use crate::lifecycle::protect::Mutability;
        use aws_sdk_ecr::types::ImageTagMutability as M;
        let client = self.clients.client(&repo.host).await;
        let out = client
            .describe_repositories()
            .registry_id(&repo.host.account)
            .repository_names(&repo.repository)
            .send()
            .await
            .map_err(|e| aws_error("DescribeRepositories", repo, &Failure::of(&e)))?;
        let Some(found) = out.repositories().first() else {
            return Ok(Mutability::Unknown("no repository in the answer".into()));
        };
        let filters: Vec<String> = found
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_owned())
            .collect();
        Ok(match found.image_tag_mutability() {
            Some(M::Mutable) | None => Mutability::Mutable,
            Some(M::Immutable) => Mutability::Immutable,
            Some(M::ImmutableWithExclusion) => Mutability::ImmutableWithExclusion(filters),
            Some(M::MutableWithExclusion) => Mutability::MutableWithExclusion(filters),
            Some(other) => Mutability::Unknown(other.as_str().to_owned()),
        })
    }

    /// The IAM principals the caller's registry in `region` excludes from
    /// pull-time updates (`ListPullTimeUpdateExclusions`, every page).
    pub async fn pull_time_exclusions(&self, region: &str) -> Result<Vec<String>, AwsError> {
        let client = self.registry_client(region).await;
        super::every_page(|next| {
            let sent = client
                .list_pull_time_update_exclusions()
                .max_results(1000)
                .set_next_token(next)
                .send();
            async move {
                let page = sent.await.map_err(|e| AwsError {
                    action: "ListPullTimeUpdateExclusions",
                    repo: format!("the registry in {region}"),
                    message: Failure::of(&e)
                        .words("ecr:ListPullTimeUpdateExclusions", "the registry"),
                })?;
                let found = page.pull_time_update_exclusions().to_vec();
                Ok((found, page.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    /// Every image of the repository, ACTIVE and ARCHIVED (`filter.imageStatus = ANY`),
    /// all pages, mapped with [`map_image_detail`]; each index gets its children from
    /// `BatchGetImage`.
    pub async fn describe_images(&self, repo: &Repo) -> Result<ImageList, AwsError> {
        let client = self.clients.client(&repo.host).await;
        let mut pages = client
            .describe_images()
            .registry_id(&repo.host.account)
            .repository_name(&repo.repository)
            .filter(
                DescribeImagesFilter::builder()
                    .image_status(ImageStatusFilter::Any)
                    .build(),
            )
            .max_results(1000)
            .into_paginator()
            .items()
            .send();
        let mut images = Vec::new();
        let mut left_out = 0;
        let mut unread = Vec::new();
        while let Some(item) = pages.next().await {
            let detail =
                item.map_err(|err| aws_error("DescribeImages", repo, &Failure::of(&err)))?;
            match map_image_detail(&detail) {
                Some(image) => images.push(image),
                None => left_out += 1,
            }
        }
        let indexes: Vec<String> = images
            .iter()
            .filter(|i| i.is_index())
            .map(|i| i.digest.clone())
            .collect();
        if !indexes.is_empty() {
            // Without BatchGetImage (a read-only role may lack it) the policy can still be
            // evaluated: the indexes' children are unknown, which the caller reports.
            let manifests = match self.manifests(repo, &indexes).await {
                Ok(m) => m,
                Err(e) => indexes
                    .iter()
                    .map(|d| (d.clone(), Err(e.message.clone())))
                    .collect(),
            };
            for image in images.iter_mut().filter(|i| i.is_index()) {
                match manifests.get(&image.digest) {
                    Some(Ok(fetched)) => image.manifests = index_children(&fetched.manifest),
                    Some(Err(reason)) => unread.push(format!("{}: {reason}", image.digest)),
                    None => unread.push(format!("{}: no answer", image.digest)),
                }
            }
        }
        Ok(ImageList {
            images,
            left_out,
            unread_indexes: unread,
        })
    }

    /// `BatchGetImage` by digest, [`BATCH_SIZE`] at a time: each digest's manifest, or the
    /// failure ECR reported for it.
    pub async fn manifests(
        &self,
        repo: &Repo,
        digests: &[String],
    ) -> Result<BTreeMap<String, Result<FetchedManifest, String>>, AwsError> {
        let client = self.clients.client(&repo.host).await;
        let mut out = BTreeMap::new();
        for chunk in digests.chunks(BATCH_SIZE) {
            let answer = batch_get_image(
                &client,
                &repo.host.account,
                &repo.repository,
                IdKind::Digest,
                chunk,
            )
            .send()
            .await
            .map_err(|err| aws_error("BatchGetImage", repo, &Failure::of(&err)))?;
            for image in answer.images() {
                let (Some(digest), Some(manifest)) = (
                    image.image_id().and_then(|id| id.image_digest()),
                    image.image_manifest(),
                ) else {
                    continue;
                };
                let media_type = image
                    .image_manifest_media_type()
                    .map(str::to_owned)
                    .or_else(|| own_media_type(manifest));
                out.insert(
                    digest.to_owned(),
                    Ok(FetchedManifest {
                        manifest: manifest.to_owned(),
                        media_type,
                    }),
                );
            }
            for failure in answer.failures() {
                if let Some(digest) = failure.image_id().and_then(|id| id.image_digest()) {
                    let code = failure.failure_code().map_or("unknown", |c| c.as_str());
                    let reason = failure.failure_reason().unwrap_or_default();
                    out.entry(digest.to_owned())
                        .or_insert_with(|| Err(format!("{code} {reason}").trim().to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// `PutImage` of `fetched` (an existing manifest, unchanged, with its media type) under
    /// `tag`, naming `digest` so ECR stores it as the same image. No layer is pushed.
    pub async fn put_tag(
        &self,
        repo: &Repo,
        digest: &str,
        tag: &str,
        fetched: &FetchedManifest,
    ) -> Result<PutOutcome, AwsError> {
        let client = self.clients.client(&repo.host).await;
        let mut request = client
            .put_image()
            .registry_id(&repo.host.account)
            .repository_name(&repo.repository)
            .image_manifest(&fetched.manifest)
            .image_tag(tag)
            .image_digest(digest);
        if let Some(media_type) = &fetched.media_type {
            request = request.image_manifest_media_type(media_type);
        }
        match request.send().await {
            Ok(_) => Ok(PutOutcome::Tagged),
            Err(err) => {
                let failure = Failure::of(&err);
                if failure.code() == Some("ImageAlreadyExistsException") {
                    return Ok(PutOutcome::AlreadyTagged);
                }
                Err(aws_error("PutImage", repo, &failure))
            }
        }
    }
}

/// Maps one SDK `ImageDetail` into the evaluator's model, keeping full timestamp
/// precision; `None` when it has no digest or no push time (nothing to evaluate).
pub fn map_image_detail(d: &aws_sdk_ecr::types::ImageDetail) -> Option<ImageDetail> {
    let digest = d.image_digest()?;
    let pushed_at = d.image_pushed_at().and_then(to_chrono)?;
    let mut image = ImageDetail::new(digest, d.image_tags().to_vec(), pushed_at);
    image.last_recorded_pull_time = d.last_recorded_pull_time().and_then(to_chrono);
    image.image_status = image_status(d);
    image.last_archived_at = d.last_archived_at().and_then(to_chrono);
    image.last_activated_at = d.last_activated_at().and_then(to_chrono);
    image.manifest_media_type = d.image_manifest_media_type().map(str::to_owned);
    image.artifact_media_type = d.artifact_media_type().map(str::to_owned);
    image.subject_manifest_digest = d.subject_manifest_digest().map(str::to_owned);
    Some(image)
}

/// An SDK `ImageDetail`'s storage status; ACTIVE when ECR leaves it out
/// (images listed before archive storage existed).
pub(crate) fn image_status(d: &aws_sdk_ecr::types::ImageDetail) -> ImageStatus {
    match d.image_status().map(|s| s.as_str()) {
        None | Some("ACTIVE") => ImageStatus::Active,
        Some("ARCHIVED") => ImageStatus::Archived,
        Some("ACTIVATING") => ImageStatus::Activating,
        Some(other) => ImageStatus::Other(other.to_owned()),
    }
}

/// The `manifests[].digest` of an index manifest (empty for anything else).
pub fn index_children(manifest: &str) -> Vec<String> {
    match crate::media::parse_manifest(manifest.as_bytes()) {
        Ok(crate::media::ManifestFacts::Index { children }) => {
            children.into_iter().map(|c| c.digest).collect()
        }
        _ => Vec::new(),
    }
}

/// The `mediaType` a manifest declares about itself.
fn own_media_type(manifest: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    value.get("mediaType")?.as_str().map(str::to_owned)
}

pub(crate) fn to_chrono(t: &aws_sdk_ecr::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Words for a failed call: AWS's code and message for a service error, else the SDK's
/// error chain (which never carries credentials), shortened.
fn aws_error(action: &'static str, repo: &Repo, failure: &Failure) -> AwsError {
    let message = match failure.kind {
        FailureKind::Timeout => {
            format!("the ECR API in {} did not answer in time", repo.host.region)
        }
        FailureKind::NoCredentials => {
            "no AWS credentials found; set AWS_PROFILE (or --aws-profile) or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`"
                .to_owned()
        }
        _ => failure.answer(),
    };
    AwsError {
        action,
        repo: repo.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::primitives::DateTime as SdkTime;
    use aws_sdk_ecr::types::ImageStatus as SdkStatus;

    #[test]
    fn sdk_image_detail_maps_every_field_with_full_precision() {
        let d = aws_sdk_ecr::types::ImageDetail::builder()
            .image_digest("sha256:aa")
            .image_tags("v1")
            .image_tags("latest")
            .image_pushed_at(SdkTime::from_fractional_secs(1_671_094_862, 0.25))
            .last_recorded_pull_time(SdkTime::from_secs(1_700_000_000))
            .image_status(SdkStatus::Archived)
            .last_archived_at(SdkTime::from_secs(1_700_000_100))
            .last_activated_at(SdkTime::from_secs(1_700_000_200))
            .image_manifest_media_type(crate::media::OCI_INDEX)
            .artifact_media_type("application/x")
            .subject_manifest_digest("sha256:bb")
            .build();
        let image = map_image_detail(&d).unwrap();
        assert_eq!(image.digest, "sha256:aa");
        assert_eq!(image.tags, ["v1", "latest"]);
        assert_eq!(
            image.pushed_at.to_rfc3339(),
            "2022-12-15T09:01:02.250+00:00"
        );
        assert_eq!(
            image.last_recorded_pull_time.unwrap().timestamp(),
            1_700_000_000
        );
        assert_eq!(image.image_status, ImageStatus::Archived);
        assert_eq!(image.last_archived_at.unwrap().timestamp(), 1_700_000_100);
        assert_eq!(image.last_activated_at.unwrap().timestamp(), 1_700_000_200);
        assert!(image.is_index());
        assert_eq!(image.artifact_media_type.as_deref(), Some("application/x"));
        assert_eq!(image.subject_manifest_digest.as_deref(), Some("sha256:bb"));
    }

    #[test]
    fn sdk_image_detail_defaults_and_gaps() {
        let untagged = aws_sdk_ecr::types::ImageDetail::builder()
            .image_digest("sha256:aa")
            .image_pushed_at(SdkTime::from_secs(10))
            .build();
        let image = map_image_detail(&untagged).unwrap();
        assert!(image.tags.is_empty());
        assert_eq!(image.image_status, ImageStatus::Active);
        let activating = aws_sdk_ecr::types::ImageDetail::builder()
            .image_digest("sha256:aa")
            .image_pushed_at(SdkTime::from_secs(10))
            .image_status(SdkStatus::Activating)
            .build();
        assert_eq!(
            map_image_detail(&activating).unwrap().image_status,
            ImageStatus::Activating
        );
        let no_time = aws_sdk_ecr::types::ImageDetail::builder()
            .image_digest("sha256:aa")
            .build();
        assert!(map_image_detail(&no_time).is_none());
        let no_digest = aws_sdk_ecr::types::ImageDetail::builder()
            .image_pushed_at(SdkTime::from_secs(10))
            .build();
        assert!(map_image_detail(&no_digest).is_none());
    }

    #[test]
    fn index_children_reads_manifest_digests() {
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[{"digest":"sha256:a1","platform":{}},{"digest":"sha256:b2"},{"size":3}]}"#;
        assert_eq!(index_children(index), ["sha256:a1", "sha256:b2"]);
        assert!(index_children(r#"{"layers":[]}"#).is_empty());
        assert!(index_children("not json").is_empty());
        assert_eq!(
            own_media_type(index).as_deref(),
            Some(crate::media::OCI_INDEX)
        );
    }
}
