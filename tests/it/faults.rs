//! Misbehaving registries: Debian's docker-registry behind the fault proxy
//! (`support::fault_proxy`). For every fault, imgpin either pins the digest
//! the registry really holds or fails the reference with a clear message
//! and leaves the file's bytes alone, within its timeout.

use crate::cli::text;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::{Registry, LINUX_AMD64};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

/// A registry holding `team/app:1.0` behind a proxy with `fault`.
struct Setup {
    proxy: FaultProxy,
    digest: String,
    _registry: Registry,
}

fn setup(fault: Fault) -> Setup {
    let registry = Registry::start_plain();
    let digest = registry.push_image("team/app", "1.0", LINUX_AMD64);
    let proxy = FaultProxy::start(&registry.host(), fault);
    Setup {
        proxy,
        digest,
        _registry: registry,
    }
}

/// What one run did: its output, the file before and after, and how long it took.
struct Run {
    out: Output,
    before: String,
    after: String,
    took: Duration,
}

impl Run {
    fn err(&self) -> String {
        text(&self.out.stderr)
    }

    /// Exit 2, the file untouched, and stderr containing each of `needles`.
    fn assert_failed_with(&self, needles: &[&str]) {
        let err = self.err();
        assert_eq!(self.out.status.code(), Some(2), "{err}");
        assert_eq!(self.before, self.after, "the file must not change");
        for needle in needles {
            assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }

    /// Exit 0 and the file pinned to `digest`.
    fn assert_pinned(&self, host: &str, digest: &str) {
        assert_eq!(self.out.status.code(), Some(0), "{}", self.err());
        assert!(
            self.after
                .contains(&format!("image: {host}/team/app:1.0@{digest}\n")),
            "{}\n{}",
            self.after,
            self.err()
        );
    }
}

/// `imgpin <command> --write`-style run over one compose file naming `images`.
fn run_on(command: &str, images: &[String], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("services:\n");
    for (i, image) in images.iter().enumerate() {
        body.push_str(&format!("  app{i}:\n    image: {image}\n"));
    }
    let file: PathBuf = dir.path().join("compose.yaml");
    std::fs::write(&file, &body).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .arg(command)
        .args(extra)
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", empty.path())
        .env("NO_COLOR", "1")
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    let took = started.elapsed();
    Run {
        out,
        before: body,
        after: std::fs::read_to_string(&file).unwrap(),
        took,
    }
}

fn pin(setup: &Setup, extra: &[&str]) -> Run {
    let mut args = vec!["--write"];
    args.extend_from_slice(extra);
    run_on(
        "pin",
        &[format!("{}/team/app:1.0", setup.proxy.host())],
        &args,
    )
}

fn manifest_methods(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .manifest_requests()
        .into_iter()
        .map(|s| s.method)
        .collect()
}

#[test]
fn an_honest_registry_behind_the_proxy_is_pinned_with_one_head() {
    let s = setup(Fault::Pass);
    let run = pin(&s, &[]);
    run.assert_pinned(s.proxy.host(), &s.digest);
    assert_eq!(manifest_methods(&s.proxy), ["HEAD"]);
}

/// The proxy closes each connection after one answer, so every request
/// needs a connection of its own: the count `-v` gives must be the proxy's.
#[test]
fn verbose_counts_the_connections_the_run_opened() {
    let s = setup(Fault::Pass);
    let run = pin(&s, &["-v"]);
    run.assert_pinned(s.proxy.host(), &s.digest);
    // Requests, plus the TLS attempt of the scheme probe (not HTTP).
    let requests = s.proxy.log().len();
    assert!(requests >= 2, "a challenge and a HEAD at least: {requests}");
    let opened = requests + s.proxy.not_http_connections();
    let line = format!("imgpin: {opened} connections opened to registries and token servers");
    assert!(
        run.err().contains(&line),
        "missing {line:?} in:\n{}",
        run.err()
    );
}

#[test]
fn head_without_digest_then_an_html_page_is_never_pinned() {
    let s = setup(Fault::HeadNoDigestGetHtml);
    let run = pin(&s, &[]);
    run.assert_failed_with(&[
        &format!(
            "{}/team/app:1.0: registry {}",
            s.proxy.host(),
            s.proxy.host()
        ),
        "not a manifest",
        "nothing pinned",
    ]);
    // The GET came after the HEAD: a missing header falls back to a checked GET.
    let methods = manifest_methods(&s.proxy);
    assert_eq!(methods[..2], ["HEAD", "GET"], "{methods:?}");
}

#[test]
fn an_html_portal_answering_everything_is_never_pinned() {
    let s = setup(Fault::HtmlEverything);
    let run = pin(&s, &[]);
    run.assert_failed_with(&["Content-Type text/html", "which is not a manifest"]);
}

#[test]
fn json_that_is_not_a_manifest_is_never_pinned() {
    let s = setup(Fault::NotAManifest);
    let run = pin(&s, &[]);
    run.assert_failed_with(&[
        "HTTP 200 (Content-Type application/json, 15 bytes)",
        "not a manifest",
        "team/app:1.0",
    ]);
}

#[test]
fn a_truncated_manifest_is_never_pinned() {
    let s = setup(Fault::Truncated);
    let run = pin(&s, &[]);
    run.assert_failed_with(&["not a manifest", "nothing pinned"]);
}

#[test]
fn a_body_cut_off_before_its_length_is_never_pinned() {
    let s = setup(Fault::CutOff);
    let run = pin(&s, &["--paranoid"]);
    run.assert_failed_with(&[&format!("registry {}", s.proxy.host())]);
}

#[test]
fn a_wrong_digest_header_on_get_is_an_error() {
    let s = setup(Fault::WrongDigest);
    let run = pin(&s, &["--paranoid"]);
    run.assert_failed_with(&["does not match its Docker-Content-Digest"]);
    assert!(!run.after.contains("eeeeeeee"));
}

#[test]
fn paranoid_pins_from_the_hashed_body_and_never_trusts_head() {
    let s = setup(Fault::HeadWrongDigest);
    let run = pin(&s, &["--paranoid"]);
    run.assert_pinned(s.proxy.host(), &s.digest);
    let methods = manifest_methods(&s.proxy);
    assert!(!methods.contains(&"HEAD".to_string()), "{methods:?}");
}

/// `verify` asks for a digest: a `HEAD` naming another digest is an error
/// (exit 2) that says so, not "present" and not "missing".
#[test]
fn verify_refuses_a_head_naming_another_digest() {
    let s = setup(Fault::HeadWrongDigest);
    let pinned = format!("{}/team/app:1.0@{}", s.proxy.host(), s.digest);
    let run = run_on("verify", std::slice::from_ref(&pinned), &[]);
    run.assert_failed_with(&[&format!(
        "compose.yaml:3:12: error: {pinned}: registry {} sent a manifest that does not match its digest (expected {}, got sha256:{}",
        s.proxy.host(),
        s.digest,
        "e".repeat(64)
    )]);
}

#[test]
fn retry_after_is_honoured_with_one_request_per_attempt() {
    let s = setup(Fault::RetryAfter {
        times: 1,
        seconds: 2,
    });
    let run = pin(&s, &[]);
    run.assert_pinned(s.proxy.host(), &s.digest);
    let seen = s.proxy.manifest_requests();
    let methods: Vec<_> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["HEAD", "HEAD"], "one request per attempt");
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(2), "waited only {gap:?}");
}

#[test]
fn a_retry_after_longer_than_the_cap_fails_saying_so() {
    let s = setup(Fault::RetryAfter {
        times: 10,
        seconds: 3600,
    });
    let run = pin(&s, &[]);
    run.assert_failed_with(&["429", "asked to retry after 3600 s"]);
    assert_eq!(manifest_methods(&s.proxy), ["HEAD"]);
}

#[test]
fn a_rate_limit_that_never_lifts_is_tried_three_times_then_reported() {
    let s = setup(Fault::RateLimited);
    let run = pin(&s, &[]);
    let host = s.proxy.host();
    run.assert_failed_with(&[
        &format!("{host}/team/app:1.0: registry {host} answered"),
        "HTTP 429 Too Many Requests (after 3 attempts)",
    ]);
    assert_eq!(manifest_methods(&s.proxy), ["HEAD", "HEAD", "HEAD"]);
}

#[test]
fn an_unavailable_registry_is_reported_with_its_answer() {
    let s = setup(Fault::Unavailable);
    let run = pin(&s, &[]);
    run.assert_failed_with(&["503", "(after 3 attempts)"]);
    assert_eq!(s.proxy.manifest_requests().len(), 3);
}

#[test]
fn reset_connections_are_retried_then_reported() {
    let s = setup(Fault::Reset);
    let run = pin(&s, &[]);
    run.assert_failed_with(&[&format!("cannot reach registry {}", s.proxy.host())]);
    assert!(s.proxy.manifest_requests().len() <= 3);
}

#[test]
fn a_hung_registry_is_bounded_by_timeout_for_the_whole_reference() {
    let s = setup(Fault::Hang);
    let run = pin(&s, &["--timeout", "2"]);
    run.assert_failed_with(&["timed out", "--timeout 2 s for the reference"]);
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
}

#[test]
fn a_hung_host_trips_its_breaker_instead_of_timing_out_every_reference() {
    let s = setup(Fault::Hang);
    let images: Vec<String> = (0..40)
        .map(|i| format!("{}/team/app{i}:1.0", s.proxy.host()))
        .collect();
    let run = run_on("pin", &images, &["--write", "--timeout", "2"]);
    run.assert_failed_with(&["not tried", "timed out"]);
    let manifests = s.proxy.manifest_requests().len();
    // At most the first wave of --jobs (32 by default) reached the registry.
    assert!(manifests <= 36, "{manifests} manifest requests");
    assert!(run.took < Duration::from_secs(30), "took {:?}", run.took);
    // Every reference is counted as failed.
    let err = run.err();
    assert_eq!(err.matches(": error: ").count(), 40, "{err}");
}

#[test]
fn redirects_to_blob_storage_are_followed() {
    let s = setup(Fault::Redirect);
    // --platform reads the config blob: it comes through a redirect too.
    let run = pin(&s, &["--paranoid", "--platform", "linux/amd64"]);
    run.assert_pinned(s.proxy.host(), &s.digest);
    let log = s.proxy.log();
    assert!(log
        .iter()
        .any(|r| r.path.starts_with("/_moved/v2/team/app/blobs/")));
}

#[test]
fn a_slow_body_within_the_timeout_is_pinned_and_beyond_it_fails() {
    let s = setup(Fault::SlowBody { pause_ms: 100 });
    let run = pin(&s, &["--paranoid"]);
    run.assert_pinned(s.proxy.host(), &s.digest);

    let s = setup(Fault::SlowBody { pause_ms: 600 });
    let run = pin(&s, &["--paranoid", "--timeout", "2"]);
    run.assert_failed_with(&["timed out"]);
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
}

/// One failed reference leaves its whole file alone; the reference that
/// resolved is counted unpinned (still a tag), so the counts add up.
#[test]
fn a_file_with_a_failed_reference_is_left_whole_and_counted() {
    let s = setup(Fault::Pass);
    let host = s.proxy.host().to_string();
    let run = run_on(
        "pin",
        &[
            format!("{host}/team/app:1.0"),
            format!("{host}/team/app:no-such-tag"),
        ],
        &["--write"],
    );
    run.assert_failed_with(&[
        "left unchanged: 1 reference(s) in this file failed",
        "2 references, 0 pinned, 0 already pinned, 1 unpinned, 0 skipped, 1 failed; 0 files written",
        "MANIFEST_UNKNOWN",
    ]);
}

#[test]
fn an_endless_body_is_cut_off_at_the_manifest_limit() {
    let s = setup(Fault::EndlessBody);
    let run = pin(&s, &["--paranoid"]);
    run.assert_failed_with(&[
        "sent a body over 8 MiB to a manifest request",
        "nothing pinned",
    ]);
    assert!(run.took < Duration::from_secs(30), "took {:?}", run.took);
}

/// The request plan behind a token-auth registry (the distribution token
/// flow, as Docker Hub runs it): one challenge for the registry, one token
/// for all its repositories, one `HEAD` per unique reference, however many
/// references and files name them. A wrong password fails every reference
/// with the token server's answer and writes nothing.
#[test]
fn token_auth_costs_one_ping_and_one_token_per_registry() {
    use crate::support::fault_proxy::{TOKEN_PASSWORD, TOKEN_USER};
    use base64::Engine;
    let registry = Registry::start_plain();
    let mut digests = Vec::new();
    for repo in ["shop/api", "shop/web", "tools/ci"] {
        for tag in ["1", "2"] {
            digests.push((repo, tag, registry.push_image(repo, tag, LINUX_AMD64)));
        }
    }
    let proxy = FaultProxy::start(&registry.host(), Fault::TokenAuth);
    let host = proxy.host().to_string();
    let dir = tempfile::tempdir().unwrap();
    // Every reference twice, over three files.
    for f in 0..3 {
        let mut body = String::from("services:\n");
        for (i, (repo, tag, _)) in digests.iter().enumerate() {
            if i % 3 == f || (i + 1) % 3 == f {
                body.push_str(&format!("  s{i}:\n    image: {host}/{repo}:{tag}\n"));
            }
        }
        std::fs::write(dir.path().join(format!("compose{f}.yaml")), body).unwrap();
    }
    let config = tempfile::tempdir().unwrap();
    let login = |password: &str| {
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_USER}:{password}"));
        std::fs::write(
            config.path().join("config.json"),
            format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
        )
        .unwrap();
    };
    let imgpin = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
            .args(args)
            .current_dir(dir.path())
            .env("DOCKER_CONFIG", config.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    login("wrong");
    let out = imgpin(&["pin", "--write", "."]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("401") && err.contains("token server refused"),
        "{err}"
    );
    assert!(
        !err.contains("wrong") && !err.contains(TOKEN_PASSWORD),
        "{err}"
    );
    assert!(!std::fs::read_to_string(dir.path().join("compose0.yaml"))
        .unwrap()
        .contains("@sha256"));

    login(TOKEN_PASSWORD);
    let before = proxy.log().len();
    let out = imgpin(&["pin", "--write", "-v", "."]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // `-v` tells the same count.
    assert!(
        err.contains(&format!(
            "registry {host}: 8 requests (1 challenge, 1 token, 6 manifests) over HTTP/1.1"
        )),
        "{err}"
    );
    assert!(
        !err.contains(TOKEN_PASSWORD) && !err.contains("tok-"),
        "{err}"
    );
    // Each request, with its answer and time.
    assert!(
        err.contains(&format!("imgpin: {host} GET /v2/ -> 401 in ")),
        "{err}"
    );
    assert!(
        err.contains("GET 127.0.0.1/token (3 scopes) -> 200 in "),
        "{err}"
    );
    assert_eq!(err.matches(" HEAD /v2/").count(), 6, "{err}");
    let log: Vec<_> = proxy.log().into_iter().skip(before).collect();
    let count = |f: &dyn Fn(&crate::support::fault_proxy::Seen) -> bool| {
        log.iter().filter(|s| f(s)).count()
    };
    assert_eq!(count(&|s| s.path == "/v2/"), 1, "{log:#?}");
    // One token for the three repositories: the token server takes
    // several scopes in one request.
    assert_eq!(count(&|s| s.path.starts_with("/token?")), 1, "{log:#?}");
    assert_eq!(
        count(&|s| s.method == "HEAD" && s.is_manifest()),
        6,
        "{log:#?}"
    );
    assert_eq!(log.len(), 8, "{log:#?}");
    // The loopback host was probed over TLS once, not once per reference.
    assert_eq!(
        proxy.not_http_connections(),
        2,
        "one probe per run, two runs"
    );
    let mut all = String::new();
    for f in 0..3 {
        all.push_str(
            &std::fs::read_to_string(dir.path().join(format!("compose{f}.yaml"))).unwrap(),
        );
    }
    for (repo, tag, digest) in &digests {
        assert_eq!(
            all.matches(&format!("{host}/{repo}:{tag}@{digest}\n"))
                .count(),
            2,
            "{all}"
        );
    }
}

/// A token server that honours only the first scope of a request: the
/// shared token is refused for the other repositories, and each of them
/// asks its own token once; every reference is still pinned right.
#[test]
fn a_token_server_taking_one_scope_falls_back_to_a_token_per_repository() {
    use crate::support::fault_proxy::{TOKEN_PASSWORD, TOKEN_USER};
    use base64::Engine;
    let registry = Registry::start_plain();
    let repos = ["a/one", "a/two", "a/three"];
    let digests: Vec<String> = repos
        .iter()
        .map(|r| registry.push_image(r, "1", LINUX_AMD64))
        .collect();
    let proxy = FaultProxy::start(&registry.host(), Fault::TokenAuthFirstScope);
    let host = proxy.host().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("services:\n");
    for (i, r) in repos.iter().enumerate() {
        body.push_str(&format!("  s{i}:\n    image: {host}/{r}:1\n"));
    }
    std::fs::write(dir.path().join("compose.yaml"), &body).unwrap();
    let config = tempfile::tempdir().unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_USER}:{TOKEN_PASSWORD}"));
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(["pin", "--write", "."])
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", config.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    for (r, d) in repos.iter().zip(&digests) {
        assert!(after.contains(&format!("{host}/{r}:1@{d}\n")), "{after}");
    }
    let log = proxy.log();
    let tokens = log.iter().filter(|s| s.path.starts_with("/token?")).count();
    // One shared request, then one each for the two repositories it left out.
    assert_eq!(tokens, 3, "{log:#?}");
}
