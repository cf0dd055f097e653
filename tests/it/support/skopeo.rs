//! `skopeo` as an independent witness of what a tag points at.
//!
//! `skopeo inspect` (without `--raw`) resolves an index or manifest list to
//! the child for the host's platform, and fails when no child matches; its
//! `{{.Digest}}` is the digest of the top-level manifest. To get the digest
//! of exactly what the tag points at, whatever the platforms, the helper
//! takes `skopeo inspect --raw` and hashes the bytes itself.

use std::path::Path;
use std::process::Command;

use super::images::sha256_digest;
use super::proc::require_program;

/// The digest (`sha256:…`) of the manifest `image_ref` (`HOST/REPO:TAG` or
/// `HOST/REPO@DIGEST`, with or without `docker://`) points at, as skopeo
/// sees it: sha256 of `skopeo inspect --raw`.
///
/// `ca`: the CA file for an HTTPS registry; `None` means plain HTTP
/// (`--tls-verify=false`). `creds`: `--creds user:password`, else
/// `--no-creds` so no credential file of the developer is used.
pub fn skopeo_digest(image_ref: &str, ca: Option<&Path>, creds: Option<(&str, &str)>) -> String {
    let raw = skopeo_inspect(image_ref, ca, creds, &["--raw"]);
    sha256_digest(&raw)
}

/// Runs `skopeo inspect EXTRA… docker://IMAGE_REF` with the same TLS and
/// credential options as [`skopeo_digest`] and returns its stdout.
pub fn skopeo_inspect(
    image_ref: &str,
    ca: Option<&Path>,
    creds: Option<(&str, &str)>,
    extra: &[&str],
) -> Vec<u8> {
    require_program("skopeo");
    let reference = if image_ref.starts_with("docker://") {
        image_ref.to_owned()
    } else {
        format!("docker://{image_ref}")
    };
    // `--cert-dir` reads every *.crt in a directory as a CA: give skopeo a
    // directory holding only this CA.
    let cert_dir = tempfile::tempdir().expect("create skopeo cert dir");
    let mut command = Command::new("skopeo");
    command.arg("inspect").args(extra);
    match ca {
        Some(ca) => {
            std::fs::copy(ca, cert_dir.path().join("ca.crt")).expect("copy CA for skopeo");
            command.arg("--cert-dir").arg(cert_dir.path());
        }
        None => {
            command.arg("--tls-verify=false");
        }
    }
    match creds {
        Some((user, password)) => command.arg("--creds").arg(format!("{user}:{password}")),
        None => command.arg("--no-creds"),
    };
    command.arg(&reference);
    // No registry mirror or auth file from the developer's environment.
    command.env_remove("REGISTRY_AUTH_FILE");
    let output = command.output().expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo inspect {extra:?} {reference} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
