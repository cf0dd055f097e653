//! A throwaway certificate authority and a server certificate it signs, made
//! with the `openssl` command.
//!
//! Rule: never use a self-signed certificate as the server's own: rustls
//! (webpki) rejects a CA certificate used as an end-entity certificate. The
//! server certificate names `IP:127.0.0.1` and `DNS:localhost`, plus any
//! extra DNS names given to [`make_ca_and_server_cert_for`].

use std::path::{Path, PathBuf};
use std::process::Command;

use super::proc::require_program;

/// Paths of the PEM files made by [`make_ca_and_server_cert`].
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate: what clients must trust.
    pub ca_cert: PathBuf,
    /// The server certificate, signed by the CA.
    pub server_cert: PathBuf,
    /// The server's private key (PKCS#8, P-256).
    pub server_key: PathBuf,
}

/// Makes a CA and a server certificate for 127.0.0.1/localhost in `dir`
/// (which must exist). The CA certificate is alone in `dir/ca/`, so that
/// directory can serve as a trust directory.
pub fn make_ca_and_server_cert(dir: &Path) -> TlsFiles {
    make_ca_and_server_cert_for(dir, &[])
}

/// Like [`make_ca_and_server_cert`], with `extra_dns_names` added to the
/// server certificate's subjectAltName (e.g. an ECR host name that a test
/// maps to 127.0.0.1).
pub fn make_ca_and_server_cert_for(dir: &Path, extra_dns_names: &[&str]) -> TlsFiles {
    require_program("openssl");
    let mut san = String::from("IP:127.0.0.1,DNS:localhost");
    for name in extra_dns_names {
        assert!(
            !name.is_empty() && !name.contains([',', '\n', ':']),
            "bad DNS name for a certificate: {name:?}"
        );
        san.push_str(",DNS:");
        san.push_str(name);
    }
    let ca_dir = dir.join("ca");
    std::fs::create_dir_all(&ca_dir).expect("create CA dir");
    let files = TlsFiles {
        ca_cert: ca_dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
    };
    let ca_key = dir.join("ca.key");
    let csr = dir.join("server.csr");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        format!(
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName={san}\n\
             subjectKeyIdentifier=hash\n\
             authorityKeyIdentifier=keyid\n"
        ),
    )
    .expect("write openssl extension file");

    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509", "-new"][..],
            &ec[..],
            &["-days", "3", "-subj", "/CN=imgpin test CA"],
        ]
        .concat(),
        &[
            "-keyout",
            path_str(&ca_key),
            "-out",
            path_str(&files.ca_cert),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[&["req", "-new"][..], &ec[..], &["-subj", "/CN=localhost"]].concat(),
        &[
            "-keyout",
            path_str(&files.server_key),
            "-out",
            path_str(&csr),
        ],
    );
    openssl(
        dir,
        &["x509", "-req", "-days", "3", "-CAcreateserial"],
        &[
            "-in",
            path_str(&csr),
            "-CA",
            path_str(&files.ca_cert),
            "-CAkey",
            path_str(&ca_key),
            "-out",
            path_str(&files.server_cert),
            "-extfile",
            path_str(&ext),
        ],
    );
    files
}

fn openssl(dir: &Path, args: &[&str], more: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .args(more)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {} {} failed ({}):\n{}",
        args.join(" "),
        more.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
