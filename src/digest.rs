//! Validated content digests (`sha256:<hex>`, `sha512:<hex>`).
//!
//! A [`Digest`] is only ever built by [`Digest::parse`], so holding one means
//! the text is a well-formed sha256 or sha512 digest in its canonical form:
//! lowercase hex of the exact length. Other algorithms that the OCI grammar
//! allows are recognised and rejected as unsupported, so the error says what
//! is wrong rather than "invalid". Hashing bytes is the resolver's job; this
//! module has no hashing dependency.

use std::fmt;
use std::str::FromStr;

/// A validated `sha256:<64 hex>` or `sha512:<128 hex>` content digest.
///
/// Serialises as its string form. Ordering is the ordering of that string.
#[derive(
    Clone, PartialEq, Eq, Hash, Ord, PartialOrd, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    /// `algorithm:hex`, validated; the algorithm never contains `:`.
    text: String,
}

/// Why a string is not a supported digest.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DigestError {
    /// The string is empty.
    #[error("digest is empty")]
    Empty,
    /// There is no `:` between algorithm and hex.
    #[error("digest must be <algorithm>:<hex>, missing ':'")]
    MissingColon,
    /// The algorithm does not match the OCI grammar.
    #[error("invalid digest algorithm {0:?}")]
    InvalidAlgorithm(String),
    /// The encoded part of a digest with an unknown algorithm is malformed.
    #[error("invalid encoded part in digest {0:?}")]
    InvalidEncoded(String),
    /// A well-formed digest with an algorithm other than sha256 or sha512.
    #[error("unsupported digest algorithm {0:?} (expected sha256 or sha512)")]
    UnsupportedAlgorithm(String),
    /// The hex part has uppercase letters.
    #[error("uppercase hex in digest (digests are lowercase)")]
    UppercaseHex,
    /// The hex part has a character that is not a hex digit.
    #[error("invalid character {0:?} in digest hex")]
    InvalidHexCharacter(char),
    /// The hex part has the wrong length for its algorithm.
    #[error("{algorithm} digest must be {expected} lowercase hex characters, got {got}")]
    WrongLength {
        /// `sha256` or `sha512`.
        algorithm: &'static str,
        /// The required number of hex characters.
        expected: usize,
        /// The number of hex characters found.
        got: usize,
    },
}

impl Digest {
    /// The `sha256:` digest of `bytes`: what a manifest's digest must be.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(bytes);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        Digest {
            text: format!("sha256:{hex}"),
        }
    }

    /// Parses and validates `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        if s.is_empty() {
            return Err(DigestError::Empty);
        }
        let (algorithm, encoded) = s.split_once(':').ok_or(DigestError::MissingColon)?;
        let (name, expected) = match algorithm {
            "sha256" => ("sha256", 64),
            "sha512" => ("sha512", 128),
            _ if !is_oci_algorithm(algorithm) => {
                return Err(DigestError::InvalidAlgorithm(algorithm.to_string()))
            }
            _ if !is_oci_encoded(encoded) => {
                return Err(DigestError::InvalidEncoded(encoded.to_string()))
            }
            _ => return Err(DigestError::UnsupportedAlgorithm(algorithm.to_string())),
        };
        if let Some(c) = encoded.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(DigestError::InvalidHexCharacter(c));
        }
        if encoded.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DigestError::UppercaseHex);
        }
        if encoded.len() != expected {
            return Err(DigestError::WrongLength {
                algorithm: name,
                expected,
                got: encoded.len(),
            });
        }
        Ok(Digest {
            text: s.to_string(),
        })
    }

    /// The algorithm: `sha256` or `sha512`.
    pub fn algorithm(&self) -> &str {
        self.text.split_once(':').map_or("", |(a, _)| a)
    }

    /// The lowercase hex part after the `:`.
    pub fn hex(&self) -> &str {
        self.text.split_once(':').map_or("", |(_, h)| h)
    }

    /// The digest as `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// OCI algorithm grammar: `[a-z0-9]+(?:[.+_-][a-z0-9]+)*`.
fn is_oci_algorithm(s: &str) -> bool {
    s.split(['.', '+', '_', '-']).all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// OCI encoded grammar: `[a-zA-Z0-9=_-]+`.
fn is_oci_encoded(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: char, n: usize) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    #[test]
    fn valid_digests() {
        for (input, algorithm, len) in [
            (format!("sha256:{}", hex('a', 64)), "sha256", 64),
            (
                format!("sha256:{}", "0123456789abcdef".repeat(4)),
                "sha256",
                64,
            ),
            (format!("sha512:{}", hex('f', 128)), "sha512", 128),
        ] {
            let d = Digest::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(d.algorithm(), algorithm);
            assert_eq!(d.hex().len(), len);
            assert_eq!(d.to_string(), input);
            assert_eq!(d.as_str(), input);
            assert_eq!(input.parse::<Digest>(), Ok(d));
        }
    }

    #[test]
    fn invalid_digests() {
        use DigestError::*;
        let wrong = |algorithm, expected, got| WrongLength {
            algorithm,
            expected,
            got,
        };
        let cases: Vec<(String, DigestError)> = vec![
            (String::new(), Empty),
            (hex('a', 64), MissingColon),
            (format!("sha256:{}", hex('a', 63)), wrong("sha256", 64, 63)),
            (format!("sha256:{}", hex('a', 65)), wrong("sha256", 64, 65)),
            ("sha256:".into(), wrong("sha256", 64, 0)),
            ("sha256:abc".into(), wrong("sha256", 64, 3)),
            (format!("sha256:{}", hex('A', 64)), UppercaseHex),
            (format!("sha256:{}", hex('g', 64)), InvalidHexCharacter('g')),
            (
                format!("sha256:{}:", hex('a', 64)),
                InvalidHexCharacter(':'),
            ),
            (
                format!("sha256:{}é", hex('a', 63)),
                InvalidHexCharacter('é'),
            ),
            (format!("sha512:{}", hex('a', 64)), wrong("sha512", 128, 64)),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e".into(),
                UnsupportedAlgorithm("md5".into()),
            ),
            (
                "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564".into(),
                UnsupportedAlgorithm("sha256+b64u".into()),
            ),
            ("blake3:abc=".into(), UnsupportedAlgorithm("blake3".into())),
            ("SHA256:abc".into(), InvalidAlgorithm("SHA256".into())),
            ("sha256-:abc".into(), InvalidAlgorithm("sha256-".into())),
            (":abc".into(), InvalidAlgorithm(String::new())),
            ("md5:".into(), InvalidEncoded(String::new())),
            ("md5:a/b".into(), InvalidEncoded("a/b".into())),
        ];
        for (input, expected) in cases {
            assert_eq!(Digest::parse(&input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        let e = Digest::parse(&format!("sha256:{}", hex('a', 63))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sha256 digest must be 64 lowercase hex characters, got 63"
        );
        let e = Digest::parse("md5:abc").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("unsupported digest algorithm \"md5\""));
        let e = Digest::parse(&format!("sha256:{}", hex('B', 64))).unwrap_err();
        assert!(e.to_string().contains("uppercase hex in digest"));
    }

    #[test]
    fn serde_uses_the_string_form() {
        use serde::de::value::{Error as DeError, StrDeserializer};
        use serde::de::IntoDeserializer;
        use serde::Deserialize;

        let text = format!("sha256:{}", hex('c', 64));
        let de: StrDeserializer<'_, DeError> = text.as_str().into_deserializer();
        let d = Digest::deserialize(de).expect("valid digest deserialises");
        assert_eq!(String::from(d), text);

        let de: StrDeserializer<'_, DeError> = "sha256:nope".into_deserializer();
        assert!(Digest::deserialize(de).is_err());
    }

    #[test]
    fn sha256_of_bytes() {
        // sha256("") is the well-known e3b0c442… value.
        assert_eq!(
            Digest::sha256_of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
