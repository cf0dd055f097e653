//! A real OCI registry for tests: Debian's `docker-registry` (CNCF
//! distribution 2.8) on a free 127.0.0.1 port, with its own storage in a
//! temp dir, plus a blocking client that pushes images through the
//! distribution API.
//!
//! Two modes: plain HTTP without auth, and HTTPS (certificate from a
//! throwaway CA) with htpasswd (bcrypt) basic auth. Deletes are enabled.
//! Rule: every digest a push returns is the sha256 of the bytes sent, and is
//! checked against the registry's `Docker-Content-Digest` answer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tempfile::TempDir;

use super::images::{self, Blob, Manifest, Platform, ALL_MANIFEST_TYPES};
use super::proc::{free_port, require_program, ChildGuard, INSTALL_HINT};
use super::tls::{make_ca_and_server_cert, make_ca_and_server_cert_for};

/// How long a registry may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried before giving up when another process takes the free port.
const START_ATTEMPTS: usize = 5;

/// A running `docker-registry`, stopped (by PID) and wiped when dropped.
#[derive(Debug)]
pub struct Registry {
    // Field order is drop order: kill the process before removing its files.
    child: ChildGuard,
    dir: TempDir,
    port: u16,
    ca_file: Option<PathBuf>,
    creds: Option<(String, String)>,
    client: Client,
}

impl Registry {
    /// Starts a registry on plain HTTP without authentication.
    pub fn start_plain() -> Registry {
        Registry::start(None)
    }

    /// Starts a registry on HTTPS (server certificate signed by a fresh CA,
    /// see [`Registry::ca_file`]) that requires basic auth as `user`/`password`.
    pub fn start_tls_auth(user: &str, password: &str) -> Registry {
        Registry::start(Some((user, password)))
    }

    /// Like [`Registry::start_tls_auth`], but listening on the fixed port
    /// `127.0.0.1:port` (e.g. 443, which needs root) and with
    /// `extra_dns_names` in the server certificate's subjectAltName, so a
    /// client that maps those names to 127.0.0.1 (a private `/etc/hosts`)
    /// reaches it by name. Panics, naming the port, if the port is taken.
    pub fn start_tls_auth_at(
        port: u16,
        extra_dns_names: &[&str],
        user: &str,
        password: &str,
    ) -> Registry {
        Registry::start_with(Some((user, password)), Some(port), extra_dns_names)
    }

    fn start(auth: Option<(&str, &str)>) -> Registry {
        Registry::start_with(auth, None, &[])
    }

    fn start_with(
        auth: Option<(&str, &str)>,
        fixed_port: Option<u16>,
        extra_dns_names: &[&str],
    ) -> Registry {
        let program = require_program("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix("imgpin-registry-")
            .tempdir()
            .expect("create registry temp dir");
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).expect("create registry storage dir");

        let mut http = json!({ "secret": "imgpin-test-secret" });
        let mut auth_section = json!({});
        let mut ca_file = None;
        if let Some((user, password)) = auth {
            let tls = if extra_dns_names.is_empty() {
                make_ca_and_server_cert(dir.path())
            } else {
                make_ca_and_server_cert_for(dir.path(), extra_dns_names)
            };
            http["tls"] = json!({ "certificate": tls.server_cert, "key": tls.server_key });
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, bcrypt_htpasswd(user, password)).expect("write htpasswd");
            auth_section = json!({ "htpasswd": { "realm": "imgpin-test", "path": htpasswd } });
            ca_file = Some(tls.ca_cert);
        }
        let creds = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let client = http_client(ca_file.as_deref());

        assert!(
            auth.is_some() || extra_dns_names.is_empty(),
            "extra DNS names need TLS mode"
        );
        let attempts = if fixed_port.is_some() {
            1
        } else {
            START_ATTEMPTS
        };
        for attempt in 1..=attempts {
            let port = fixed_port.unwrap_or_else(free_port);
            http["addr"] = json!(format!("127.0.0.1:{port}"));
            // YAML is a superset of JSON, so the config is written as JSON:
            // no quoting trouble with paths.
            let mut config = json!({
                "version": "0.1",
                "log": { "level": "info", "formatter": "text" },
                "storage": {
                    "filesystem": { "rootdirectory": storage },
                    "delete": { "enabled": true },
                    "maintenance": { "uploadpurging": { "enabled": false } },
                },
                "http": http,
            });
            if auth.is_some() {
                config["auth"] = auth_section.clone();
            }
            let config_path = dir.path().join("config.yml");
            std::fs::write(
                &config_path,
                serde_json::to_vec_pretty(&config).expect("config"),
            )
            .expect("write registry config");

            let mut command = Command::new(&program);
            command.arg("serve").arg(&config_path);
            // REGISTRY_* variables override the config file; drop any
            // inherited from the developer's shell.
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(key);
                }
            }
            let log = dir.path().join(format!("registry-{attempt}.log"));
            let mut child = ChildGuard::spawn("docker-registry", command, &log);

            let scheme = if ca_file.is_some() { "https" } else { "http" };
            let ping = format!("{scheme}://127.0.0.1:{port}/v2/");
            let listening = format!("listening on 127.0.0.1:{port}");
            // Ready: it logged that it listens (so the port is its own, not
            // another process's) and answers HTTP (200, or 401 with auth).
            let ready = |child: &ChildGuard| {
                child.log().contains(&listening) && client.get(&ping).send().is_ok()
            };
            match child.wait_until(START_TIMEOUT, ready) {
                Ok(()) => {
                    let registry = Registry {
                        child,
                        dir,
                        port,
                        ca_file,
                        creds,
                        client,
                    };
                    registry.write_docker_config();
                    return registry;
                }
                Err(early) if early.log.contains("address already in use") => {
                    if let Some(port) = fixed_port {
                        panic!("docker-registry: 127.0.0.1:{port} is already in use by another process");
                    }
                    // Another process took the port: try the next one.
                }
                Err(early) => panic!(
                    "docker-registry exited at start ({}); its log:\n{}",
                    early.status, early.log
                ),
            }
        }
        panic!("docker-registry: no free port after {START_ATTEMPTS} attempts");
    }

    /// `127.0.0.1:PORT`: the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Base URL, `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_file.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.host())
    }

    /// Whether this registry serves HTTPS (the auth mode).
    pub fn is_tls(&self) -> bool {
        self.ca_file.is_some()
    }

    /// The PEM file of the CA that signed the server certificate (TLS mode).
    /// It lies alone in its directory. Panics for a plain registry.
    pub fn ca_file(&self) -> &Path {
        self.ca_file
            .as_deref()
            .expect("ca_file(): this registry is plain HTTP; use Registry::start_tls_auth")
    }

    /// The user and password the registry requires (TLS mode), if any.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// A directory to use as `DOCKER_CONFIG`: its `config.json` has an
    /// `auths` entry for [`Registry::host`] with base64 `user:password` in
    /// auth mode, and no entries for a plain registry (so a developer's own
    /// `~/.docker/config.json` never leaks into a test).
    pub fn docker_config_dir(&self) -> PathBuf {
        self.dir.path().join("docker-config")
    }

    /// The environment for a client process (`imgpin`) that talks to this
    /// registry: `DOCKER_CONFIG` (see [`Registry::docker_config_dir`]) and,
    /// in TLS mode, `SSL_CERT_FILE` = the CA file. rustls with the platform
    /// verifier (reqwest 0.13's default) reads `SSL_CERT_FILE` on Linux, and
    /// it replaces the system roots, which is fine for loopback tests.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "DOCKER_CONFIG".to_owned(),
            self.docker_config_dir().to_string_lossy().into_owned(),
        )];
        if let Some(ca) = &self.ca_file {
            env.push((
                "SSL_CERT_FILE".to_owned(),
                ca.to_string_lossy().into_owned(),
            ));
        }
        env
    }

    /// `HOST/REPO:TAG` for this registry.
    pub fn image(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.host())
    }

    /// The tail of the registry's log, for assertion messages.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// The blocking HTTP client the helper uses (trusts the CA, no proxy).
    /// It sends no credentials by itself: see [`Registry::request`].
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A request to `path` (starting with `/v2/`, or an absolute URL), with
    /// basic auth added in auth mode.
    pub fn request(&self, method: Method, path_or_url: &str) -> RequestBuilder {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.url())
        };
        let request = self.client.request(method, url);
        match &self.creds {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Pushes a single-platform OCI image manifest (config + one random
    /// layer) as `repo:tag` and returns its digest.
    pub fn push_image(&self, repo: &str, tag: &str, platform: Platform<'_>) -> String {
        self.push(repo, tag, &images::oci_image(platform))
    }

    /// Pushes a single-platform Docker schema 2 manifest as `repo:tag` and
    /// returns its digest.
    pub fn push_docker_v2(&self, repo: &str, tag: &str, platform: Platform<'_>) -> String {
        self.push(repo, tag, &images::docker_v2_image(platform))
    }

    /// Pushes an OCI image index over one fresh OCI image per platform. Only
    /// the index is tagged; the children are pushed by digest. Returns the
    /// index digest and the child digests, in `platforms` order.
    pub fn push_oci_index(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[Platform<'_>],
    ) -> (String, Vec<String>) {
        let index = images::oci_index(platforms);
        let digest = self.push(repo, tag, &index);
        (
            digest,
            index.children.iter().map(|c| c.digest.clone()).collect(),
        )
    }

    /// Pushes a Docker manifest list over one fresh Docker schema 2 image
    /// per platform, like [`Registry::push_oci_index`].
    pub fn push_docker_manifest_list(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[Platform<'_>],
    ) -> (String, Vec<String>) {
        let list = images::docker_manifest_list(platforms);
        let digest = self.push(repo, tag, &list);
        (
            digest,
            list.children.iter().map(|c| c.digest.clone()).collect(),
        )
    }

    /// Pushes any built manifest under `reference` (a tag or its digest):
    /// its children by digest first, then its blobs, then itself. Returns
    /// the digest.
    pub fn push(&self, repo: &str, reference: &str, manifest: &Manifest) -> String {
        for child in &manifest.children {
            self.push(repo, &child.digest, child);
        }
        for blob in &manifest.blobs {
            self.upload_blob(repo, blob);
        }
        let digest = self.put_manifest(repo, reference, manifest.media_type, &manifest.bytes);
        assert_eq!(digest, manifest.digest, "digest of the pushed manifest");
        digest
    }

    /// Uploads one blob: `POST /v2/REPO/blobs/uploads/`, then `PUT` to the
    /// returned location with `?digest=`.
    pub fn upload_blob(&self, repo: &str, blob: &Blob) {
        let started = self
            .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .header("Content-Length", "0")
            .send();
        let started = expect_status(started, StatusCode::ACCEPTED, "start blob upload");
        let location = started
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .expect("blob upload answer has a Location")
            .to_owned();
        let separator = if location.contains('?') { '&' } else { '?' };
        let finished = self
            .request(
                Method::PUT,
                &format!("{location}{separator}digest={}", blob.digest),
            )
            .header("Content-Type", "application/octet-stream")
            .body(blob.data.clone())
            .send();
        let finished = expect_status(finished, StatusCode::CREATED, "finish blob upload");
        assert_eq!(
            header(&finished, "Docker-Content-Digest").as_deref(),
            Some(blob.digest.as_str()),
            "blob digest"
        );
    }

    /// `PUT /v2/REPO/manifests/REFERENCE` with `media_type` as Content-Type.
    /// Returns the digest, after checking that the registry's
    /// `Docker-Content-Digest` equals the sha256 of `bytes`.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let response = self
            .request(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
            .header("Content-Type", media_type)
            .body(bytes.to_vec())
            .send();
        let response = expect_status(response, StatusCode::CREATED, "put manifest");
        let expected = images::sha256_digest(bytes);
        assert_eq!(
            header(&response, "Docker-Content-Digest").as_deref(),
            Some(expected.as_str()),
            "registry's Docker-Content-Digest for {repo}:{reference}"
        );
        expected
    }

    /// GETs a manifest by tag or digest, accepting every manifest type.
    /// Returns its Content-Type and exact bytes, or `None` on 404.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        let response = self
            .request(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
            .header("Accept", ALL_MANIFEST_TYPES.join(", "))
            .send();
        let response = expect_found(response, "get manifest")?;
        let media_type = header(&response, "Content-Type").expect("manifest has a Content-Type");
        let bytes = response.bytes().expect("read manifest body").to_vec();
        Some((media_type, bytes))
    }

    /// The digest the registry answers to `HEAD /v2/REPO/manifests/REFERENCE`
    /// (every manifest type accepted), or `None` on 404.
    pub fn head_digest(&self, repo: &str, reference: &str) -> Option<String> {
        let response = self
            .request(Method::HEAD, &format!("/v2/{repo}/manifests/{reference}"))
            .header("Accept", ALL_MANIFEST_TYPES.join(", "))
            .send();
        let response = expect_found(response, "head manifest")?;
        Some(header(&response, "Docker-Content-Digest").expect("HEAD has Docker-Content-Digest"))
    }

    /// Puts the manifest stored under `digest` under `new_tag` too (same
    /// bytes, same media type): afterwards two tags name one digest.
    pub fn tag_existing(&self, repo: &str, digest: &str, new_tag: &str) {
        let (media_type, bytes) = self
            .get_manifest(repo, digest)
            .unwrap_or_else(|| panic!("tag_existing: {repo}@{digest} not found"));
        let tagged = self.put_manifest(repo, new_tag, &media_type, &bytes);
        assert_eq!(tagged, digest, "re-tagged manifest keeps its digest");
    }

    /// Deletes the manifest `digest` (`DELETE /v2/REPO/manifests/DIGEST`):
    /// every tag on it goes too. Needs the digest, not a tag.
    pub fn delete_manifest(&self, repo: &str, digest: &str) {
        let response = self
            .request(Method::DELETE, &format!("/v2/{repo}/manifests/{digest}"))
            .send();
        expect_status(response, StatusCode::ACCEPTED, "delete manifest");
    }

    /// The digest skopeo reports for `repo:tag` (or `repo@digest`) on this
    /// registry, using its CA and credentials: see [`super::skopeo_digest`].
    pub fn skopeo_digest(&self, repo_and_reference: &str) -> String {
        super::skopeo::skopeo_digest(
            &format!("{}/{repo_and_reference}", self.host()),
            self.ca_file.as_deref(),
            self.credentials(),
        )
    }

    fn write_docker_config(&self) {
        let dir = self.docker_config_dir();
        std::fs::create_dir_all(&dir).expect("create DOCKER_CONFIG dir");
        let auths = match self.credentials() {
            Some((user, password)) => {
                let auth =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                json!({ self.host(): { "auth": auth } })
            }
            None => json!({}),
        };
        let config = json!({ "auths": auths });
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(&config).expect("json"),
        )
        .expect("write docker config.json");
    }
}

/// A blocking client that only trusts `ca` (when given), uses no proxy and
/// times out, so a hung registry fails a test instead of stalling it.
///
/// A `reqwest::blocking` client must not be used or dropped inside an async
/// runtime: keep registry setup in plain `#[test]` functions.
pub fn http_client(ca: Option<&Path>) -> Client {
    let mut builder = Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30));
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("read CA {}: {e}", ca.display()));
        let cert = reqwest::Certificate::from_pem(&pem).expect("parse CA PEM");
        builder = builder.tls_certs_only([cert]);
    }
    builder.build().expect("build HTTP client")
}

/// `USER:BCRYPT-HASH\n` from `htpasswd -Bbn` (distribution accepts only bcrypt).
fn bcrypt_htpasswd(user: &str, password: &str) -> Vec<u8> {
    let htpasswd = require_program("htpasswd");
    let output = Command::new(htpasswd)
        .args(["-Bbn", user, password])
        .output()
        .unwrap_or_else(|e| panic!("run htpasswd (apache2-utils): {e}; {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "htpasswd -Bbn failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // htpasswd -n ends with a blank line; keep just the entry.
    let text = String::from_utf8(output.stdout).expect("htpasswd output is UTF-8");
    format!("{}\n", text.trim_end()).into_bytes()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The response if it has status `want`; otherwise panics with the body.
fn expect_status(result: reqwest::Result<Response>, want: StatusCode, what: &str) -> Response {
    let response = result.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    if response.status() != want {
        let status = response.status();
        let url = response.url().to_string();
        let body = response.text().unwrap_or_default();
        panic!("{what}: {url} answered {status}, wanted {want}: {body}");
    }
    response
}

/// The response on 200, `None` on 404; panics on anything else.
fn expect_found(result: reqwest::Result<Response>, what: &str) -> Option<Response> {
    let response = result.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    Some(expect_status(Ok(response), StatusCode::OK, what))
}
