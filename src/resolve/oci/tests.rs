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

#[test]
fn a_get_is_pinned_only_from_a_hashed_manifest_body() {
    let oci = "application/vnd.oci.image.manifest.v1+json";
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":2},"layers":[]}"#;
    let hashed = Digest::sha256_of(body);
    let other = format!("sha256:{}", "b".repeat(64));
    // Header present or not, type a manifest type or plain JSON: the hash.
    assert_eq!(
        body_verdict(Some(oci), Some(hashed.as_str()), None, body),
        Ok(hashed.clone())
    );
    assert_eq!(
        body_verdict(Some("application/json"), None, None, body),
        Ok(hashed.clone())
    );
    assert_eq!(
        body_verdict(None, None, Some(hashed.as_str()), body),
        Ok(hashed.clone())
    );
    // An HTML page, half a body, JSON that is not a manifest: refused.
    let why = body_verdict(Some("text/html"), None, None, b"<html></html>").unwrap_err();
    assert!(
        why.contains("Content-Type text/html, which is not a manifest"),
        "{why}"
    );
    let why = body_verdict(Some(oci), None, None, &body[..body.len() / 2]).unwrap_err();
    assert!(
        why.contains(&format!("Content-Type {oci}, {} bytes", body.len() / 2)),
        "{why}"
    );
    assert!(why.contains("nothing pinned"), "{why}");
    let why =
        body_verdict(Some("application/json"), None, None, br#"{"status":"ok"}"#).unwrap_err();
    assert!(why.contains("not a manifest"), "{why}");
    // The body hashes to something else than the digest asked or the header.
    let why = body_verdict(Some(oci), None, Some(&other), body).unwrap_err();
    assert!(
        why.starts_with(&format!(
            "sent a manifest that does not match its digest (expected {other}, got {hashed}"
        )),
        "{why}"
    );
    let why = body_verdict(Some(oci), Some(&other), None, body).unwrap_err();
    assert!(
        why.contains(&format!(
            "the header says {other}, the body hashes to {hashed}"
        )),
        "{why}"
    );
    let why = body_verdict(Some(oci), Some("sha256:zz"), None, body).unwrap_err();
    assert!(
        why.starts_with("sent an invalid Docker-Content-Digest"),
        "{why}"
    );
}

#[test]
fn error_answers_name_the_registry_code_and_status() {
    let e = error_answer(
        404,
        "r.example",
        br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        None,
    );
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "registry r.example answered MANIFEST_UNKNOWN (manifest unknown), HTTP 404"
    );
    let e = error_answer(
        401,
        "r.example",
        br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        None,
    );
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message
            .ends_with("HTTP 401 (log in with `docker login r.example` or check DOCKER_CONFIG)"),
        "{}",
        e.message
    );
    let e = error_answer(
        502,
        "r.example",
        b"<html><title>Bad gateway</title></html>",
        Some("3"),
    );
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(
        e.message,
        "registry r.example answered HTTP 502 Bad Gateway: Bad gateway"
    );
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
}
