//! What a registry's answer means: whether a `HEAD` may be pinned, and
//! every failure of a registry request in the user's words.

use super::super::{ErrorKind, ResolveError};
use crate::digest::Digest;

/// What a `HEAD` answered 200 allows.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HeadVerdict {
    /// A manifest type and a valid digest header: pin this digest.
    Pin(Digest),
    /// No digest header, or a type that only the body can settle
    /// (`application/json`, none): `GET` the manifest and check it.
    Fetch,
    /// Not a manifest answer (an HTML page, a wrong digest): what the
    /// registry did, worded to follow "registry HOST ".
    Refuse(String),
}

/// Judges a `HEAD` 200 by its `Content-Type` and `Docker-Content-Digest`,
/// for a reference asked by tag or by `asked` digest.
pub(super) fn head_verdict(
    content_type: Option<&str>,
    digest: Option<&str>,
    asked: Option<&str>,
) -> HeadVerdict {
    match media_type(content_type).as_deref() {
        Some(t) if crate::media::ACCEPTED.contains(&t) => {}
        None | Some("application/json") => return HeadVerdict::Fetch,
        Some(other) => {
            return HeadVerdict::Refuse(format!(
                "answered HTTP 200 with Content-Type {other}, which is not a manifest (a login page, a proxy or a captive portal?)"
            ))
        }
    }
    let Some(header) = digest.map(str::trim) else {
        return HeadVerdict::Fetch;
    };
    let parsed = match Digest::parse(header) {
        Ok(d) => d,
        Err(e) => {
            return HeadVerdict::Refuse(format!(
                "sent an invalid Docker-Content-Digest {header:?} ({e})"
            ))
        }
    };
    match asked {
        Some(asked)
            if parsed.algorithm() == asked.split(':').next().unwrap_or("")
                && parsed.as_str() != asked =>
        {
            HeadVerdict::Refuse(format!(
                "sent a manifest that does not match its digest (expected {asked}, got {parsed}; a proxy or cache may be altering answers)"
            ))
        }
        _ => HeadVerdict::Pin(parsed),
    }
}

/// The media type of a `Content-Type` header: lower case, parameters cut.
fn media_type(content_type: Option<&str>) -> Option<String> {
    content_type
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
}

/// Judges a manifest `GET` answered 200: the digest to pin only when the
/// `Content-Type` allows a manifest, the `body` is one
/// ([`crate::media::check_manifest`]), and its sha256 equals the digest
/// `asked` for and the `Docker-Content-Digest` header when they are given.
/// Otherwise what was wrong, worded to follow "registry HOST ".
pub(super) fn body_verdict(
    content_type: Option<&str>,
    header: Option<&str>,
    asked: Option<&str>,
    body: &[u8],
) -> Result<Digest, String> {
    let media = media_type(content_type);
    let shown = media.as_deref().unwrap_or("none");
    match media.as_deref() {
        Some(t) if crate::media::ACCEPTED.contains(&t) => {}
        None | Some("application/json") => {}
        Some(other) => {
            return Err(format!(
                "answered HTTP 200 with Content-Type {other}, which is not a manifest (a login page, a proxy or a captive portal?); nothing pinned"
            ))
        }
    }
    let served = media
        .as_deref()
        .filter(|t| crate::media::ACCEPTED.contains(t));
    crate::media::check_manifest(body, served).map_err(|why| {
        format!(
            "answered HTTP 200 (Content-Type {shown}, {} bytes) with something that is not a manifest: {why}; nothing pinned",
            body.len()
        )
    })?;
    let hashed = Digest::sha256_of(body);
    let mismatch = |expected: &str| {
        format!(
            "sent a manifest that does not match its digest (expected {expected}, got {hashed}; a proxy or cache may be altering answers)"
        )
    };
    if let Some(asked) = asked.filter(|a| a.starts_with("sha256:")) {
        if asked != hashed.as_str() {
            return Err(mismatch(asked));
        }
    }
    if let Some(header) = header.map(str::trim) {
        let parsed = Digest::parse(header)
            .map_err(|e| format!("sent an invalid Docker-Content-Digest {header:?} ({e})"))?;
        if parsed.algorithm() == "sha256" && parsed != hashed {
            return Err(format!(
                "sent a manifest that does not match its Docker-Content-Digest (the header says {parsed}, the body hashes to {hashed}; a proxy or cache may be altering answers)"
            ));
        }
    }
    Ok(hashed)
}

/// A non-200 answer to a manifest `GET` of ours: the registry's error
/// codes (`MANIFEST_UNKNOWN (manifest unknown)`) when the body carries the
/// distribution error envelope, else the status and a line of the body.
pub(super) fn error_answer(
    code: u16,
    host: &str,
    body: &[u8],
    retry_after: Option<&str>,
) -> ResolveError {
    let mut error = status_error(code, host, retry_after);
    let envelope: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let errors = envelope
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.as_array())
        .filter(|e| !e.is_empty());
    if let Some(errors) = errors {
        let field = |e: &serde_json::Value, k: &str| {
            e.get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_default()
        };
        let words: Vec<String> = errors
            .iter()
            .map(|e| {
                let (code, message) = (field(e, "code"), field(e, "message"));
                if message.is_empty() {
                    code
                } else {
                    format!("{code} ({})", answer_text(&message))
                }
            })
            .collect();
        if let Some(first) = errors.first() {
            error.kind = match field(first, "code").as_str() {
                "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "NOT_FOUND" => ErrorKind::NotFound,
                "UNAUTHORIZED" | "DENIED" => ErrorKind::Unauthorized,
                "TOOMANYREQUESTS" => ErrorKind::RateLimited,
                _ => error.kind,
            };
        }
        error.message = format!("registry {host} answered {}, HTTP {code}", words.join("; "));
    } else {
        let text = answer_text(&String::from_utf8_lossy(body));
        if !text.is_empty() {
            error.message = format!("{}: {text}", error.message);
        }
    }
    if code == 401 {
        error.message = format!(
            "{} (log in with `docker login {host}` or check DOCKER_CONFIG)",
            error.message
        );
    }
    error
}

/// A non-200 answer without a body worth reading (a `HEAD`'s), with the
/// `Retry-After` it asked for.
pub(super) fn status_error(code: u16, host: &str, retry_after: Option<&str>) -> ResolveError {
    let mut error = ResolveError::new(
        status_kind(code),
        format!(
            "registry {host} answered HTTP {code} {}",
            reqwest_status_text(code)
        )
        .trim_end()
        .to_string(),
    );
    error.retry_after =
        retry_after.and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    error
}

fn status_kind(code: u16) -> ErrorKind {
    match code {
        404 => ErrorKind::NotFound,
        401 | 403 => ErrorKind::Unauthorized,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::Other,
    }
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date
/// (RFC 9110 §10.2.3); `None` when it is neither.
pub(super) fn parse_retry_after(
    value: &str,
    now: std::time::SystemTime,
) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = std::time::SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or_default())
}

/// A transport failure of a request to `host`: a timeout, a refused or
/// reset connection (worth retrying), or a refused certificate (not).
pub(super) fn transport_error(e: &reqwest::Error, host: &str) -> ResolveError {
    let chain = innermost_cause(e);
    // A refused certificate does not get better by retrying.
    let (kind, what) = if e.is_timeout() {
        (ErrorKind::Network, "timed out".to_string())
    } else if is_certificate_error(&chain) {
        (
            ErrorKind::Other,
            format!("{chain} (trust its CA with --ca-file or SSL_CERT_FILE)"),
        )
    } else {
        (ErrorKind::Network, chain)
    };
    ResolveError::new(kind, format!("cannot reach registry {host}: {what}"))
}

/// A registry's error body as one short line: the `<title>` (or the text)
/// of an HTML page from a proxy or firewall, whitespace collapsed, at most
/// 200 characters.
pub(super) fn answer_text(body: &str) -> String {
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
pub(super) fn is_certificate_error(chain: &str) -> bool {
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
