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

mod config;
mod helper;

use config::*;
use helper::*;

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

/// How long a credential helper may take before it is killed.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);

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

#[cfg(test)]
mod tests;
