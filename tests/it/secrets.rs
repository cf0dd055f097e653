//! Credentials never appear in output: a TLS registry with basic auth, a
//! real password in the docker config, and every output format with `-v`,
//! on success and on failure (missing tag, wrong password), grepped for the
//! password and its base64 forms.

use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64};
use base64::Engine as _;
use std::fs;

const USER: &str = "deployer";
const PASSWORD: &str = "Pa55-w0rd-never-printed-7f3a";

/// The secret in every form it could leak in.
fn forms() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        PASSWORD.to_string(),
        b64(PASSWORD),
        b64(&format!("{USER}:{PASSWORD}")),
        // The base64 of the pair without padding, as in a Basic header cut short.
        b64(&format!("{USER}:{PASSWORD}"))
            .trim_end_matches('=')
            .to_string(),
    ]
}

fn assert_clean(what: &str, out: &std::process::Output) {
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!all.is_empty(), "{what}: no output at all");
    for secret in forms() {
        assert!(
            !all.contains(&secret),
            "{what}: the secret ({secret}) leaked in:\n{all}"
        );
    }
}

#[test]
fn no_output_format_ever_shows_the_registry_password() {
    let reg = Registry::start_tls_auth(USER, PASSWORD);
    let digest = reg.push_image("team/app", "1.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    // Pinned, so verify asks the registry (with the credentials) too.
    let good = format!("{}@{digest}", reg.image("team/app", "1.0"));
    let missing = reg.image("team/app", "no-such-tag");
    fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  a:\n    image: {good}\n  b:\n    image: {missing}\n"),
    )
    .unwrap();
    for format in ["text", "json", "github", "sarif"] {
        for command in ["pin", "verify"] {
            let out = run(&reg, &[command, "-v", "--format", format], dir.path());
            assert_clean(&format!("{command} --format {format}"), &out);
            // pin: the missing tag fails (2); verify: the tags are unpinned (1).
            let expected = if command == "pin" { 2 } else { 1 };
            assert_eq!(out.status.code(), Some(expected), "{command} {format}");
        }
    }
    // A wrong password: the registry's 401 is reported, the password is not.
    let wrong = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}-x"));
    fs::write(
        wrong.path().join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    for format in ["text", "json"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgpin"))
            .args(["pin", "-v", "--format", format])
            .current_dir(dir.path())
            .env("DOCKER_CONFIG", wrong.path())
            .env("SSL_CERT_FILE", reg.ca_file())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("401")
                || String::from_utf8_lossy(&out.stderr).contains("401")
        );
        assert_clean(&format!("wrong password, --format {format}"), &out);
        let all = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!all.contains(&auth), "the wrong auth leaked: {all}");
    }
}
