//! Resolution of Amazon ECR references through the ECR API, in batches.
//!
//! A reference whose registry is an ECR host (`<account>.dkr.ecr.<region>.amazonaws.com`
//! and its China, FIPS and dual-stack spellings, see [`parse_ecr_host`]) is
//! not resolved with a HEAD on the registry: its tags are grouped by
//! account, region and repository and looked up with `BatchGetImage`, up to
//! [`BATCH_SIZE`] tags per call, which costs one API call per hundred tags
//! instead of a token exchange plus one request per tag. The manifest media
//! types accepted are the index types first, so a multi-arch image keeps its
//! index digest, as `docker pull` prints it; with `--platform` the
//! platform's child manifest is picked from the returned index.
//!
//! [`EcrResolver::digests_exist`] asks the same way by digest (`imageDigest`
//! ids, same batching, same call counter) whether pinned digests are still
//! in their repositories.
//!
//! The SDK clients come from [`crate::aws::ecr::EcrClients`]: credentials,
//! profile, endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ECR`) and the rest
//! from the AWS SDK's default chain, the region from the host. Throttled calls are retried by the SDK (standard mode, 5
//! attempts) before they count as [`ErrorKind::RateLimited`]. One failing
//! repository never stops the others, and no error message carries a
//! credential.

use super::oci::pick_platform;
use super::{digest_key, tag_key};
use super::{ErrorKind, Platform, RegistryOptions, Resolutions, Resolve, ResolveError, Resolved};
use crate::aws::ecr::{batch_get_image, describe_images_by_digest, EcrClients};
pub use crate::aws::ecr::{IdKind, BATCH_SIZE};
use crate::aws::{Failure, FailureKind, MAX_ATTEMPTS};
use crate::digest::Digest;
use crate::media::ManifestFacts;
pub use crate::reference::ecr::{is_ecr, parse_ecr_host, EcrHost};
use crate::reference::ImageRef;
use aws_config::SdkConfig;
use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::types::ImageFailureCode;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One repository in one registry: what a `BatchGetImage` call is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryKey {
    /// The registry host as the references spell it (their normalised domain).
    pub registry: String,
    /// The registry host, parsed.
    pub host: EcrHost,
    /// The repository name, e.g. `team/api`.
    pub repository: String,
}

impl IdKind {
    /// The id of `reference` of this kind, if it has one.
    fn id_of(self, reference: &ImageRef) -> Option<String> {
        match self {
            IdKind::Tag => Some(reference.tag_or_latest().to_string()),
            IdKind::Digest => reference.digest().map(ToString::to_string),
        }
    }

    /// The key answers are filed under: [`tag_key`] or [`digest_key`].
    fn key_of(self, repository: &RepositoryKey, id: &str) -> String {
        let sep = match self {
            IdKind::Tag => ':',
            IdKind::Digest => '@',
        };
        format!("{}/{}{sep}{id}", repository.registry, repository.repository)
    }

    /// `tag 1.4` / `digest sha256:…`, for messages.
    fn label(self, id: &str) -> String {
        match self {
            IdKind::Tag => format!("tag {id}"),
            IdKind::Digest => format!("digest {id}"),
        }
    }
}

/// One `BatchGetImage` call: up to [`BATCH_SIZE`] distinct ids of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The repository asked about.
    pub repository: RepositoryKey,
    /// What the ids are.
    pub kind: IdKind,
    /// The ids (tags or digests) asked for, distinct, sorted.
    pub ids: Vec<String>,
}

/// Groups references by repository and splits each repository's distinct
/// tags into batches of at most `size` (pure; `size` 0 counts as 1).
///
/// The second value holds the references that are not ECR references,
/// keyed by [`tag_key`]. The same as [`plan_id_batches`] with [`IdKind::Tag`].
pub fn plan_batches(
    references: &[ImageRef],
    size: usize,
) -> (Vec<Batch>, BTreeMap<String, ImageRef>) {
    plan_id_batches(references, size, IdKind::Tag)
}

/// Groups references by repository and splits each repository's distinct
/// ids of `kind` into batches of at most `size` (pure; `size` 0 counts as 1).
/// With [`IdKind::Digest`], references without a digest are left out.
///
/// The second value holds the references that are not ECR references (and
/// have an id of `kind`), keyed by [`tag_key`] or [`digest_key`].
pub fn plan_id_batches(
    references: &[ImageRef],
    size: usize,
    kind: IdKind,
) -> (Vec<Batch>, BTreeMap<String, ImageRef>) {
    let size = size.max(1);
    let mut groups: BTreeMap<RepositoryKey, BTreeSet<String>> = BTreeMap::new();
    let mut foreign = BTreeMap::new();
    for r in references {
        let Some(id) = kind.id_of(r) else {
            continue;
        };
        match parse_ecr_host(r.domain()) {
            Some(host) => {
                groups
                    .entry(RepositoryKey {
                        registry: r.domain().to_string(),
                        host,
                        repository: r.repository().to_string(),
                    })
                    .or_default()
                    .insert(id);
            }
            None => {
                let key = match kind {
                    IdKind::Tag => tag_key(r),
                    IdKind::Digest => digest_key(r).unwrap_or_default(),
                };
                foreign.insert(key, r.clone());
            }
        }
    }
    let mut batches = Vec::new();
    for (repository, ids) in groups {
        let ids: Vec<String> = ids.into_iter().collect();
        for chunk in ids.chunks(size) {
            batches.push(Batch {
                repository: repository.clone(),
                kind,
                ids: chunk.to_vec(),
            });
        }
    }
    (batches, foreign)
}

/// What `DescribeImages` says of a digest's storage class: `Ok(None)` when
/// it is pullable (ACTIVE) or not listed, `Ok(Some(words))` when it is
/// archived or being restored.
type Stored = Result<Option<String>, ResolveError>;

/// Resolves ECR references with `BatchGetImage`, one SDK client per region.
pub struct EcrResolver {
    clients: EcrClients,
    platform: Option<Platform>,
    jobs: usize,
    calls: AtomicUsize,
    describe_calls: AtomicUsize,
}

impl std::fmt::Debug for EcrResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcrResolver")
            .field("profile", &self.clients.profile())
            .field("platform", &self.platform)
            .field("jobs", &self.jobs)
            .field("batch_calls", &self.batch_calls())
            .finish_non_exhaustive()
    }
}

impl EcrResolver {
    /// A resolver using the AWS SDK's default configuration chain
    /// (environment, `profile` or the default profile, SSO, process
    /// credentials, instance metadata), loaded on first use so runs
    /// without ECR references never touch it. `options` gives `--platform`,
    /// `--jobs` and the per-request timeout.
    pub fn new(options: &RegistryOptions, profile: Option<String>) -> EcrResolver {
        EcrResolver::with_clients(EcrClients::new(profile, options.timeout), options)
    }

    fn with_clients(clients: EcrClients, options: &RegistryOptions) -> EcrResolver {
        EcrResolver {
            clients,
            platform: options.platform.clone(),
            jobs: options.jobs.max(1),
            calls: AtomicUsize::new(0),
            describe_calls: AtomicUsize::new(0),
        }
    }

    /// A resolver using `config` as given (endpoint, credentials, …) instead
    /// of the default chain; the region still comes from each host. For tests
    /// and embedding: nothing is read from the process environment.
    pub fn with_config(config: SdkConfig, options: &RegistryOptions) -> EcrResolver {
        EcrResolver::with_clients(EcrClients::with_config(config, options.timeout), options)
    }

    /// How many `BatchGetImage` calls were made (retries by the SDK not counted).
    pub fn batch_calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// How many `DescribeImages` calls [`EcrResolver::digests_exist`] made
    /// to read storage classes (retries by the SDK not counted).
    pub fn describe_calls(&self) -> usize {
        self.describe_calls.load(Ordering::Relaxed)
    }

    /// Resolves every ECR reference's tag, keyed by [`tag_key`]. Tags are
    /// grouped per repository and looked up [`BATCH_SIZE`] at a time, with
    /// up to `jobs` calls at once. Each key gets its own answer: a missing
    /// tag, repository or permission fails only the keys it concerns. A
    /// reference that is not an ECR reference gets an error.
    pub async fn resolve_many(&self, refs: Vec<ImageRef>) -> Resolutions {
        self.run_all(
            plan_id_batches(&refs, BATCH_SIZE, IdKind::Tag),
            |batch, output| self.map_output(batch, output),
        )
        .await
    }

    /// For every reference that carries a digest, whether ECR holds a
    /// manifest with that digest in the reference's repository, keyed by
    /// [`digest_key`]: `Ok(true)` when it does, `Ok(false)` when
    /// `BatchGetImage` reports it missing (`ImageNotFound`), and an error
    /// for everything else: a repository that does not exist
    /// ([`ErrorKind::NotFound`], "repository … not found", distinct from a
    /// missing digest), access denied, throttling, network, a reference that
    /// is not an ECR reference. References without a digest are ignored.
    ///
    /// Exists means pullable: an image in ECR's archive storage class
    /// (`imageStatus` `ARCHIVED`, or `ACTIVATING` while it is restored) is
    /// listed but pulls fail, whatever `BatchGetImage` answers for it (the
    /// API model gives it no failure code of its own). So every digest
    /// `BatchGetImage` answered for is also looked up with `DescribeImages`
    /// (`imageStatus` `ANY`; one call per [`BATCH_SIZE`] digests present, one
    /// per digest reported missing, since a missing id fails the whole call),
    /// and an archived one is an [`ErrorKind::Archived`] error whose message
    /// says since when and how to restore it. A present digest whose storage
    /// class cannot be read is an error, not a pass.
    ///
    /// Digests are grouped per repository, deduplicated and asked for
    /// [`BATCH_SIZE`] at a time with up to `jobs` calls at once; the calls
    /// count in [`EcrResolver::batch_calls`] and
    /// [`EcrResolver::describe_calls`].
    pub async fn digests_exist(
        &self,
        refs: Vec<ImageRef>,
    ) -> HashMap<String, Result<bool, ResolveError>> {
        let planned = plan_id_batches(&refs, BATCH_SIZE, IdKind::Digest);
        let batches = planned.0.clone();
        let mut out = self.run_all(planned, map_existence).await;
        let mut checks = Vec::new();
        for batch in batches {
            let answer = |id: &String| out.get(&batch.kind.key_of(&batch.repository, id)).cloned();
            let (present, missing): (Vec<String>, Vec<String>) = batch
                .ids
                .iter()
                .filter(|id| matches!(answer(id), Some(Ok(_))))
                .cloned()
                .partition(|id| matches!(answer(id), Some(Ok(true))));
            if !present.is_empty() {
                checks.push((batch.repository.clone(), present));
            }
            checks.extend(
                missing
                    .into_iter()
                    .map(|id| (batch.repository.clone(), vec![id])),
            );
        }
        let answers: Vec<Vec<(String, Stored)>> = futures::stream::iter(checks)
            .map(|(repo, ids)| async move { self.storage(&repo, ids).await })
            .buffer_unordered(self.jobs)
            .collect()
            .await;
        for (key, answer) in answers.into_iter().flatten() {
            let pullable = matches!(out.get(&key), Some(Ok(true)));
            match answer {
                Ok(None) => {}
                Ok(Some(archived)) => {
                    out.insert(key, Err(ResolveError::new(ErrorKind::Archived, archived)));
                }
                // A digest BatchGetImage found but whose storage class is unknown
                // is not proven pullable; a missing one stays missing.
                Err(error) if pullable => {
                    out.insert(key, Err(error));
                }
                Err(_) => {}
            }
        }
        out
    }

    /// The storage class of `ids` (digests of `repo`), keyed by
    /// [`digest_key`]: `Ok(None)` when the image is ACTIVE or not listed,
    /// `Ok(Some(words))` when it is archived or being restored. When ECR
    /// says one of several is not there, each is asked on its own.
    async fn storage(&self, repo: &RepositoryKey, ids: Vec<String>) -> Vec<(String, Stored)> {
        let key = |id: &str| IdKind::Digest.key_of(repo, id);
        match self.describe(repo, &ids).await {
            Ok(mut found) => ids
                .iter()
                .map(|id| (key(id), Ok(found.remove(id).flatten())))
                .collect(),
            Err(None) if ids.len() > 1 => {
                let mut out = Vec::new();
                for id in &ids {
                    let answer = match self.describe(repo, std::slice::from_ref(id)).await {
                        Ok(mut found) => Ok(found.remove(id).flatten()),
                        Err(None) => Ok(None),
                        Err(Some(error)) => Err(error),
                    };
                    out.push((key(id), answer));
                }
                out
            }
            Err(None) => ids.iter().map(|id| (key(id), Ok(None))).collect(),
            Err(Some(error)) => ids.iter().map(|id| (key(id), Err(error.clone()))).collect(),
        }
    }

    /// One `DescribeImages` call for `ids`: per listed digest, `None` when
    /// ACTIVE, else the words for its archive state. `Err(None)` is
    /// `ImageNotFoundException` (one of the digests is not there).
    async fn describe(
        &self,
        repo: &RepositoryKey,
        ids: &[String],
    ) -> Result<HashMap<String, Option<String>>, Option<ResolveError>> {
        let client = self.clients.client(&repo.host).await;
        self.describe_calls.fetch_add(1, Ordering::Relaxed);
        let output = describe_images_by_digest(&client, &repo.host.account, &repo.repository, ids)
            .send()
            .await
            .map_err(|err| {
                let failure = Failure::of(&err);
                if failure.code() == Some("ImageNotFoundException") {
                    None
                } else {
                    Some(map_call_failure(&failure, "DescribeImages", repo))
                }
            })?;
        Ok(output
            .image_details()
            .iter()
            .filter_map(|d| {
                let digest = d.image_digest()?;
                Some((digest.to_owned(), archive_words(d, digest, repo)))
            })
            .collect())
    }

    /// What each pinned digest's manifest says about its platforms, keyed
    /// like [`EcrResolver::digests_exist`], from the manifests `BatchGetImage`
    /// returns (batched the same way). An image manifest's own platform
    /// stays unknown: its config blob is only served through S3 links.
    pub async fn manifest_facts(
        &self,
        refs: Vec<ImageRef>,
    ) -> HashMap<String, Result<ManifestFacts, ResolveError>> {
        self.run_all(
            plan_id_batches(&refs, BATCH_SIZE, IdKind::Digest),
            map_facts,
        )
        .await
    }

    /// Runs the batches of a [`plan_id_batches`] plan `jobs` at a time and
    /// maps each call's output per id with `map`; a failed call fails every
    /// id of its batch, a reference outside ECR gets an error.
    async fn run_all<T, F>(
        &self,
        (batches, foreign): (Vec<Batch>, BTreeMap<String, ImageRef>),
        map: F,
    ) -> HashMap<String, Result<T, ResolveError>>
    where
        F: Fn(&Batch, BatchGetImageOutput) -> Vec<(String, Result<T, ResolveError>)>,
    {
        let mut out: HashMap<String, Result<T, ResolveError>> = foreign
            .into_iter()
            .map(|(key, r)| {
                let error = ResolveError::new(
                    ErrorKind::Other,
                    format!("{} is not an Amazon ECR registry", r.domain()),
                );
                (key, Err(error))
            })
            .collect();
        let map = &map;
        let answers: Vec<Vec<(String, Result<T, ResolveError>)>> = futures::stream::iter(batches)
            .map(|batch| async move {
                let answers = match self.send_batch(&batch).await {
                    Ok(output) => map(&batch, output),
                    Err(error) => batch
                        .ids
                        .iter()
                        .map(|id| (id.clone(), Err(error.clone())))
                        .collect(),
                };
                answers
                    .into_iter()
                    .map(|(id, result)| (batch.kind.key_of(&batch.repository, &id), result))
                    .collect()
            })
            .buffer_unordered(self.jobs)
            .collect()
            .await;
        out.extend(answers.into_iter().flatten());
        out
    }

    /// One `BatchGetImage` call for `batch`, counted in `batch_calls`.
    async fn send_batch(&self, batch: &Batch) -> Result<BatchGetImageOutput, ResolveError> {
        let client = self.clients.client(&batch.repository.host).await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        batch_get_image(
            &client,
            &batch.repository.host.account,
            &batch.repository.repository,
            batch.kind,
            &batch.ids,
        )
        .send()
        .await
        .map_err(|err| map_call_failure(&Failure::of(&err), "BatchGetImage", &batch.repository))
    }

    fn map_output(
        &self,
        batch: &Batch,
        output: BatchGetImageOutput,
    ) -> Vec<(String, Result<Resolved, ResolveError>)> {
        let repo = &batch.repository;
        let requested: BTreeSet<&str> = batch.ids.iter().map(String::as_str).collect();
        let mut found: HashMap<String, Result<Resolved, ResolveError>> = HashMap::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for failure in output.failures() {
            let Some(tag) = failure.image_id().and_then(|id| id.image_tag()) else {
                continue;
            };
            failed.insert(tag.to_string());
            found.insert(
                tag.to_string(),
                Err(map_failure(failure, &IdKind::Tag.label(tag), repo)),
            );
        }
        let answer = |image: &aws_sdk_ecr::types::Image, tag: &str| match image
            .image_id()
            .and_then(|id| id.image_digest())
        {
            None => Err(ResolveError::new(
                ErrorKind::Other,
                format!("ECR returned no digest for {}", place(tag, repo)),
            )),
            Some(digest) => self.pick(
                digest,
                image.image_manifest_media_type(),
                image.image_manifest(),
                tag,
                repo,
            ),
        };
        // ECR echoes the requested tag in each image's `imageId`.
        for image in output.images() {
            let Some(tag) = image.image_id().and_then(|id| id.image_tag()) else {
                continue;
            };
            if requested.contains(tag) {
                found.insert(tag.to_string(), answer(image, tag));
            }
        }
        // moto echoes the image's latest tag instead, so several tags of one
        // image come back under one name. It answers in request order, one
        // image per found id; use that order for the tags still unanswered,
        // when the counts say it is safe.
        let images = output.images();
        let unanswered = batch.ids.iter().any(|t| !found.contains_key(t));
        if unanswered && images.len() + failed.len() == batch.ids.len() {
            let succeeded = batch.ids.iter().filter(|t| !failed.contains(*t));
            for (tag, image) in succeeded.zip(images) {
                found
                    .entry(tag.clone())
                    .or_insert_with(|| answer(image, tag));
            }
        }
        batch
            .ids
            .iter()
            .map(|tag| {
                let result = found.remove(tag).unwrap_or_else(|| {
                    Err(ResolveError::new(
                        ErrorKind::Other,
                        format!("ECR gave no answer for {}", place(tag, repo)),
                    ))
                });
                (tag.clone(), result)
            })
            .collect()
    }

    fn pick(
        &self,
        digest: &str,
        media_type: Option<&str>,
        manifest: Option<&str>,
        tag: &str,
        repo: &RepositoryKey,
    ) -> Result<Resolved, ResolveError> {
        // The manifest ECR sent must be one, and hash to the digest it named.
        if let Some(manifest) = manifest {
            let bytes = manifest.as_bytes();
            let why = crate::media::check_manifest(bytes, media_type)
                .err()
                .or_else(|| {
                    let actual = Digest::sha256_of(bytes);
                    (digest.starts_with("sha256:") && actual.as_str() != digest).then(|| {
                        format!("its sha256 is {actual}, not the digest {digest} it was sent under")
                    })
                });
            if let Some(why) = why {
                return Err(ResolveError::new(
                    ErrorKind::Other,
                    format!(
                        "ECR sent a manifest for {} that cannot be pinned: {why}",
                        place(tag, repo)
                    ),
                ));
            }
        }
        let chosen = match (&self.platform, manifest) {
            (None, _) => digest.to_string(),
            (Some(platform), Some(manifest)) => {
                match pick_platform(manifest.as_bytes(), platform) {
                    Ok(Some(child)) => child,
                    Ok(None) => digest.to_string(),
                    Err(e) => {
                        return Err(ResolveError::new(
                            e.kind,
                            format!("{}: {}", place(tag, repo), e.message),
                        ))
                    }
                }
            }
            (Some(platform), None) => {
                if media_type.is_some_and(crate::media::is_index) {
                    return Err(ResolveError::new(
                        ErrorKind::Other,
                        format!(
                            "ECR returned the index of {} without its manifest; cannot pick {platform}",
                            place(tag, repo)
                        ),
                    ));
                }
                digest.to_string()
            }
        };
        let digest = Digest::parse(&chosen).map_err(|e| {
            ResolveError::new(
                ErrorKind::Other,
                format!(
                    "ECR returned an invalid digest {chosen:?} for {}: {e}",
                    place(tag, repo)
                ),
            )
        })?;
        Ok(Resolved { digest })
    }
}

impl Resolve for EcrResolver {
    async fn resolve_all(&self, references: Vec<ImageRef>) -> Resolutions {
        self.resolve_many(references).await
    }
}

fn place(tag: &str, repo: &RepositoryKey) -> String {
    place_id(&IdKind::Tag.label(tag), repo)
}

/// `what` (`tag 1.4`, `digest sha256:…`) in the repository, for messages.
fn place_id(what: &str, repo: &RepositoryKey) -> String {
    format!(
        "{what} in repository {} (account {}, {})",
        repo.repository, repo.host.account, repo.host.region
    )
}

/// Whether each digest of a [`IdKind::Digest`] batch is in the repository:
/// an image for it is `true`, an `ImageNotFound` failure `false`, any other
/// failure an error.
fn map_existence(
    batch: &Batch,
    output: BatchGetImageOutput,
) -> Vec<(String, Result<bool, ResolveError>)> {
    map_by_digest(batch, output, |_, _| Ok(true), |_| Ok(false))
}

/// Per requested digest of a by-digest batch: what the image says
/// (`found`), or what a missing one means (`missing`).
fn map_facts(
    batch: &Batch,
    output: BatchGetImageOutput,
) -> Vec<(String, Result<ManifestFacts, ResolveError>)> {
    let repo = &batch.repository;
    map_by_digest(
        batch,
        output,
        |image, digest| {
            let what = place_id(&IdKind::Digest.label(digest), repo);
            let manifest = image.image_manifest().ok_or_else(|| {
                ResolveError::new(
                    ErrorKind::Other,
                    format!("ECR returned no manifest for {what}"),
                )
            })?;
            crate::media::parse_manifest(manifest.as_bytes())
                .map_err(|e| ResolveError::new(ErrorKind::Other, format!("{what}: {e}")))
        },
        |digest| {
            Err(ResolveError::new(
                ErrorKind::NotFound,
                format!(
                    "{} not found",
                    place_id(&IdKind::Digest.label(digest), repo)
                ),
            ))
        },
    )
}

fn map_by_digest<T>(
    batch: &Batch,
    output: BatchGetImageOutput,
    found_image: impl Fn(&aws_sdk_ecr::types::Image, &str) -> Result<T, ResolveError>,
    missing: impl Fn(&str) -> Result<T, ResolveError>,
) -> Vec<(String, Result<T, ResolveError>)> {
    let repo = &batch.repository;
    let mut found: HashMap<&str, Result<T, ResolveError>> = HashMap::new();
    let requested: BTreeSet<&str> = batch.ids.iter().map(String::as_str).collect();
    let answer = |failure: &aws_sdk_ecr::types::ImageFailure, digest: &str| {
        if failure.failure_code() == Some(&ImageFailureCode::ImageNotFound) {
            missing(digest)
        } else {
            Err(map_failure(failure, &IdKind::Digest.label(digest), repo))
        }
    };
    // Failures that do not name a requested digest.
    let mut anonymous = Vec::new();
    for failure in output.failures() {
        match failure
            .image_id()
            .and_then(|id| id.image_digest())
            .and_then(|d| requested.get(d))
        {
            Some(&digest) => {
                found.insert(digest, answer(failure, digest));
            }
            None => anonymous.push(failure),
        }
    }
    for image in output.images() {
        let Some(digest) = image.image_id().and_then(|id| id.image_digest()) else {
            continue;
        };
        if let Some(&digest) = requested.get(digest) {
            found.insert(digest, found_image(image, digest));
        }
    }
    // ECR echoes the requested digest in each failure's `imageId`; moto
    // (5.x) sends `{"imageTag": "null"}` instead. It answers failures in
    // request order, so when exactly the unanswered digests are left, pair
    // them with those failures in order.
    let unanswered: Vec<&str> = batch
        .ids
        .iter()
        .map(String::as_str)
        .filter(|d| !found.contains_key(d))
        .collect();
    if !unanswered.is_empty() && unanswered.len() == anonymous.len() {
        for (digest, failure) in unanswered.into_iter().zip(anonymous) {
            found.insert(digest, answer(failure, digest));
        }
    }
    batch
        .ids
        .iter()
        .map(|digest| {
            let result = found.remove(digest.as_str()).unwrap_or_else(|| {
                Err(ResolveError::new(
                    ErrorKind::Other,
                    format!(
                        "ECR gave no answer for {}",
                        place_id(&IdKind::Digest.label(digest), repo)
                    ),
                ))
            });
            (digest.clone(), result)
        })
        .collect()
}

/// `None` for an ACTIVE image (or one without a status: before archive
/// storage existed); else what its archive state means and the command that
/// restores it.
fn archive_words(
    d: &aws_sdk_ecr::types::ImageDetail,
    digest: &str,
    repo: &RepositoryKey,
) -> Option<String> {
    use crate::lifecycle::ImageStatus;
    let what = place_id(&IdKind::Digest.label(digest), repo);
    let archived = d
        .last_archived_at()
        .and_then(crate::aws::ecr::to_chrono)
        .map(|t| {
            format!(
                " since {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        })
        .unwrap_or_default();
    let status = match crate::aws::ecr::image_status(d) {
        ImageStatus::Active => return None,
        ImageStatus::Activating => {
            return Some(format!(
                "{what} is being restored from the ECR archive (ACTIVATING; archived{archived}): pulls fail until it is ACTIVE again, which can take hours"
            ))
        }
        ImageStatus::Archived => "ARCHIVED".to_owned(),
        ImageStatus::Other(other) => format!("{other} (not ACTIVE)"),
    };
    Some(format!(
        "{what} is {status} in the ECR archive{archived} and cannot be pulled; restore it with `aws ecr update-image-storage-class --registry-id {} --region {} --repository-name {} --image-id imageDigest={digest} --target-storage-class STANDARD`",
        repo.host.account, repo.host.region, repo.repository,
    ))
}

fn where_repo(repo: &RepositoryKey) -> String {
    format!(
        "repository {} (account {}, {})",
        repo.repository, repo.host.account, repo.host.region
    )
}

/// Words for a per-image failure of `what` (`tag 1.4`, `digest sha256:…`).
fn map_failure(
    failure: &aws_sdk_ecr::types::ImageFailure,
    what: &str,
    repo: &RepositoryKey,
) -> ResolveError {
    let reason = failure.failure_reason().unwrap_or("").trim();
    let code = failure.failure_code();
    let kind = match code {
        Some(ImageFailureCode::ImageNotFound | ImageFailureCode::ImageTagDoesNotMatchDigest) => {
            ErrorKind::NotFound
        }
        Some(ImageFailureCode::UpstreamTooManyRequests) => ErrorKind::RateLimited,
        Some(ImageFailureCode::UpstreamUnavailable) => ErrorKind::Server,
        Some(ImageFailureCode::UpstreamAccessDenied) => ErrorKind::Unauthorized,
        _ => ErrorKind::Other,
    };
    let message = if kind == ErrorKind::NotFound {
        format!(
            "{what} not found in repository {} (account {}, {})",
            repo.repository, repo.host.account, repo.host.region
        )
    } else {
        let code = code.map_or("unknown failure", |c| c.as_str());
        if reason.is_empty() {
            format!("ECR could not get {}: {code}", place_id(what, repo))
        } else {
            format!(
                "ECR could not get {}: {code} ({reason})",
                place_id(what, repo)
            )
        }
    };
    ResolveError::new(kind, message)
}

/// Words for a failed `BatchGetImage` call, for every tag in it.
fn map_call_failure(failure: &Failure, action: &str, repo: &RepositoryKey) -> ResolveError {
    let region = &repo.host.region;
    let detail = &failure.detail;
    match &failure.kind {
        FailureKind::Service {
            status,
            code,
            message,
        } => {
            let status = *status;
            let code = code.as_str();
            let said = if message.is_empty() {
                String::new()
            } else {
                format!(" (AWS said: {message})")
            };
            match code {
                "RepositoryNotFoundException" => ResolveError::new(
                    ErrorKind::NotFound,
                    format!(
                        "repository {} not found in account {} region {region}",
                        repo.repository, repo.host.account
                    ),
                ),
                "AccessDeniedException" => ResolveError::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "access denied to {}: the AWS credentials need the ecr:{action} permission{said}",
                        where_repo(repo)
                    ),
                ),
                "UnrecognizedClientException" | "InvalidSignatureException"
                | "InvalidClientTokenId" | "ExpiredTokenException" | "ExpiredToken"
                | "AuthFailure" | "SignatureDoesNotMatch" => ResolveError::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "the AWS credentials were refused in region {region} ({code}); they may have expired, or the region may not be enabled for the account{said}"
                    ),
                ),
                "ThrottlingException" | "Throttling" | "TooManyRequestsException"
                | "RequestLimitExceeded" | "LimitExceededException" => ResolveError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "the ECR API in {region} throttled {action} for {} ({code}, after {MAX_ATTEMPTS} attempts)",
                        where_repo(repo)
                    ),
                ),
                "InvalidParameterException" => ResolveError::new(
                    ErrorKind::Other,
                    format!("ECR rejected the request for {}{said}", where_repo(repo)),
                ),
                _ if status >= 500 || code == "ServerException" => ResolveError::new(
                    ErrorKind::Server,
                    format!(
                        "the ECR API in {region} failed (HTTP {status} {code}) for {}{said}",
                        where_repo(repo)
                    ),
                ),
                _ => ResolveError::new(
                    ErrorKind::Other,
                    format!(
                        "the ECR API in {region} answered HTTP {status} {} for {}{said}",
                        if code.is_empty() { "(no error code)" } else { code },
                        where_repo(repo)
                    ),
                ),
            }
        }
        FailureKind::NoCredentials => ResolveError::new(
            ErrorKind::Unauthorized,
            format!(
                "no AWS credentials found ({detail}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`"
            ),
        ),
        FailureKind::Timeout => ResolveError::new(
            ErrorKind::Network,
            format!("the ECR API in {region} did not answer in time"),
        ),
        FailureKind::Unreachable { dns } => {
            let hint = if *dns {
                format!(" (is {region} a real AWS region spelled right, and enabled for the account?)")
            } else {
                String::new()
            };
            ResolveError::new(
                ErrorKind::Network,
                format!("cannot reach the ECR API in region {region}: {detail}{hint}"),
            )
        }
        FailureKind::BadRegion => ResolveError::new(
            ErrorKind::Other,
            format!(
                "cannot build an ECR endpoint for region {region} ({detail}); the region is not recognised"
            ),
        ),
        FailureKind::Unreadable => ResolveError::new(
            ErrorKind::Server,
            format!("the ECR API in {region} sent an answer that could not be read: {detail}"),
        ),
        FailureKind::Other => ResolveError::new(
            ErrorKind::Other,
            format!("ECR {action} for {} failed: {detail}", where_repo(repo)),
        ),
    }
}

#[cfg(test)]
mod tests;
