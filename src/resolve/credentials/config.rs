//! Docker's `config.json`: the `auths` entries, `credsStore` and
//! `credHelpers`, where the file is, and which entry matches a registry host
//! (docker's spellings of Docker Hub included). No entry has a `Debug`: they
//! hold secrets.

use super::*;

/// The `auths` key and helper server URL docker uses for Docker Hub.
pub(super) const DOCKER_HUB_LEGACY_KEY: &str = "https://index.docker.io/v1/";
/// Registry hosts that all mean Docker Hub.
pub(super) const DOCKER_HUB_HOSTS: [&str; 3] =
    ["docker.io", "index.docker.io", "registry-1.docker.io"];
/// The helper `Username` that marks `Secret` as an identity token.
pub(super) const TOKEN_USERNAME: &str = "<token>";
/// Standard base64 that, like most clients, does not insist on padding.
pub(super) const AUTH_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `auths` entry of `config.json`. No `Debug`: it holds secrets.
#[derive(Clone, Default)]
pub(super) struct AuthEntry {
    pub(super) auth: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    pub(super) identity_token: Option<String>,
    pub(super) registry_token: Option<String>,
}

/// The parts of docker's `config.json` that concern credentials.
#[derive(Clone, Default)]
pub(super) struct DockerConfig {
    pub(super) auths: BTreeMap<String, AuthEntry>,
    pub(super) creds_store: Option<String>,
    pub(super) cred_helpers: BTreeMap<String, String>,
}

impl AuthEntry {
    /// The credential this entry holds, if any. Precedence as in docker's
    /// registry client: `registrytoken`, then `identitytoken`, then user name
    /// and password (`auth` overriding `username`/`password`).
    pub(super) fn credential(
        &self,
        key: &str,
        path: &Path,
    ) -> Result<Option<Credential>, CredentialError> {
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
pub(super) fn non_empty(value: Option<&String>) -> Option<String> {
    value.filter(|s| !s.is_empty()).cloned()
}

/// Decodes an `auth` field: base64 of `user:password`, split at the first
/// colon. Errors are fixed texts that never quote the input.
pub(super) fn decode_auth(auth: &str) -> Result<(String, String), &'static str> {
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
pub(super) fn config_dir_from(
    docker_config: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
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
pub(super) fn normalise_host(name: &str) -> String {
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
pub(super) fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS.contains(&host)
}

/// Entries of `map` whose key names the registry, best first: the exact key
/// docker would use (`server_url`), the host as given, then every other key
/// with the same host (for Docker Hub, any Hub host) in key order.
pub(super) fn matching<'a, V>(
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
pub(super) fn parse_config(path: &Path, bytes: &[u8]) -> Result<DockerConfig, CredentialError> {
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
