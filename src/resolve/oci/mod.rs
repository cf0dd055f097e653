//! Resolution through the OCI distribution API, with imgpin's own requests
//! (`reqwest`): one challenge per registry and one token per repository
//! (`auth.rs`), then one `HEAD` per reference.
//!
//! A tag is resolved with a HEAD on its manifest, accepting OCI index, OCI
//! manifest, Docker manifest list and Docker v2 manifest, and the digest is
//! read from `Docker-Content-Digest`; when a registry sends none, the
//! manifest is fetched and its exact bytes hashed. That is the digest
//! `docker pull` prints: the index for a multi-arch image. With
//! `--platform`, the index is fetched and the platform's manifest pinned.
//!
//! localhost, 127.0.0.1, `[::1]` and `--insecure-registry` hosts are tried over
//! HTTPS first and over plain HTTP when TLS fails, as docker does.

use super::credentials::{Credential, CredentialError, CredentialStore};
use super::{ErrorKind, Platform, RegistryOptions, ResolveError, Resolved};
use crate::digest::Digest;
use crate::media::ManifestFacts;
use crate::reference::ImageRef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod answers;
mod auth;
mod limits;

use answers::{head_verdict, is_certificate_error, HeadVerdict};
use auth::{Credentials, Tokens};

/// What a request was for, in [`RequestLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Challenge,
    Token,
    Manifest,
    Blob,
}

/// Every request a run sent to a registry, in the order answered: the
/// `-v` account of what the run cost (never a credential: methods, paths,
/// the token realm with a scope count).
#[derive(Default)]
struct RequestLog {
    requests: Mutex<Vec<Request>>,
}

struct Request {
    host: String,
    kind: Kind,
    /// `HEAD /v2/a/manifests/1`.
    what: String,
    status: u16,
    version: &'static str,
    millis: u128,
}

impl RequestLog {
    fn record(
        &self,
        host: &str,
        kind: Kind,
        answer: &reqwest::Response,
        what: String,
        started: std::time::Instant,
    ) {
        let version = match answer.version() {
            reqwest::Version::HTTP_2 => "HTTP/2",
            reqwest::Version::HTTP_3 => "HTTP/3",
            reqwest::Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        };
        lock(&self.requests).push(Request {
            host: host.to_string(),
            kind,
            what,
            status: answer.status().as_u16(),
            version,
            millis: started.elapsed().as_millis(),
        });
    }

    /// A line per request (`127.0.0.1:5000 HEAD /v2/a/manifests/1 -> 200
    /// in 3 ms`), then one per host: `registry H: 12 requests (1
    /// challenge, 3 tokens, 8 manifests) over HTTP/2`.
    fn lines(&self) -> Vec<String> {
        let requests = lock(&self.requests);
        let mut out: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {} -> {} in {} ms", r.host, r.what, r.status, r.millis))
            .collect();
        let mut hosts: std::collections::BTreeMap<&str, Vec<&Request>> = Default::default();
        for r in requests.iter() {
            hosts.entry(&r.host).or_default().push(r);
        }
        for (host, sent) in hosts {
            let kinds = [
                (Kind::Challenge, "challenge"),
                (Kind::Token, "token"),
                (Kind::Manifest, "manifest"),
                (Kind::Blob, "blob"),
            ];
            let parts: Vec<String> = kinds
                .iter()
                .filter_map(
                    |(kind, noun)| match sent.iter().filter(|r| r.kind == *kind).count() {
                        0 => None,
                        1 => Some(format!("1 {noun}")),
                        n => Some(format!("{n} {noun}s")),
                    },
                )
                .collect();
            let versions: std::collections::BTreeSet<&str> =
                sent.iter().map(|r| r.version).collect();
            let total = sent.len();
            out.push(format!(
                "registry {host}: {total} request{} ({}) over {}",
                if total == 1 { "" } else { "s" },
                parts.join(", "),
                versions.into_iter().collect::<Vec<_>>().join(" and ")
            ));
        }
        out
    }
}

/// One repository request: what [`OciResolver::authorized`] sends.
struct Call<'a> {
    method: reqwest::Method,
    /// `/v2/NAME/manifests/REF` or `/v2/NAME/blobs/DIGEST`.
    path: String,
    accept: &'a str,
    kind: Kind,
}

/// Over which protocol a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// A manifest to ask for: repository and tag or digest at a registry.
#[derive(Debug, Clone)]
struct Target {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Target {
    fn with_tag(registry: String, repository: String, tag: String) -> Target {
        Target {
            registry,
            repository,
            tag: Some(tag),
            digest: None,
        }
    }

    fn with_digest(registry: String, repository: String, digest: String) -> Target {
        Target {
            registry,
            repository,
            tag: None,
            digest: Some(digest),
        }
    }

    fn repository(&self) -> &str {
        &self.repository
    }

    fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    fn base(&self, scheme: Scheme) -> String {
        base_url(&self.registry, scheme)
    }
}

/// `scheme://host` of `registry`'s API: Docker Hub's is not `docker.io`.
fn base_url(registry: &str, scheme: Scheme) -> String {
    let host = match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    };
    format!("{}://{host}", scheme.as_str())
}

/// Resolves references against registries that speak the distribution API.
pub struct OciResolver {
    /// Every request: one pool of kept-alive connections per host.
    heads: reqwest::Client,
    /// Challenges per registry and pull tokens per repository.
    tokens: Tokens,
    /// What the run asked of each registry.
    log: RequestLog,
    credentials: Arc<CredentialStore>,
    insecure: Vec<String>,
    platform: Option<Platform>,
    /// The scheme each local or insecure host speaks, probed once.
    schemes: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Scheme>>>>,
    auth: Mutex<HashMap<String, Credentials>>,
    /// Bounds one reference, every attempt and wait included.
    timeout: Duration,
    /// Pin only from fetched, hashed manifests (`--paranoid`).
    paranoid: bool,
    breakers: limits::Breakers,
    /// Per-host caps (rate, concurrency) and mirrors.
    gates: limits::Gates,
    /// Connections the client opened.
    connections: limits::ConnectionCount,
}

impl OciResolver {
    /// A resolver with `options` (timeouts, CAs, insecure hosts) and credentials from `store`.
    pub fn new(
        options: &RegistryOptions,
        store: CredentialStore,
    ) -> Result<OciResolver, ResolveError> {
        let mut roots = Vec::new();
        let mut ca_files = options.ca_files.clone();
        if let Some(env) = std::env::var_os("SSL_CERT_FILE") {
            ca_files.push(env.into());
        }
        for file in &ca_files {
            let data = std::fs::read(file).map_err(|e| {
                ResolveError::new(
                    ErrorKind::Other,
                    format!("cannot read CA file {}: {e}", file.display()),
                )
            })?;
            roots.push(data);
        }
        let request_timeout = options.request_timeout.min(options.timeout);
        let connections = limits::ConnectionCount::default();
        let mut heads = reqwest::Client::builder()
            .connector_layer(connections.clone())
            .user_agent(concat!("imgpin/", env!("CARGO_PKG_VERSION")))
            .timeout(request_timeout)
            .connect_timeout(request_timeout);
        for root in &roots {
            let cert = reqwest::Certificate::from_pem(root).map_err(|e| {
                ResolveError::new(
                    ErrorKind::Other,
                    format!("cannot read a CA certificate: {e}"),
                )
            })?;
            heads = heads.tls_certs_merge([cert]);
        }
        let heads = heads.build().map_err(|e| {
            ResolveError::new(ErrorKind::Other, format!("cannot set up HTTPS: {e}"))
        })?;
        Ok(OciResolver {
            heads,
            tokens: Tokens::default(),
            log: RequestLog::default(),
            credentials: Arc::new(store),
            insecure: options.insecure_registries.clone(),
            platform: options.platform.clone(),
            schemes: Mutex::new(HashMap::new()),
            auth: Mutex::new(HashMap::new()),
            timeout: options.timeout,
            paranoid: options.paranoid,
            breakers: limits::Breakers::default(),
            gates: limits::Gates::new(&options.registries),
            connections,
        })
    }

    /// The host to ask for `domain`'s images: its mirror when one is set.
    fn route<'a>(&'a self, domain: &'a str) -> &'a str {
        self.gates
            .settings(domain)
            .and_then(|s| s.mirror.as_deref())
            .unwrap_or(domain)
    }

    /// The `-v` lines about per-host settings: mirrors and rate caps in use
    /// for the hosts of `references`.
    pub fn settings_notes(&self, references: &[ImageRef]) -> Vec<String> {
        let mut hosts: Vec<&str> = references.iter().map(|r| r.domain()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        let mut notes = Vec::new();
        for domain in hosts {
            let host = self.route(domain);
            if host != domain {
                notes.push(format!("registry {domain}: asking its mirror {host}"));
            }
            if let Some((rate, builtin)) = self.gates.rate(host) {
                let why = if builtin {
                    " (default for public registries; set rate in .imgpin.toml)"
                } else {
                    ""
                };
                notes.push(format!(
                    "registry {host}: at most {rate} requests a second{why}"
                ));
            }
        }
        notes
    }

    fn may_use_plain_http(&self, host: &str) -> bool {
        let name = host_without_port(host);
        matches!(name, "localhost" | "[::1]" | "::1")
            || name.starts_with("127.")
            || self.insecure.iter().any(|h| h == host || h == name)
    }

    async fn auth_for(&self, host: &str) -> Result<Credentials, ResolveError> {
        if let Some(auth) = lock(&self.auth).get(host) {
            return Ok(auth.clone());
        }
        let store = Arc::clone(&self.credentials);
        let key = host.to_string();
        let lookup = tokio::task::spawn_blocking(move || store.lookup(&key))
            .await
            .map_err(|e| {
                ResolveError::new(ErrorKind::Other, format!("credential lookup failed: {e}"))
            })?;
        let found = match lookup {
            Ok(found) => found,
            // A config naming a helper that is not installed (a leftover
            // `credsStore: desktop`) must not break public pulls: go on anonymously.
            Err(CredentialError::HelperNotFound { .. }) => None,
            Err(e) => return Err(ResolveError::new(ErrorKind::Unauthorized, e.to_string())),
        };
        let auth = match found {
            None => Credentials::Anonymous,
            Some(Credential::Basic { username, password }) => {
                Credentials::Basic(username, password)
            }
            Some(Credential::IdentityToken { username, token }) => {
                Credentials::Basic(username.unwrap_or_else(|| "<token>".to_string()), token)
            }
            Some(Credential::Bearer(token)) => Credentials::Bearer(token),
        };
        lock(&self.auth).insert(host.to_string(), auth.clone());
        Ok(auth)
    }

    /// Before resolving `references`: one token request for the
    /// repositories of each token-auth registry, where its token server
    /// takes several scopes (`auth::Tokens::prefetch`). Failures are left
    /// to the references' own requests.
    pub async fn prepare(&self, references: &[ImageRef]) {
        let mut by_host: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for r in references {
            let repos = by_host.entry(self.route(r.domain())).or_default();
            if !repos.iter().any(|x| x == r.repository()) {
                repos.push(r.repository().to_string());
            }
        }
        let prepared = by_host.into_iter().map(|(host, repositories)| async move {
            let (Ok(scheme), Ok(auth)) = (self.scheme(host).await, self.auth_for(host).await)
            else {
                return;
            };
            let base = base_url(host, scheme);
            self.tokens
                .prefetch(&self.heads, &base, host, &repositories, &auth, &self.log)
                .await;
        });
        futures::future::join_all(prepared).await;
    }

    /// Every request the run sent, then a line per registry, then the
    /// connections opened (`-v`).
    pub fn request_summary(&self) -> Vec<String> {
        let mut lines = self.log.lines();
        let opened = self.connections.get();
        if opened > 0 {
            lines.push(format!(
                "{opened} connection{} opened to registries and token servers",
                if opened == 1 { "" } else { "s" }
            ));
        }
        lines
    }

    /// Whether the docker credential store has a login for `host`.
    pub async fn has_credentials(&self, host: &str) -> bool {
        !matches!(
            self.auth_for(host).await,
            Ok(Credentials::Anonymous) | Err(_)
        )
    }

    /// Resolve one reference's tag to the digest to pin, retrying transient failures.
    pub async fn resolve(&self, reference: &ImageRef) -> Result<Resolved, ResolveError> {
        let host = self.route(reference.domain());
        let target = Target::with_tag(
            host.to_string(),
            reference.repository().to_string(),
            reference.tag_or_latest().to_string(),
        );
        let op = Op::Digest(&target, self.platform.as_ref());
        self.lookup(host, &op).await?.digest()
    }

    /// Whether the registry still has the manifest `reference` is pinned to
    /// (a HEAD on the manifest by digest). `Ok(false)` when the registry says
    /// it is unknown; errors when the registry cannot answer. A reference
    /// without a digest is checked by its tag.
    pub async fn digest_exists(&self, reference: &ImageRef) -> Result<bool, ResolveError> {
        let Some(digest) = reference.digest() else {
            return self.resolve(reference).await.map(|_| true);
        };
        let host = self.route(reference.domain());
        let target = Target::with_digest(
            host.to_string(),
            reference.repository().to_string(),
            digest.to_string(),
        );
        match self.lookup(host, &Op::Digest(&target, None)).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// What the registry says about the manifest `reference` is pinned to
    /// (by its tag when it has no digest): an index with its children's
    /// platforms, or an image manifest, whose config blob is read for its
    /// platform when `with_platform` is set.
    pub async fn manifest_facts(
        &self,
        reference: &ImageRef,
        with_platform: bool,
    ) -> Result<ManifestFacts, ResolveError> {
        let host = self.route(reference.domain());
        let target = match reference.digest() {
            Some(digest) => Target::with_digest(
                host.to_string(),
                reference.repository().to_string(),
                digest.to_string(),
            ),
            None => Target::with_tag(
                host.to_string(),
                reference.repository().to_string(),
                reference.tag_or_latest().to_string(),
            ),
        };
        let bytes = self.lookup(host, &Op::Manifest(&target)).await?.bytes()?;
        let facts = crate::media::parse_manifest(&bytes)
            .map_err(|e| ResolveError::new(ErrorKind::Other, format!("registry {host}: {e}")))?;
        let ManifestFacts::Image {
            platform: None,
            config: Some(config),
        } = &facts
        else {
            return Ok(facts);
        };
        if !with_platform {
            return Ok(facts);
        }
        let config = config.clone();
        let bytes = self
            .lookup(host, &Op::Blob(&target, &config))
            .await?
            .bytes()?;
        let platform = crate::media::config_platform(&bytes);
        Ok(ManifestFacts::Image {
            platform,
            config: Some(config),
        })
    }

    /// What the manifest `reference` is pinned to says about itself, to
    /// explain an update: its facts and provenance (annotations; an image's
    /// config labels and `created`), and with `children`, each platform
    /// child's build time (its config's `created`): one GET for the
    /// manifest, one per config blob, one per child manifest.
    pub async fn describe(
        &self,
        reference: &ImageRef,
        children: bool,
    ) -> Result<super::Description, ResolveError> {
        use crate::media::{config_provenance, manifest_provenance, parse_manifest};
        let host = self.route(reference.domain());
        let target_of = |digest: &str| {
            Target::with_digest(
                host.to_string(),
                reference.repository().to_string(),
                digest.to_string(),
            )
        };
        let Some(digest) = reference.digest() else {
            return Err(ResolveError::new(
                ErrorKind::Other,
                format!("{reference} has no digest to describe"),
            ));
        };
        let target = target_of(digest.as_str());
        let bytes = self.lookup(host, &Op::Manifest(&target)).await?.bytes()?;
        let facts = parse_manifest(&bytes)
            .map_err(|e| ResolveError::new(ErrorKind::Other, format!("registry {host}: {e}")))?;
        let mut provenance = manifest_provenance(&bytes);
        let mut built = Vec::new();
        match &facts {
            ManifestFacts::Image {
                config: Some(config),
                ..
            } => {
                let blob = self
                    .lookup(host, &Op::Blob(&target, config))
                    .await?
                    .bytes()?;
                provenance = provenance.or(config_provenance(&blob));
                built.push((None, provenance.created.clone()));
            }
            ManifestFacts::Index { children: list } if children => {
                for child in list {
                    // Attestation manifests (unknown/unknown) are not platforms.
                    let Some(platform) = child.platform.clone().filter(|p| p.os != "unknown")
                    else {
                        continue;
                    };
                    let child_target = target_of(&child.digest);
                    let bytes = self
                        .lookup(host, &Op::Manifest(&child_target))
                        .await?
                        .bytes()?;
                    let created = match parse_manifest(&bytes) {
                        Ok(ManifestFacts::Image {
                            config: Some(config),
                            ..
                        }) => {
                            let blob = self
                                .lookup(host, &Op::Blob(&child_target, &config))
                                .await?
                                .bytes()?;
                            config_provenance(&blob).created
                        }
                        _ => manifest_provenance(&bytes).created,
                    };
                    built.push((Some(platform), created));
                }
            }
            _ => {}
        }
        Ok(super::Description {
            facts,
            provenance,
            built,
        })
    }

    /// Runs `op` against the registry at `host` with its credentials:
    /// transient failures are tried again ([`limits::ATTEMPTS`] in all)
    /// after the registry's `Retry-After` or a backoff, all within
    /// `--timeout`; a host whose breaker is open fails at once.
    async fn lookup(&self, host: &str, op: &Op<'_>) -> Result<Answer, ResolveError> {
        let auth = self.auth_for(host).await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.breakers.check(host)?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let spent = || {
                ResolveError::new(
                    ErrorKind::Network,
                    format!(
                        "cannot reach registry {host}: timed out (--timeout {} s for the reference)",
                        self.timeout.as_secs()
                    ),
                )
            };
            let outcome = match tokio::time::timeout(left, self.resolve_once(host, &auth, op)).await
            {
                // A request timing out as the reference's time runs out
                // (both limits equal) is the reference's timeout.
                Err(_) => Err(spent()),
                Ok(Err(e))
                    if e.message.ends_with(": timed out")
                        && tokio::time::Instant::now() + Duration::from_millis(100) >= deadline =>
                {
                    Err(spent())
                }
                Ok(outcome) => outcome,
            };
            self.breakers.record(host, &outcome);
            let e = match outcome {
                Err(e) if e.kind.is_transient() => e,
                other => return other,
            };
            let wait = match e.retry_after {
                Some(asked) if asked > limits::MAX_RETRY_AFTER => None,
                Some(asked) => Some(asked),
                None => Some(limits::backoff(attempt)),
            };
            let in_time = wait.filter(|w| tokio::time::Instant::now() + *w < deadline);
            match in_time {
                Some(wait) if attempt < limits::ATTEMPTS => tokio::time::sleep(wait).await,
                _ => {
                    let why = match (e.retry_after, wait) {
                        (Some(asked), None) => format!(
                            "; it asked to retry after {} s, more than imgpin waits",
                            asked.as_secs()
                        ),
                        (_, Some(_)) if attempt < limits::ATTEMPTS => {
                            "; --timeout leaves no time for another attempt".to_string()
                        }
                        _ => String::new(),
                    };
                    let attempts = if attempt > 1 {
                        format!(" (after {attempt} attempts{why})")
                    } else if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", &why[2..])
                    };
                    return Err(ResolveError {
                        message: format!("{}{attempts}", e.message),
                        ..e
                    });
                }
            }
        }
    }

    /// One attempt of `op`, over the scheme the host speaks.
    async fn resolve_once(
        &self,
        host: &str,
        auth: &Credentials,
        op: &Op<'_>,
    ) -> Result<Answer, ResolveError> {
        let scheme = self.scheme(host).await?;
        self.run(scheme, host, auth, op).await
    }

    /// HTTPS, except for a local or `--insecure-registry` host that does
    /// not answer it: such a host is probed once per run (its challenge over
    /// HTTPS, then over plain HTTP), however many references wait for it.
    async fn scheme(&self, host: &str) -> Result<Scheme, ResolveError> {
        if !self.may_use_plain_http(host) {
            return Ok(Scheme::Https);
        }
        let cell = Arc::clone(lock(&self.schemes).entry(host.to_string()).or_default());
        cell.get_or_try_init(|| self.probe(host)).await.copied()
    }

    async fn probe(&self, host: &str) -> Result<Scheme, ResolveError> {
        let challenge = |scheme| async move {
            self.tokens
                .challenge(&self.heads, &base_url(host, scheme), host, &self.log)
                .await
        };
        let e = match challenge(Scheme::Https).await {
            Ok(_) => return Ok(Scheme::Https),
            Err(e) if e.kind == ErrorKind::Network => e,
            Err(e) => return Err(e),
        };
        match challenge(Scheme::Http).await {
            Ok(_) => Ok(Scheme::Http),
            Err(plain) if plain.kind == ErrorKind::Network => {
                let prefix = format!("cannot reach registry {host}: ");
                let tls = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
                let http = plain
                    .message
                    .strip_prefix(&prefix)
                    .unwrap_or(&plain.message);
                let message = if tls == http {
                    format!("{prefix}{tls} (tried HTTPS and plain HTTP)")
                } else {
                    format!("{prefix}HTTPS: {tls}; plain HTTP: {http}")
                };
                Err(ResolveError::new(ErrorKind::Network, message))
            }
            // The host speaks TLS with a certificate we do not trust: its
            // plain-HTTP answer ("Client sent an HTTP request to an HTTPS
            // server") would hide the cause.
            Err(_) if is_certificate_error(&e.message) => Err(e),
            // It answers plain HTTP (with an error the request will meet).
            Err(_) => Ok(Scheme::Http),
        }
    }

    async fn run(
        &self,
        scheme: Scheme,
        host: &str,
        auth: &Credentials,
        op: &Op<'_>,
    ) -> Result<Answer, ResolveError> {
        match op {
            Op::Digest(target, platform) => self
                .fetch(scheme, host, target, auth, *platform)
                .await
                .map(Answer::Digest),
            Op::Manifest(target) => self
                .checked_manifest(scheme, host, target, auth)
                .await
                .map(|(bytes, _)| Answer::Bytes(bytes)),
            Op::Blob(target, digest) => self
                .blob(scheme, host, target, auth, digest)
                .await
                .map(Answer::Bytes),
        }
    }

    async fn fetch(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
        platform: Option<&Platform>,
    ) -> Result<Resolved, ResolveError> {
        let digest = match platform {
            None => return self.checked_digest(scheme, host, target, auth).await,
            Some(platform) => {
                let (bytes, digest) = self.checked_manifest(scheme, host, target, auth).await?;
                match pick_platform(&bytes, platform)? {
                    Some(child) => child,
                    None => {
                        self.check_single_platform(scheme, host, target, auth, &bytes, platform)
                            .await?;
                        digest
                    }
                }
            }
        };
        let digest = Digest::parse(&digest).map_err(|e| {
            ResolveError::new(
                ErrorKind::Other,
                format!("registry {host} returned an invalid digest {digest:?}: {e}"),
            )
        })?;
        Ok(Resolved { digest })
    }

    /// The digest of `target`'s manifest, only from an answer that is
    /// provably a manifest: a `HEAD` answered 200 with a manifest media type
    /// and a valid `Docker-Content-Digest` (equal to the digest asked for,
    /// when `target` is one), else a `GET` whose body passes
    /// [`crate::media::check_manifest`] and whose hash is the digest (and
    /// matches the header when there is one). An HTML page, a JSON body that
    /// is not a manifest, a truncated body: an error, never a digest. A
    /// 429 or 5xx to the `HEAD` ends the attempt (one request per attempt);
    /// 401, 403 and 404 are worded from the `GET`'s error body.
    async fn checked_digest(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
    ) -> Result<Resolved, ResolveError> {
        if !self.paranoid {
            if let Some(resolved) = self.head_digest(scheme, host, target, auth).await? {
                return Ok(resolved);
            }
        }
        let (_, digest) = self.checked_manifest(scheme, host, target, auth).await?;
        Digest::parse(&digest)
            .map(|digest| Resolved { digest })
            .map_err(|e| {
                ResolveError::new(
                    ErrorKind::Other,
                    format!("registry {host} returned an invalid digest {digest:?}: {e}"),
                )
            })
    }

    /// A `HEAD` on `target`'s manifest: `Some` digest to pin, `None` when
    /// only a `GET` can settle it, or the error that ends this attempt.
    async fn head_digest(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
    ) -> Result<Option<Resolved>, ResolveError> {
        let answer = self
            .manifest_request(scheme, host, target, auth, reqwest::Method::HEAD)
            .await?;
        let header = |name: &str| header(&answer, name);
        match answer.status().as_u16() {
            200 => match head_verdict(
                header("content-type").as_deref(),
                header("docker-content-digest").as_deref(),
                target.digest(),
            ) {
                HeadVerdict::Pin(digest) => Ok(Some(Resolved { digest })),
                HeadVerdict::Fetch => Ok(None),
                HeadVerdict::Refuse(why) => Err(ResolveError::new(
                    ErrorKind::Other,
                    format!("registry {host} {why}"),
                )),
            },
            code @ (429 | 500..=599) => Err(answers::status_error(
                code,
                host,
                header("retry-after").as_deref(),
            )),
            // 401, 403, 404…: the GET's error body says why.
            _ => Ok(None),
        }
    }

    /// `GET` of `target`'s manifest: its bytes and digest, once the answer
    /// is shown to be a manifest whose sha256 matches what was asked and
    /// what the registry said ([`answers::body_verdict`]).
    async fn checked_manifest(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
    ) -> Result<(Vec<u8>, String), ResolveError> {
        let answer = self
            .manifest_request(scheme, host, target, auth, reqwest::Method::GET)
            .await?;
        let status = answer.status().as_u16();
        let content_type = header(&answer, "content-type");
        let digest = header(&answer, "docker-content-digest");
        let retry_after = header(&answer, "retry-after");
        let body = limited_body(answer, host).await?;
        if status != 200 {
            return Err(answers::error_answer(
                status,
                host,
                &body,
                retry_after.as_deref(),
            ));
        }
        let digest = answers::body_verdict(
            content_type.as_deref(),
            digest.as_deref(),
            target.digest(),
            &body,
        )
        .map_err(|why| ResolveError::new(ErrorKind::Other, format!("registry {host} {why}")))?;
        Ok((body.to_vec(), digest.to_string()))
    }

    /// A single-platform image served for `platform`: its config blob
    /// must say that platform.
    async fn check_single_platform(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
        manifest: &[u8],
        platform: &Platform,
    ) -> Result<(), ResolveError> {
        let facts = crate::media::parse_manifest(manifest)
            .map_err(|e| ResolveError::new(ErrorKind::Other, format!("registry {host}: {e}")))?;
        let ManifestFacts::Image {
            config: Some(config),
            ..
        } = facts
        else {
            return Ok(());
        };
        let bytes = self
            .blob(scheme, host, target, auth, config.as_str())
            .await?;
        match crate::media::config_platform(&bytes) {
            Some(have) if !have.satisfies(platform) => Err(ResolveError::new(
                ErrorKind::NotFound,
                format!(
                    "the tag serves a single-platform {have} image, not {platform} (pin without --platform, or push a {platform} build)"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// One manifest request (`HEAD` or `GET`, every manifest type
    /// accepted) with the repository's authorization, asked again once when
    /// the registry no longer takes a cached token.
    async fn manifest_request(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
        method: reqwest::Method,
    ) -> Result<reqwest::Response, ResolveError> {
        /// Every manifest type imgpin accepts, joined once.
        static ACCEPT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::media::ACCEPTED.join(", "));
        let reference = target.digest().or(target.tag()).unwrap_or("latest");
        let call = Call {
            method,
            path: format!("/v2/{}/manifests/{reference}", target.repository()),
            accept: &ACCEPT,
            kind: Kind::Manifest,
        };
        self.authorized(scheme, host, target, auth, call).await
    }

    /// A blob's bytes, by digest, from `target`'s repository: at most
    /// [`limits::MAX_MANIFEST`] bytes, and only when they hash to `digest`.
    async fn blob(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
        digest: &str,
    ) -> Result<Vec<u8>, ResolveError> {
        let call = Call {
            method: reqwest::Method::GET,
            path: format!("/v2/{}/blobs/{digest}", target.repository()),
            accept: "*/*",
            kind: Kind::Blob,
        };
        let answer = self.authorized(scheme, host, target, auth, call).await?;
        let status = answer.status().as_u16();
        let retry_after = header(&answer, "retry-after");
        let body = limited_body(answer, host).await?;
        if status != 200 {
            return Err(answers::error_answer(
                status,
                host,
                &body,
                retry_after.as_deref(),
            ));
        }
        let got = Digest::sha256_of(&body);
        if got.to_string() != digest {
            return Err(ResolveError::new(
                ErrorKind::Other,
                format!("registry {host} sent a blob that does not match its digest (expected {digest}, got {got}; a proxy or cache may be altering answers)"),
            ));
        }
        Ok(body)
    }

    /// `call` at `target`'s registry with the repository's authorization
    /// (a cached token is asked again once when refused).
    async fn authorized(
        &self,
        scheme: Scheme,
        host: &str,
        target: &Target,
        auth: &Credentials,
        call: Call<'_>,
    ) -> Result<reqwest::Response, ResolveError> {
        let base = target.base(scheme);
        let url = format!("{base}{}", call.path);
        let mut retried = false;
        loop {
            let authorization = self
                .tokens
                .authorization(
                    &self.heads,
                    &base,
                    host,
                    target.repository(),
                    auth,
                    &self.log,
                )
                .await?;
            let request = self
                .heads
                .request(call.method.clone(), &url)
                .header("Accept", call.accept);
            let pass = self.gates.enter(host).await;
            let started = std::time::Instant::now();
            let answer = authorization
                .apply(request)
                .send()
                .await
                .map_err(|e| answers::transport_error(&e, host))?;
            drop(pass);
            let what = format!("{} {}", call.method, call.path);
            self.log.record(host, call.kind, &answer, what, started);
            if answer.status().as_u16() == 401 && authorization.is_token() && !retried {
                // The token expired during a long run: ask again once.
                self.tokens.forget(&base, target.repository());
                retried = true;
                continue;
            }
            return Ok(answer);
        }
    }
}

/// A response body of at most [`limits::MAX_MANIFEST`] bytes: a registry
/// (or a portal) streaming more is refused before it fills memory.
async fn limited_body(mut answer: reqwest::Response, host: &str) -> Result<Vec<u8>, ResolveError> {
    let too_big = || {
        ResolveError::new(
            ErrorKind::Other,
            format!(
                "registry {host} sent a body over {} MiB to a manifest request, which no manifest is; nothing pinned",
                limits::MAX_MANIFEST / (1024 * 1024)
            ),
        )
    };
    if answer
        .content_length()
        .is_some_and(|n| n > limits::MAX_MANIFEST as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| answers::transport_error(&e, host))?
    {
        if body.len() + chunk.len() > limits::MAX_MANIFEST {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A response header as text, when present and readable.
fn header(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// With `--platform`, a tag that serves a single image manifest is pinned
/// only when its config says it is built for `platform`: pinning an amd64
/// image for `--platform linux/arm64` would fail later with `exec format
/// error`. A config without a platform is taken on trust.
/// One request to a registry, retried as a whole by [`OciResolver::lookup`].
enum Op<'a> {
    /// The digest of a manifest (the platform's child with a platform).
    Digest(&'a Target, Option<&'a Platform>),
    /// A manifest's bytes.
    Manifest(&'a Target),
    /// A blob's bytes, by digest, from the repository of the reference.
    Blob(&'a Target, &'a str),
}

/// What an [`Op`] answers.
enum Answer {
    Digest(Resolved),
    Bytes(Vec<u8>),
}

impl Answer {
    fn digest(self) -> Result<Resolved, ResolveError> {
        match self {
            Answer::Digest(resolved) => Ok(resolved),
            Answer::Bytes(_) => Err(mismatched()),
        }
    }

    fn bytes(self) -> Result<Vec<u8>, ResolveError> {
        match self {
            Answer::Bytes(bytes) => Ok(bytes),
            Answer::Digest(_) => Err(mismatched()),
        }
    }
}

fn mismatched() -> ResolveError {
    ResolveError::new(
        ErrorKind::Other,
        "internal error: a registry request answered the wrong kind of value",
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split(']')
            .next()
            .map_or(host, |h| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// From the bytes of a manifest: the digest of `platform`'s manifest when
/// they are an index, `None` when they are a single manifest.
pub fn pick_platform(bytes: &[u8], platform: &Platform) -> Result<Option<String>, ResolveError> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ResolveError::new(
            ErrorKind::Other,
            format!("registry sent a manifest that is not JSON: {e}"),
        )
    })?;
    let is_index = doc
        .get("mediaType")
        .and_then(|m| m.as_str())
        .is_some_and(crate::media::is_index)
        || doc.get("manifests").is_some_and(|m| m.is_array());
    if !is_index {
        return Ok(None);
    }
    let entries = doc
        .get("manifests")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    let field = |e: &serde_json::Value, k: &str| {
        e.get("platform")
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut available = Vec::new();
    let mut fallback = None;
    for entry in &entries {
        let (Some(os), Some(arch)) = (field(entry, "os"), field(entry, "architecture")) else {
            continue;
        };
        let variant = field(entry, "variant");
        available.push(match &variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        });
        if os != platform.os || arch != platform.architecture {
            continue;
        }
        let digest = entry
            .get("digest")
            .and_then(|d| d.as_str())
            .map(str::to_string);
        match (&platform.variant, &variant) {
            (Some(want), Some(have)) if want == have => return Ok(digest),
            (Some(want), None) if want == "v8" && arch == "arm64" => return Ok(digest),
            (Some(_), _) => {}
            (None, None) => return Ok(digest),
            (None, Some(_)) => {
                fallback = fallback.or(digest);
            }
        }
    }
    match fallback {
        Some(d) => Ok(Some(d)),
        None => Err(ResolveError::new(
            ErrorKind::NotFound,
            format!(
                "the index has no {platform} manifest (it has: {})",
                available.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
