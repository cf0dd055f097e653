//! Registry authentication as the distribution token flow has it: one
//! challenge per registry (`GET /v2/`), then one pull token per repository
//! (`repository:NAME:pull`), reused by every request of the run and asked
//! again once when the registry no longer takes it.
//!
//! Rule: credentials go only to the registry and to the token realm it
//! names; a token or a password never appears in an error (the registry's
//! answer is worded by [`super::answers`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::answers;
use super::{limited_body, lock, Kind, RequestLog};
use crate::resolve::{ErrorKind, ResolveError};

/// The credentials for one registry, from the docker credential store.
#[derive(Clone)]
pub(super) enum Credentials {
    /// No login.
    Anonymous,
    /// A user name and a password (or an identity token).
    Basic(String, String),
    /// A registry token used as is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Anonymous => "Anonymous",
            Credentials::Basic(..) => "Basic(<redacted>)",
            Credentials::Bearer(_) => "Bearer(<redacted>)",
        })
    }
}

/// How one request is authorised.
#[derive(Clone)]
pub(super) enum Authorization {
    None,
    Basic(String, String),
    Bearer(String),
}

impl Authorization {
    pub(super) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Authorization::None => request,
            Authorization::Basic(user, password) => request.basic_auth(user, Some(password)),
            Authorization::Bearer(token) => request.bearer_auth(token),
        }
    }

    pub(super) fn is_token(&self) -> bool {
        matches!(self, Authorization::Bearer(_))
    }
}

/// What a registry's `/v2/` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    /// No authentication asked.
    Open,
    /// HTTP Basic on every request.
    Basic,
    /// Tokens from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// A value fetched once, by whichever request needs it first.
type Once<T> = Arc<OnceCell<T>>;

/// Challenges per registry and tokens per repository, for one run.
#[derive(Default)]
pub(super) struct Tokens {
    /// By base URL (`https://host`).
    challenges: Mutex<HashMap<String, Once<Challenge>>>,
    /// By base URL and repository.
    tokens: Mutex<HashMap<(String, String), Once<String>>>,
}

impl Tokens {
    /// The authorization for a pull from `repository` at `base`
    /// (`https://host`), asking the registry's challenge and a token only
    /// the first time they are needed.
    pub(super) async fn authorization(
        &self,
        client: &reqwest::Client,
        base: &str,
        host: &str,
        repository: &str,
        credentials: &Credentials,
        log: &RequestLog,
    ) -> Result<Authorization, ResolveError> {
        if let Credentials::Bearer(token) = credentials {
            return Ok(Authorization::Bearer(token.clone()));
        }
        match (self.challenge(client, base, host, log).await?, credentials) {
            (Challenge::Basic, Credentials::Basic(user, password)) => {
                Ok(Authorization::Basic(user.clone(), password.clone()))
            }
            (Challenge::Open | Challenge::Basic, _) => Ok(Authorization::None),
            (Challenge::Bearer { realm, service }, _) => {
                let cell = self.token_cell(base, repository);
                let scopes = [repository];
                let token = cell
                    .get_or_try_init(|| {
                        Self::token(
                            client,
                            host,
                            &realm,
                            service.as_deref(),
                            &scopes,
                            credentials,
                            log,
                        )
                    })
                    .await?;
                Ok(Authorization::Bearer(token.clone()))
            }
        }
    }

    /// `repository`'s token cell at `base`.
    fn token_cell(&self, base: &str, repository: &str) -> Once<String> {
        let key = (base.to_string(), repository.to_string());
        Arc::clone(lock(&self.tokens).entry(key).or_default())
    }

    /// `base`'s challenge, asked once per run. An error is the transport
    /// error when the registry did not answer: the probe for the scheme a
    /// local host speaks relies on that.
    pub(super) async fn challenge(
        &self,
        client: &reqwest::Client,
        base: &str,
        host: &str,
        log: &RequestLog,
    ) -> Result<Challenge, ResolveError> {
        let cell = Arc::clone(lock(&self.challenges).entry(base.to_string()).or_default());
        cell.get_or_try_init(|| self.ping(client, base, host, log))
            .await
            .cloned()
    }

    /// Ask one token for many repositories of `base` at once, as Docker
    /// Hub's and distribution's token servers allow (one `scope` parameter
    /// each, 40 to a request), and keep it for each of them. Any failure
    /// leaves the repositories to their own token requests, which word the
    /// error; a shared token a registry does not take for a repository is
    /// forgotten on its 401 and that repository asks alone.
    pub(super) async fn prefetch(
        &self,
        client: &reqwest::Client,
        base: &str,
        host: &str,
        repositories: &[String],
        credentials: &Credentials,
        log: &RequestLog,
    ) {
        if repositories.len() < 2 || matches!(credentials, Credentials::Bearer(_)) {
            return;
        }
        let Ok(Challenge::Bearer { realm, service }) =
            self.challenge(client, base, host, log).await
        else {
            return;
        };
        let wanted: Vec<&str> = repositories
            .iter()
            .map(String::as_str)
            .filter(|r| !self.token_cell(base, r).initialized())
            .collect();
        for chunk in wanted.chunks(40) {
            let Ok(token) = Self::token(
                client,
                host,
                &realm,
                service.as_deref(),
                chunk,
                credentials,
                log,
            )
            .await
            else {
                return;
            };
            for repository in chunk {
                // A cell another request filled meanwhile keeps its token.
                let _ = self.token_cell(base, repository).set(token.clone());
            }
        }
    }

    /// Forget `repository`'s token (the registry refused it: expired).
    pub(super) fn forget(&self, base: &str, repository: &str) {
        lock(&self.tokens).remove(&(base.to_string(), repository.to_string()));
    }

    async fn ping(
        &self,
        client: &reqwest::Client,
        base: &str,
        host: &str,
        log: &RequestLog,
    ) -> Result<Challenge, ResolveError> {
        let started = std::time::Instant::now();
        let answer = client
            .get(format!("{base}/v2/"))
            .send()
            .await
            .map_err(|e| answers::transport_error(&e, host))?;
        log.record(
            host,
            Kind::Challenge,
            &answer,
            "GET /v2/".to_string(),
            started,
        );
        let status = answer.status().as_u16();
        let header = answer
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = super::header(&answer, "retry-after");
        match status {
            401 => Ok(header.as_deref().map_or(Challenge::Basic, parse_challenge)),
            429 | 500..=599 => {
                let body = limited_body(answer, host).await.unwrap_or_default();
                Err(answers::error_answer(
                    status,
                    host,
                    &body,
                    retry_after.as_deref(),
                ))
            }
            // 200, and registries that do not serve `/v2/` itself.
            _ => Ok(Challenge::Open),
        }
    }

    async fn token(
        client: &reqwest::Client,
        host: &str,
        realm: &str,
        service: Option<&str>,
        repositories: &[&str],
        credentials: &Credentials,
        log: &RequestLog,
    ) -> Result<String, ResolveError> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| {
            ResolveError::new(
                ErrorKind::Other,
                format!("registry {host} names a token server that is not a URL: {realm:?}"),
            )
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            for repository in repositories {
                query.append_pair("scope", &format!("repository:{repository}:pull"));
            }
        }
        // The realm without its query: scopes are shown as a count.
        let shown = format!(
            "GET {}{} ({} scope{})",
            url.host_str().unwrap_or_default(),
            url.path(),
            repositories.len(),
            if repositories.len() == 1 { "" } else { "s" }
        );
        let mut request = client.get(url);
        if let Credentials::Basic(user, password) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let started = std::time::Instant::now();
        let answer = request
            .send()
            .await
            .map_err(|e| answers::transport_error(&e, host))?;
        log.record(host, Kind::Token, &answer, shown, started);
        let status = answer.status().as_u16();
        let retry_after = super::header(&answer, "retry-after");
        let body = limited_body(answer, host).await?;
        if status != 200 {
            let mut error = answers::error_answer(status, host, &body, retry_after.as_deref());
            if error.kind == ErrorKind::Unauthorized {
                error.message = format!(
                    "{} (the token server refused; log in with `docker login {host}` or check DOCKER_CONFIG)",
                    error.message
                );
            }
            return Err(error);
        }
        let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            ResolveError::new(
                ErrorKind::Other,
                format!("registry {host}: the token server answered something that is not a token"),
            )
        })?;
        doc.get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                ResolveError::new(
                    ErrorKind::Other,
                    format!("registry {host}: the token server's answer holds no token"),
                )
            })
    }
}

/// A `WWW-Authenticate` value: `Bearer realm="…",service="…"` or `Basic …`.
fn parse_challenge(value: &str) -> Challenge {
    let value = value.trim();
    let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::Basic;
    }
    let params = parse_params(params);
    match params.get("realm") {
        Some(realm) if !realm.is_empty() => Challenge::Bearer {
            realm: realm.clone(),
            service: params.get("service").cloned(),
        },
        _ => Challenge::Basic,
    }
}

/// `key="value",key=value` pairs; commas inside quotes belong to the value.
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.insert(key, value);
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed_as_registries_write_them() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#
            ),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token", service="ghcr.io",scope="repository:a/b:pull""#
            ),
            Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into())
            }
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="https://x/token?a=1,b=2""#),
            Challenge::Bearer {
                realm: "https://x/token?a=1,b=2".into(),
                service: None
            }
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        );
        assert_eq!(parse_challenge("Bearer"), Challenge::Basic);
    }

    #[test]
    fn credentials_do_not_debug_print() {
        let shown = format!("{:?}", Credentials::Basic("me".into(), "s3cret".into()));
        assert!(
            !shown.contains("s3cret") && !shown.contains("me"),
            "{shown}"
        );
    }
}
