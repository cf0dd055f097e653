//! Registry credentials, found the way `docker` and `crane` find them.
//!
//! A [`CredentialStore`] reads docker's `config.json` once (from
//! `$DOCKER_CONFIG`, else `~/.docker`) and answers, per registry host, with a
//! [`Credential`] or nothing. The order is docker's: a per-host credential
//! helper (`credHelpers`) beats the default helper (`credsStore`), which
//! beats the `auths` entries stored in the file; a helper that answers
//! "credentials not found" falls back to `auths`. Helpers are run through
//! the `docker-credential-<name> get` protocol with a timeout, synchronously
//! (async callers use `spawn_blocking`), and each host is looked up at most
//! once per store. The rule of this module: **secrets never leak** — every
//! type holding one has a redacted `Debug`, no `Display` shows one, and no
//! error message quotes one (nor a helper's stdout that could hold one).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;

/// The `auths` key and helper server URL docker uses for Docker Hub.
const DOCKER_HUB_LEGACY_KEY: &str = "https://index.docker.io/v1/";
/// Registry hosts that all mean Docker Hub.
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
/// Prefix of every credential helper's program name.
const HELPER_PREFIX: &str = "docker-credential-";
/// The helper `Username` that marks `Secret` as an identity token.
const TOKEN_USERNAME: &str = "<token>";
/// What a helper prints on stdout when it has no entry for a server.
const NOT_FOUND_MESSAGE: &str = "credentials not found";
/// At most this many characters of a helper's message go into an error.
const MAX_MESSAGE_CHARS: usize = 1000;
/// At most this many bytes are read from a helper's stdout or stderr.
const MAX_OUTPUT_BYTES: u64 = 1 << 20;

/// How long a credential helper may take before it is killed.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// Standard base64 that, like most clients, does not insist on padding.
const AUTH_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A credential for one registry. `Debug` redacts the secret and `Display`
/// only says what kind of credential it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// HTTP Basic user name and password (also what registries exchange for a
    /// bearer token).
    Basic {
        /// The user name.
        username: String,
        /// The password or access token; secret.
        password: String,
    },
    /// An `OAuth2` refresh token (`identitytoken` in `auths`, or a helper's
    /// answer with user name `<token>`), to be exchanged at the registry's
    /// token endpoint.
    IdentityToken {
        /// The user name stored with the token, if any.
        username: Option<String>,
        /// The refresh token; secret.
        token: String,
    },
    /// A registry bearer token to send as it is (`registrytoken`); secret.
    Bearer(String),
}

/// Stands in for a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Credential::Basic")
                .field("username", username)
                .field("password", &REDACTED)
                .finish(),
            Credential::IdentityToken { username, .. } => f
                .debug_struct("Credential::IdentityToken")
                .field("username", username)
                .field("token", &REDACTED)
                .finish(),
            Credential::Bearer(_) => f
                .debug_tuple("Credential::Bearer")
                .field(&REDACTED)
                .finish(),
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "basic auth as {username:?}"),
            Credential::IdentityToken {
                username: Some(username),
                ..
            } => write!(f, "identity token for {username:?}"),
            Credential::IdentityToken { username: None, .. } => f.write_str("identity token"),
            Credential::Bearer(_) => f.write_str("bearer token"),
        }
    }
}

/// Why credentials could not be found. Messages name the config file, the
/// `auths` key or the helper, and never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The config file exists but could not be read.
    #[error("cannot read docker config {}: {message}", path.display())]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The config file is not valid JSON.
    #[error("{}:{line}:{column}: invalid JSON in docker config: {message}", path.display())]
    ParseConfig {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What `serde_json` found wrong (never quotes the file's content).
        message: String,
    },
    /// A setting this module reads has the wrong JSON type.
    #[error("{}: `{field}` in docker config must be {expected}", path.display())]
    ConfigShape {
        /// The config file.
        path: PathBuf,
        /// Where in the JSON, e.g. `auths["ghcr.io"].auth`.
        field: String,
        /// The JSON type wanted, e.g. "a string".
        expected: &'static str,
    },
    /// An `auths` entry's `auth` field cannot be decoded.
    #[error("auths entry {key:?} in {}: {reason}", path.display())]
    InvalidAuth {
        /// The config file.
        path: PathBuf,
        /// The `auths` key (a registry name, not a secret).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configured helper's name cannot be a program name.
    #[error("invalid credential helper name {helper:?} (configured in {setting} of {})", path.display())]
    InvalidHelperName {
        /// The helper name as configured.
        helper: String,
        /// `credsStore` or `credHelpers`.
        setting: &'static str,
        /// The config file.
        path: PathBuf,
    },
    /// `docker-credential-<helper>` is on no directory of the search path.
    #[error("credential helper docker-credential-{helper} not found on PATH (configured in {setting} of {})", path.display())]
    HelperNotFound {
        /// The helper name as configured.
        helper: String,
        /// `credsStore` or `credHelpers`.
        setting: &'static str,
        /// The config file.
        path: PathBuf,
    },
    /// The helper could not be started or waited for.
    #[error("cannot run credential helper docker-credential-{helper} ({}): {message}", program.display())]
    HelperSpawn {
        /// The helper name.
        helper: String,
        /// The program that was run.
        program: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The helper exited unsuccessfully for a reason other than "not found".
    #[error(
        "credential helper docker-credential-{helper} failed for {registry} ({status}): {message}"
    )]
    HelperFailed {
        /// The helper name.
        helper: String,
        /// The registry host asked about.
        registry: String,
        /// How it exited, e.g. "exit status: 1".
        status: String,
        /// Its stderr, trimmed and shortened (or its stdout when stderr is
        /// empty and stdout does not look like a credential answer).
        message: String,
    },
    /// The helper did not finish within the timeout and was killed.
    #[error("credential helper docker-credential-{helper} did not answer for {registry} within {timeout:?}")]
    HelperTimeout {
        /// The helper name.
        helper: String,
        /// The registry host asked about.
        registry: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The helper succeeded but its stdout is not the expected JSON.
    #[error("credential helper docker-credential-{helper} answered for {registry} with {reason}")]
    HelperOutput {
        /// The helper name.
        helper: String,
        /// The registry host asked about.
        registry: String,
        /// What is wrong (never quotes the output).
        reason: &'static str,
    },
}

/// One `auths` entry of `config.json`. No `Debug`: it holds secrets.
#[derive(Clone, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identity_token: Option<String>,
    registry_token: Option<String>,
}

/// The parts of docker's `config.json` that concern credentials.
#[derive(Clone, Default)]
struct DockerConfig {
    auths: BTreeMap<String, AuthEntry>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
}

/// A credential with a description of where it came from.
#[derive(Clone, Debug)]
struct Found {
    credential: Credential,
    source: String,
}

/// The cached answer for one registry host.
type LookupResult = Result<Option<Found>, CredentialError>;

/// Registry credentials from docker's config file and credential helpers,
/// looked up at most once per registry host. `Debug` shows the settings but
/// no secret. The store is `Send + Sync`; share it in an `Arc`.
pub struct CredentialStore {
    config_path: Option<PathBuf>,
    config: DockerConfig,
    helper_path: Option<Vec<PathBuf>>,
    helper_timeout: Duration,
    cache: Mutex<HashMap<String, Arc<OnceLock<LookupResult>>>>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("CredentialStore")
            .field("config_path", &self.config_path)
            .field("auths", &self.config.auths.keys().collect::<Vec<_>>())
            .field("creds_store", &self.config.creds_store)
            .field("cred_helpers", &self.config.cred_helpers)
            .field("helper_path", &self.helper_path)
            .field("helper_timeout", &self.helper_timeout)
            .field("cached_registries", &cached)
            .finish()
    }
}

impl CredentialStore {
    /// Reads `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set and not
    /// empty, else `$HOME/.docker/config.json` (`USERPROFILE` on Windows).
    /// A missing file, or no home directory, gives a store with no
    /// credentials.
    ///
    /// # Errors
    ///
    /// As [`CredentialStore::from_dir`].
    pub fn from_env() -> Result<CredentialStore, CredentialError> {
        let home = std::env::var_os("HOME").or_else(|| {
            if cfg!(windows) {
                std::env::var_os("USERPROFILE")
            } else {
                None
            }
        });
        match config_dir_from(std::env::var_os("DOCKER_CONFIG"), home) {
            Some(dir) => CredentialStore::from_dir(&dir),
            None => Ok(CredentialStore::empty()),
        }
    }

    /// Reads `dir/config.json`. A missing file gives a store with no
    /// credentials.
    ///
    /// # Errors
    ///
    /// [`CredentialError::ReadConfig`] when the file cannot be read,
    /// [`CredentialError::ParseConfig`] when it is not JSON, and
    /// [`CredentialError::ConfigShape`] when `auths`, `credsStore` or
    /// `credHelpers` has the wrong type; each names the file.
    pub fn from_dir(dir: &Path) -> Result<CredentialStore, CredentialError> {
        let path = dir.join("config.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(CredentialStore::empty())
            }
            Err(err) => {
                return Err(CredentialError::ReadConfig {
                    path,
                    message: err.to_string(),
                })
            }
        };
        let config = parse_config(&path, &bytes)?;
        Ok(CredentialStore {
            config_path: Some(path),
            config,
            ..CredentialStore::empty()
        })
    }

    /// A store with no credentials: every lookup answers `None`.
    #[must_use]
    pub fn empty() -> CredentialStore {
        CredentialStore {
            config_path: None,
            config: DockerConfig::default(),
            helper_path: None,
            helper_timeout: DEFAULT_HELPER_TIMEOUT,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Searches these directories, in order, for `docker-credential-<name>`
    /// programs instead of the `PATH` environment variable. Relative
    /// directories are skipped, as they are in `PATH`.
    #[must_use]
    pub fn with_helper_path(mut self, dirs: Vec<PathBuf>) -> CredentialStore {
        self.helper_path = Some(dirs);
        self
    }

    /// Kills a credential helper that has not answered after `timeout`
    /// (default [`DEFAULT_HELPER_TIMEOUT`]).
    #[must_use]
    pub fn with_helper_timeout(mut self, timeout: Duration) -> CredentialStore {
        self.helper_timeout = timeout;
        self
    }

    /// The credential for a registry, or `None` when there is none (anonymous
    /// access). `registry` is the normalised registry host as an image
    /// reference names it: "docker.io", "ghcr.io", "127.0.0.1:5000",
    /// "123.dkr.ecr.us-east-1.amazonaws.com". The answer, error included, is
    /// cached for the life of the store.
    ///
    /// # Errors
    ///
    /// A malformed `auths` entry for the registry, or a configured helper
    /// that is missing, fails, times out or answers with bad output. A helper
    /// that answers "credentials not found" is not an error: the file's
    /// `auths` are used instead.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        self.resolve(registry)
            .map(|found| found.map(|f| f.credential))
    }

    /// Where the credential for `registry` came from, for `-v` output:
    /// "auths in /home/u/.docker/config.json", "credential helper ecr-login".
    /// `None` when there is no credential or the lookup failed. Looks the
    /// registry up if that has not been done yet.
    pub fn source_of(&self, registry: &str) -> Option<String> {
        self.resolve(registry).ok().flatten().map(|f| f.source)
    }

    /// The config file that was read; `None` when there was none.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// Looks `registry` up through the per-host cache.
    fn resolve(&self, registry: &str) -> LookupResult {
        let host = normalise_host(registry);
        if host.is_empty() {
            return Ok(None);
        }
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cache.entry(host.clone()).or_default())
        };
        // Concurrent callers for one host wait for the first; other hosts
        // are not held up (the map's lock is not held here).
        cell.get_or_init(|| self.resolve_uncached(&host)).clone()
    }

    /// Helper first (credHelpers, then credsStore), then `auths`.
    fn resolve_uncached(&self, host: &str) -> LookupResult {
        let server_url = if is_docker_hub(host) {
            DOCKER_HUB_LEGACY_KEY
        } else {
            host
        };
        if let Some((name, setting)) = self.helper_for(host, server_url) {
            // `None`: not in the helper's store, so fall back to the file.
            if let Some(credential) = self.run_helper(name, setting, host, server_url)? {
                return Ok(Some(Found {
                    credential,
                    source: format!("credential helper {name}"),
                }));
            }
        }
        self.lookup_auths(host, server_url)
    }

    /// The helper to ask for `host`, with the setting that configured it.
    fn helper_for(&self, host: &str, server_url: &str) -> Option<(&str, &'static str)> {
        if let Some((_, name)) = matching(&self.config.cred_helpers, host, server_url)
            .into_iter()
            .next()
        {
            // As in docker, an empty per-host helper means "use the file",
            // even when a credsStore is set.
            return (!name.is_empty()).then_some((name.as_str(), "credHelpers"));
        }
        match &self.config.creds_store {
            Some(name) if !name.is_empty() => Some((name.as_str(), "credsStore")),
            _ => None,
        }
    }

    /// The first matching `auths` entry that holds a credential.
    fn lookup_auths(&self, host: &str, server_url: &str) -> LookupResult {
        let path = self.config_path.as_deref().unwrap_or(Path::new(""));
        for (key, entry) in matching(&self.config.auths, host, server_url) {
            if let Some(credential) = entry.credential(key, path)? {
                return Ok(Some(Found {
                    credential,
                    source: format!("auths in {}", path.display()),
                }));
            }
        }
        Ok(None)
    }

    /// Runs `docker-credential-<name> get` for `server_url`. `Ok(None)` when
    /// the helper has no entry for it.
    fn run_helper(
        &self,
        name: &str,
        setting: &'static str,
        host: &str,
        server_url: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let config_path = || self.config_path.clone().unwrap_or_default();
        if name.contains(['/', '\\', '\0']) {
            return Err(CredentialError::InvalidHelperName {
                helper: name.to_owned(),
                setting,
                path: config_path(),
            });
        }
        let program = self
            .find_helper(name)
            .ok_or_else(|| CredentialError::HelperNotFound {
                helper: name.to_owned(),
                setting,
                path: config_path(),
            })?;
        let output = match run_with_timeout(&program, server_url, self.helper_timeout) {
            Ok(output) => output,
            Err(RunError::Timeout) => {
                return Err(CredentialError::HelperTimeout {
                    helper: name.to_owned(),
                    registry: host.to_owned(),
                    timeout: self.helper_timeout,
                })
            }
            Err(RunError::Io(err)) => {
                return Err(CredentialError::HelperSpawn {
                    helper: name.to_owned(),
                    program,
                    message: err.to_string(),
                })
            }
        };
        if !output.status.success() {
            if String::from_utf8_lossy(&output.stdout).contains(NOT_FOUND_MESSAGE) {
                return Ok(None);
            }
            return Err(CredentialError::HelperFailed {
                helper: name.to_owned(),
                registry: host.to_owned(),
                status: output.status.to_string(),
                message: failure_message(&output.stderr, &output.stdout),
            });
        }
        let answer: HelperAnswer =
            serde_json::from_slice(&output.stdout).map_err(|_| CredentialError::HelperOutput {
                helper: name.to_owned(),
                registry: host.to_owned(),
                reason: "output that is not JSON with string fields Username and Secret",
            })?;
        let username = answer.username.unwrap_or_default();
        let secret = answer.secret.unwrap_or_default();
        if secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(if username == TOKEN_USERNAME {
            Credential::IdentityToken {
                username: None,
                token: secret,
            }
        } else {
            Credential::Basic {
                username,
                password: secret,
            }
        }))
    }

    /// The first executable `docker-credential-<name>` on the search path.
    fn find_helper(&self, name: &str) -> Option<PathBuf> {
        let file = format!("{HELPER_PREFIX}{name}");
        let dirs: Vec<PathBuf> = match &self.helper_path {
            Some(dirs) => dirs.clone(),
            None => std::env::var_os("PATH")
                .map(|path| std::env::split_paths(&path).collect())
                .unwrap_or_default(),
        };
        let mut names = vec![file.clone()];
        if cfg!(windows) {
            names.insert(0, format!("{file}.exe"));
        }
        dirs.iter()
            .filter(|dir| dir.is_absolute())
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|candidate| is_executable(candidate))
    }
}

/// What a helper prints on success. `ServerURL` is not needed.
#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: Option<String>,
    #[serde(rename = "Secret", default)]
    secret: Option<String>,
}

impl AuthEntry {
    /// The credential this entry holds, if any. Precedence as in docker's
    /// registry client: `registrytoken`, then `identitytoken`, then user name
    /// and password (`auth` overriding `username`/`password`).
    fn credential(&self, key: &str, path: &Path) -> Result<Option<Credential>, CredentialError> {
        let mut username = non_empty(self.username.as_ref());
        let mut password = self.password.clone().unwrap_or_default();
        if let Some(auth) = non_empty(self.auth.as_ref()) {
            let (user, pass) =
                decode_auth(&auth).map_err(|reason| CredentialError::InvalidAuth {
                    path: path.to_path_buf(),
                    key: key.to_owned(),
                    reason,
                })?;
            username = Some(user);
            password = pass;
        }
        if let Some(token) = non_empty(self.registry_token.as_ref()) {
            return Ok(Some(Credential::Bearer(token)));
        }
        if let Some(token) = non_empty(self.identity_token.as_ref()) {
            return Ok(Some(Credential::IdentityToken { username, token }));
        }
        Ok(username.map(|username| Credential::Basic { username, password }))
    }
}

/// A copy of the string when it is present and not empty.
fn non_empty(value: Option<&String>) -> Option<String> {
    value.filter(|s| !s.is_empty()).cloned()
}

/// Decodes an `auth` field: base64 of `user:password`, split at the first
/// colon. Errors are fixed texts that never quote the input.
fn decode_auth(auth: &str) -> Result<(String, String), &'static str> {
    let cleaned: String = auth.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = AUTH_BASE64
        .decode(cleaned.as_bytes())
        .map_err(|_| "`auth` is not valid base64")?;
    let text = String::from_utf8(bytes).map_err(|_| "decoded `auth` is not UTF-8")?;
    let (user, password) = text
        .split_once(':')
        .ok_or("decoded `auth` has no ':' between user name and password")?;
    if user.is_empty() {
        return Err("decoded `auth` has an empty user name");
    }
    Ok((user.to_owned(), password.trim_matches('\0').to_owned()))
}

/// The docker config directory: `DOCKER_CONFIG` if set and not empty, else
/// `<home>/.docker`.
fn config_dir_from(docker_config: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    match docker_config {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => home
            .filter(|home| !home.is_empty())
            .map(|home| PathBuf::from(home).join(".docker")),
    }
}

/// The host of a registry name or `auths` key, as docker's
/// `ConvertToHostname` (plus lower case): `https://Host:5000/v1/` →
/// `host:5000`.
fn normalise_host(name: &str) -> String {
    let name = name.trim();
    let rest = match name.find("://") {
        Some(at) => &name[at + 3..],
        None => name,
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.rfind('@') {
        Some(at) => &host[at + 1..],
        None => host,
    };
    host.to_ascii_lowercase()
}

/// Whether a normalised host is Docker Hub.
fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS.contains(&host)
}

/// Entries of `map` whose key names the registry, best first: the exact key
/// docker would use (`server_url`), the host as given, then every other key
/// with the same host (for Docker Hub, any Hub host) in key order.
fn matching<'a, V>(
    map: &'a BTreeMap<String, V>,
    host: &str,
    server_url: &str,
) -> Vec<(&'a String, &'a V)> {
    let hub = is_docker_hub(host);
    let mut found: Vec<(&String, &V)> = Vec::new();
    for exact in [server_url, host] {
        if let Some((key, value)) = map.get_key_value(exact) {
            if !found.iter().any(|(k, _)| *k == key) {
                found.push((key, value));
            }
        }
    }
    for (key, value) in map {
        if found.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let key_host = normalise_host(key);
        if key_host == host || (hub && is_docker_hub(&key_host)) {
            found.push((key, value));
        }
    }
    found
}

/// Parses the credential settings of `config.json`. Other settings are
/// ignored whatever their shape. Errors never quote the file's values.
fn parse_config(path: &Path, bytes: &[u8]) -> Result<DockerConfig, CredentialError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // docker accepts an empty config file.
        return Ok(DockerConfig::default());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|err| {
        let full = err.to_string();
        let suffix = format!(" at line {} column {}", err.line(), err.column());
        CredentialError::ParseConfig {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
        }
    })?;
    let shape = |field: String, expected: &'static str| CredentialError::ConfigShape {
        path: path.to_path_buf(),
        field,
        expected,
    };
    let Value::Object(top) = value else {
        return Err(shape("(top level)".to_owned(), "an object"));
    };
    let string = |value: Option<&Value>, field: &dyn Fn() -> String| match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(shape(field(), "a string")),
    };

    let mut config = DockerConfig {
        creds_store: string(top.get("credsStore"), &|| "credsStore".to_owned())?,
        ..DockerConfig::default()
    };
    match top.get("auths") {
        None | Some(Value::Null) => {}
        Some(Value::Object(auths)) => {
            for (key, entry) in auths {
                let entry = match entry {
                    Value::Null => AuthEntry::default(),
                    Value::Object(fields) => {
                        let field = |name: &str| {
                            string(fields.get(name), &|| format!("auths[{key:?}].{name}"))
                        };
                        AuthEntry {
                            auth: field("auth")?,
                            username: field("username")?,
                            password: field("password")?,
                            identity_token: field("identitytoken")?,
                            registry_token: field("registrytoken")?,
                        }
                    }
                    _ => return Err(shape(format!("auths[{key:?}]"), "an object")),
                };
                config.auths.insert(key.clone(), entry);
            }
        }
        Some(_) => return Err(shape("auths".to_owned(), "an object")),
    }
    match top.get("credHelpers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(helpers)) => {
            for (key, helper) in helpers {
                let field = || format!("credHelpers[{key:?}]");
                if let Some(name) = string(Some(helper), &field)? {
                    config.cred_helpers.insert(key.clone(), name);
                }
            }
        }
        Some(_) => return Err(shape("credHelpers".to_owned(), "an object")),
    }
    Ok(config)
}

/// Whether `path` is a file this process may execute.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// A finished helper's exit status and output.
struct RawOutput {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Why a helper run produced no output.
enum RunError {
    Timeout,
    Io(io::Error),
}

/// Runs `program get` with `input` and a newline on stdin; kills it after
/// `timeout`. Pipes are served by threads so that no pipe fills up, and a
/// grandchild holding a pipe open cannot hang the caller.
fn run_with_timeout(program: &Path, input: &str, timeout: Duration) -> Result<RawOutput, RunError> {
    let deadline = Instant::now() + timeout;
    let mut child = spawn_helper(program).map_err(RunError::Io)?;
    let pipes = serve_pipes(&mut child, format!("{input}\n"));
    let (stdout, stderr) = match pipes {
        Ok(pipes) => pipes,
        Err(err) => {
            kill(&mut child);
            return Err(RunError::Io(err));
        }
    };
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(err) => {
                kill(&mut child);
                return Err(RunError::Io(err));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return Err(RunError::Timeout);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    // The pipes close when the helper exits, unless a process it started
    // keeps them open; what the helper wrote is already in them.
    let until = deadline.max(Instant::now() + PIPE_QUIET);
    Ok(RawOutput {
        status,
        stdout: drain(&stdout, until),
        stderr: drain(&stderr, until),
    })
}

/// How long a pipe may stay silent, after the helper exited, before its
/// output is taken as complete.
const PIPE_QUIET: Duration = Duration::from_millis(250);

/// Collects a pipe's chunks until it closes, stays quiet for
/// [`PIPE_QUIET`], or `until` passes.
fn drain(chunks: &mpsc::Receiver<Vec<u8>>, until: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        match chunks.recv_timeout(left.min(PIPE_QUIET)) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => return out, // closed, or quiet
        }
    }
}

/// Starts the helper with piped stdio. Retries briefly on ETXTBSY, which a
/// helper that is being installed (or a test script another thread is still
/// writing when this one forks) can cause.
fn spawn_helper(program: &Path) -> io::Result<Child> {
    let mut attempt: u32 = 0;
    loop {
        let spawned = Command::new(program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Err(err) if err.kind() == io::ErrorKind::ExecutableFileBusy && attempt < 20 => {
                attempt += 1;
                thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

/// Writes `input` to the child's stdin and reads its stdout and stderr, each
/// on a thread; the receivers yield the output once a pipe closes.
#[allow(clippy::type_complexity)]
fn serve_pipes(
    child: &mut Child,
    input: String,
) -> io::Result<(mpsc::Receiver<Vec<u8>>, mpsc::Receiver<Vec<u8>>)> {
    if let Some(mut stdin) = child.stdin.take() {
        thread::Builder::new()
            .name("credential-helper-stdin".to_owned())
            .spawn(move || {
                // A helper may exit without reading its input; that is its
                // business, and its exit status tells.
                let _ = stdin.write_all(input.as_bytes());
            })?;
    }
    let stdout = read_pipe(child.stdout.take())?;
    let stderr = read_pipe(child.stderr.take())?;
    Ok((stdout, stderr))
}

/// Reads a pipe on a thread, sending each chunk as it arrives, until the
/// pipe closes or [`MAX_OUTPUT_BYTES`] have been read.
fn read_pipe<R: Read + Send + 'static>(pipe: Option<R>) -> io::Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("credential-helper-output".to_owned())
        .spawn(move || {
            let Some(pipe) = pipe else { return };
            let mut pipe = pipe.take(MAX_OUTPUT_BYTES);
            let mut buf = [0_u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                            return; // nobody listens any more
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    Ok(rx)
}

/// Kills and reaps a child; both may fail only if it is already gone.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The message for a failed helper: its stderr, or its stdout when stderr
/// is empty (helpers print errors there) unless stdout looks like a JSON
/// answer, which could hold a secret. Trimmed and shortened.
fn failure_message(stderr: &[u8], stdout: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let stdout = String::from_utf8_lossy(stdout);
    let text = if !stderr.trim().is_empty() {
        stderr.trim()
    } else if !stdout.trim().is_empty()
        && !stdout.trim_start().starts_with('{')
        && !stdout.contains("Secret")
    {
        stdout.trim()
    } else {
        return "no error message".to_owned();
    };
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp dir holding `config.json` with `json`.
    fn config(json: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.json"), json).expect("write config");
        dir
    }

    /// A store over `json`, with an empty helper search path.
    fn store(dir: &tempfile::TempDir) -> CredentialStore {
        CredentialStore::from_dir(dir.path())
            .expect("config parses")
            .with_helper_path(Vec::new())
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn basic(user: &str, password: &str) -> Credential {
        Credential::Basic {
            username: user.to_owned(),
            password: password.to_owned(),
        }
    }

    #[test]
    fn base64_auth_gives_basic_split_at_first_colon() {
        let dir = config(&format!(
            r#"{{"auths": {{"ghcr.io": {{"auth": "{}"}}}}, "psFormat": 7}}"#,
            b64("octocat:pa:ss")
        ));
        let store = store(&dir);
        assert_eq!(
            store.lookup("ghcr.io").unwrap(),
            Some(basic("octocat", "pa:ss"))
        );
        assert_eq!(store.lookup("quay.io").unwrap(), None);
        assert_eq!(
            store.source_of("ghcr.io"),
            Some(format!(
                "auths in {}",
                dir.path().join("config.json").display()
            ))
        );
        assert_eq!(store.source_of("quay.io"), None);
        assert_eq!(
            store.config_path(),
            Some(dir.path().join("config.json").as_path())
        );
    }

    #[test]
    fn unpadded_base64_auth_is_accepted() {
        // "u:pw" is "dTpwdw==" padded.
        let dir = config(r#"{"auths": {"ghcr.io": {"auth": "dTpwdw"}}}"#);
        assert_eq!(
            store(&dir).lookup("ghcr.io").unwrap(),
            Some(basic("u", "pw"))
        );
    }

    #[test]
    fn username_and_password_fields_give_basic() {
        let dir = config(r#"{"auths": {"quay.io": {"username": "robot", "password": "s3cret"}}}"#);
        assert_eq!(
            store(&dir).lookup("quay.io").unwrap(),
            Some(basic("robot", "s3cret"))
        );
    }

    #[test]
    fn identitytoken_is_its_own_variant_with_the_auth_username() {
        let dir = config(&format!(
            r#"{{"auths": {{
                "acr.azurecr.io": {{"auth": "{}", "identitytoken": "refresh-tok"}},
                "bare.example": {{"identitytoken": "tok2"}}
            }}}}"#,
            b64("00000000-0000-0000-0000-000000000000:")
        ));
        let store = store(&dir);
        assert_eq!(
            store.lookup("acr.azurecr.io").unwrap(),
            Some(Credential::IdentityToken {
                username: Some("00000000-0000-0000-0000-000000000000".to_owned()),
                token: "refresh-tok".to_owned(),
            })
        );
        assert_eq!(
            store.lookup("bare.example").unwrap(),
            Some(Credential::IdentityToken {
                username: None,
                token: "tok2".to_owned()
            })
        );
    }

    #[test]
    fn registrytoken_gives_bearer() {
        let dir = config(
            r#"{"auths": {"reg.example": {"registrytoken": "bear", "identitytoken": "x"}}}"#,
        );
        assert_eq!(
            store(&dir).lookup("reg.example").unwrap(),
            Some(Credential::Bearer("bear".to_owned()))
        );
    }

    #[test]
    fn docker_hub_legacy_key_matches_every_hub_host() {
        let dir = config(&format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
            b64("hubuser:hubpw")
        ));
        let store = store(&dir);
        for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(
                store.lookup(host).unwrap(),
                Some(basic("hubuser", "hubpw")),
                "{host}"
            );
        }
        assert_eq!(store.lookup("ghcr.io").unwrap(), None);
    }

    #[test]
    fn hub_alias_keys_and_legacy_key_preferred() {
        let dir = config(&format!(
            r#"{{"auths": {{"docker.io": {{"auth": "{}"}}, "https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
            b64("alias:pw"),
            b64("legacy:pw")
        ));
        assert_eq!(
            store(&dir).lookup("docker.io").unwrap(),
            Some(basic("legacy", "pw"))
        );
        let dir = config(&format!(
            r#"{{"auths": {{"registry-1.docker.io": {{"auth": "{}"}}}}}}"#,
            b64("alias:pw")
        ));
        assert_eq!(
            store(&dir).lookup("docker.io").unwrap(),
            Some(basic("alias", "pw"))
        );
    }

    #[test]
    fn url_keys_match_their_host() {
        let dir = config(&format!(
            r#"{{"auths": {{
                "https://registry.example.com/": {{"auth": "{}"}},
                "http://insecure.example": {{"username": "i", "password": "ipw"}},
                "https://Upper.Example/v2/": {{"username": "up", "password": "uppw"}}
            }}}}"#,
            b64("r:rpw")
        ));
        let store = store(&dir);
        assert_eq!(
            store.lookup("registry.example.com").unwrap(),
            Some(basic("r", "rpw"))
        );
        assert_eq!(
            store.lookup("insecure.example").unwrap(),
            Some(basic("i", "ipw"))
        );
        assert_eq!(
            store.lookup("upper.example").unwrap(),
            Some(basic("up", "uppw"))
        );
    }

    #[test]
    fn host_port_keys_match_only_that_port() {
        let dir = config(&format!(
            r#"{{"auths": {{
                "127.0.0.1:5000": {{"auth": "{}"}},
                "https://localhost:5443": {{"auth": "{}"}}
            }}}}"#,
            b64("a:apw"),
            b64("b:bpw")
        ));
        let store = store(&dir);
        assert_eq!(
            store.lookup("127.0.0.1:5000").unwrap(),
            Some(basic("a", "apw"))
        );
        assert_eq!(store.lookup("127.0.0.1").unwrap(), None);
        assert_eq!(store.lookup("127.0.0.1:5001").unwrap(), None);
        assert_eq!(
            store.lookup("localhost:5443").unwrap(),
            Some(basic("b", "bpw"))
        );
        assert_eq!(store.lookup("localhost").unwrap(), None);
    }

    #[test]
    fn empty_entries_are_skipped_for_a_matching_alias() {
        // Docker Desktop leaves empty entries in auths; a real one under
        // another spelling of the host still counts.
        let dir = config(
            r#"{"auths": {"ghcr.io": {}, "https://ghcr.io": {"username": "u", "password": "p"}, "x.io": null}}"#,
        );
        let store = store(&dir);
        assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("u", "p")));
        assert_eq!(store.lookup("x.io").unwrap(), None);
    }

    #[test]
    fn bad_base64_is_an_error_naming_the_key_not_the_secret() {
        let dir = config(r#"{"auths": {"ghcr.io": {"auth": "!!TOPSECRET!!"}}}"#);
        let err = store(&dir).lookup("ghcr.io").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, CredentialError::InvalidAuth { .. }),
            "{err:?}"
        );
        assert!(text.contains("\"ghcr.io\""), "{text}");
        assert!(text.contains("config.json"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(!format!("{err:?}").contains("TOPSECRET"));
    }

    #[test]
    fn auth_without_colon_or_user_is_an_error_without_the_secret() {
        let dir = config(&format!(
            r#"{{"auths": {{"a.io": {{"auth": "{}"}}, "b.io": {{"auth": "{}"}}}}}}"#,
            b64("TOPSECRETnocolon"),
            b64(":TOPSECRETpw")
        ));
        let store = store(&dir);
        for host in ["a.io", "b.io"] {
            let err = store.lookup(host).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains(host), "{text}");
            assert!(!text.contains("TOPSECRET"), "{text}");
            assert!(!text.contains(&b64("TOPSECRETnocolon")), "{text}");
        }
    }

    #[test]
    fn malformed_json_names_the_file_and_line_col() {
        let dir = config("{\n  \"auths\": {\n    \"ghcr.io\": {\"auth\": \"abc\",}\n  }\n}\n");
        let err = CredentialStore::from_dir(dir.path()).unwrap_err();
        let text = err.to_string();
        let path = dir.path().join("config.json");
        assert!(
            text.starts_with(&format!("{}:3:", path.display())),
            "{text}"
        );
        assert!(
            matches!(err, CredentialError::ParseConfig { line: 3, .. }),
            "{err:?}"
        );
        assert!(!text.contains("at line"), "{text}");
    }

    #[test]
    fn wrong_types_are_errors_that_do_not_quote_values() {
        for json in [
            r#"{"auths": {"ghcr.io": "TOPSECRET"}}"#,
            r#"{"auths": {"ghcr.io": {"password": ["TOPSECRET"]}}}"#,
            r#"{"auths": ["TOPSECRET"]}"#,
            r#"{"credsStore": {"TOPSECRET": 1}}"#,
            r#"["TOPSECRET"]"#,
        ] {
            let dir = config(json);
            let err = CredentialStore::from_dir(dir.path()).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                matches!(err, CredentialError::ConfigShape { .. }),
                "{json}: {text}"
            );
            assert!(text.contains("config.json"), "{text}");
            assert!(!text.contains("TOPSECRET"), "{json}: {text}");
        }
    }

    #[test]
    fn missing_or_empty_file_means_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::from_dir(dir.path()).unwrap();
        assert_eq!(store.lookup("docker.io").unwrap(), None);
        assert_eq!(store.config_path(), None);
        let store = CredentialStore::from_dir(&dir.path().join("no/such/dir")).unwrap();
        assert_eq!(store.lookup("ghcr.io").unwrap(), None);

        let dir = config("\u{feff}  \n");
        let store = CredentialStore::from_dir(dir.path()).unwrap();
        assert_eq!(store.lookup("ghcr.io").unwrap(), None);
        assert!(store.config_path().is_some());

        let store = CredentialStore::empty();
        assert_eq!(store.lookup("ghcr.io").unwrap(), None);
        assert_eq!(store.source_of("ghcr.io"), None);
        assert_eq!(store.config_path(), None);
    }

    #[test]
    fn unreadable_config_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("config.json")).unwrap();
        let err = CredentialStore::from_dir(dir.path()).unwrap_err();
        assert!(matches!(err, CredentialError::ReadConfig { .. }), "{err:?}");
        assert!(err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn config_dir_prefers_docker_config_then_home() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            config_dir_from(some("/dc"), some("/home/u")),
            Some(PathBuf::from("/dc"))
        );
        assert_eq!(
            config_dir_from(some(""), some("/home/u")),
            Some(PathBuf::from("/home/u/.docker"))
        );
        assert_eq!(
            config_dir_from(None, some("/home/u")),
            Some(PathBuf::from("/home/u/.docker"))
        );
        assert_eq!(config_dir_from(None, None), None);
        assert_eq!(config_dir_from(None, some("")), None);
    }

    #[test]
    fn odd_registry_names_do_not_panic() {
        let dir = config(
            r#"{"auths": {"": {"username": "u"}, "://": {}, "@": {}, "é": {"username": "e"}}}"#,
        );
        let store = store(&dir);
        for name in [
            "",
            " ",
            "://",
            "/",
            "@",
            "a@b@c",
            "é",
            "https://",
            "\0",
            "x:99999999999",
        ] {
            let _ = store.lookup(name);
            let _ = store.source_of(name);
        }
        assert_eq!(store.lookup("").unwrap(), None);
    }

    #[test]
    fn debug_and_display_redact_secrets() {
        let cred = basic("u", "TOPSECRET");
        assert_eq!(
            format!("{cred:?}"),
            r#"Credential::Basic { username: "u", password: "<redacted>" }"#
        );
        let all = [
            cred,
            Credential::IdentityToken {
                username: Some("u".to_owned()),
                token: "TOPSECRET".to_owned(),
            },
            Credential::IdentityToken {
                username: None,
                token: "TOPSECRET".to_owned(),
            },
            Credential::Bearer("TOPSECRET".to_owned()),
        ];
        for c in &all {
            for text in [format!("{c:?}"), format!("{c:#?}"), c.to_string()] {
                assert!(!text.contains("TOPSECRET"), "{text}");
            }
        }
        assert_eq!(
            format!("{:?}", all[3]),
            r#"Credential::Bearer("<redacted>")"#
        );

        let dir = config(&format!(
            r#"{{"auths": {{"ghcr.io": {{"auth": "{}", "password": "TOPSECRET2", "identitytoken": "TOPSECRET3"}}}}}}"#,
            b64("u:TOPSECRET")
        ));
        let store = store(&dir);
        let found = store.lookup("ghcr.io").unwrap();
        let text = format!("{store:?} {found:?} {:?}", store.resolve("ghcr.io"));
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(!text.contains(&b64("u:TOPSECRET")), "{text}");
        assert!(text.contains("ghcr.io"), "{text}");
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CredentialStore>();
        assert_send_sync::<CredentialError>();
        assert_send_sync::<Credential>();
    }

    /// Credential helper tests: small shell scripts on an injected search
    /// path (the process PATH is never touched).
    #[cfg(unix)]
    mod helpers {
        use super::*;
        use std::os::unix::fs::PermissionsExt as _;

        /// Writes `docker-credential-<name>` with `body` into `dir`.
        fn helper(dir: &Path, name: &str, body: &str) {
            let path = dir.join(format!("{HELPER_PREFIX}{name}"));
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }

        /// A fake helper that logs its stdin to `log`, answers for ghcr.io
        /// and the Hub, says "not found" otherwise.
        const FAKE: &str = r#"
read -r url
printf '%s\n' "$url" >> "$(dirname "$0")/log"
case "$url" in
  ghcr.io) printf '{"ServerURL":"%s","Username":"helperuser","Secret":"TOPSECRET-helper"}\n' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"TOPSECRET-tok"}' "$url" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#;

        fn store_with(
            json: &str,
            helpers: &[(&str, &str)],
        ) -> (tempfile::TempDir, CredentialStore) {
            let dir = config(json);
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            for (name, body) in helpers {
                helper(&bin, name, body);
            }
            let store = CredentialStore::from_dir(dir.path())
                .unwrap()
                .with_helper_path(vec![
                    dir.path().join("empty"),
                    PathBuf::from("relative"),
                    bin,
                ]);
            (dir, store)
        }

        fn log(dir: &tempfile::TempDir) -> String {
            std::fs::read_to_string(dir.path().join("bin/log")).unwrap_or_default()
        }

        #[test]
        fn creds_store_success_gives_basic_and_source() {
            let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
            assert_eq!(
                store.lookup("ghcr.io").unwrap(),
                Some(basic("helperuser", "TOPSECRET-helper"))
            );
            assert_eq!(
                store.source_of("ghcr.io").as_deref(),
                Some("credential helper fake")
            );
            assert_eq!(log(&dir), "ghcr.io\n");
        }

        #[test]
        fn token_username_gives_identity_token_and_hub_uses_legacy_url() {
            let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
            assert_eq!(
                store.lookup("docker.io").unwrap(),
                Some(Credential::IdentityToken {
                    username: None,
                    token: "TOPSECRET-tok".to_owned()
                })
            );
            assert_eq!(log(&dir), "https://index.docker.io/v1/\n");
        }

        #[test]
        fn not_found_falls_back_to_auths_or_none() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "fake", "auths": {"quay.io": {"username": "fileuser", "password": "filepw"}, "gcr.io": {}}}"#,
                &[("fake", FAKE)],
            );
            assert_eq!(
                store.lookup("quay.io").unwrap(),
                Some(basic("fileuser", "filepw"))
            );
            assert!(store.source_of("quay.io").unwrap().starts_with("auths in "));
            assert_eq!(store.lookup("gcr.io").unwrap(), None);
            assert_eq!(store.lookup("nothing.example").unwrap(), None);
        }

        #[test]
        fn helper_failure_is_an_error_with_stderr_never_the_secret() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "broken", "auths": {"ghcr.io": {"username": "u", "password": "TOPSECRET-file"}}}"#,
                &[("broken", "cat >/dev/null\necho '  token expired, run aws sso login  ' >&2\necho '{\"Secret\":\"TOPSECRET-out\"}'\nexit 3")],
            );
            let err = store.lookup("ghcr.io").unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                matches!(err, CredentialError::HelperFailed { .. }),
                "{text}"
            );
            assert!(
                err.to_string()
                    .ends_with(": token expired, run aws sso login"),
                "{text}"
            );
            assert!(text.contains("docker-credential-broken"), "{text}");
            assert!(text.contains("ghcr.io"), "{text}");
            assert!(!text.contains("TOPSECRET"), "{text}");
        }

        #[test]
        fn helper_error_on_stdout_is_reported_when_stderr_is_empty() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "so"}"#,
                &[("so", "echo 'keychain locked'\nexit 1")],
            );
            let err = store.lookup("ghcr.io").unwrap_err();
            assert!(err.to_string().ends_with(": keychain locked"), "{err}");
        }

        #[test]
        fn invalid_helper_output_is_an_error_without_the_output() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "junk"}"#,
                &[("junk", "echo 'Secret: TOPSECRET-junk'")],
            );
            let err = store.lookup("ghcr.io").unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                matches!(err, CredentialError::HelperOutput { .. }),
                "{text}"
            );
            assert!(!text.contains("TOPSECRET"), "{text}");
        }

        #[test]
        fn missing_helper_is_an_error_naming_it_and_the_config() {
            let (dir, store) = store_with(r#"{"credsStore": "desktop"}"#, &[]);
            let err = store.lookup("ghcr.io").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "credential helper docker-credential-desktop not found on PATH (configured in credsStore of {})",
                    dir.path().join("config.json").display()
                )
            );
            let (_dir, store) = store_with(r#"{"credHelpers": {"ghcr.io": "gone"}}"#, &[]);
            let err = store.lookup("ghcr.io").unwrap_err();
            assert!(
                err.to_string().contains("(configured in credHelpers of "),
                "{err}"
            );
            // Not executable: not a helper.
            let (dir, store) = store_with(r#"{"credsStore": "noexec"}"#, &[]);
            let path = dir.path().join("bin/docker-credential-noexec");
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                store.lookup("ghcr.io"),
                Err(CredentialError::HelperNotFound { .. })
            ));
        }

        #[test]
        fn helper_name_with_a_path_separator_is_rejected() {
            let (_dir, store) = store_with(r#"{"credsStore": "../../bin/sh"}"#, &[]);
            let err = store.lookup("ghcr.io").unwrap_err();
            assert!(
                matches!(err, CredentialError::InvalidHelperName { .. }),
                "{err:?}"
            );
        }

        #[test]
        fn cred_helpers_beat_creds_store_and_empty_means_the_file() {
            let other = r#"cat >/dev/null; printf '{"Username":"store","Secret":"s"}'"#;
            let (_dir, store) = store_with(
                r#"{"credsStore": "other", "credHelpers": {"ghcr.io": "fake", "https://quay.io": "fake", "gcr.io": ""},
                    "auths": {"gcr.io": {"username": "fileuser", "password": "p"}}}"#,
                &[("fake", FAKE), ("other", other)],
            );
            assert_eq!(
                store.lookup("ghcr.io").unwrap(),
                Some(basic("helperuser", "TOPSECRET-helper"))
            );
            assert_eq!(
                store.source_of("ghcr.io").as_deref(),
                Some("credential helper fake")
            );
            // quay.io's per-host helper has no entry: the file, not credsStore.
            assert_eq!(store.lookup("quay.io").unwrap(), None);
            assert_eq!(
                store.lookup("gcr.io").unwrap(),
                Some(basic("fileuser", "p"))
            );
            assert_eq!(
                store.lookup("elsewhere.io").unwrap(),
                Some(basic("store", "s"))
            );
            assert_eq!(
                store.source_of("elsewhere.io").as_deref(),
                Some("credential helper other")
            );
        }

        #[test]
        fn each_host_is_looked_up_once() {
            let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
            let store = Arc::new(store);
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let store = Arc::clone(&store);
                    thread::spawn(move || {
                        for _ in 0..3 {
                            assert!(store.lookup("ghcr.io").unwrap().is_some());
                            assert!(store.lookup("none.example").unwrap().is_none());
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            let mut lines: Vec<_> = log(&dir).lines().map(str::to_owned).collect();
            lines.sort();
            assert_eq!(lines, ["ghcr.io", "none.example"]);
        }

        #[test]
        fn slow_helper_is_killed_after_the_timeout() {
            let (_dir, store) =
                store_with(r#"{"credsStore": "slow"}"#, &[("slow", "exec sleep 10")]);
            let store = store.with_helper_timeout(Duration::from_millis(200));
            let started = Instant::now();
            let err = store.lookup("ghcr.io").unwrap_err();
            assert!(
                matches!(err, CredentialError::HelperTimeout { .. }),
                "{err:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(5));
            assert!(err.to_string().contains("within 200ms"), "{err}");
        }

        #[test]
        fn helper_leaving_a_background_process_is_neither_waited_for_nor_lost() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "linger"}"#,
                &[(
                    "linger",
                    r#"sleep 5 &
printf '{"Username":"u","Secret":"s"}'"#,
                )],
            );
            let store = store.with_helper_timeout(Duration::from_secs(4));
            let started = Instant::now();
            assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("u", "s")));
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{:?}",
                started.elapsed()
            );
        }

        #[test]
        fn helper_that_ignores_stdin_and_prints_nothing_gives_none() {
            let (_dir, store) = store_with(
                r#"{"credsStore": "quiet", "auths": {"ghcr.io": {"username": "f", "password": "p"}}}"#,
                &[("quiet", r#"printf '{"Username":"","Secret":""}'"#)],
            );
            assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("f", "p")));
        }
    }
}
