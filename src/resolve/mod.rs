//! Resolving tags to digests.
//!
//! The [`Router`] takes the unique references of a run, resolves each once,
//! concurrently up to `--jobs`, and hands back a map keyed by
//! [`tag_key`]. Amazon ECR references go through the ECR API,
//! batched ([`ecr`]); every other registry speaks the OCI distribution API
//! ([`oci`]); credentials come from the docker config ([`credentials`]).
//! [`StaticResolver`] answers from a map, for offline tests.

pub mod credentials;
pub mod ecr;
mod key;
pub mod oci;

use crate::digest::Digest;
pub use crate::media::Platform;
use crate::reference::ImageRef;
use futures::StreamExt;
pub use key::{digest_key, digest_key_at, tag_key};
use std::collections::HashMap;
use std::future::Future;

/// A resolved tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The digest to pin.
    pub digest: Digest,
}

/// Results of a run's resolutions, keyed by [`tag_key`].
pub type Resolutions = HashMap<String, Result<Resolved, ResolveError>>;

/// Whether each pinned digest exists, keyed by [`digest_key`].
pub type Existence = HashMap<String, Result<bool, ResolveError>>;

/// What each pinned manifest says about its platforms, keyed by [`digest_key`].
pub type Facts = HashMap<String, Result<crate::media::ManifestFacts, ResolveError>>;

/// What a manifest says about itself, to explain an update (`pin --update`).
#[derive(Debug, Clone)]
pub struct Description {
    /// Index children or the image.
    pub facts: crate::media::ManifestFacts,
    /// Revision and creation time from annotations or the config.
    pub provenance: crate::media::Provenance,
    /// When each platform was built (RFC 3339), where known: the image
    /// itself (platform `None`), or each child of an index when asked.
    pub built: Vec<(Option<Platform>, Option<String>)>,
}

/// Descriptions keyed by [`digest_key`].
pub type Descriptions = HashMap<String, Result<Description, ResolveError>>;

/// What kind of failure a resolution met; decides retries and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The tag, repository or digest does not exist.
    NotFound,
    /// The registry wants (other) credentials.
    Unauthorized,
    /// Too many requests; retried with backoff before giving up.
    RateLimited,
    /// The registry failed (5xx); retried before giving up.
    Server,
    /// No answer: connection refused, TLS failure, timeout.
    Network,
    /// Anything else.
    Other,
    /// The digest exists but cannot be pulled: it is in ECR's archive
    /// storage class, or being restored from it (the message says which,
    /// since when, and the restore command).
    Archived,
    /// Not an error: the answer is a multi-platform index built too recently
    /// (`--settle`), left for a later run.
    Settling,
}

impl ErrorKind {
    /// Whether trying again may help.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Network
        )
    }
}

/// A failed resolution, worded for the user (never holds a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ResolveError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The registry's answer, in words.
    pub message: String,
    /// How long the registry asked to wait before the next try (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
}

impl ResolveError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ResolveError {
        ResolveError {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Something that turns references into digests.
pub trait Resolve {
    /// Resolve every reference's tag; the answer is keyed by [`tag_key`].
    /// Implementations resolve each key once.
    fn resolve_all(&self, references: Vec<ImageRef>) -> impl Future<Output = Resolutions> + Send;
}

/// Answers from a fixed map of `tag_key → digest`; anything else is "not found".
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    digests: HashMap<String, Digest>,
}

impl StaticResolver {
    /// A resolver answering `reference → digest` for each pair.
    pub fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<StaticResolver, String> {
        let mut digests = HashMap::new();
        for (reference, digest) in pairs {
            let r = ImageRef::parse(reference).map_err(|e| e.to_string())?;
            let d = Digest::parse(digest).map_err(|e| e.to_string())?;
            digests.insert(tag_key(&r), d);
        }
        Ok(StaticResolver { digests })
    }
}

impl Resolve for StaticResolver {
    async fn resolve_all(&self, references: Vec<ImageRef>) -> Resolutions {
        references
            .iter()
            .map(|r| {
                let key = tag_key(r);
                let result = match self.digests.get(&key) {
                    Some(d) => Ok(Resolved { digest: d.clone() }),
                    None => Err(ResolveError::new(ErrorKind::NotFound, "manifest unknown")),
                };
                (key, result)
            })
            .collect()
    }
}

/// Options for talking to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Pin this platform's manifest instead of what the tag serves.
    pub platform: Option<Platform>,
    /// How many requests run at once.
    pub jobs: usize,
    /// Hosts reached over plain HTTP (besides localhost and 127.0.0.1, always allowed).
    pub insecure_registries: Vec<String>,
    /// Extra CA certificates (PEM) to trust.
    pub ca_files: Vec<std::path::PathBuf>,
    /// How long one reference may take, every attempt and wait included.
    pub timeout: std::time::Duration,
    /// How long one request may take (connect and answer); at most `timeout`.
    pub request_timeout: std::time::Duration,
    /// Never pin from a `HEAD`: fetch each manifest and pin the sha256 of its bytes.
    pub paranoid: bool,
    /// Per registry host (`docker.io`, `ghcr.io`, `lan:5000`): a mirror to
    /// ask instead, a request-rate cap, a concurrency cap.
    pub registries: std::collections::BTreeMap<String, RegistrySettings>,
}

/// How to treat one registry host (`[registries."host"]` in `.imgpin.toml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistrySettings {
    /// Ask this registry (a pull-through cache, `host[:port]`) instead; the
    /// files keep naming the original registry.
    pub mirror: Option<String>,
    /// At most this many requests a second to the host (default: none,
    /// except 50 a second for the big public registries).
    pub rate: Option<f64>,
    /// At most this many requests at once to the host (default: `--jobs`).
    pub jobs: Option<usize>,
}

impl Default for RegistryOptions {
    /// The command line's defaults: 32 jobs, 30 s per reference, 10 s per request.
    fn default() -> RegistryOptions {
        RegistryOptions {
            platform: None,
            jobs: 32,
            insecure_registries: Vec::new(),
            ca_files: Vec::new(),
            timeout: std::time::Duration::from_secs(30),
            request_timeout: std::time::Duration::from_secs(10),
            paranoid: false,
            registries: Default::default(),
        }
    }
}

/// Routes each reference to the right backend and resolves each key once, concurrently.
pub struct Router {
    oci: oci::OciResolver,
    ecr: ecr::EcrResolver,
    jobs: usize,
    notes: std::sync::Mutex<Vec<String>>,
    /// Ticked once per unique reference answered.
    progress: crate::report::Progress,
}

impl Router {
    /// A router for `options`, with docker credentials from `store` and the
    /// AWS default credential chain (optionally a named profile) for ECR.
    pub fn new(
        options: &RegistryOptions,
        store: credentials::CredentialStore,
        aws_profile: Option<String>,
    ) -> Result<Router, ResolveError> {
        Ok(Router {
            oci: oci::OciResolver::new(options, store)?,
            ecr: ecr::EcrResolver::new(options, aws_profile),
            jobs: options.jobs.max(1),
            notes: std::sync::Mutex::new(Vec::new()),
            progress: crate::report::Progress::default(),
        })
    }

    /// Tick `progress` once per unique reference answered.
    pub fn with_progress(mut self, progress: crate::report::Progress) -> Router {
        self.progress = progress;
        self
    }

    /// How many answers [`Resolve::resolve_all`] gives for `references`:
    /// one per unique [`tag_key`].
    pub fn unique_count(references: &[ImageRef]) -> usize {
        let keys: std::collections::HashSet<String> = references.iter().map(tag_key).collect();
        keys.len()
    }

    /// How many answers [`Router::verify_all`] gives for `references`: one
    /// per unique [`digest_key`].
    pub fn unique_digest_count(references: &[ImageRef]) -> usize {
        let keys: std::collections::HashSet<String> =
            references.iter().filter_map(digest_key).collect();
        keys.len()
    }

    /// What the router decided along the way (fallbacks), for `-v` output.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.lock().map(|n| n.clone()).unwrap_or_default();
        notes.extend(self.oci.request_summary());
        notes
    }

    async fn resolve_oci(&self, refs: Vec<ImageRef>) -> Resolutions {
        if let Ok(mut notes) = self.notes.lock() {
            notes.extend(self.oci.settings_notes(&refs));
        }
        self.oci.prepare(&refs).await;
        futures::stream::iter(refs)
            .map(|r| async move {
                let answer = (tag_key(&r), self.oci.resolve(&r).await);
                self.progress.tick();
                answer
            })
            .buffer_unordered(self.jobs)
            .collect()
            .await
    }
}

impl Router {
    /// Check that each pinned digest still exists, once per
    /// [`digest_key`]: ECR in batches, other registries with a
    /// HEAD on the manifest by digest, concurrently.
    pub async fn verify_all(&self, references: Vec<ImageRef>) -> Existence {
        self.per_digest(
            references.into_iter().map(|r| (r, false)).collect(),
            |aws| self.ecr.digests_exist(aws),
            |r, _| async move { self.oci.digest_exists(&r).await },
        )
        .await
    }

    /// What each pinned manifest says about its platforms, once per
    /// [`digest_key`]: ECR in batches, other registries with a
    /// GET on the manifest by digest (and on the config blob of an image
    /// manifest when the reference's flag asks for its platform).
    pub async fn manifest_facts_all(&self, references: Vec<(ImageRef, bool)>) -> Facts {
        self.per_digest(
            references,
            |aws| self.ecr.manifest_facts(aws),
            |r, with_platform| async move { self.oci.manifest_facts(&r, with_platform).await },
        )
        .await
    }

    /// A [`Description`] of each pinned manifest, once per [`digest_key`]
    /// (the flag asks for the build time of every child of an index). ECR
    /// answers with the manifest's facts only (configs are S3 links there).
    pub async fn describe_all(&self, references: Vec<(ImageRef, bool)>) -> Descriptions {
        self.per_digest(
            references,
            |aws| async move {
                self.ecr
                    .manifest_facts(aws)
                    .await
                    .into_iter()
                    .map(|(k, facts)| {
                        let described = facts.map(|facts| Description {
                            facts,
                            provenance: Default::default(),
                            built: Vec::new(),
                        });
                        (k, described)
                    })
                    .collect()
            },
            |r, children| async move { self.oci.describe(&r, children).await },
        )
        .await
    }

    /// One answer per [`digest_key`] of `references` (the flag
    /// is or-ed over duplicates): ECR references all at once through `ecr`,
    /// the others through `oci`, `jobs` at a time, both concurrently.
    async fn per_digest<T, E, EF, O, OF>(
        &self,
        references: Vec<(ImageRef, bool)>,
        ecr: E,
        oci: O,
    ) -> HashMap<String, Result<T, ResolveError>>
    where
        E: FnOnce(Vec<ImageRef>) -> EF,
        EF: Future<Output = HashMap<String, Result<T, ResolveError>>>,
        O: Fn(ImageRef, bool) -> OF,
        OF: Future<Output = Result<T, ResolveError>>,
    {
        let mut unique: HashMap<String, (ImageRef, bool)> = HashMap::new();
        for (r, flag) in references {
            if let Some(key) = digest_key(&r) {
                unique.entry(key).or_insert((r, false)).1 |= flag;
            }
        }
        let (aws, other): (Vec<_>, Vec<_>) =
            unique.into_iter().partition(|(_, (r, _))| ecr::is_ecr(r));
        let aws: Vec<ImageRef> = aws.into_iter().map(|(_, (r, _))| r).collect();
        let oci = &oci;
        let (mut out, from_oci) = futures::join!(
            async {
                if aws.is_empty() {
                    HashMap::new()
                } else {
                    let n = aws.len();
                    let answers = ecr(aws).await;
                    self.progress.add(n);
                    answers
                }
            },
            futures::stream::iter(other)
                .map(|(key, (r, flag))| async move {
                    let answer = (key, oci(r, flag).await);
                    self.progress.tick();
                    answer
                })
                .buffer_unordered(self.jobs)
                .collect::<HashMap<_, _>>()
        );
        out.extend(from_oci);
        out
    }
}

/// Whether an ECR failure means "no AWS credentials at all", the one case in
/// which a docker login for the ECR host is tried instead.
fn no_aws_credentials(result: &Result<Resolved, ResolveError>) -> bool {
    matches!(result, Err(e) if e.kind == ErrorKind::Unauthorized && e.message.contains("no AWS credentials"))
}

impl Resolve for Router {
    async fn resolve_all(&self, references: Vec<ImageRef>) -> Resolutions {
        let mut unique: HashMap<String, ImageRef> = HashMap::new();
        for r in references {
            unique.entry(tag_key(&r)).or_insert(r);
        }
        let (aws, other): (Vec<ImageRef>, Vec<ImageRef>) =
            unique.into_values().partition(ecr::is_ecr);
        let ecr_refs = aws.clone();
        let (mut out, from_oci) = futures::join!(
            async {
                if ecr_refs.is_empty() {
                    Resolutions::new()
                } else {
                    let n = ecr_refs.len();
                    let answers = self.ecr.resolve_many(ecr_refs).await;
                    self.progress.add(n);
                    answers
                }
            },
            self.resolve_oci(other)
        );
        // No AWS credentials, but `docker login` (or the ecr-login helper)
        // knows the ECR host: use the registry API with those credentials.
        let mut fallback = Vec::new();
        for r in aws {
            if out.get(&tag_key(&r)).is_some_and(no_aws_credentials)
                && self.oci.has_credentials(r.domain()).await
            {
                fallback.push(r);
            }
        }
        if !fallback.is_empty() {
            let hosts: std::collections::BTreeSet<&str> =
                fallback.iter().map(|r| r.domain()).collect();
            let note = format!(
                "no AWS credentials found; resolving {} ECR reference(s) through the registry API with docker credentials for {}",
                fallback.len(),
                hosts.into_iter().collect::<Vec<_>>().join(", ")
            );
            if let Ok(mut notes) = self.notes.lock() {
                notes.push(note);
            }
            out.extend(self.resolve_oci(fallback).await);
        }
        out.extend(from_oci);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_resolver_answers_every_spelling_once() {
        let d = "sha256:".to_string() + &"a".repeat(64);
        let s = StaticResolver::new([("nginx:1.27", d.as_str())]).unwrap();
        let refs = vec![
            ImageRef::parse("nginx:1.27").unwrap(),
            ImageRef::parse("docker.io/library/nginx:1.27").unwrap(),
            ImageRef::parse("nginx:missing").unwrap(),
        ];
        let out = s.resolve_all(refs).await;
        assert_eq!(out.len(), 2);
        assert_eq!(
            out["docker.io/library/nginx:1.27"]
                .as_ref()
                .unwrap()
                .digest
                .to_string(),
            d
        );
        assert_eq!(
            out["docker.io/library/nginx:missing"]
                .as_ref()
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
    }
}
