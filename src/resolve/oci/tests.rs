//! Unit tests of the OCI resolver: platform picking, answer checks, error wording.
use super::answers::*;
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

#[test]
fn a_head_is_pinned_only_from_a_manifest_answer() {
    let oci = "application/vnd.oci.image.index.v1+json";
    let good = format!("sha256:{}", "a".repeat(64));
    let other = format!("sha256:{}", "b".repeat(64));
    let pin = |d: &str| HeadVerdict::Pin(Digest::parse(d).unwrap());
    assert_eq!(head_verdict(Some(oci), Some(&good), None), pin(&good));
    // Parameters and case in the type do not matter.
    let with_charset = "Application/Vnd.Docker.Distribution.Manifest.V2+Json; charset=utf-8";
    assert_eq!(
        head_verdict(Some(with_charset), Some(&good), None),
        pin(&good)
    );
    // No header, or a type only the body can settle: GET and check.
    assert_eq!(head_verdict(Some(oci), None, None), HeadVerdict::Fetch);
    assert_eq!(
        head_verdict(Some("application/json"), Some(&good), None),
        HeadVerdict::Fetch
    );
    assert_eq!(head_verdict(None, Some(&good), None), HeadVerdict::Fetch);
    // An HTML page, a bad header, another digest than the one asked: refused.
    let refused = |v: HeadVerdict| match v {
        HeadVerdict::Refuse(why) => why,
        other => panic!("not refused: {other:?}"),
    };
    let why = refused(head_verdict(
        Some("text/html; charset=utf-8"),
        Some(&good),
        None,
    ));
    assert!(
        why.contains("Content-Type text/html, which is not a manifest"),
        "{why}"
    );
    let why = refused(head_verdict(Some(oci), Some("sha256:abc"), None));
    assert!(
        why.starts_with("sent an invalid Docker-Content-Digest \"sha256:abc\""),
        "{why}"
    );
    let why = refused(head_verdict(Some(oci), Some(&other), Some(&good)));
    assert!(
        why.starts_with(&format!(
            "sent a manifest that does not match its digest (expected {good}, got {other}"
        )),
        "{why}"
    );
    assert_eq!(
        head_verdict(Some(oci), Some(&good), Some(&good)),
        pin(&good)
    );
}

#[test]
fn retry_after_is_seconds_or_an_http_date() {
    use std::time::{Duration, UNIX_EPOCH};
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
    assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    // A date in the past: retry now.
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
}

#[test]
fn a_rate_limit_answer_keeps_its_retry_after() {
    let e = status_error(429, "r.example", Some("3"));
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(
        e.message,
        "registry r.example answered HTTP 429 Too Many Requests"
    );
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    let e = status_error(503, "r.example", None);
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.retry_after, None);
}
