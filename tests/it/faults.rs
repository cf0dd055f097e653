//! A misbehaving registry: a tiny HTTP server on 127.0.0.1 that answers
//! every request with one fault (429, 503, or silence), to check that imgpin
//! retries, gives up with the registry's answer, and never hangs.

use crate::cli::text;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy)]
enum Fault {
    TooManyRequests,
    Unavailable,
    Silent,
    /// A manifest under a `Docker-Content-Digest` that is not its sha256.
    WrongDigest,
}

const WRONG_DIGEST_MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":2},"layers":[]}"#;

/// Serve `fault` on a free port until the test ends; counts HTTP requests.
fn serve(fault: Fault) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = &buf[..n];
                if !(request.starts_with(b"GET ") || request.starts_with(b"HEAD ")) {
                    return; // a TLS hello: hang up, as a plain-HTTP server would
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let head = request.starts_with(b"HEAD ");
                let answer = match fault {
                    Fault::TooManyRequests => {
                        let body =
                            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
                        format!("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.len(), if head { "" } else { body })
                    }
                    Fault::Unavailable => {
                        let body = "upstream down";
                        format!("HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.len(), if head { "" } else { body })
                    }
                    Fault::WrongDigest => {
                        let body = WRONG_DIGEST_MANIFEST;
                        format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: sha256:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", "e".repeat(64), body.len(), if head { "" } else { body })
                    }
                    Fault::Silent => {
                        std::thread::sleep(Duration::from_secs(20));
                        return;
                    }
                };
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    (host, count)
}

fn pin_against(host: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  app:\n    image: {host}/team/app:1.0\n"),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .arg("pin")
        .args(extra)
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", empty.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(!after.contains("@sha256"), "nothing may be written");
    out
}

#[test]
fn rate_limited_registry_is_retried_then_reported() {
    let (host, count) = serve(Fault::TooManyRequests);
    let out = pin_against(&host, &["--write"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{host}/team/app:1.0: registry {host} answered")),
        "{err}"
    );
    assert!(
        err.contains("429") || err.contains("TOOMANYREQUESTS"),
        "{err}"
    );
    assert!(err.contains("(after 3 attempts)"), "{err}");
    assert!(
        count.load(Ordering::SeqCst) >= 3,
        "retried: {} requests",
        count.load(Ordering::SeqCst)
    );
}

#[test]
fn unavailable_registry_is_reported_with_its_answer() {
    let (host, _) = serve(Fault::Unavailable);
    let out = pin_against(&host, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("503"), "{err}");
    assert!(err.contains("(after 3 attempts)"), "{err}");
}

#[test]
fn silent_registry_times_out() {
    let (host, _) = serve(Fault::Silent);
    let out = pin_against(&host, &["--timeout", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot reach registry {host}")),
        "{err}"
    );
    assert!(
        err.contains("timed out") || err.contains("timeout"),
        "{err}"
    );
}

/// A registry (or a cache in front of it) answering a pinned digest with a
/// `Docker-Content-Digest` of another manifest: `verify` must not call the
/// digest present or missing; it is an error (exit 2) that says so.
#[test]
fn wrong_docker_content_digest_is_an_error_for_verify() {
    let (host, _) = serve(Fault::WrongDigest);
    let dir = tempfile::tempdir().unwrap();
    let pinned = format!("{host}/team/app@sha256:{}", "a".repeat(64));
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  app:\n    image: {pinned}\n"),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .arg("verify")
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", empty.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "compose.yaml:3:12: error: {pinned}: registry {host} sent a manifest that does not match its digest (expected sha256:{}, got sha256:{}",
            "a".repeat(64),
            "e".repeat(64)
        )),
        "{err}"
    );
}
