//! Tests of the test support itself: the real registry, moto and skopeo
//! start, the push helpers produce what they claim, and the guards stop
//! what they started.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::images::{
    self, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::support::proc::{self, ChildGuard};
use crate::support::registry::http_client;
use crate::support::skopeo::skopeo_inspect;
use crate::support::{moto, skopeo_digest, Moto, Registry, LINUX_AMD64, LINUX_ARM64, LINUX_ARM_V7};

/// The registry's HEAD digest, skopeo's digest and the helper's digest agree.
fn assert_digest_agrees(registry: &Registry, repo: &str, tag: &str, digest: &str) {
    assert_eq!(
        registry.head_digest(repo, tag).as_deref(),
        Some(digest),
        "HEAD {repo}:{tag}"
    );
    assert_eq!(
        registry.skopeo_digest(&format!("{repo}:{tag}")),
        digest,
        "skopeo {repo}:{tag}"
    );
}

#[test]
fn plain_registry_serves_every_image_kind() {
    let registry = Registry::start_plain();
    assert!(!registry.is_tls());
    assert!(registry.url().starts_with("http://127.0.0.1:"));
    assert!(proc::port_open(registry.port()));

    let oci = registry.push_image("app/oci", "1.0", LINUX_AMD64);
    let oci_again = registry.push_image("app/oci", "1.1", LINUX_AMD64);
    assert_ne!(oci, oci_again, "each push has a fresh random layer");
    let docker = registry.push_docker_v2("app/docker", "1.0", LINUX_ARM64);
    let (index, index_children) =
        registry.push_oci_index("app/index", "multi", &[LINUX_AMD64, LINUX_ARM64]);
    let (list, list_children) = registry.push_docker_manifest_list(
        "app/list",
        "multi",
        &[LINUX_AMD64, LINUX_ARM64, LINUX_ARM_V7],
    );
    assert_eq!(index_children.len(), 2);
    assert_eq!(list_children.len(), 3);

    for (repo, tag, digest, media_type) in [
        ("app/oci", "1.0", &oci, OCI_MANIFEST),
        ("app/oci", "1.1", &oci_again, OCI_MANIFEST),
        ("app/docker", "1.0", &docker, DOCKER_MANIFEST),
        ("app/index", "multi", &index, OCI_INDEX),
        ("app/list", "multi", &list, DOCKER_MANIFEST_LIST),
    ] {
        assert_digest_agrees(&registry, repo, tag, digest);
        let (served_type, bytes) = registry.get_manifest(repo, tag).expect("manifest exists");
        assert_eq!(served_type, media_type, "{repo}:{tag} Content-Type");
        assert_eq!(&images::sha256_digest(&bytes), digest);
    }

    // Children are stored by digest, untagged, and the index lists them.
    let (_, index_bytes) = registry
        .get_manifest("app/index", &index)
        .expect("by digest");
    let index_json: serde_json::Value = serde_json::from_slice(&index_bytes).expect("JSON");
    let listed: Vec<&str> = index_json["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest"))
        .collect();
    assert_eq!(listed, index_children);
    for child in index_children.iter().chain(&list_children) {
        let repo = if index_children.contains(child) {
            "app/index"
        } else {
            "app/list"
        };
        assert_eq!(
            registry.head_digest(repo, child).as_deref(),
            Some(child.as_str())
        );
    }
}

#[test]
fn two_tags_on_one_digest_and_delete() {
    let registry = Registry::start_plain();
    let digest = registry.push_image("web", "1.27", LINUX_AMD64);
    registry.tag_existing("web", &digest, "stable");
    assert_digest_agrees(&registry, "web", "1.27", &digest);
    assert_digest_agrees(&registry, "web", "stable", &digest);

    let (index, _) = registry.push_oci_index("web", "multi", &[LINUX_AMD64, LINUX_ARM64]);
    registry.tag_existing("web", &index, "multi-stable");
    assert_digest_agrees(&registry, "web", "multi-stable", &index);

    registry.delete_manifest("web", &digest);
    assert_eq!(registry.head_digest("web", "1.27"), None);
    assert_eq!(registry.head_digest("web", "stable"), None);
    assert_eq!(registry.head_digest("web", &digest), None);
    assert_eq!(
        registry.head_digest("web", "multi").as_deref(),
        Some(index.as_str())
    );
}

/// distribution 2.8 says `MANIFEST_UNKNOWN` for an unknown repository too
/// (DESIGN.md); the resolver must not rely on `NAME_UNKNOWN`.
#[test]
fn unknown_repository_and_tag_are_manifest_unknown() {
    let registry = Registry::start_plain();
    registry.push_image("known", "1", LINUX_AMD64);
    for (repo, tag) in [("nope", "1"), ("known", "2")] {
        assert_eq!(registry.head_digest(repo, tag), None);
        let response = registry
            .request(Method::GET, &format!("/v2/{repo}/manifests/{tag}"))
            .send()
            .expect("GET");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.text().expect("body");
        assert!(body.contains("MANIFEST_UNKNOWN"), "{repo}:{tag}: {body}");
    }
}

#[test]
fn tls_auth_registry_rejects_anonymous_and_accepts_credentials() {
    let registry = Registry::start_tls_auth("ci-user", "s3cret pass");
    assert!(registry.is_tls());
    assert!(registry.url().starts_with("https://127.0.0.1:"));
    assert_eq!(registry.credentials(), Some(("ci-user", "s3cret pass")));

    // Anonymous: 401 with a Basic challenge (no token server).
    let anonymous = registry
        .client()
        .get(format!("{}/v2/", registry.url()))
        .send()
        .expect("TLS handshake with the CA trusted");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()["WWW-Authenticate"]
        .to_str()
        .expect("ASCII");
    assert!(challenge.starts_with("Basic "), "{challenge}");

    // Wrong password: 401 too.
    let wrong = registry
        .client()
        .get(format!("{}/v2/", registry.url()))
        .basic_auth("ci-user", Some("wrong"))
        .send()
        .expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // With the credentials.
    let ok = registry.request(Method::GET, "/v2/").send().expect("GET");
    assert_eq!(ok.status(), StatusCode::OK);

    // A client that does not trust the CA fails the handshake.
    let untrusting = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("{}/v2/", registry.url()))
        .send()
        .is_err());
    // The certificate also names localhost.
    let by_name = http_client(Some(registry.ca_file()))
        .get(format!("https://localhost:{}/v2/", registry.port()))
        .send()
        .expect("TLS handshake for localhost");
    assert_eq!(by_name.status(), StatusCode::UNAUTHORIZED);

    let digest = registry.push_image("private/app", "v1", LINUX_AMD64);
    let (index, _) = registry.push_docker_manifest_list("private/app", "multi", &[LINUX_ARM64]);
    assert_digest_agrees(&registry, "private/app", "v1", &digest);
    assert_digest_agrees(&registry, "private/app", "multi", &index);
    let image = registry.image("private/app", "v1");
    assert_eq!(
        skopeo_digest(&image, Some(registry.ca_file()), registry.credentials()),
        digest
    );

    // DOCKER_CONFIG holds the credentials for exactly this host.
    let config_path = registry.docker_config_dir().join("config.json");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config_path).expect("config.json")).expect("JSON");
    let auth = config["auths"][registry.host()]["auth"]
        .as_str()
        .expect("auth entry");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .expect("base64");
    assert_eq!(decoded, b"ci-user:s3cret pass");

    let env = registry.env();
    assert_eq!(env.len(), 2, "{env:?}");
    assert_eq!(env[0].0, "DOCKER_CONFIG");
    assert_eq!(
        env[1],
        (
            "SSL_CERT_FILE".to_owned(),
            registry.ca_file().to_string_lossy().into_owned()
        )
    );
}

#[test]
fn plain_registry_docker_config_has_no_auths() {
    let registry = Registry::start_plain();
    let config = std::fs::read_to_string(registry.docker_config_dir().join("config.json"))
        .expect("config.json");
    let config: serde_json::Value = serde_json::from_str(&config).expect("JSON");
    assert_eq!(config, json!({ "auths": {} }));
    assert_eq!(
        registry.env(),
        [(
            "DOCKER_CONFIG".to_owned(),
            registry.docker_config_dir().to_string_lossy().into_owned()
        )]
    );
}

/// What `skopeo inspect --format '{{.Digest}}'` prints: the digest of the
/// top-level manifest (the index itself), but only when a child matches the
/// platform; without one it fails. `skopeo_digest` uses `--raw` instead.
#[test]
fn skopeo_inspect_digest_is_the_index_digest_when_a_platform_matches() {
    let registry = Registry::start_plain();
    let (index, children) = registry.push_oci_index("multi", "1", &[LINUX_AMD64, LINUX_ARM64]);
    let format_digest = |extra: &[&str]| {
        let out = skopeo_inspect(&registry.image("multi", "1"), None, None, extra);
        String::from_utf8(out).expect("UTF-8").trim().to_owned()
    };
    assert_eq!(
        format_digest(&["--format", "{{.Digest}}", "--override-arch", "arm64"]),
        index
    );
    assert_eq!(
        format_digest(&["--format", "{{.Digest}}", "--override-arch", "amd64"]),
        index
    );
    assert_ne!(index, children[0]);

    // Only an arm64 child: `skopeo inspect` for amd64 finds no image.
    let (arm_only, _) = registry.push_oci_index("multi", "arm", &[LINUX_ARM64]);
    let status = Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--no-creds",
            "--override-arch",
            "amd64",
        ])
        .arg(format!("docker://{}", registry.image("multi", "arm")))
        .output()
        .expect("run skopeo");
    assert!(!status.status.success(), "no amd64 child, so inspect fails");
    assert_eq!(registry.skopeo_digest("multi:arm"), arm_only);
}

#[test]
fn moto_ecr_and_ecs_round_trip() {
    let moto = Moto::start();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let env = moto.env();
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map_or_else(|| panic!("{name} in env()"), |(_, v)| v.clone())
    };
    assert_eq!(get("AWS_ENDPOINT_URL"), moto.endpoint());
    assert_eq!(get("AWS_ACCESS_KEY_ID"), "testing");
    assert_eq!(get("AWS_REGION"), moto::REGION);
    assert_eq!(get("AWS_EC2_METADATA_DISABLED"), "true");
    for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        assert_eq!(
            std::fs::read(get(file)).expect("exists"),
            b"",
            "{file} is empty"
        );
    }

    let region = moto::REGION;
    let created = moto.ecr(
        region,
        "CreateRepository",
        json!({ "repositoryName": "team/app" }),
    );
    assert_eq!(
        created["repository"]["repositoryUri"],
        format!(
            "{}.dkr.ecr.{region}.amazonaws.com/team/app",
            moto::ACCOUNT_ID
        )
    );

    let image = images::oci_image(LINUX_AMD64);
    let digest = moto.put_image(region, "team/app", "v1", &image);
    assert_eq!(digest, image.digest, "imageDigest is honoured");
    let index = images::oci_index(&[LINUX_AMD64, LINUX_ARM64]);
    assert_eq!(
        moto.put_image(region, "team/app", "multi", &index),
        index.digest
    );

    let described = moto.ecr(
        region,
        "DescribeImages",
        json!({ "repositoryName": "team/app" }),
    );
    let details = described["imageDetails"].as_array().expect("imageDetails");
    assert_eq!(details.len(), 2, "{described}");
    let v1 = details
        .iter()
        .find(|d| d["imageDigest"] == image.digest)
        .expect("v1 described");
    assert_eq!(v1["imageTags"], json!(["v1"]));
    assert_eq!(v1["imageManifestMediaType"], images::OCI_MANIFEST);

    let got = moto.ecr(
        region,
        "BatchGetImage",
        json!({ "repositoryName": "team/app", "imageIds": [{ "imageTag": "multi" }, { "imageTag": "gone" }] }),
    );
    assert_eq!(got["images"][0]["imageId"]["imageDigest"], index.digest);
    assert_eq!(got["failures"][0]["failureCode"], "ImageNotFound");

    // Regions are separate; errors come back typed.
    let err = moto
        .try_ecr(
            "eu-west-1",
            "DescribeImages",
            json!({ "repositoryName": "team/app" }),
        )
        .expect_err("no such repository in eu-west-1");
    assert_eq!(err.status, 400);
    assert_eq!(err.error_type, "RepositoryNotFoundException", "{err}");

    let registered = moto.ecs(
        region,
        "RegisterTaskDefinition",
        json!({
            "family": "web",
            "containerDefinitions": [{ "name": "app", "image": format!("{}:v1", created["repository"]["repositoryUri"].as_str().expect("uri")), "memory": 128 }],
        }),
    );
    assert_eq!(registered["taskDefinition"]["revision"], 1);
    let described = moto.ecs(
        region,
        "DescribeTaskDefinition",
        json!({ "taskDefinition": "web:1" }),
    );
    assert_eq!(
        described["taskDefinition"]["containerDefinitions"][0]["name"],
        "app"
    );
    assert!(moto
        .try_ecs(
            region,
            "DescribeTaskDefinition",
            json!({ "taskDefinition": "web:9" })
        )
        .is_err());

    moto.reset();
    let after = moto.ecr(region, "DescribeRepositories", json!({}));
    assert_eq!(after["repositories"], json!([]), "{}", moto.log());
}

/// `Moto::configure` strips inherited AWS settings and sets the helper's.
#[test]
fn moto_configure_sets_the_environment() {
    let moto = Moto::start();
    let mut clean = Command::new("env");
    clean.env("AWS_PROFILE", "from-the-developer");
    moto.configure(&mut clean);
    let out = clean.output().expect("run env");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(!text.contains("AWS_PROFILE="), "{text}");
    assert!(text.contains(&format!("AWS_ENDPOINT_URL={}", moto.endpoint())));
}

#[test]
fn guards_kill_what_they_started() {
    let registry = Registry::start_plain();
    let port = registry.port();
    proc::wait_for_port(port, Duration::from_secs(5));
    proc::wait_for_url(
        registry.client(),
        &format!("{}/v2/", registry.url()),
        Duration::from_secs(5),
    );
    assert!(
        registry.log().contains("listening on"),
        "{}",
        registry.log()
    );
    drop(registry);
    assert!(!proc::port_open(port), "registry still listens after drop");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut sleep = Command::new(proc::require_program("sleep"));
    sleep.arg("600");
    let mut guard = ChildGuard::spawn("sleep", sleep, &dir.path().join("sleep.log"));
    let pid = guard.pid();
    assert!(guard.exited().is_none());
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(guard);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still there after drop"
    );
    assert_ne!(proc::free_port(), 0);
}

#[test]
#[should_panic(expected = "not found on PATH: run scripts/install-test-deps.sh")]
fn a_missing_component_panics_with_the_install_hint() {
    proc::require_program("imgpin-test-no-such-program");
}

/// Facts about distribution 2.8's content negotiation that a resolver must
/// respect: without the right `Accept` types a manifest looks missing, is
/// "invalid", or is silently swapped for its linux/amd64 child. Send every
/// manifest type in `Accept` on HEAD and GET.
#[test]
fn distribution_needs_every_accept_type() {
    let registry = Registry::start_plain();
    let oci = registry.push_image("neg", "oci", LINUX_AMD64);
    let docker = registry.push_docker_v2("neg", "docker", LINUX_AMD64);
    let (list, children) = registry.push_docker_manifest_list("neg", "list", &[LINUX_AMD64]);
    let (arm_list, _) = registry.push_docker_manifest_list("neg", "arm-list", &[LINUX_ARM64]);
    let head = |tag: &str, accept: Option<&str>| {
        let mut request = registry.request(Method::HEAD, &format!("/v2/neg/manifests/{tag}"));
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let response = request.send().expect("HEAD");
        let digest = response
            .headers()
            .get("Docker-Content-Digest")
            .map(|v| v.to_str().expect("ASCII").to_owned());
        (response.status(), digest)
    };

    // An OCI manifest without OCI types in Accept: 404, as if it did not exist.
    assert_eq!(head("oci", None), (StatusCode::NOT_FOUND, None));
    assert_eq!(
        head("oci", Some(DOCKER_MANIFEST)),
        (StatusCode::NOT_FOUND, None)
    );
    assert_eq!(head("oci", Some(OCI_MANIFEST)), (StatusCode::OK, Some(oci)));
    // A Docker schema 2 manifest without Accept: 400 MANIFEST_INVALID (the
    // registry tries to convert it to schema 1).
    assert_eq!(head("docker", None).0, StatusCode::BAD_REQUEST);
    assert_eq!(
        head("docker", Some(DOCKER_MANIFEST)),
        (StatusCode::OK, Some(docker))
    );
    // A manifest list asked for with only the single-image type: the
    // linux/amd64 child's digest (200!), or 404 when there is no such child.
    assert_eq!(
        head("list", Some(DOCKER_MANIFEST)),
        (StatusCode::OK, Some(children[0].clone()))
    );
    assert_eq!(
        head("arm-list", Some(DOCKER_MANIFEST)),
        (StatusCode::NOT_FOUND, None)
    );
    assert_eq!(
        head("list", Some(&images::ALL_MANIFEST_TYPES.join(", "))),
        (StatusCode::OK, Some(list))
    );
    assert_eq!(registry.head_digest("neg", "arm-list"), Some(arm_list));

    // DELETE needs a digest: by tag it is 400 DIGEST_INVALID.
    let by_tag = registry
        .request(Method::DELETE, "/v2/neg/manifests/oci")
        .send()
        .expect("DELETE");
    assert_eq!(by_tag.status(), StatusCode::BAD_REQUEST);
    // The tags list (unlike manifests) says NAME_UNKNOWN for an unknown repo.
    let tags = registry
        .request(Method::GET, "/v2/nope/tags/list")
        .send()
        .expect("GET tags");
    assert_eq!(tags.status(), StatusCode::NOT_FOUND);
    assert!(tags.text().expect("body").contains("NAME_UNKNOWN"));
}
