//! Credential lookup tests: config files, credential helpers (shell scripts in
//! a temporary directory), precedence, caching and redaction.

use super::*;

/// A temp dir holding `config.json` with `json`.
fn config(json: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.json"), json).expect("write config");
    dir
}

/// A store over `json`, with an empty helper search path.
fn store(dir: &tempfile::TempDir) -> CredentialStore {
    CredentialStore::from_dir(dir.path())
        .expect("config parses")
        .with_helper_path(Vec::new())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn basic(user: &str, password: &str) -> Credential {
    Credential::Basic {
        username: user.to_owned(),
        password: password.to_owned(),
    }
}

#[test]
fn base64_auth_gives_basic_split_at_first_colon() {
    let dir = config(&format!(
        r#"{{"auths": {{"ghcr.io": {{"auth": "{}"}}}}, "psFormat": 7}}"#,
        b64("octocat:pa:ss")
    ));
    let store = store(&dir);
    assert_eq!(
        store.lookup("ghcr.io").unwrap(),
        Some(basic("octocat", "pa:ss"))
    );
    assert_eq!(store.lookup("quay.io").unwrap(), None);
    assert_eq!(
        store.source_of("ghcr.io"),
        Some(format!(
            "auths in {}",
            dir.path().join("config.json").display()
        ))
    );
    assert_eq!(store.source_of("quay.io"), None);
    assert_eq!(
        store.config_path(),
        Some(dir.path().join("config.json").as_path())
    );
}

#[test]
fn unpadded_base64_auth_is_accepted() {
    // "u:pw" is "dTpwdw==" padded.
    let dir = config(r#"{"auths": {"ghcr.io": {"auth": "dTpwdw"}}}"#);
    assert_eq!(
        store(&dir).lookup("ghcr.io").unwrap(),
        Some(basic("u", "pw"))
    );
}

#[test]
fn username_and_password_fields_give_basic() {
    let dir = config(r#"{"auths": {"quay.io": {"username": "robot", "password": "s3cret"}}}"#);
    assert_eq!(
        store(&dir).lookup("quay.io").unwrap(),
        Some(basic("robot", "s3cret"))
    );
}

#[test]
fn identitytoken_is_its_own_variant_with_the_auth_username() {
    let dir = config(&format!(
        r#"{{"auths": {{
            "acr.azurecr.io": {{"auth": "{}", "identitytoken": "refresh-tok"}},
            "bare.example": {{"identitytoken": "tok2"}}
        }}}}"#,
        b64("00000000-0000-0000-0000-000000000000:")
    ));
    let store = store(&dir);
    assert_eq!(
        store.lookup("acr.azurecr.io").unwrap(),
        Some(Credential::IdentityToken {
            username: Some("00000000-0000-0000-0000-000000000000".to_owned()),
            token: "refresh-tok".to_owned(),
        })
    );
    assert_eq!(
        store.lookup("bare.example").unwrap(),
        Some(Credential::IdentityToken {
            username: None,
            token: "tok2".to_owned()
        })
    );
}

#[test]
fn registrytoken_gives_bearer() {
    let dir =
        config(r#"{"auths": {"reg.example": {"registrytoken": "bear", "identitytoken": "x"}}}"#);
    assert_eq!(
        store(&dir).lookup("reg.example").unwrap(),
        Some(Credential::Bearer("bear".to_owned()))
    );
}

#[test]
fn docker_hub_legacy_key_matches_every_hub_host() {
    let dir = config(&format!(
        r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
        b64("hubuser:hubpw")
    ));
    let store = store(&dir);
    for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
        assert_eq!(
            store.lookup(host).unwrap(),
            Some(basic("hubuser", "hubpw")),
            "{host}"
        );
    }
    assert_eq!(store.lookup("ghcr.io").unwrap(), None);
}

#[test]
fn hub_alias_keys_and_legacy_key_preferred() {
    let dir = config(&format!(
        r#"{{"auths": {{"docker.io": {{"auth": "{}"}}, "https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
        b64("alias:pw"),
        b64("legacy:pw")
    ));
    assert_eq!(
        store(&dir).lookup("docker.io").unwrap(),
        Some(basic("legacy", "pw"))
    );
    let dir = config(&format!(
        r#"{{"auths": {{"registry-1.docker.io": {{"auth": "{}"}}}}}}"#,
        b64("alias:pw")
    ));
    assert_eq!(
        store(&dir).lookup("docker.io").unwrap(),
        Some(basic("alias", "pw"))
    );
}

#[test]
fn url_keys_match_their_host() {
    let dir = config(&format!(
        r#"{{"auths": {{
            "https://registry.example.com/": {{"auth": "{}"}},
            "http://insecure.example": {{"username": "i", "password": "ipw"}},
            "https://Upper.Example/v2/": {{"username": "up", "password": "uppw"}}
        }}}}"#,
        b64("r:rpw")
    ));
    let store = store(&dir);
    assert_eq!(
        store.lookup("registry.example.com").unwrap(),
        Some(basic("r", "rpw"))
    );
    assert_eq!(
        store.lookup("insecure.example").unwrap(),
        Some(basic("i", "ipw"))
    );
    assert_eq!(
        store.lookup("upper.example").unwrap(),
        Some(basic("up", "uppw"))
    );
}

#[test]
fn host_port_keys_match_only_that_port() {
    let dir = config(&format!(
        r#"{{"auths": {{
            "127.0.0.1:5000": {{"auth": "{}"}},
            "https://localhost:5443": {{"auth": "{}"}}
        }}}}"#,
        b64("a:apw"),
        b64("b:bpw")
    ));
    let store = store(&dir);
    assert_eq!(
        store.lookup("127.0.0.1:5000").unwrap(),
        Some(basic("a", "apw"))
    );
    assert_eq!(store.lookup("127.0.0.1").unwrap(), None);
    assert_eq!(store.lookup("127.0.0.1:5001").unwrap(), None);
    assert_eq!(
        store.lookup("localhost:5443").unwrap(),
        Some(basic("b", "bpw"))
    );
    assert_eq!(store.lookup("localhost").unwrap(), None);
}

#[test]
fn empty_entries_are_skipped_for_a_matching_alias() {
    // Docker Desktop leaves empty entries in auths; a real one under
    // another spelling of the host still counts.
    let dir = config(
        r#"{"auths": {"ghcr.io": {}, "https://ghcr.io": {"username": "u", "password": "p"}, "x.io": null}}"#,
    );
    let store = store(&dir);
    assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("u", "p")));
    assert_eq!(store.lookup("x.io").unwrap(), None);
}

#[test]
fn bad_base64_is_an_error_naming_the_key_not_the_secret() {
    let dir = config(r#"{"auths": {"ghcr.io": {"auth": "!!TOPSECRET!!"}}}"#);
    let err = store(&dir).lookup("ghcr.io").unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, CredentialError::InvalidAuth { .. }),
        "{err:?}"
    );
    assert!(text.contains("\"ghcr.io\""), "{text}");
    assert!(text.contains("config.json"), "{text}");
    assert!(!text.contains("TOPSECRET"), "{text}");
    assert!(!format!("{err:?}").contains("TOPSECRET"));
}

#[test]
fn auth_without_colon_or_user_is_an_error_without_the_secret() {
    let dir = config(&format!(
        r#"{{"auths": {{"a.io": {{"auth": "{}"}}, "b.io": {{"auth": "{}"}}}}}}"#,
        b64("TOPSECRETnocolon"),
        b64(":TOPSECRETpw")
    ));
    let store = store(&dir);
    for host in ["a.io", "b.io"] {
        let err = store.lookup(host).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(host), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(!text.contains(&b64("TOPSECRETnocolon")), "{text}");
    }
}

#[test]
fn malformed_json_names_the_file_and_line_col() {
    let dir = config("{\n  \"auths\": {\n    \"ghcr.io\": {\"auth\": \"abc\",}\n  }\n}\n");
    let err = CredentialStore::from_dir(dir.path()).unwrap_err();
    let text = err.to_string();
    let path = dir.path().join("config.json");
    assert!(
        text.starts_with(&format!("{}:3:", path.display())),
        "{text}"
    );
    assert!(
        matches!(err, CredentialError::ParseConfig { line: 3, .. }),
        "{err:?}"
    );
    assert!(!text.contains("at line"), "{text}");
}

#[test]
fn wrong_types_are_errors_that_do_not_quote_values() {
    for json in [
        r#"{"auths": {"ghcr.io": "TOPSECRET"}}"#,
        r#"{"auths": {"ghcr.io": {"password": ["TOPSECRET"]}}}"#,
        r#"{"auths": ["TOPSECRET"]}"#,
        r#"{"credsStore": {"TOPSECRET": 1}}"#,
        r#"["TOPSECRET"]"#,
    ] {
        let dir = config(json);
        let err = CredentialStore::from_dir(dir.path()).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            matches!(err, CredentialError::ConfigShape { .. }),
            "{json}: {text}"
        );
        assert!(text.contains("config.json"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{json}: {text}");
    }
}

#[test]
fn missing_or_empty_file_means_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::from_dir(dir.path()).unwrap();
    assert_eq!(store.lookup("docker.io").unwrap(), None);
    assert_eq!(store.config_path(), None);
    let store = CredentialStore::from_dir(&dir.path().join("no/such/dir")).unwrap();
    assert_eq!(store.lookup("ghcr.io").unwrap(), None);

    let dir = config("\u{feff}  \n");
    let store = CredentialStore::from_dir(dir.path()).unwrap();
    assert_eq!(store.lookup("ghcr.io").unwrap(), None);
    assert!(store.config_path().is_some());

    let store = CredentialStore::empty();
    assert_eq!(store.lookup("ghcr.io").unwrap(), None);
    assert_eq!(store.source_of("ghcr.io"), None);
    assert_eq!(store.config_path(), None);
}

#[test]
fn unreadable_config_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config.json")).unwrap();
    let err = CredentialStore::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, CredentialError::ReadConfig { .. }), "{err:?}");
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn config_dir_prefers_docker_config_then_home() {
    let some = |s: &str| Some(OsString::from(s));
    assert_eq!(
        config_dir_from(some("/dc"), some("/home/u")),
        Some(PathBuf::from("/dc"))
    );
    assert_eq!(
        config_dir_from(some(""), some("/home/u")),
        Some(PathBuf::from("/home/u/.docker"))
    );
    assert_eq!(
        config_dir_from(None, some("/home/u")),
        Some(PathBuf::from("/home/u/.docker"))
    );
    assert_eq!(config_dir_from(None, None), None);
    assert_eq!(config_dir_from(None, some("")), None);
}

#[test]
fn odd_registry_names_do_not_panic() {
    let dir =
        config(r#"{"auths": {"": {"username": "u"}, "://": {}, "@": {}, "é": {"username": "e"}}}"#);
    let store = store(&dir);
    for name in [
        "",
        " ",
        "://",
        "/",
        "@",
        "a@b@c",
        "é",
        "https://",
        "\0",
        "x:99999999999",
    ] {
        let _ = store.lookup(name);
        let _ = store.source_of(name);
    }
    assert_eq!(store.lookup("").unwrap(), None);
}

#[test]
fn debug_and_display_redact_secrets() {
    let cred = basic("u", "TOPSECRET");
    assert_eq!(
        format!("{cred:?}"),
        r#"Credential::Basic { username: "u", password: "<redacted>" }"#
    );
    let all = [
        cred,
        Credential::IdentityToken {
            username: Some("u".to_owned()),
            token: "TOPSECRET".to_owned(),
        },
        Credential::IdentityToken {
            username: None,
            token: "TOPSECRET".to_owned(),
        },
        Credential::Bearer("TOPSECRET".to_owned()),
    ];
    for c in &all {
        for text in [format!("{c:?}"), format!("{c:#?}"), c.to_string()] {
            assert!(!text.contains("TOPSECRET"), "{text}");
        }
    }
    assert_eq!(
        format!("{:?}", all[3]),
        r#"Credential::Bearer("<redacted>")"#
    );

    let dir = config(&format!(
        r#"{{"auths": {{"ghcr.io": {{"auth": "{}", "password": "TOPSECRET2", "identitytoken": "TOPSECRET3"}}}}}}"#,
        b64("u:TOPSECRET")
    ));
    let store = store(&dir);
    let found = store.lookup("ghcr.io").unwrap();
    let text = format!("{store:?} {found:?} {:?}", store.resolve("ghcr.io"));
    assert!(!text.contains("TOPSECRET"), "{text}");
    assert!(!text.contains(&b64("u:TOPSECRET")), "{text}");
    assert!(text.contains("ghcr.io"), "{text}");
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CredentialStore>();
    assert_send_sync::<CredentialError>();
    assert_send_sync::<Credential>();
}

/// Credential helper tests: small shell scripts on an injected search
/// path (the process PATH is never touched).
#[cfg(unix)]
mod helpers {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// Writes `docker-credential-<name>` with `body` into `dir`.
    fn helper(dir: &Path, name: &str, body: &str) {
        let path = dir.join(format!("{HELPER_PREFIX}{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A fake helper that logs its stdin to `log`, answers for ghcr.io
    /// and the Hub, says "not found" otherwise.
    const FAKE: &str = r#"
read -r url
printf '%s\n' "$url" >> "$(dirname "$0")/log"
case "$url" in
  ghcr.io) printf '{"ServerURL":"%s","Username":"helperuser","Secret":"TOPSECRET-helper"}\n' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"TOPSECRET-tok"}' "$url" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#;

    fn store_with(json: &str, helpers: &[(&str, &str)]) -> (tempfile::TempDir, CredentialStore) {
        let dir = config(json);
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for (name, body) in helpers {
            helper(&bin, name, body);
        }
        let store = CredentialStore::from_dir(dir.path())
            .unwrap()
            .with_helper_path(vec![
                dir.path().join("empty"),
                PathBuf::from("relative"),
                bin,
            ]);
        (dir, store)
    }

    fn log(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("bin/log")).unwrap_or_default()
    }

    #[test]
    fn creds_store_success_gives_basic_and_source() {
        let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
        assert_eq!(
            store.lookup("ghcr.io").unwrap(),
            Some(basic("helperuser", "TOPSECRET-helper"))
        );
        assert_eq!(
            store.source_of("ghcr.io").as_deref(),
            Some("credential helper fake")
        );
        assert_eq!(log(&dir), "ghcr.io\n");
    }

    #[test]
    fn token_username_gives_identity_token_and_hub_uses_legacy_url() {
        let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
        assert_eq!(
            store.lookup("docker.io").unwrap(),
            Some(Credential::IdentityToken {
                username: None,
                token: "TOPSECRET-tok".to_owned()
            })
        );
        assert_eq!(log(&dir), "https://index.docker.io/v1/\n");
    }

    #[test]
    fn not_found_falls_back_to_auths_or_none() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "fake", "auths": {"quay.io": {"username": "fileuser", "password": "filepw"}, "gcr.io": {}}}"#,
            &[("fake", FAKE)],
        );
        assert_eq!(
            store.lookup("quay.io").unwrap(),
            Some(basic("fileuser", "filepw"))
        );
        assert!(store.source_of("quay.io").unwrap().starts_with("auths in "));
        assert_eq!(store.lookup("gcr.io").unwrap(), None);
        assert_eq!(store.lookup("nothing.example").unwrap(), None);
    }

    #[test]
    fn helper_failure_is_an_error_with_stderr_never_the_secret() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "broken", "auths": {"ghcr.io": {"username": "u", "password": "TOPSECRET-file"}}}"#,
            &[("broken", "cat >/dev/null\necho '  token expired, run aws sso login  ' >&2\necho '{\"Secret\":\"TOPSECRET-out\"}'\nexit 3")],
        );
        let err = store.lookup("ghcr.io").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            matches!(err, CredentialError::HelperFailed { .. }),
            "{text}"
        );
        assert!(
            err.to_string()
                .ends_with(": token expired, run aws sso login"),
            "{text}"
        );
        assert!(text.contains("docker-credential-broken"), "{text}");
        assert!(text.contains("ghcr.io"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
    }

    #[test]
    fn helper_error_on_stdout_is_reported_when_stderr_is_empty() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "so"}"#,
            &[("so", "echo 'keychain locked'\nexit 1")],
        );
        let err = store.lookup("ghcr.io").unwrap_err();
        assert!(err.to_string().ends_with(": keychain locked"), "{err}");
    }

    #[test]
    fn invalid_helper_output_is_an_error_without_the_output() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "junk"}"#,
            &[("junk", "echo 'Secret: TOPSECRET-junk'")],
        );
        let err = store.lookup("ghcr.io").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            matches!(err, CredentialError::HelperOutput { .. }),
            "{text}"
        );
        assert!(!text.contains("TOPSECRET"), "{text}");
    }

    #[test]
    fn missing_helper_is_an_error_naming_it_and_the_config() {
        let (dir, store) = store_with(r#"{"credsStore": "desktop"}"#, &[]);
        let err = store.lookup("ghcr.io").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "credential helper docker-credential-desktop not found on PATH (configured in credsStore of {})",
                dir.path().join("config.json").display()
            )
        );
        let (_dir, store) = store_with(r#"{"credHelpers": {"ghcr.io": "gone"}}"#, &[]);
        let err = store.lookup("ghcr.io").unwrap_err();
        assert!(
            err.to_string().contains("(configured in credHelpers of "),
            "{err}"
        );
        // Not executable: not a helper.
        let (dir, store) = store_with(r#"{"credsStore": "noexec"}"#, &[]);
        let path = dir.path().join("bin/docker-credential-noexec");
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            store.lookup("ghcr.io"),
            Err(CredentialError::HelperNotFound { .. })
        ));
    }

    #[test]
    fn helper_name_with_a_path_separator_is_rejected() {
        let (_dir, store) = store_with(r#"{"credsStore": "../../bin/sh"}"#, &[]);
        let err = store.lookup("ghcr.io").unwrap_err();
        assert!(
            matches!(err, CredentialError::InvalidHelperName { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn cred_helpers_beat_creds_store_and_empty_means_the_file() {
        let other = r#"cat >/dev/null; printf '{"Username":"store","Secret":"s"}'"#;
        let (_dir, store) = store_with(
            r#"{"credsStore": "other", "credHelpers": {"ghcr.io": "fake", "https://quay.io": "fake", "gcr.io": ""},
                "auths": {"gcr.io": {"username": "fileuser", "password": "p"}}}"#,
            &[("fake", FAKE), ("other", other)],
        );
        assert_eq!(
            store.lookup("ghcr.io").unwrap(),
            Some(basic("helperuser", "TOPSECRET-helper"))
        );
        assert_eq!(
            store.source_of("ghcr.io").as_deref(),
            Some("credential helper fake")
        );
        // quay.io's per-host helper has no entry: the file, not credsStore.
        assert_eq!(store.lookup("quay.io").unwrap(), None);
        assert_eq!(
            store.lookup("gcr.io").unwrap(),
            Some(basic("fileuser", "p"))
        );
        assert_eq!(
            store.lookup("elsewhere.io").unwrap(),
            Some(basic("store", "s"))
        );
        assert_eq!(
            store.source_of("elsewhere.io").as_deref(),
            Some("credential helper other")
        );
    }

    #[test]
    fn each_host_is_looked_up_once() {
        let (dir, store) = store_with(r#"{"credsStore": "fake"}"#, &[("fake", FAKE)]);
        let store = Arc::new(store);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    for _ in 0..3 {
                        assert!(store.lookup("ghcr.io").unwrap().is_some());
                        assert!(store.lookup("none.example").unwrap().is_none());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut lines: Vec<_> = log(&dir).lines().map(str::to_owned).collect();
        lines.sort();
        assert_eq!(lines, ["ghcr.io", "none.example"]);
    }

    #[test]
    fn slow_helper_is_killed_after_the_timeout() {
        let (_dir, store) = store_with(r#"{"credsStore": "slow"}"#, &[("slow", "exec sleep 10")]);
        let store = store.with_helper_timeout(Duration::from_millis(200));
        let started = Instant::now();
        let err = store.lookup("ghcr.io").unwrap_err();
        assert!(
            matches!(err, CredentialError::HelperTimeout { .. }),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("within 200ms"), "{err}");
    }

    #[test]
    fn helper_leaving_a_background_process_is_neither_waited_for_nor_lost() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "linger"}"#,
            &[(
                "linger",
                r#"sleep 5 &
printf '{"Username":"u","Secret":"s"}'"#,
            )],
        );
        let store = store.with_helper_timeout(Duration::from_secs(4));
        let started = Instant::now();
        assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("u", "s")));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn helper_that_ignores_stdin_and_prints_nothing_gives_none() {
        let (_dir, store) = store_with(
            r#"{"credsStore": "quiet", "auths": {"ghcr.io": {"username": "f", "password": "p"}}}"#,
            &[("quiet", r#"printf '{"Username":"","Secret":""}'"#)],
        );
        assert_eq!(store.lookup("ghcr.io").unwrap(), Some(basic("f", "p")));
    }
}
