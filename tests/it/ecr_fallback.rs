//! The ECR fallback end to end: with no AWS credentials at all but a docker
//! login for the ECR host, `imgpin pin` resolves ECR references through the
//! registry API with the docker credentials.
//!
//! Nothing leaves 127.0.0.1: imgpin runs in a private mount namespace
//! (`unshare -m`) whose `/etc/hosts` maps the ECR host name to 127.0.0.1
//! (and whose `/etc/nsswitch.conf` reads host names from files only), the
//! registry listens on 127.0.0.1:443 with that name in its certificate, and
//! the AWS SDK is pointed at a closed loopback port in case it tried to
//! call ECR. Needs root (for the namespace and port 443).

use crate::cli::text;
use crate::support::moto::ENV_REMOVE;
use crate::support::proc::{free_port, require_program};
use crate::support::{Registry, LINUX_AMD64};
use base64::Engine as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const USER: &str = "AWS";
const PASSWORD: &str = "ecr-fallback-s3cret-9f2c1d";

/// Panics unless 127.0.0.1:443 can be bound right now (the registry must
/// own it, since the ECR host name is reached on the default HTTPS port).
fn require_port_443_free() {
    if let Err(e) = TcpListener::bind((Ipv4Addr::LOCALHOST, 443)) {
        panic!(
            "ecr_fallback needs 127.0.0.1:443 for the fake ECR registry, but it cannot be \
             bound ({e}): stop whatever listens there, or run the tests as root"
        );
    }
}

fn task_definition(image: &str) -> String {
    format!(
        "{{\n  \"family\": \"api\",\n  \"containerDefinitions\": [\n    {{ \"name\": \"api\", \"image\": \"{image}\" }}\n  ]\n}}\n"
    )
}

/// `imgpin ARGS` inside a private mount namespace with `hosts` bind-mounted
/// on `/etc/hosts` (and `nsswitch`, when the system has that file, on
/// `/etc/nsswitch.conf`), with no AWS credentials reachable.
fn imgpin_in_namespace(dir: &Path, hosts: &Path, nsswitch: &Path, args: &[&str]) -> Command {
    let unshare = require_program("unshare");
    let mut script = String::from("mount --bind \"$IMGPIN_TEST_HOSTS\" /etc/hosts");
    if Path::new("/etc/nsswitch.conf").exists() {
        script.push_str(" && mount --bind \"$IMGPIN_TEST_NSSWITCH\" /etc/nsswitch.conf");
    }
    script.push_str(" && exec \"$0\" \"$@\"");

    let mut cmd = Command::new(unshare);
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_imgpin"))
        .args(args)
        .current_dir(dir)
        .env("IMGPIN_TEST_HOSTS", hosts)
        .env("IMGPIN_TEST_NSSWITCH", nsswitch)
        .env("NO_COLOR", "1");

    // No AWS credentials anywhere, and no way out of loopback.
    for name in ENV_REMOVE {
        cmd.env_remove(name);
    }
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_ACCOUNT_ID",
        "AWS_SDK_UA_APP_ID",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        "SSL_CERT_DIR",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(name);
    }
    let empty_config = dir.join("aws-config");
    let empty_credentials = dir.join("aws-credentials");
    std::fs::write(&empty_config, "").unwrap();
    std::fs::write(&empty_credentials, "").unwrap();
    // A loopback port nobody listens on: were the SDK to call ECR anyway,
    // the connection would be refused on 127.0.0.1.
    let closed = free_port();
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty_config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty_credentials)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    cmd
}

#[test]
fn ecr_without_aws_credentials_falls_back_to_docker_login() {
    require_program("unshare");
    require_port_443_free();

    let registry = Registry::start_tls_auth_at(443, &[ECR_HOST], USER, PASSWORD);
    let digest = registry.push_image("team/api", "1.0", LINUX_AMD64);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // A private /etc/hosts and a files-only host lookup for the namespace.
    let hosts = root.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {ECR_HOST}\n"),
    )
    .unwrap();
    let nsswitch = root.join("nsswitch.conf");
    std::fs::write(&nsswitch, "hosts: files\n").unwrap();

    // `docker login` for the ECR host only.
    let docker_config = root.join("docker-config");
    std::fs::create_dir(&docker_config).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        docker_config.join("config.json"),
        format!("{{\"auths\": {{\"{ECR_HOST}\": {{\"auth\": \"{auth}\"}}}}}}\n"),
    )
    .unwrap();

    let work = root.join("repo");
    std::fs::create_dir(&work).unwrap();
    let file = work.join("task-definition.json");
    let image = format!("{ECR_HOST}/team/api:1.0");
    std::fs::write(&file, task_definition(&image)).unwrap();

    let mut cmd = imgpin_in_namespace(root, &hosts, &nsswitch, &["pin", "--write", "-v"]);
    cmd.current_dir(&work)
        .env("DOCKER_CONFIG", &docker_config)
        .env("SSL_CERT_FILE", registry.ca_file());
    let out = cmd.output().expect("run unshare … imgpin");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let context = format!(
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}\nregistry log:\n{}",
        out.status,
        registry.log()
    );

    assert_eq!(out.status.code(), Some(0), "{context}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        task_definition(&format!("{image}@{digest}")),
        "{context}"
    );
    assert!(
        stderr.contains(&format!(
            "no AWS credentials found; resolving 1 ECR reference(s) through the registry API \
             with docker credentials for {ECR_HOST}"
        )),
        "{context}"
    );
    // imgpin reached our registry by the ECR host name.
    assert!(
        registry
            .log()
            .contains(&format!("http.request.host={ECR_HOST}")),
        "{context}"
    );
    for secret in [PASSWORD, auth.as_str()] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a credential leaked into the output:\n{context}"
        );
    }
}
