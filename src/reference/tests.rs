//! Table-driven tests of the reference grammar, normalisation and rewriting.

use super::*;

/// A valid sha256 digest; `{D}` in a case's input stands for it.
const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Another valid sha256 digest.
const D2: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn expand(input: &str) -> String {
    input.replace("{D}", D)
}

fn digest(s: &str) -> Digest {
    Digest::parse(s).expect("test digest is valid")
}

#[test]
fn valid_references() {
    let long_tag = format!("nginx:{}", "t".repeat(128));
    let name_255 = "a".repeat(255 - "library/".len());
    let library_255 = format!("library/{name_255}");
    // The domain does not count (distribution/reference v0.6).
    let b_255 = "b".repeat(255);
    let path_255 = format!("registry.example.com:5000/{b_255}");
    let sha512 = format!("nginx:1.27@sha512:{}", "ab".repeat(64));
    // (input, domain, repository, tag, has digest)
    let cases: Vec<(&str, &str, &str, Option<&str>, bool)> = vec![
        ("nginx", "docker.io", "library/nginx", None, false),
        (
            "nginx:1.27",
            "docker.io",
            "library/nginx",
            Some("1.27"),
            false,
        ),
        ("library/nginx", "docker.io", "library/nginx", None, false),
        ("docker.io/nginx", "docker.io", "library/nginx", None, false),
        (
            "docker.io/library/nginx:latest",
            "docker.io",
            "library/nginx",
            Some("latest"),
            false,
        ),
        (
            "index.docker.io/library/nginx",
            "docker.io",
            "library/nginx",
            None,
            false,
        ),
        (
            "index.docker.io/nginx",
            "docker.io",
            "library/nginx",
            None,
            false,
        ),
        ("myorg/app:2", "docker.io", "myorg/app", Some("2"), false),
        ("localhost/foo", "localhost", "foo", None, false),
        (
            "localhost:5000/foo:bar",
            "localhost:5000",
            "foo",
            Some("bar"),
            false,
        ),
        // One component: distribution reads "localhost:5000" as name "localhost", tag "5000".
        (
            "localhost:5000",
            "docker.io",
            "library/localhost",
            Some("5000"),
            false,
        ),
        ("localhost", "docker.io", "library/localhost", None, false),
        (
            "127.0.0.1:5000/a/b@{D}",
            "127.0.0.1:5000",
            "a/b",
            None,
            true,
        ),
        ("[::1]:5000/x", "[::1]:5000", "x", None, false),
        ("[::1]/x", "[::1]", "x", None, false),
        (
            "[2001:db8::1]:443/team/app:v2",
            "[2001:db8::1]:443",
            "team/app",
            Some("v2"),
            false,
        ),
        (
            "ghcr.io/org/app:v1@{D}",
            "ghcr.io",
            "org/app",
            Some("v1"),
            true,
        ),
        ("nginx@{D}", "docker.io", "library/nginx", None, true),
        (
            "nginx:1.27@{D}",
            "docker.io",
            "library/nginx",
            Some("1.27"),
            true,
        ),
        ("foo/bar:tag@{D}", "docker.io", "foo/bar", Some("tag"), true),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.4",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "api",
            Some("1.4"),
            false,
        ),
        (
            "public.ecr.aws/nginx/nginx:1",
            "public.ecr.aws",
            "nginx/nginx",
            Some("1"),
            false,
        ),
        (
            "gcr.io/distroless/static-debian12:nonroot",
            "gcr.io",
            "distroless/static-debian12",
            Some("nonroot"),
            false,
        ),
        (
            "quay.io/prometheus/node-exporter:v1.8.2",
            "quay.io",
            "prometheus/node-exporter",
            Some("v1.8.2"),
            false,
        ),
        (
            "registry.example.com:8443/a/b/c/d:1.0-rc.1",
            "registry.example.com:8443",
            "a/b/c/d",
            Some("1.0-rc.1"),
            false,
        ),
        (
            "xn--bcher-kva.example/x",
            "xn--bcher-kva.example",
            "x",
            None,
            false,
        ),
        // Uppercase is allowed in the registry, and makes a first component one.
        ("Foo.com/bar", "Foo.com", "bar", None, false),
        ("Foo/bar", "Foo", "bar", None, false),
        ("a__b", "docker.io", "library/a__b", None, false),
        ("a_b", "docker.io", "library/a_b", None, false),
        ("a-----b", "docker.io", "library/a-----b", None, false),
        ("a.b", "docker.io", "library/a.b", None, false),
        ("a.b/c", "a.b", "c", None, false),
        (
            "example.com/a-b--c/d_e.f__g",
            "example.com",
            "a-b--c/d_e.f__g",
            None,
            false,
        ),
        ("0/1", "docker.io", "0/1", None, false),
        ("a", "docker.io", "library/a", None, false),
        (
            "nginx:_tag",
            "docker.io",
            "library/nginx",
            Some("_tag"),
            false,
        ),
        (
            "nginx:LATEST",
            "docker.io",
            "library/nginx",
            Some("LATEST"),
            false,
        ),
        (
            "nginx:1.2-x_y.z",
            "docker.io",
            "library/nginx",
            Some("1.2-x_y.z"),
            false,
        ),
        (
            &long_tag,
            "docker.io",
            "library/nginx",
            long_tag.strip_prefix("nginx:"),
            false,
        ),
        (&name_255, "docker.io", &library_255, None, false),
        (&path_255, "registry.example.com:5000", &b_255, None, false),
        (&sha512, "docker.io", "library/nginx", Some("1.27"), true),
    ];
    for (input, domain, repository, tag, has_digest) in cases {
        let input = expand(input);
        let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(r.domain(), domain, "domain of {input:?}");
        assert_eq!(r.repository(), repository, "repository of {input:?}");
        assert_eq!(r.tag(), tag, "tag of {input:?}");
        assert_eq!(r.is_pinned(), has_digest, "digest of {input:?}");
        assert_eq!(r.as_written(), input);
        assert!(
            input.starts_with(r.written_name()),
            "written name of {input:?}"
        );
        assert_eq!(r.canonical_name(), format!("{domain}/{repository}"));
    }
}

#[test]
fn invalid_references() {
    let s = |v: &str| v.to_string();
    let sep = |component: &str, separator: &str| K::InvalidSeparator {
        component: s(component),
        separator: s(separator),
    };
    let domain = |domain: &str, reason| K::InvalidDomain {
        domain: s(domain),
        reason,
    };
    let port = |domain: &str, port: &str| K::InvalidPort {
        domain: s(domain),
        port: s(port),
    };
    let char_at = |ch, column| K::InvalidCharacter { ch, column };
    let wrong_len = |algorithm, expected, got| {
        K::InvalidDigest(DigestError::WrongLength {
            algorithm,
            expected,
            got,
        })
    };
    let no_host = "missing host name before ':port'";
    let host_chars = "a host name has only letters, digits, '-' and '.'";
    let host_label = "a host name label must start and end with a letter or digit";

    let long_tag = format!("nginx:{}", "t".repeat(129));
    let name_256 = format!("example.com/{}", "a".repeat(256));
    let name_long = "a".repeat(250);
    let upper_hex = format!("name@sha256:{}", "A".repeat(64));
    let hex_id = "0123456789abcdef".repeat(4);

    let cases: Vec<(&str, RefErrorKind)> = vec![
        ("", K::Empty),
        (":tag", K::MissingName),
        ("@{D}", K::MissingName),
        (":1@{D}", K::MissingName),
        ("Nginx:1", K::Uppercase),
        ("library/Nginx", K::Uppercase),
        ("ghcr.io/Org/app", K::Uppercase),
        ("localhost:5000/Foo", K::Uppercase),
        ("FOO_BAR/x", K::Uppercase),
        (&long_tag, K::TagTooLong { len: 129 }),
        ("nginx:.tag", K::TagStart { tag: s(".tag") }),
        ("nginx:-tag", K::TagStart { tag: s("-tag") }),
        ("nginx:", K::EmptyTag),
        ("foo/bar:", K::EmptyTag),
        ("nginx:tag[1]", char_at('[', 10)),
        ("a___b", sep("a___b", "___")),
        ("a..b", sep("a..b", "..")),
        ("a._b", sep("a._b", "._")),
        ("a-_b", sep("a-_b", "-_")),
        ("-a", K::ComponentStart { component: s("-a") }),
        (
            "_foo",
            K::ComponentStart {
                component: s("_foo"),
            },
        ),
        (
            "foo/.bar",
            K::ComponentStart {
                component: s(".bar"),
            },
        ),
        ("a-", K::ComponentEnd { component: s("a-") }),
        (
            "foo/bar.",
            K::ComponentEnd {
                component: s("bar."),
            },
        ),
        ("foo/b[a]r", char_at('[', 6)),
        ("a/b:c:d/e", char_at(':', 4)),
        (
            "name@sha256:short",
            K::InvalidDigest(DigestError::InvalidHexCharacter('s')),
        ),
        ("name@sha256:abcde", wrong_len("sha256", 64, 5)),
        (
            "name@sha256:UPPER",
            K::InvalidDigest(DigestError::InvalidHexCharacter('U')),
        ),
        (&upper_hex, K::InvalidDigest(DigestError::UppercaseHex)),
        (
            "name@sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            wrong_len("sha512", 128, 64),
        ),
        (
            "name@md5:d41d8cd98f00b204e9800998ecf8427e",
            K::InvalidDigest(DigestError::UnsupportedAlgorithm(s("md5"))),
        ),
        ("name@", K::InvalidDigest(DigestError::Empty)),
        ("name@sha256", K::InvalidDigest(DigestError::MissingColon)),
        ("name@{D}@x", K::ExtraAt { column: 77 }),
        ("name@sha256:/x", char_at('/', 13)),
        (&name_long, K::NameTooLong { len: 258 }),
        (&name_256, K::NameTooLong { len: 256 }),
        ("nginx:1.27:extra", K::ExtraColon { column: 11 }),
        ("a:b:c", K::ExtraColon { column: 4 }),
        ("localhost:5000:tag", K::ExtraColon { column: 15 }),
        ("nginx :1", K::Whitespace { column: 6 }),
        (" nginx", K::Whitespace { column: 1 }),
        ("nginx\n", K::Whitespace { column: 6 }),
        ("nginx:1\t", K::Whitespace { column: 8 }),
        ("nginx/", K::TrailingSlash),
        ("docker.io/", K::TrailingSlash),
        ("/nginx", K::LeadingSlash),
        ("a//b", K::DoubleSlash { column: 2 }),
        ("ghcr.io//b", K::DoubleSlash { column: 8 }),
        (":5000/foo", domain(":5000", no_host)),
        ("localhost:abc/x", port("localhost:abc", "abc")),
        ("localhost:/x", port("localhost:", "")),
        ("nginx:1.0/x", port("nginx:1.0", "1.0")),
        (
            "foo..com/x",
            domain(
                "foo..com",
                "empty label in host name ('..' or a '.' at an end)",
            ),
        ),
        ("-foo.com/x", domain("-foo.com", host_label)),
        ("foo-.com/x", domain("foo-.com", host_label)),
        ("my_host.com/x", domain("my_host.com", host_chars)),
        (
            "[::1/x",
            domain("[::1", "missing ']' after the IPv6 address"),
        ),
        (
            "[zz::1]:5000/x",
            domain(
                "[zz::1]:5000",
                "an IPv6 address is hex digits and ':' between '[' and ']'",
            ),
        ),
        ("[::1]x/y", domain("[::1]x", "unexpected text after ']'")),
        ("ngin!x", char_at('!', 5)),
        ("ngïnx", char_at('ï', 3)),
        ("foo+bar", char_at('+', 4)),
        ("nginx@sha256:é", char_at('é', 14)),
        (&hex_id, K::HexIdentifier),
    ];
    for (input, expected) in cases {
        let input = expand(input);
        match ImageRef::parse(&input) {
            Ok(r) => panic!("{input:?} should be rejected, parsed as {r:?}"),
            Err(e) => {
                assert_eq!(e.kind(), &expected, "reason for {input:?}");
                assert_eq!(e.input(), input);
            }
        }
    }
}

#[test]
fn error_messages_read_well() {
    let msg = |s: &str| ImageRef::parse(s).map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        msg("Nginx:1"),
        "invalid reference \"Nginx:1\": repository name must be lowercase"
    );
    assert_eq!(
        msg("nginx@sha256:abc"),
        "invalid reference \"nginx@sha256:abc\": invalid digest: \
         sha256 digest must be 64 lowercase hex characters, got 3"
    );
    assert_eq!(
        msg("localhost:abc/x"),
        "invalid reference \"localhost:abc/x\": invalid port \"abc\" in registry \"localhost:abc\": a port is digits only"
    );
    assert_eq!(
        msg("nginx\t"),
        "invalid reference \"nginx\\t\": whitespace at position 6"
    );
    assert!(msg("nginx:1.27:extra").contains("at most one ':tag'"));
    assert!(msg("a..b").contains("invalid separator \"..\""));
}

#[test]
fn accessors() {
    let r = ImageRef::parse(&format!("localhost:5000/team/app:v1@{D}")).expect("valid");
    assert_eq!(r.written_name(), "localhost:5000/team/app");
    assert_eq!(r.domain(), "localhost:5000");
    assert_eq!(r.repository(), "team/app");
    assert_eq!(r.tag(), Some("v1"));
    assert_eq!(r.tag_or_latest(), "v1");
    assert_eq!(r.digest(), Some(&digest(D)));
    assert_eq!(r.canonical_name(), "localhost:5000/team/app");
    assert!(r.is_pinned());
    assert_eq!(r.to_string(), r.as_written());

    let r: ImageRef = "nginx".parse().expect("valid");
    assert_eq!(r.written_name(), "nginx");
    assert_eq!(r.tag(), None);
    assert_eq!(r.tag_or_latest(), "latest");
    assert_eq!(r.canonical_name(), "docker.io/library/nginx");
    assert!(!r.is_pinned());
}

#[test]
fn pinned_text_keeps_spelling_and_adds_or_replaces_the_digest() {
    let new = digest(D2);
    let cases = [
        ("nginx", "nginx:latest@{D2}"),
        ("nginx:1.27", "nginx:1.27@{D2}"),
        (
            "docker.io/library/nginx",
            "docker.io/library/nginx:latest@{D2}",
        ),
        ("index.docker.io/nginx:1", "index.docker.io/nginx:1@{D2}"),
        ("Foo.com/bar:x", "Foo.com/bar:x@{D2}"),
        ("localhost:5000", "localhost:5000@{D2}"),
        ("localhost:5000/x", "localhost:5000/x:latest@{D2}"),
        ("ghcr.io/o/r:v1@{D}", "ghcr.io/o/r:v1@{D2}"),
        ("ghcr.io/o/r@{D}", "ghcr.io/o/r:latest@{D2}"),
    ];
    for (input, want) in cases {
        let r = ImageRef::parse(&expand(input)).expect("valid");
        let pinned = r.pinned_text(&new);
        assert_eq!(pinned, want.replace("{D2}", D2), "pinning {input:?}");
        let again = ImageRef::parse(&pinned).expect("pinned text parses");
        assert_eq!(again.digest(), Some(&new));
        assert_eq!(again.canonical_name(), r.canonical_name());
        assert_eq!(again.pinned_text(&new), pinned, "pinning is idempotent");
    }
}

#[test]
fn resolve_key_identifies_the_image_not_the_spelling() {
    let key = |s: &str| ImageRef::parse(&expand(s)).expect("valid").resolve_key();
    let latest = key("nginx");
    assert_eq!(latest, "docker.io/library/nginx:latest");
    for same in [
        "nginx:latest",
        "library/nginx",
        "docker.io/nginx",
        "docker.io/library/nginx:latest",
        "index.docker.io/library/nginx",
    ] {
        assert_eq!(key(same), latest, "{same:?}");
    }
    assert_eq!(key("nginx:1.27"), key("docker.io/library/nginx:1.27"));
    assert_eq!(
        key("nginx:1.27@{D}"),
        key("nginx:1.27"),
        "a tag is resolved by its tag"
    );
    assert_eq!(key("nginx@{D}"), format!("docker.io/library/nginx@{D}"));
    for different in [
        "nginx:1",
        "ghcr.io/library/nginx",
        "nginx@{D}",
        "localhost/nginx",
    ] {
        assert_ne!(key(different), latest, "{different:?}");
    }
}

#[test]
fn equality_and_hash_use_the_written_text() {
    use std::collections::HashSet;
    let a = ImageRef::parse("nginx").expect("valid");
    let b = ImageRef::parse("docker.io/library/nginx").expect("valid");
    assert_ne!(a, b);
    assert_eq!(a, a.clone());
    let set: HashSet<ImageRef> = [a.clone(), b, a].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn serde_uses_the_written_text() {
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    let de: StrDeserializer<'_, DeError> = "ghcr.io/o/r:v1".into_deserializer();
    let r = ImageRef::deserialize(de).expect("valid reference deserialises");
    assert_eq!(String::from(r), "ghcr.io/o/r:v1");
    let de: StrDeserializer<'_, DeError> = "Nginx".into_deserializer();
    let err = ImageRef::deserialize(de).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("must be lowercase"));
}

/// Every short string over the grammar's awkward characters parses or fails
/// without panicking, and whatever parses keeps its invariants.
#[test]
fn no_panics_on_short_inputs() {
    let alphabet = [
        'a', 'B', '0', '/', ':', '@', '.', '-', '_', '[', ']', 'é', ' ',
    ];
    let new = digest(D2);
    let mut inputs = vec![format!("localhost:5000/a@{D}")];
    let mut level = vec![String::new()];
    for _ in 0..4 {
        level = level
            .iter()
            .flat_map(|prefix| alphabet.map(|c| format!("{prefix}{c}")))
            .collect();
        inputs.extend(level.iter().cloned());
    }
    for input in &inputs {
        if let Ok(r) = ImageRef::parse(input) {
            assert!(input.starts_with(r.written_name()), "{input:?}");
            let pinned = ImageRef::parse(&r.pinned_text(&new)).expect("pinned text parses");
            assert_eq!(pinned.canonical_name(), r.canonical_name(), "{input:?}");
            assert_eq!(pinned.tag(), Some(r.tag_or_latest()), "{input:?}");
        }
    }
}
