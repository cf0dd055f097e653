//! Resolution through the OCI distribution API, with `oci-client`.
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
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RETRIES: u32 = 3;

/// Resolves references against registries that speak the distribution API.
pub struct OciResolver {
    https: Client,
    http: Client,
    credentials: Arc<CredentialStore>,
    insecure: Vec<String>,
    platform: Option<Platform>,
    plain_http_hosts: Mutex<HashMap<String, bool>>,
    auth: Mutex<HashMap<String, RegistryAuth>>,
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
            roots.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let config = |protocol| ClientConfig {
            protocol,
            extra_root_certificates: roots.clone(),
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout.min(Duration::from_secs(10))),
            max_concurrent_download: options.jobs.max(1),
            user_agent: concat!("imgpin/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        Ok(OciResolver {
            https: Client::new(config(ClientProtocol::Https)),
            http: Client::new(config(ClientProtocol::Http)),
            credentials: Arc::new(store),
            insecure: options.insecure_registries.clone(),
            platform: options.platform.clone(),
            plain_http_hosts: Mutex::new(HashMap::new()),
            auth: Mutex::new(HashMap::new()),
        })
    }

    fn may_use_plain_http(&self, host: &str) -> bool {
        let name = host_without_port(host);
        matches!(name, "localhost" | "[::1]" | "::1")
            || name.starts_with("127.")
            || self.insecure.iter().any(|h| h == host || h == name)
    }

    async fn auth_for(&self, host: &str) -> Result<RegistryAuth, ResolveError> {
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
            None => RegistryAuth::Anonymous,
            Some(Credential::Basic { username, password }) => {
                RegistryAuth::Basic(username, password)
            }
            Some(Credential::IdentityToken { username, token }) => {
                RegistryAuth::Basic(username.unwrap_or_else(|| "<token>".to_string()), token)
            }
            Some(Credential::Bearer(token)) => RegistryAuth::Bearer(token),
        };
        lock(&self.auth).insert(host.to_string(), auth.clone());
        Ok(auth)
    }

    /// Whether the docker credential store has a login for `host`.
    pub async fn has_credentials(&self, host: &str) -> bool {
        !matches!(
            self.auth_for(host).await,
            Ok(RegistryAuth::Anonymous) | Err(_)
        )
    }

    /// Resolve one reference's tag to the digest to pin, retrying transient failures.
    pub async fn resolve(&self, reference: &ImageRef) -> Result<Resolved, ResolveError> {
        let target = Reference::with_tag(
            reference.domain().to_string(),
            reference.repository().to_string(),
            reference.tag_or_latest().to_string(),
        );
        let op = Op::Digest(&target, self.platform.as_ref());
        self.lookup(reference.domain(), &op).await?.digest()
    }

    /// Whether the registry still has the manifest `reference` is pinned to
    /// (a HEAD on the manifest by digest). `Ok(false)` when the registry says
    /// it is unknown; errors when the registry cannot answer. A reference
    /// without a digest is checked by its tag.
    pub async fn digest_exists(&self, reference: &ImageRef) -> Result<bool, ResolveError> {
        let Some(digest) = reference.digest() else {
            return self.resolve(reference).await.map(|_| true);
        };
        let target = Reference::with_digest(
            reference.domain().to_string(),
            reference.repository().to_string(),
            digest.to_string(),
        );
        match self
            .lookup(reference.domain(), &Op::Digest(&target, None))
            .await
        {
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
        let host = reference.domain();
        let target = match reference.digest() {
            Some(digest) => Reference::with_digest(
                host.to_string(),
                reference.repository().to_string(),
                digest.to_string(),
            ),
            None => Reference::with_tag(
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

    /// Runs `op` against the registry at `host` with its credentials,
    /// retrying transient failures with backoff.
    async fn lookup(&self, host: &str, op: &Op<'_>) -> Result<Answer, ResolveError> {
        let auth = self.auth_for(host).await?;
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.resolve_once(host, &auth, op).await {
                Err(e) if e.kind.is_transient() && attempt < RETRIES => {
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(e) if e.kind.is_transient() && attempt > 1 => {
                    return Err(ResolveError::new(
                        e.kind,
                        format!("{} (after {attempt} attempts)", e.message),
                    ))
                }
                other => return other,
            }
        }
    }

    /// One attempt of `op`: over HTTPS, or plain HTTP for a host known to
    /// speak it; a local or `--insecure-registry` host that does not answer
    /// HTTPS is tried once over plain HTTP and remembered.
    async fn resolve_once(
        &self,
        host: &str,
        auth: &RegistryAuth,
        op: &Op<'_>,
    ) -> Result<Answer, ResolveError> {
        let known_plain = lock(&self.plain_http_hosts).get(host).copied();
        if known_plain == Some(true) {
            return self.run(&self.http, host, auth, op).await;
        }
        let tls = self.run(&self.https, host, auth, op).await;
        match tls {
            Err(e)
                if e.kind == ErrorKind::Network
                    && known_plain.is_none()
                    && self.may_use_plain_http(host) =>
            {
                match self.run(&self.http, host, auth, op).await {
                    Ok(found) => {
                        lock(&self.plain_http_hosts).insert(host.to_string(), true);
                        Ok(found)
                    }
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
                    // The host speaks TLS with a certificate we do not
                    // trust: its plain-HTTP answer ("Client sent an HTTP
                    // request to an HTTPS server") would hide the cause.
                    Err(_) if is_certificate_error(&e.message) => Err(e),
                    Err(plain) => {
                        lock(&self.plain_http_hosts).insert(host.to_string(), true);
                        Err(plain)
                    }
                }
            }
            Ok(found) => {
                lock(&self.plain_http_hosts).insert(host.to_string(), false);
                Ok(found)
            }
            Err(e) => Err(e),
        }
    }

    async fn run(
        &self,
        client: &Client,
        host: &str,
        auth: &RegistryAuth,
        op: &Op<'_>,
    ) -> Result<Answer, ResolveError> {
        match op {
            Op::Digest(target, platform) => self
                .fetch(client, host, target, auth, *platform)
                .await
                .map(Answer::Digest),
            Op::Manifest(target) => client
                .pull_manifest_raw(target, auth, &crate::media::ACCEPTED)
                .await
                .map(|(bytes, _)| Answer::Bytes(bytes.to_vec()))
                .map_err(|e| map_error(e, host)),
            Op::Blob(target, digest) => {
                // The manifest request before this one stored the token.
                let mut bytes: Vec<u8> = Vec::new();
                client
                    .pull_blob(target, *digest, &mut bytes)
                    .await
                    .map(|()| Answer::Bytes(bytes))
                    .map_err(|e| map_error(e, host))
            }
        }
    }

    async fn fetch(
        &self,
        client: &Client,
        host: &str,
        target: &Reference,
        auth: &RegistryAuth,
        platform: Option<&Platform>,
    ) -> Result<Resolved, ResolveError> {
        let digest = match platform {
            None => client
                .fetch_manifest_digest(target, auth)
                .await
                .map_err(|e| map_error(e, host))?,
            Some(platform) => {
                let (bytes, digest) = client
                    .pull_manifest_raw(target, auth, &crate::media::ACCEPTED)
                    .await
                    .map_err(|e| map_error(e, host))?;
                match pick_platform(&bytes, platform)? {
                    Some(child) => child,
                    None => {
                        check_single_platform(client, host, target, &bytes, platform).await?;
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
}

/// With `--platform`, a tag that serves a single image manifest is pinned
/// only when its config says it is built for `platform`: pinning an amd64
/// image for `--platform linux/arm64` would fail later with `exec format
/// error`. A config without a platform is taken on trust.
async fn check_single_platform(
    client: &Client,
    host: &str,
    target: &Reference,
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
    let mut bytes: Vec<u8> = Vec::new();
    client
        .pull_blob(target, config.as_str(), &mut bytes)
        .await
        .map_err(|e| map_error(e, host))?;
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

/// One request to a registry, retried as a whole by [`OciResolver::lookup`].
enum Op<'a> {
    /// The digest of a manifest (the platform's child with a platform).
    Digest(&'a Reference, Option<&'a Platform>),
    /// A manifest's bytes.
    Manifest(&'a Reference),
    /// A blob's bytes, by digest, from the repository of the reference.
    Blob(&'a Reference, &'a str),
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

fn map_error(err: OciDistributionError, host: &str) -> ResolveError {
    use OciDistributionError as E;
    match err {
        E::RegistryError { envelope, .. } => {
            let kind = envelope
                .errors
                .iter()
                .map(|e| match e.code {
                    OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound => ErrorKind::NotFound,
                    OciErrorCode::Unauthorized | OciErrorCode::Denied => ErrorKind::Unauthorized,
                    OciErrorCode::Toomanyrequests => ErrorKind::RateLimited,
                    _ => ErrorKind::Other,
                })
                .next()
                .unwrap_or(ErrorKind::Other);
            let answers: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| {
                    let code = serde_json::to_value(&e.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("{:?}", e.code));
                    if e.message.is_empty() {
                        code
                    } else {
                        format!("{code} ({})", e.message)
                    }
                })
                .collect();
            ResolveError::new(kind, format!("registry {host} answered {}", answers.join("; ")))
        }
        E::ServerError { code, message, .. } => {
            let kind = match code {
                404 => ErrorKind::NotFound,
                401 | 403 => ErrorKind::Unauthorized,
                429 => ErrorKind::RateLimited,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::Other,
            };
            let status = reqwest_status_text(code);
            let body = answer_text(&message);
            let text = if body.is_empty() {
                format!("registry {host} answered HTTP {code} {status}")
            } else {
                format!("registry {host} answered HTTP {code} {status}: {body}")
            };
            ResolveError::new(kind, text)
        }
        E::UnauthorizedError { .. } => ResolveError::new(
            ErrorKind::Unauthorized,
            format!("registry {host} answered HTTP 401 Unauthorized (log in with `docker login {host}` or check DOCKER_CONFIG)"),
        ),
        E::AuthenticationFailure(msg) => ResolveError::new(
            ErrorKind::Unauthorized,
            format!("authentication with registry {host} failed: {msg}"),
        ),
        E::ImageManifestNotFoundError(msg) => {
            ResolveError::new(ErrorKind::NotFound, format!("registry {host}: manifest not found: {msg}"))
        }
        E::DigestError(oci_client::errors::DigestError::VerificationError { expected, actual }) => {
            ResolveError::new(
                ErrorKind::Other,
                format!("registry {host} sent a manifest that does not match its digest (expected {expected}, got {actual}; a proxy or cache may be altering answers)"),
            )
        }
        E::RequestError(e) => {
            let chain = innermost_cause(&e);
            // A refused certificate does not get better by retrying.
            let (kind, what) = if e.is_timeout() {
                (ErrorKind::Network, "timed out".to_string())
            } else if is_certificate_error(&chain) {
                (ErrorKind::Other, format!("{chain} (trust its CA with --ca-file or SSL_CERT_FILE)"))
            } else {
                (ErrorKind::Network, chain)
            };
            ResolveError::new(kind, format!("cannot reach registry {host}: {what}"))
        }
        other => ResolveError::new(ErrorKind::Other, format!("registry {host}: {other}")),
    }
}

/// A registry's error body as one short line: the `<title>` (or the text)
/// of an HTML page from a proxy or firewall, whitespace collapsed, at most
/// 200 characters.
fn answer_text(body: &str) -> String {
    let body = body.trim();
    let text = if body.starts_with('<') {
        let lower = body.to_ascii_lowercase();
        let title = lower.find("<title>").and_then(|start| {
            let from = start + "<title>".len();
            let len = lower[from..].find("</title>")?;
            body.get(from..from + len)
        });
        match title.filter(|t| !t.trim().is_empty()) {
            Some(title) => title.to_string(),
            None => {
                let mut text = String::new();
                let mut in_tag = false;
                for c in body.chars() {
                    match c {
                        '<' => {
                            in_tag = true;
                            text.push(' ');
                        }
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                text
            }
        }
    } else {
        body.to_string()
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() > 200 {
        let cut: String = line.chars().take(200).collect();
        format!("{cut}…")
    } else {
        line
    }
}

fn reqwest_status_text(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Whether a transport error is the registry's certificate being refused
/// (rustls: "invalid peer certificate: UnknownIssuer", …).
fn is_certificate_error(chain: &str) -> bool {
    chain.contains("certificate")
}

/// The innermost cause of a transport error, in words: "Connection refused
/// (os error 111)", "invalid peer certificate: UnknownIssuer", …
fn innermost_cause(e: &dyn std::error::Error) -> String {
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    innermost
        .strip_prefix("tcp connect error: ")
        .unwrap_or(&innermost)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}"#;

    #[test]
    fn picks_the_platform_from_an_index() {
        let b = INDEX.as_bytes();
        assert_eq!(
            pick_platform(b, &p("linux/amd64")).unwrap().as_deref(),
            Some("sha256:aa")
        );
        assert_eq!(
            pick_platform(b, &p("linux/arm64")).unwrap().as_deref(),
            Some("sha256:bb")
        );
        assert_eq!(
            pick_platform(b, &p("linux/arm64/v8")).unwrap().as_deref(),
            Some("sha256:bb")
        );
        assert_eq!(
            pick_platform(b, &p("linux/arm/v7")).unwrap().as_deref(),
            Some("sha256:cc")
        );
        let err = pick_platform(b, &p("windows/amd64")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(err.message.contains("linux/arm/v7"), "{}", err.message);
    }

    #[test]
    fn single_manifest_is_not_an_index() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        assert_eq!(pick_platform(m, &p("linux/amd64")).unwrap(), None);
    }

    /// Regression: a proxy's HTML error page was printed as is, one
    /// finding spread over many lines of text output.
    #[test]
    fn error_pages_become_one_short_line() {
        let page = "<html>\n<head><title>403 Forbidden</title></head>\n<body>\n<center><h1>403 Forbidden</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n";
        assert_eq!(answer_text(page), "403 Forbidden");
        assert_eq!(
            answer_text("<html><body><p>Blocked\nby policy</p></body></html>"),
            "Blocked by policy"
        );
        assert_eq!(answer_text("  upstream\r\n down \n"), "upstream down");
        let long = answer_text(&"x".repeat(300));
        assert_eq!(long.chars().count(), 201);
        assert!(long.ends_with('…'));
        assert_eq!(answer_text("é".repeat(250).as_str()).chars().count(), 201);
        assert_eq!(answer_text(""), "");
    }

    #[test]
    fn host_port_split() {
        assert_eq!(host_without_port("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(host_without_port("[::1]:5000"), "[::1]");
        assert_eq!(host_without_port("localhost"), "localhost");
    }
}
