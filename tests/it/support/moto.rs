//! A real AWS endpoint for tests: `moto` in server mode on a free 127.0.0.1
//! port, for the AWS SDK (through `AWS_ENDPOINT_URL` and dummy credentials)
//! and for direct setup calls from tests (ECR and ECS JSON APIs).
//!
//! moto does not check signatures; it takes the region and the service
//! from the credential scope of the `Authorization` header, so the helper
//! sends a dummy `SigV4` header naming both. See shared/ECR-LIFECYCLE.md part 4
//! for where moto differs from AWS.

use std::process::Command;
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::images::Manifest;
use super::proc::{find_program, free_port, require_program, ChildGuard, INSTALL_HINT};
use super::registry::http_client;

/// How long moto may take to import and answer (it is slow on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Ports tried before giving up when another process takes the free port.
const START_ATTEMPTS: usize = 5;

/// The region the helper's environment selects.
pub const REGION: &str = "us-east-1";
/// moto's fixed account id.
pub const ACCOUNT_ID: &str = "123456789012";

/// Environment variables that could point the SDK at real credentials or
/// another endpoint; remove them from every command that talks to moto.
pub const ENV_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ENDPOINT_URL_ECS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A running `moto_server`, stopped (by PID) when dropped.
#[derive(Debug)]
pub struct Moto {
    // Field order is drop order: kill the process before removing its files.
    child: ChildGuard,
    dir: TempDir,
    port: u16,
    client: Client,
}

/// An error answer from moto: HTTP status, AWS error type and message.
#[derive(Debug, Clone)]
pub struct MotoError {
    /// HTTP status (400 for client errors, 500 for "not implemented").
    pub status: u16,
    /// The AWS error code, e.g. `RepositoryNotFoundException`.
    pub error_type: String,
    /// The message moto gave.
    pub message: String,
}

impl std::fmt::Display for MotoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error_type, self.message)
    }
}

/// A SigV4-shaped `Authorization` header that moto accepts unsigned; its
/// credential scope selects the region and the service.
fn authorization(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/{service}/aws4_request, \
         SignedHeaders=content-type;host, Signature=0"
    )
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` (or `python3 -m
    /// moto.server` when the script is not on `PATH`) and waits until it
    /// answers.
    pub fn start() -> Moto {
        let dir = tempfile::Builder::new()
            .prefix("imgpin-moto-")
            .tempdir()
            .expect("create moto temp dir");
        // Empty AWS config files for the SDK (see `env`).
        std::fs::write(dir.path().join("aws-config"), "").expect("write empty AWS config");
        std::fs::write(dir.path().join("aws-credentials"), "")
            .expect("write empty AWS credentials");
        let client = http_client(None);

        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let mut command = if let Some(script) = find_program("moto_server") {
                Command::new(script)
            } else {
                let mut python = Command::new(require_program("python3"));
                python.args(["-m", "moto.server"]);
                python
            };
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            // Lambda resolves an image's tag through moto's ECR, as AWS does
            // (the digest of `Code.ResolvedImageUri`), instead of a hash of the URI.
            command.env("MOTO_LAMBDA_STUB_ECR", "false");
            command.current_dir(dir.path());
            let log = dir.path().join(format!("moto-{attempt}.log"));
            let mut child = ChildGuard::spawn("moto_server", command, &log);
            let ping = format!("http://127.0.0.1:{port}/moto-api/");
            let up = |_: &ChildGuard| {
                client
                    .get(&ping)
                    .send()
                    .is_ok_and(|r| r.status().is_success())
            };
            match child.wait_until(START_TIMEOUT, up) {
                Ok(()) => {
                    return Moto {
                        child,
                        dir,
                        port,
                        client,
                    }
                }
                // Another process took the port: try the next one.
                Err(early) if early.log.contains("already in use") => {}
                Err(early) => panic!(
                    "moto_server exited at start ({}); is moto[server] installed? \
                     {INSTALL_HINT}. Its log:\n{}",
                    early.status, early.log
                ),
            }
        }
        panic!("moto_server: no free port after {START_ATTEMPTS} attempts");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK at this moto: endpoint,
    /// dummy credentials, region, no instance metadata, and empty config
    /// and credentials files so a developer's real profile never leaks in.
    /// Also remove [`ENV_REMOVE`] (or use [`Moto::configure`]).
    pub fn env(&self) -> Vec<(String, String)> {
        let path = |name: &str| self.dir.path().join(name).to_string_lossy().into_owned();
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", path("aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE", path("aws-credentials")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Removes [`ENV_REMOVE`] from `command` and sets [`Moto::env`] on it.
    pub fn configure<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        for name in ENV_REMOVE {
            command.env_remove(name);
        }
        command.envs(self.env())
    }

    /// The tail of moto's log, for assertion messages.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// Calls an ECR action (e.g. `"CreateRepository"`) in `region`; panics
    /// on an error answer.
    pub fn ecr(&self, region: &str, action: &str, body: Value) -> Value {
        self.try_ecr(region, action, body)
            .unwrap_or_else(|e| panic!("moto ECR {action}: {e}"))
    }

    /// Calls an ECS action (e.g. `"RegisterTaskDefinition"`) in `region`;
    /// panics on an error answer.
    pub fn ecs(&self, region: &str, action: &str, body: Value) -> Value {
        self.try_ecs(region, action, body)
            .unwrap_or_else(|e| panic!("moto ECS {action}: {e}"))
    }

    /// Calls an EventBridge action (e.g. `"PutRule"`) in `region`; panics on
    /// an error answer.
    pub fn events(&self, region: &str, action: &str, body: Value) -> Value {
        self.call("events", "AWSEvents", region, action, &body)
            .unwrap_or_else(|e| panic!("moto EventBridge {action}: {e}"))
    }

    /// Like [`Moto::ecr`], returning moto's error answer instead of panicking.
    pub fn try_ecr(&self, region: &str, action: &str, body: Value) -> Result<Value, MotoError> {
        self.call(
            "ecr",
            "AmazonEC2ContainerRegistry_V20150921",
            region,
            action,
            &body,
        )
    }

    /// Like [`Moto::ecs`], returning moto's error answer instead of panicking.
    pub fn try_ecs(&self, region: &str, action: &str, body: Value) -> Result<Value, MotoError> {
        self.call(
            "ecs",
            "AmazonEC2ContainerServiceV20141113",
            region,
            action,
            &body,
        )
    }

    /// `PutImage` of `manifest` as `repo:tag`, passing `imageDigest` (the
    /// sha256 of the bytes) so moto stores the digest real ECR would
    /// compute. Returns the stored digest.
    pub fn put_image(&self, region: &str, repo: &str, tag: &str, manifest: &Manifest) -> String {
        let manifest_text =
            String::from_utf8(manifest.bytes.clone()).expect("test manifests are UTF-8");
        let answer = self.ecr(
            region,
            "PutImage",
            json!({
                "repositoryName": repo,
                "imageTag": tag,
                "imageManifest": manifest_text,
                "imageManifestMediaType": manifest.media_type,
                "imageDigest": manifest.digest,
            }),
        );
        answer["image"]["imageId"]["imageDigest"]
            .as_str()
            .unwrap_or_else(|| panic!("PutImage answer has no imageDigest: {answer}"))
            .to_owned()
    }

    /// Calls a REST-JSON API (Lambda, AWS Batch): `method` on `path` with a
    /// JSON body in `region`; panics on an error answer.
    pub fn rest(
        &self,
        service: &str,
        region: &str,
        method: &str,
        path: &str,
        body: Value,
    ) -> Value {
        let authorization = authorization(region, service);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let response = self
            .client
            .request(method, format!("{}{path}", self.endpoint()))
            .header("Content-Type", "application/json")
            .header("Authorization", authorization)
            .body(serde_json::to_vec(&body).expect("serialise request"))
            .send()
            .unwrap_or_else(|e| panic!("moto {service} {path}: request failed: {e}"));
        let status = response.status();
        let text = response.text().expect("read moto answer");
        assert!(
            status.is_success(),
            "moto {service} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }))
    }

    /// Creates the IAM role `name` (Lambda needs one to exist) and returns its ARN.
    pub fn iam_role(&self, name: &str) -> String {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let response = self
            .client
            .post(format!("{}/", self.endpoint()))
            .header("Authorization", authorization("us-east-1", "iam"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "Action=CreateRole&Version=2010-05-08&RoleName={}&AssumeRolePolicyDocument={}",
                form_encode(name),
                form_encode(policy)
            ))
            .send()
            .expect("IAM CreateRole");
        let status = response.status();
        let text = response.text().unwrap_or_default();
        assert!(status.is_success(), "IAM CreateRole: {status} {text}");
        format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}")
    }

    /// Forgets every resource in every region (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let response = self
            .client
            .post(format!("{}/moto-api/reset", self.endpoint()))
            .send()
            .expect("POST /moto-api/reset");
        assert!(
            response.status().is_success(),
            "moto reset answered {}",
            response.status()
        );
    }

    fn call(
        &self,
        service: &str,
        target_prefix: &str,
        region: &str,
        action: &str,
        body: &Value,
    ) -> Result<Value, MotoError> {
        let authorization = authorization(region, service);
        let response = self
            .client
            .post(format!("{}/", self.endpoint()))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("{target_prefix}.{action}"))
            .header("Authorization", authorization)
            .body(serde_json::to_vec(body).expect("serialise request"))
            .send()
            .unwrap_or_else(|e| panic!("moto {service} {action}: request failed: {e}"));
        let status = response.status();
        let text = response.text().expect("read moto answer");
        let value: Value = if text.is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }))
        };
        if status.is_success() {
            return Ok(value);
        }
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Err(MotoError {
            status: status.as_u16(),
            error_type: field("__type").unwrap_or_else(|| "Unknown".to_owned()),
            message: field("message")
                .or_else(|| field("Message"))
                .unwrap_or_else(|| text.chars().take(500).collect()),
        })
    }
}
