//! Image references: parse, normalise, and rewrite them in the user's spelling.
//!
//! [`ImageRef::parse`] follows the Docker/distribution reference grammar
//! (`reference.go`, `normalize.go`, `ParseNormalizedNamed`): a first path
//! component is a registry only if it has a `.` or `:`, is `localhost`, or has
//! uppercase letters; otherwise the registry is `docker.io`, and a one-part
//! Docker Hub name gets `library/`. `index.docker.io` means `docker.io`.
//! The rule of this module is that normalising never changes what gets
//! written: [`ImageRef::pinned_text`] keeps the name exactly as the user
//! spelled it and only adds or replaces the tag's `@digest`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

pub mod ecr;

#[cfg(test)]
mod tests;

/// The registry of names without one.
const DEFAULT_DOMAIN: &str = "docker.io";
/// The old name of Docker Hub's registry, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without one means.
const DEFAULT_TAG: &str = "latest";
/// Longest allowed repository path (`library/nginx`, without the domain),
/// as distribution/reference v0.6 applies `NameTotalLengthMax`.
const NAME_TOTAL_MAX: usize = 255;
/// Longest allowed tag.
const TAG_MAX: usize = 128;

/// A parsed, validated image reference: `[domain/]path[:tag][@digest]`.
///
/// Keeps the text as written; equality and hashing use that text, so two
/// spellings of one image are different `ImageRef`s with equal
/// [`resolve_key`](ImageRef::resolve_key)s. Serialises as the written text.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageRef {
    /// The input, exactly.
    text: String,
    /// Byte length of the name part of `text` (before `:tag` / `@digest`).
    name_end: usize,
    /// Normalised registry.
    domain: String,
    /// Normalised repository path.
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// A string that is not a valid image reference, with the reason.
///
/// Displays as `invalid reference "Nginx:1": repository name must be lowercase`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("invalid reference {input:?}: {kind}")]
pub struct RefError {
    input: String,
    kind: RefErrorKind,
}

impl RefError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it failed.
    pub fn kind(&self) -> &RefErrorKind {
        &self.kind
    }
}

/// Why a reference is invalid. Positions are 1-based character columns in
/// the input (equal to byte offset + 1: everything before them is ASCII).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RefErrorKind {
    /// The input is empty.
    #[error("reference is empty")]
    Empty,
    /// A whitespace character.
    #[error("whitespace at position {column}")]
    Whitespace {
        /// 1-based column.
        column: usize,
    },
    /// A character that cannot appear where it is.
    #[error("invalid character {ch:?} at position {column}")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// 1-based column.
        column: usize,
    },
    /// A second `@`.
    #[error("more than one '@' (the second is at position {column})")]
    ExtraAt {
        /// 1-based column of the second `@`.
        column: usize,
    },
    /// A second `:` after the last `/`, as in `nginx:1.27:extra`.
    #[error(
        "unexpected ':' at position {column}: a reference has at most one ':tag' after the name"
    )]
    ExtraColon {
        /// 1-based column of the second `:`.
        column: usize,
    },
    /// Nothing before `:tag` or `@digest`.
    #[error("missing repository name")]
    MissingName,
    /// A bare 64-hex string, which is an image ID rather than a name.
    #[error("a 64-character hex string is an image ID, not a repository name")]
    HexIdentifier,
    /// Uppercase letters in the repository path.
    #[error("repository name must be lowercase")]
    Uppercase,
    /// The name starts with `/`.
    #[error("repository name must not start with '/'")]
    LeadingSlash,
    /// The name ends with `/`.
    #[error("repository name must not end with '/'")]
    TrailingSlash,
    /// An empty path component, `//`.
    #[error("empty path component: '//' at position {column}")]
    DoubleSlash {
        /// 1-based column of the first `/`.
        column: usize,
    },
    /// A path component starting with a separator.
    #[error("path component {component:?} must start with a lowercase letter or digit")]
    ComponentStart {
        /// The component.
        component: String,
    },
    /// A path component ending with a separator.
    #[error("path component {component:?} must end with a lowercase letter or digit")]
    ComponentEnd {
        /// The component.
        component: String,
    },
    /// A separator other than `.`, `_`, `__` or a run of `-`.
    #[error("invalid separator {separator:?} in path component {component:?} (allowed: one '.', one or two '_', or '-'s)")]
    InvalidSeparator {
        /// The component.
        component: String,
        /// The offending run of separator characters.
        separator: String,
    },
    /// The registry host is malformed.
    #[error("invalid registry {domain:?}: {reason}")]
    InvalidDomain {
        /// The registry as written.
        domain: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The registry port is not a number.
    #[error("invalid port {port:?} in registry {domain:?}: a port is digits only")]
    InvalidPort {
        /// The registry as written.
        domain: String,
        /// The text after `:`.
        port: String,
    },
    /// The repository path (without the domain) is longer than 255
    /// characters.
    #[error("repository path must not be more than 255 characters, got {len}")]
    NameTooLong {
        /// Length of the normalised path (`library/…` on Docker Hub).
        len: usize,
    },
    /// `name:` with nothing after the colon.
    #[error("tag is empty after ':'")]
    EmptyTag,
    /// A tag longer than 128 characters.
    #[error("tag must not be more than 128 characters, got {len}")]
    TagTooLong {
        /// Length of the tag.
        len: usize,
    },
    /// A tag starting with `.` or `-`.
    #[error("tag {tag:?} must start with a letter, digit or '_'")]
    TagStart {
        /// The tag.
        tag: String,
    },
    /// The digest after `@` is invalid.
    #[error("invalid digest: {0}")]
    InvalidDigest(DigestError),
}

use RefErrorKind as K;

impl ImageRef {
    /// Parses `s` as distribution's `ParseNormalizedNamed` does.
    pub fn parse(s: &str) -> Result<ImageRef, RefError> {
        parse_parts(s).map_err(|kind| RefError {
            input: s.to_string(),
            kind,
        })
    }

    /// The original text, exactly.
    pub fn as_written(&self) -> &str {
        &self.text
    }

    /// The name part exactly as written: `nginx`, `ghcr.io/o/r`, `localhost:5000/x`.
    pub fn written_name(&self) -> &str {
        self.text.get(..self.name_end).unwrap_or(&self.text)
    }

    /// The normalised registry: `docker.io`, `ghcr.io`, `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The normalised repository path: `library/nginx`, `o/r`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/repository`, e.g. `docker.io/library/nginx`.
    pub fn canonical_name(&self) -> String {
        format!("{}/{}", self.domain, self.repository)
    }

    /// The tag, or `latest` when none was written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// Whether the reference has a digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The text to write when pinning to `digest`: the user's own spelling of the name,
    /// then `:tag` (":latest" when the reference had no tag), then `@digest`.
    /// If the reference already has a digest, it is replaced (used by --update).
    pub fn pinned_text(&self, digest: &Digest) -> String {
        format!(
            "{}:{}@{}",
            self.written_name(),
            self.tag_or_latest(),
            digest
        )
    }

    /// Key identifying what must be resolved: canonical name + tag (or digest). Two spellings of
    /// the same image (`nginx`, `docker.io/library/nginx:latest`) give equal keys.
    ///
    /// A tagged reference gives `docker.io/library/nginx:1.27` whether or not it
    /// also has a digest (the tag is what a resolver looks up); a digest-only
    /// reference gives `docker.io/library/nginx@sha256:…`; a bare name gives
    /// `…:latest`.
    pub fn resolve_key(&self) -> String {
        match (&self.tag, &self.digest) {
            (None, Some(digest)) => format!("{}@{}", self.canonical_name(), digest),
            _ => format!("{}:{}", self.canonical_name(), self.tag_or_latest()),
        }
    }
}

/// The whole parse; errors are wrapped with the input by [`ImageRef::parse`].
fn parse_parts(s: &str) -> Result<ImageRef, RefErrorKind> {
    if s.is_empty() {
        return Err(K::Empty);
    }
    scan_characters(s)?;
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(K::HexIdentifier);
    }
    // After the scan everything before '@' is ASCII, so byte offsets are columns - 1.
    let (name_tag, digest) = match s.split_once('@') {
        Some((name_tag, digest)) => (name_tag, Some(digest)),
        None => (s, None),
    };
    // The tag follows the only ':' after the last '/'.
    let last_start = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_start..].find(':') {
        None => (name_tag, None),
        Some(i) => {
            let colon = last_start + i;
            let (name, tag) = (&name_tag[..colon], &name_tag[colon + 1..]);
            if let Some(j) = tag.find(':') {
                return Err(K::ExtraColon {
                    column: colon + 1 + j + 1,
                });
            }
            (name, Some((tag, colon + 1)))
        }
    };
    if name.is_empty() {
        return Err(K::MissingName);
    }

    let (domain, repository) = parse_name(name)?;
    // Since distribution/reference v0.6 the domain does not count.
    let len = repository.len();
    if len > NAME_TOTAL_MAX {
        return Err(K::NameTooLong { len });
    }
    if let Some((tag, offset)) = tag {
        check_tag(tag, offset)?;
    }
    let digest = digest
        .map(|d| Digest::parse(d).map_err(K::InvalidDigest))
        .transpose()?;
    Ok(ImageRef {
        text: s.to_string(),
        name_end: name.len(),
        domain,
        repository,
        tag: tag.map(|(t, _)| t.to_string()),
        digest,
    })
}

/// Rejects whitespace, a second `@`, and characters no part of a reference allows.
fn scan_characters(s: &str) -> Result<(), RefErrorKind> {
    let mut in_digest = false;
    for (i, ch) in s.chars().enumerate() {
        let column = i + 1;
        if ch.is_whitespace() {
            return Err(K::Whitespace { column });
        }
        let allowed = match ch {
            '@' if in_digest => return Err(K::ExtraAt { column }),
            '@' => {
                in_digest = true;
                true
            }
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' | ':' => true,
            '/' | '[' | ']' => !in_digest,
            '+' | '=' => in_digest,
            _ => false,
        };
        if !allowed {
            return Err(K::InvalidCharacter { ch, column });
        }
    }
    Ok(())
}

/// Splits and validates `[domain/]path`; returns the normalised domain and path.
fn parse_name(name: &str) -> Result<(String, String), RefErrorKind> {
    if name.starts_with('/') {
        return Err(K::LeadingSlash);
    }
    if name.ends_with('/') {
        return Err(K::TrailingSlash);
    }
    if let Some(i) = name.find("//") {
        return Err(K::DoubleSlash { column: i + 1 });
    }
    let (domain, path, path_offset) = match name.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (Some(first), rest, first.len() + 1),
        _ => (None, name, 0),
    };
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(K::Uppercase);
    }
    if let Some(domain) = domain {
        check_domain(domain).map_err(|e| {
            // Distribution: a first component that is a "domain" only because of
            // its uppercase letters, and not a valid one, is an uppercase name.
            let only_by_case = domain != "localhost" && !domain.contains(['.', ':']);
            if only_by_case {
                K::Uppercase
            } else {
                e
            }
        })?;
    }
    let mut offset = path_offset;
    for component in path.split('/') {
        check_component(component, offset)?;
        offset += component.len() + 1;
    }

    let domain = match domain {
        None | Some(LEGACY_DEFAULT_DOMAIN) => DEFAULT_DOMAIN,
        Some(d) => d,
    };
    let repository = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        format!("{OFFICIAL_PREFIX}{path}")
    } else {
        path.to_string()
    };
    Ok((domain.to_string(), repository))
}

/// distribution's `splitDockerDomain` test for the first component.
fn looks_like_domain(first: &str) -> bool {
    first == "localhost"
        || first.contains(['.', ':'])
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `host[:port]`, where host is DNS-like labels or `[IPv6]`.
fn check_domain(domain: &str) -> Result<(), RefErrorKind> {
    let invalid = |reason| K::InvalidDomain {
        domain: domain.to_string(),
        reason,
    };
    let port = if let Some(rest) = domain.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("missing ']' after the IPv6 address"))?;
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(invalid(
                "an IPv6 address is hex digits and ':' between '[' and ']'",
            ));
        }
        match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("unexpected text after ']'"))?,
            ),
        }
    } else {
        let (host, port) = match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        };
        if host.is_empty() {
            return Err(invalid("missing host name before ':port'"));
        }
        for label in host.split('.') {
            if label.is_empty() {
                return Err(invalid(
                    "empty label in host name ('..' or a '.' at an end)",
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(invalid("a host name has only letters, digits, '-' and '.'"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(invalid(
                    "a host name label must start and end with a letter or digit",
                ));
            }
        }
        port
    };
    match port {
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(K::InvalidPort {
                domain: domain.to_string(),
                port: port.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`; `offset` is the component's byte offset.
fn check_component(component: &str, offset: usize) -> Result<(), RefErrorKind> {
    let is_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if let Some((i, ch)) = component
        .char_indices()
        .find(|&(_, c)| !is_alnum(c) && !matches!(c, '.' | '_' | '-'))
    {
        return Err(K::InvalidCharacter {
            ch,
            column: offset + i + 1,
        });
    }
    if !component.starts_with(is_alnum) {
        return Err(K::ComponentStart {
            component: component.to_string(),
        });
    }
    if !component.ends_with(is_alnum) {
        return Err(K::ComponentEnd {
            component: component.to_string(),
        });
    }
    let bad = component
        .split(is_alnum)
        .find(|sep| !matches!(*sep, "" | "." | "_" | "__") && !sep.bytes().all(|b| b == b'-'));
    match bad {
        Some(separator) => Err(K::InvalidSeparator {
            component: component.to_string(),
            separator: separator.to_string(),
        }),
        None => Ok(()),
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; `offset` is the tag's byte offset.
fn check_tag(tag: &str, offset: usize) -> Result<(), RefErrorKind> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if tag.is_empty() {
        return Err(K::EmptyTag);
    }
    if !tag.starts_with(is_word) {
        return Err(K::TagStart {
            tag: tag.to_string(),
        });
    }
    if let Some((i, ch)) = tag
        .char_indices()
        .find(|&(_, c)| !is_word(c) && c != '.' && c != '-')
    {
        return Err(K::InvalidCharacter {
            ch,
            column: offset + i + 1,
        });
    }
    if tag.len() > TAG_MAX {
        return Err(K::TagTooLong { len: tag.len() });
    }
    Ok(())
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ImageRef {
    type Err = RefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}

impl TryFrom<String> for ImageRef {
    type Error = RefError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        ImageRef::parse(&s)
    }
}

impl From<ImageRef> for String {
    fn from(r: ImageRef) -> String {
        r.text
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ImageRef {}

impl Hash for ImageRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}
