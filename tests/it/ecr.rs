//! The ECR resolver against moto: batching, regions, accounts, indexes,
//! `--platform`, and per-tag failures.
//!
//! Setup goes through the blocking moto helper first; the resolver then runs
//! in its own tokio runtime with an explicit SDK configuration (endpoint,
//! region, static test credentials), so no test touches the process
//! environment. Expected digests are read back from moto, never computed here.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::{Credentials, SharedCredentialsProvider};
use imgpin::reference::ImageRef;
use imgpin::resolve::ecr::EcrResolver;
use imgpin::resolve::{ErrorKind, Platform, RegistryOptions, Resolutions};
use serde_json::{json, Value};

use crate::support::images::{oci_image, oci_index};
use crate::support::{moto, Moto, LINUX_AMD64, LINUX_ARM64};

const ACCOUNT: &str = moto::ACCOUNT_ID;

fn options(platform: Option<&str>) -> RegistryOptions {
    RegistryOptions {
        platform: platform.map(|p| p.parse::<Platform>().expect("platform")),
        jobs: 4,
        insecure_registries: Vec::new(),
        ca_files: Vec::new(),
        timeout: Duration::from_secs(30),
        ..RegistryOptions::default()
    }
}

fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .build()
}

fn host(account: &str, region: &str) -> String {
    format!("{account}.dkr.ecr.{region}.amazonaws.com")
}

fn refs(texts: &[String]) -> Vec<ImageRef> {
    texts
        .iter()
        .map(|t| ImageRef::parse(t).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect()
}

/// Runs `resolve_many` in a fresh runtime; returns the answers and the call count.
fn resolve(resolver: &EcrResolver, texts: &[String]) -> Resolutions {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(resolver.resolve_many(refs(texts)))
}

fn digest_of(out: &Resolutions, key: &str) -> String {
    match out.get(key) {
        Some(Ok(r)) => r.digest.to_string(),
        Some(Err(e)) => panic!("{key}: {:?} {}", e.kind, e.message),
        None => panic!("{key}: no answer in {:?}", out.keys().collect::<Vec<_>>()),
    }
}

/// moto's own answer for `repo:tag`: (digest, manifest text).
fn moto_image(moto: &Moto, region: &str, repo: &str, tag: &str) -> (String, String) {
    let got = moto.ecr(
        region,
        "BatchGetImage",
        json!({ "repositoryName": repo, "imageIds": [{ "imageTag": tag }] }),
    );
    let image = &got["images"][0];
    (
        image["imageId"]["imageDigest"]
            .as_str()
            .unwrap_or_else(|| panic!("{repo}:{tag} in moto: {got}"))
            .to_owned(),
        image["imageManifest"].as_str().unwrap_or("").to_owned(),
    )
}

fn create_repo(moto: &Moto, region: &str, repo: &str) {
    moto.ecr(
        region,
        "CreateRepository",
        json!({ "repositoryName": repo }),
    );
}

#[test]
fn ecr_resolves_regions_tags_indexes_and_failures() {
    let moto = Moto::start();
    let us = "us-east-1";
    let eu = "eu-west-1";
    create_repo(&moto, us, "api");
    create_repo(&moto, eu, "team/web");

    // One digest under several tags.
    let image = oci_image(LINUX_AMD64);
    for tag in ["1.4", "1.4.2", "latest"] {
        moto.put_image(us, "api", tag, &image);
    }
    // A multi-arch image in the other region.
    let index = oci_index(&[LINUX_AMD64, LINUX_ARM64]);
    moto.put_image(eu, "team/web", "multi", &index);
    let web_single = oci_image(LINUX_ARM64);
    moto.put_image(eu, "team/web", "arm", &web_single);

    let (api_digest, _) = moto_image(&moto, us, "api", "1.4");
    let (web_digest, index_text) = moto_image(&moto, eu, "team/web", "multi");
    let (arm_digest, _) = moto_image(&moto, eu, "team/web", "arm");
    for tag in ["1.4.2", "latest"] {
        assert_eq!(moto_image(&moto, us, "api", tag).0, api_digest, "{tag}");
    }

    let us_host = host(ACCOUNT, us);
    let eu_host = host(ACCOUNT, eu);
    let texts: Vec<String> = vec![
        format!("{us_host}/api:1.4"),
        format!("{us_host}/api:1.4.2"),
        format!("{us_host}/api"),
        format!("{us_host}/api:1.4"), // a duplicate resolves once
        format!("{us_host}/api:nope"),
        format!("{us_host}/ghost:1"),
        format!("{eu_host}/team/web:multi"),
        format!("{eu_host}/team/web:arm"),
        "nginx:1.27".to_owned(),
    ];

    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let out = resolve(&resolver, &texts);
    assert_eq!(out.len(), 8, "{:?}", out.keys().collect::<Vec<_>>());
    // api (us), ghost (us), team/web (eu): one call each.
    assert_eq!(resolver.batch_calls(), 3);

    for tag in ["1.4", "1.4.2", "latest"] {
        assert_eq!(digest_of(&out, &format!("{us_host}/api:{tag}")), api_digest);
    }
    assert_eq!(
        digest_of(&out, &format!("{eu_host}/team/web:multi")),
        web_digest,
        "the index digest is pinned without --platform"
    );
    assert_eq!(
        digest_of(&out, &format!("{eu_host}/team/web:arm")),
        arm_digest
    );

    let missing = out[&format!("{us_host}/api:nope")].as_ref().unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    assert_eq!(
        missing.message,
        format!("tag nope not found in repository api (account {ACCOUNT}, us-east-1)")
    );
    let ghost = out[&format!("{us_host}/ghost:1")].as_ref().unwrap_err();
    assert_eq!(ghost.kind, ErrorKind::NotFound);
    assert_eq!(
        ghost.message,
        format!("repository ghost not found in account {ACCOUNT} region us-east-1")
    );
    let foreign = out["docker.io/library/nginx:1.27"].as_ref().unwrap_err();
    assert_eq!(foreign.kind, ErrorKind::Other);

    // --platform picks the child from the index moto returns; a single
    // manifest keeps its own digest.
    let doc: Value = serde_json::from_str(&index_text).expect("index JSON from moto");
    let arm_child = doc["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .and_then(|m| m["digest"].as_str())
        .expect("arm64 child")
        .to_owned();
    let arm = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(Some("linux/arm64")));
    let out = resolve(
        &arm,
        &[
            format!("{eu_host}/team/web:multi"),
            format!("{us_host}/api:1.4"),
        ],
    );
    assert_eq!(
        digest_of(&out, &format!("{eu_host}/team/web:multi")),
        arm_child
    );
    assert_eq!(digest_of(&out, &format!("{us_host}/api:1.4")), api_digest);
    let s390 =
        EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(Some("linux/s390x")));
    let out = resolve(&s390, &[format!("{eu_host}/team/web:multi")]);
    let err = out[&format!("{eu_host}/team/web:multi")]
        .as_ref()
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("linux/s390x"), "{}", err.message);
}

#[test]
fn ecr_resolves_250_tags_in_three_calls() {
    let moto = Moto::start();
    let region = "us-east-1";
    create_repo(&moto, region, "bulk");
    let image = oci_image(LINUX_AMD64);
    for i in 0..250 {
        moto.put_image(region, "bulk", &format!("t{i:03}"), &image);
    }
    let (digest, _) = moto_image(&moto, region, "bulk", "t000");
    let bulk_host = host(ACCOUNT, region);
    let texts: Vec<String> = (0..250)
        .map(|i| format!("{bulk_host}/bulk:t{i:03}"))
        .collect();

    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let out = resolve(&resolver, &texts);
    assert_eq!(resolver.batch_calls(), 3);
    assert_eq!(out.len(), 250);
    for text in &texts {
        assert_eq!(digest_of(&out, text), digest, "{text}");
    }
}

/// Two account ids in one region: one `BatchGetImage` per account, each
/// with that account as `registryId`.
///
/// moto 5.2 records `registryId` on `CreateRepository` but ignores it in
/// `BatchGetImage` (repositories are looked up by name in one store per
/// region), so this cannot show that one account's repositories are hidden
/// from another; it shows the grouping and that both answers come back.
#[test]
fn ecr_groups_by_account() {
    let moto = Moto::start();
    let region = "us-east-1";
    let other = "210987654321";
    create_repo(&moto, region, "mine");
    moto.put_image(region, "mine", "v1", &oci_image(LINUX_AMD64));
    let created = moto.ecr(
        region,
        "CreateRepository",
        json!({ "repositoryName": "theirs", "registryId": other }),
    );
    assert_eq!(created["repository"]["registryId"], other, "{created}");
    moto.put_image(region, "theirs", "v1", &oci_image(LINUX_ARM64));
    let (mine, _) = moto_image(&moto, region, "mine", "v1");
    let (theirs, _) = moto_image(&moto, region, "theirs", "v1");
    assert_ne!(mine, theirs);

    let texts = vec![
        format!("{}/mine:v1", host(ACCOUNT, region)),
        format!("{}/theirs:v1", host(other, region)),
    ];
    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let out = resolve(&resolver, &texts);
    assert_eq!(resolver.batch_calls(), 2, "one call per account");
    assert_eq!(digest_of(&out, &texts[0]), mine);
    assert_eq!(digest_of(&out, &texts[1]), theirs);
}

#[test]
fn ecr_unreachable_endpoint_fails_every_tag_with_a_network_error() {
    // Port 9 on loopback: connection refused, no moto needed.
    let mut opts = options(None);
    opts.timeout = Duration::from_secs(5);
    let resolver = EcrResolver::with_config(sdk_config("http://127.0.0.1:9"), &opts);
    let h = host(ACCOUNT, "us-east-1");
    let texts = vec![format!("{h}/a:1"), format!("{h}/b:1")];
    let out = resolve(&resolver, &texts);
    assert_eq!(out.len(), 2);
    for text in &texts {
        let err = out[text].as_ref().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Network, "{}", err.message);
        assert!(err.message.contains("us-east-1"), "{}", err.message);
        assert!(
            !err.message.contains("testing"),
            "no credential in {}",
            err.message
        );
    }
}

#[test]
// ProfileFiles' new names live in aws-runtime, which is not a direct dependency.
#[allow(deprecated)]
fn ecr_without_credentials_is_unauthorized() {
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    use aws_config::profile::ProfileFileCredentialsProvider;

    // A profile that does not exist, in empty files: what a developer with a
    // stale AWS_PROFILE or no credentials at all meets.
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("write empty file");
    let files = ProfileFiles::builder()
        .with_file(ProfileFileKind::Config, &empty)
        .with_file(ProfileFileKind::Credentials, &empty)
        .build();
    let provider = ProfileFileCredentialsProvider::builder()
        .profile_files(files)
        .profile_name("nobody")
        .build();
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    let resolver = EcrResolver::with_config(config, &options(None));
    let text = format!("{}/api:1", host(ACCOUNT, "us-east-1"));
    let out = resolve(&resolver, std::slice::from_ref(&text));
    let err = out[&text].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized, "{}", err.message);
    assert!(
        err.message.starts_with("no AWS credentials found ("),
        "{}",
        err.message
    );
}

/// A fake ECR endpoint that answers every request `400 ThrottlingException`
/// and counts the requests; the SDK retries (standard mode, 5 attempts) and
/// the tags then fail as rate limited.
#[test]
fn ecr_throttling_is_retried_then_rate_limited() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = reader.get_mut().write_all(response.as_bytes());
        }
    });

    let resolver = EcrResolver::with_config(
        sdk_config(&format!("http://127.0.0.1:{port}")),
        &options(None),
    );
    let h = host(ACCOUNT, "us-east-1");
    let texts = vec![format!("{h}/api:1"), format!("{h}/api:2")];
    let out = resolve(&resolver, &texts);
    assert_eq!(resolver.batch_calls(), 1, "one batch for one repository");
    assert_eq!(requests.load(Ordering::SeqCst), 5, "five attempts");
    for text in &texts {
        let err = out[text].as_ref().unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimited, "{}", err.message);
        assert!(err.message.contains("throttled"), "{}", err.message);
    }
}

/// The CLI end to end: the AWS default chain reaches moto through
/// `AWS_ENDPOINT_URL`; a missing tag fails its own file only.
#[test]
fn cli_pins_ecr_task_definitions_through_the_default_chain() {
    let moto = Moto::start();
    let us = "us-east-1";
    create_repo(&moto, us, "api");
    moto.put_image(us, "api", "1.4", &oci_image(LINUX_AMD64));
    let (digest, _) = moto_image(&moto, us, "api", "1.4");
    let account = moto::ACCOUNT_ID;
    let image = format!("{}/api", host(account, us));

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good/task-definition.json");
    let bad = dir.path().join("bad/task-definition.json");
    for (path, tag) in [(&good, "1.4"), (&bad, "9.9")] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!("{{\n  \"family\": \"api\",\n  \"containerDefinitions\": [\n    {{ \"name\": \"api\", \"image\": \"{image}:{tag}\" }}\n  ]\n}}\n"),
        )
        .unwrap();
    }
    let bad_before = std::fs::read(&bad).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"));
    moto.configure(&mut cmd);
    let out = cmd
        .args(["pin", "--write"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("DOCKER_CONFIG", dir.path().join("no-docker-config"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        std::fs::read_to_string(&good)
            .unwrap()
            .contains(&format!("\"{image}:1.4@{digest}\"")),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        bad_before,
        "the failed file is untouched"
    );
    assert!(
        err.contains(&format!(
            "bad/task-definition.json:4:32: error: {image}:9.9: tag 9.9 not found in repository api (account {account}, us-east-1)"
        )),
        "{err}"
    );
    assert!(!err.contains("testing"), "no credential in output: {err}");
}

/// `digests_exist`: a kept digest is there, a deleted one is not, a digest
/// in a repository that does not exist is an error, not a missing digest.
#[test]
fn ecr_digests_exist_tells_kept_deleted_and_missing_repository() {
    let moto = Moto::start();
    let region = "us-east-1";
    create_repo(&moto, region, "api");
    moto.put_image(region, "api", "kept", &oci_image(LINUX_AMD64));
    moto.put_image(region, "api", "gone", &oci_image(LINUX_ARM64));
    let (kept, _) = moto_image(&moto, region, "api", "kept");
    let (gone, _) = moto_image(&moto, region, "api", "gone");
    assert_ne!(kept, gone);
    let deleted = moto.ecr(
        region,
        "BatchDeleteImage",
        json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": gone }] }),
    );
    assert_eq!(
        deleted["imageIds"].as_array().map(Vec::len),
        Some(1),
        "{deleted}"
    );

    let h = host(ACCOUNT, region);
    let texts = vec![
        format!("{h}/api:kept@{kept}"),
        format!("{h}/api@{gone}"),
        format!("{h}/api@{kept}"), // the same digest again: asked once
        format!("{h}/api:kept"),   // no digest: ignored
    ];
    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let out = exist(&resolver, &texts);
    assert_eq!(resolver.batch_calls(), 1, "two digests of one repository");
    assert_eq!(
        resolver.describe_calls(),
        2,
        "storage class: one call for the present digest, one for the missing one"
    );
    assert_eq!(out.len(), 2, "{:?}", out.keys().collect::<Vec<_>>());
    assert_eq!(out[&format!("{h}/api@{kept}")], Ok(true));
    assert_eq!(out[&format!("{h}/api@{gone}")], Ok(false));

    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let ghost = format!("{h}/ghost@{kept}");
    let out = exist(&resolver, std::slice::from_ref(&ghost));
    assert_eq!(resolver.batch_calls(), 1);
    assert_eq!(
        resolver.describe_calls(),
        0,
        "no repository: nothing to describe"
    );
    let err = out[&ghost].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{}", err.message);
    assert_eq!(
        err.message,
        format!("repository ghost not found in account {ACCOUNT} region us-east-1")
    );
}

/// Runs `digests_exist` in a fresh runtime.
fn exist(
    resolver: &EcrResolver,
    texts: &[String],
) -> std::collections::HashMap<String, Result<bool, imgpin::resolve::ResolveError>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(resolver.digests_exist(refs(texts)))
}

/// `imgpin verify` end to end through moto: a digest deleted with
/// BatchDeleteImage is flagged (exit 1), the kept one is not.
#[test]
fn cli_verify_flags_an_ecr_digest_deleted_with_batch_delete_image() {
    let moto = Moto::start();
    let us = "us-east-1";
    create_repo(&moto, us, "api");
    moto.put_image(us, "api", "1.4", &oci_image(LINUX_AMD64));
    moto.put_image(us, "api", "1.3", &oci_image(LINUX_ARM64));
    let (kept, _) = moto_image(&moto, us, "api", "1.4");
    let (gone, _) = moto_image(&moto, us, "api", "1.3");
    let image = format!("{}/api", host(moto::ACCOUNT_ID, us));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("task-definition.json"),
        format!("{{\"containerDefinitions\": [\n  {{\"name\": \"a\", \"image\": \"{image}:1.4@{kept}\"}},\n  {{\"name\": \"b\", \"image\": \"{image}:1.3@{gone}\"}}\n]}}\n"),
    )
    .unwrap();
    let verify = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"));
        moto.configure(&mut cmd);
        cmd.args(["verify", "--pinned-only"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("DOCKER_CONFIG", dir.path().join("none"))
            .output()
            .unwrap()
    };
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    moto.ecr(
        us,
        "BatchDeleteImage",
        json!({"repositoryName": "api", "imageIds": [{"imageDigest": gone}]}),
    );
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("task-definition.json:3:27: problem: {image}:1.3@{gone} — digest not found in registry (deleted?)\n")
    );
}

/// `verify`'s platform checks through ECR: the index a tag points at and
/// the pinned child are read with BatchGetImage by digest; the child's
/// platform comes from the index (ECR serves configs only through S3).
#[test]
fn cli_verify_reads_ecr_manifests_for_platform_checks() {
    let moto = Moto::start();
    let us = "us-east-1";
    create_repo(&moto, us, "web");
    let index = oci_index(&[LINUX_AMD64, LINUX_ARM64]);
    for (child, tag) in index.children.iter().zip(["amd64", "arm64"]) {
        moto.put_image(us, "web", tag, child);
    }
    moto.put_image(us, "web", "2.0", &index);
    let (index_digest, _) = moto_image(&moto, us, "web", "2.0");
    let amd64 = &index.children[0].digest;
    let image = format!("{}/web:2.0@{amd64}", host(moto::ACCOUNT_ID, us));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("task-definition.json"),
        format!("{{\"runtimePlatform\": {{\"cpuArchitecture\": \"ARM64\"}},\n\"containerDefinitions\": [\n  {{\"name\": \"a\", \"image\": \"{image}\"}}\n]}}\n"),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"));
    moto.configure(&mut cmd);
    let out = cmd
        .args(["verify"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("DOCKER_CONFIG", dir.path().join("none"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!("task-definition.json:3:27: problem: {image}: runtimePlatform.cpuArchitecture ARM64 needs arm64, but the pinned manifest serves only linux/amd64 (containers would fail with `exec format error`; pin a multi-arch index or a build for that platform)\n")
    );
    assert!(
        stderr.contains(&format!("warning: {image} is pinned to the linux/amd64 manifest of the multi-arch index tag 2.0 points at ({index_digest})")),
        "{stderr}"
    );
}

/// `verify`'s existence check for more than 100 pinned digests of one
/// repository: two `BatchGetImage` calls (100 + 20), every kept digest
/// found and exactly the deleted ones missing, in both batches.
#[test]
fn ecr_digests_exist_batches_120_digests_in_two_calls() {
    let moto = Moto::start();
    let region = "us-east-1";
    create_repo(&moto, region, "bulk");
    let digests: Vec<String> = (0..120)
        .map(|i| moto.put_image(region, "bulk", &format!("t{i:03}"), &oci_image(LINUX_AMD64)))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = digests.iter().collect();
    assert_eq!(distinct.len(), 120);
    // Deleted: the first, one in the middle and the last, in sorted order
    // (batches are cut from the sorted digests).
    let sorted: Vec<&String> = distinct.into_iter().collect();
    let gone = [sorted[0], sorted[60], sorted[119]];
    let ids: Vec<Value> = gone.iter().map(|d| json!({ "imageDigest": d })).collect();
    moto.ecr(
        region,
        "BatchDeleteImage",
        json!({ "repositoryName": "bulk", "imageIds": ids }),
    );
    let h = host(ACCOUNT, region);
    let texts: Vec<String> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{h}/bulk:t{i:03}@{d}"))
        .collect();
    let resolver = EcrResolver::with_config(sdk_config(&moto.endpoint()), &options(None));
    let out = exist(&resolver, &texts);
    assert_eq!(resolver.batch_calls(), 2);
    assert_eq!(
        resolver.describe_calls(),
        5,
        "117 present digests in two calls (100 + 17), each of the 3 missing on its own"
    );
    assert_eq!(out.len(), 120);
    for d in &digests {
        let want = !gone.contains(&d);
        assert_eq!(out[&format!("{h}/bulk@{d}")], Ok(want), "{d}");
    }
}
