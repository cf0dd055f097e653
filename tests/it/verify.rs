//! `imgpin verify` against a real registry: deleted digests, moved tags
//! fixed by `pin --update --write`, pins that disagree, output formats.

use crate::cli::{assert_exit, text};
use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64};

#[test]
fn verify_flags_deleted_digests_and_moved_tags() {
    let reg = Registry::start_plain();
    let kept = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let gone = reg.push_image("shop/worker", "2.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  api:\n    image: {}\n  worker:\n    image: {}\n",
            reg.image("shop/api", "1.4"),
            reg.image("shop/worker", "2.0")
        ),
    )
    .unwrap();
    let out = run(&reg, &["pin", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&reg, &["verify"], dir.path());
    assert_exit(&out, 0);

    // Delete one pinned manifest: exactly that reference is flagged, exit 1.
    reg.delete_manifest("shop/worker", &gone);
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let worker = format!("{}@{gone}", reg.image("shop/worker", "2.0"));
    assert_eq!(
        text(&out.stdout),
        format!("compose.yaml:5:12: problem: {worker} — digest not found in registry (deleted?)\n")
    );
    let gh = run(&reg, &["verify", "--format", "github"], dir.path());
    assert_eq!(
        text(&gh.stdout),
        format!("::error file=compose.yaml,line=5,col=12::{worker} — digest not found in registry (deleted?)\n")
    );
    let json = run(&reg, &["verify", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let missing: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "digest-missing")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["reference"], worker.as_str());
    assert_eq!(missing[0]["line"], 5);
    assert_eq!(v["summary"]["missing"], 1);

    // Move the api tag: drift is a warning, a problem with --strict, fixed by pin --update.
    std::fs::write(
        &file,
        format!(
            "services:\n  api:\n    image: {}@{kept}\n",
            reg.image("shop/api", "1.4")
        ),
    )
    .unwrap();
    let moved = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    assert_ne!(moved, kept);
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "warning: {}@{kept}: tag 1.4 now points at {moved}",
            reg.image("shop/api", "1.4")
        )),
        "{}",
        text(&out.stderr)
    );
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = run(&reg, &["pin", "--update", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&format!("1.4@{moved}")));
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn verify_reports_disagreeing_pins_unpinned_refs_and_unreachable_registries() {
    let reg = Registry::start_plain();
    let a = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let b = reg.push_image("shop/api", "old", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let image = reg.image("shop/api", "1.4");
    std::fs::write(
        dir.path().join("staging.yaml"),
        format!("services:\n  api:\n    image: {image}@{a}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        format!("services:\n  api:\n    image: {image}@{b}\n  web:\n    image: nginx:1.27\n"),
    )
    .unwrap();
    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "is pinned to 2 different digests: prod.yaml:3:12 ({b}), staging.yaml:3:12 ({a})"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("prod.yaml:5:12: problem: nginx:1.27 is not pinned to a digest"),
        "{stdout}"
    );
    let pinned_only = run(&reg, &["verify", "--pinned-only"], dir.path());
    assert!(!text(&pinned_only.stdout).contains("nginx:1.27"));

    let dead = format!("127.0.0.1:{}", crate::support::proc::free_port());
    std::fs::write(
        dir.path().join("dead.yaml"),
        format!("services:\n  x:\n    image: {dead}/x:1@{a}\n"),
    )
    .unwrap();
    let out = run(&reg, &["verify", "--timeout", "3"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreachable registry is an error, not a missing digest"
    );
    assert!(
        text(&out.stderr).contains(&format!("cannot reach registry {dead}")),
        "{}",
        text(&out.stderr)
    );
}

/// Platform sanity against a real registry: a pin to one child of a
/// multi-arch index is a warning (not drift); an image that does not serve
/// the architecture a task definition or pod declares is a problem.
#[test]
fn verify_checks_declared_platforms_and_child_pins() {
    use crate::support::LINUX_ARM64;
    let reg = Registry::start_plain();
    let (index, children) = reg.push_oci_index("shop/multi", "1.0", &[LINUX_AMD64, LINUX_ARM64]);
    let (api_index, _) = reg.push_oci_index("shop/api", "1.0", &[LINUX_AMD64, LINUX_ARM64]);
    let amd64_only = reg.push_image("shop/x86", "1.0", LINUX_AMD64);
    let multi = reg.image("shop/multi", "1.0");
    let api = reg.image("shop/api", "1.0");
    let x86 = reg.image("shop/x86", "1.0");
    let dir = tempfile::tempdir().unwrap();
    // A pod pinned to the amd64 child, on arm64 nodes.
    std::fs::write(
        dir.path().join("pod.yaml"),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  nodeSelector:\n    kubernetes.io/arch: arm64\n  containers:\n    - name: p\n      image: {multi}@{}\n",
            children[0]
        ),
    )
    .unwrap();
    // Task definitions for ARM64: one on an amd64-only image, one on the index.
    let td = |image: &str| {
        format!(
            "{{\n  \"family\": \"api\",\n  \"runtimePlatform\": {{\"cpuArchitecture\": \"ARM64\", \"operatingSystemFamily\": \"LINUX\"}},\n  \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"{image}\"}}]\n}}\n"
        )
    };
    std::fs::write(
        dir.path().join("bad-td.json"),
        td(&format!("{x86}@{amd64_only}")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good-td.json"),
        td(&format!("{api}@{api_index}")),
    )
    .unwrap();

    // Fargate without a runtimePlatform runs linux/amd64: an arm64-only pin fails.
    let arm64_only = reg.push_image("shop/arm", "1.0", LINUX_ARM64);
    let arm = reg.image("shop/arm", "1.0");
    std::fs::write(
        dir.path().join("fargate-td.json"),
        format!(
            "{{\n  \"family\": \"api\",\n  \"requiresCompatibilities\": [\"FARGATE\"],\n  \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"{arm}@{arm64_only}\"}}]\n}}\n"
        ),
    )
    .unwrap();

    let out = run(&reg, &["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(
        stdout,
        format!(
            "bad-td.json:4:54: problem: {x86}@{amd64_only}: runtimePlatform.cpuArchitecture ARM64, runtimePlatform.operatingSystemFamily LINUX needs linux/arm64, but the pinned manifest serves only linux/amd64 (containers would fail with `exec format error`; pin a multi-arch index or a build for that platform)\n\
             fargate-td.json:4:54: problem: {arm}@{arm64_only}: requiresCompatibilities FARGATE (no runtimePlatform.cpuArchitecture: Fargate runs X86_64) needs linux/amd64, but the pinned manifest serves only linux/arm64/v8 (containers would fail with `exec format error`; pin a multi-arch index or a build for that platform)\n\
             pod.yaml:10:14: problem: {multi}@{}: nodeSelector kubernetes.io/arch=arm64 needs arm64, but the pinned manifest serves only linux/amd64 (containers would fail with `exec format error`; pin a multi-arch index or a build for that platform)\n",
            children[0]
        )
    );
    assert!(
        stderr.contains(&format!(
            "pod.yaml:10:14: warning: {multi}@{} is pinned to the linux/amd64 manifest of the multi-arch index tag 1.0 points at ({index})",
            children[0]
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("now points at"),
        "a child pin is not drift: {stderr}"
    );
    assert!(!stdout.contains("good-td.json") && !stderr.contains("good-td.json"));

    // `pin --update --write` replaces the child with the index: the pod is clean.
    std::fs::remove_file(dir.path().join("bad-td.json")).unwrap();
    std::fs::remove_file(dir.path().join("fargate-td.json")).unwrap();
    let out = run(&reg, &["pin", "--update", "--write"], dir.path());
    assert_exit(&out, 0);
    let pod = std::fs::read_to_string(dir.path().join("pod.yaml")).unwrap();
    assert!(pod.contains(&format!("{multi}@{index}")), "{pod}");
    let out = run(&reg, &["verify"], dir.path());
    assert_exit(&out, 0);
}

/// A pinned index whose child for the platform in use is gone (an ECR
/// rule on untagged images deletes an index's children): the index is
/// there, pulls on that platform fail. `verify` asks for that child.
#[test]
fn verify_finds_a_pinned_index_missing_the_child_its_platform_needs() {
    use crate::support::LINUX_ARM64;
    let reg = Registry::start_plain();
    let (index, children) = reg.push_oci_index("shop/multi", "1.0", &[LINUX_AMD64, LINUX_ARM64]);
    let multi = reg.image("shop/multi", "1.0");
    reg.delete_manifest("shop/multi", &children[1]);
    let dir = tempfile::tempdir().unwrap();
    let td = |arch: &str| {
        format!(
            "{{\n  \"family\": \"api\",\n  \"runtimePlatform\": {{\"cpuArchitecture\": \"{arch}\"}},\n  \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"{multi}@{index}\"}}]\n}}\n"
        )
    };
    std::fs::write(dir.path().join("arm-td.json"), td("ARM64")).unwrap();
    std::fs::write(dir.path().join("x86-td.json"), td("X86_64")).unwrap();
    let out = run(&reg, &["verify", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems: Vec<(String, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "problem")
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [(
            "platform-child-missing".to_owned(),
            "arm-td.json".to_owned(),
            format!(
                "{multi}@{index}: runtimePlatform.cpuArchitecture ARM64 needs linux/arm64/v8, and the pinned index lists manifest {} for it, which is gone from the registry: pulls there fail with `manifest unknown` although the index exists (a lifecycle rule on untagged images deletes an index's children; pin a new build with `imgpin pin --update --write`)",
                children[1]
            )
        )]
    );
    // One HEAD for the arm64 child only: amd64's is not asked for twice,
    // nothing is asked for a file that declares no platform.
    let log = reg.log();
    let child_heads = |digest: &str| {
        log.lines()
            .filter(|l| {
                l.starts_with("127.0.0.1 - -")
                    && l.ends_with(concat!("\"imgpin/", env!("CARGO_PKG_VERSION"), "\""))
            })
            .filter(|l| l.contains(&format!("\"HEAD /v2/shop/multi/manifests/{digest} ")))
            .count()
    };
    assert_eq!(child_heads(&children[1]), 1, "{log}");
    assert_eq!(child_heads(&children[0]), 1, "{log}");
}

/// Regression: `verify --platform linux/arm64` resolved each tag to its
/// arm64 child, so a pin to the index (what `pin` writes) read as a moved
/// tag and `--strict` failed a clean tree. Pins to the asked platform's
/// child are no warning either; without `--platform` they are.
#[test]
fn verify_platform_is_no_false_drift() {
    use crate::support::LINUX_ARM64;
    let reg = Registry::start_plain();
    let (index, children) = reg.push_oci_index("shop/multi", "1.0", &[LINUX_AMD64, LINUX_ARM64]);
    let multi = reg.image("shop/multi", "1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, format!("services:\n  a:\n    image: {multi}\n")).unwrap();
    assert_exit(&run(&reg, &["pin", "--write"], dir.path()), 0);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&format!("{multi}@{index}")));
    let out = run(
        &reg,
        &["verify", "--strict", "--platform", "linux/arm64"],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        &reg,
        &["pin", "--update", "--write", "--platform", "linux/arm64"],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&format!("{multi}@{}", children[1])));
    let out = run(
        &reg,
        &["verify", "--strict", "--platform", "linux/arm64"],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr)
            .contains("is pinned to the linux/arm64/v8 manifest of the multi-arch index"),
        "{}",
        text(&out.stderr)
    );
}

/// Each pinned digest is checked once and each tag resolved once, however
/// it is spelled (`name@d`, `name:tag@d`, in several files): counted in the
/// registry's own access log.
#[test]
fn verify_asks_the_registry_once_per_digest_and_per_tag() {
    let reg = Registry::start_plain();
    let digest = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let api = reg.image("shop/api", "1.4");
    let bare = format!("{}/shop/api", reg.host());
    let dir = tempfile::tempdir().unwrap();
    for (name, image) in [
        ("a.yaml", format!("{api}@{digest}")),
        ("b.yaml", format!("{bare}@{digest}")),
        ("c.yaml", format!("{api}@{digest}")),
    ] {
        std::fs::write(
            dir.path().join(name),
            format!("services:\n  api:\n    image: {image}\n"),
        )
        .unwrap();
    }
    let out = run(&reg, &["verify", "--strict"], dir.path());
    assert_exit(&out, 0);
    let log = reg.log();
    // The access-log lines of imgpin's requests.
    let count = |needle: &str| {
        log.lines()
            .filter(|l| {
                l.starts_with("127.0.0.1 - -")
                    && l.ends_with(concat!("\"imgpin/", env!("CARGO_PKG_VERSION"), "\""))
            })
            .filter(|l| l.contains(needle))
            .count()
    };
    assert_eq!(
        count(&format!("\"HEAD /v2/shop/api/manifests/{digest} ")),
        1,
        "{log}"
    );
    assert_eq!(count("\"HEAD /v2/shop/api/manifests/1.4 "), 1, "{log}");
    assert_eq!(count("/manifests/"), 2, "nothing else is read: {log}");
}

/// `kubectl get pods -A -o json` as `--in-use`: the digest each node
/// pulled must still exist; a deleted one names the pod and container.
#[test]
fn verify_checks_the_digests_kubectl_pods_run() {
    let reg = Registry::start_plain();
    let kept = reg.push_image("shop/api", "1.4", LINUX_AMD64);
    let gone = reg.push_image("shop/worker", "2.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let status = |name: &str, repo: &str, tag: &str, digest: &str| {
        format!(
            r#"{{"name": "{name}", "image": "{}", "imageID": "{}/{repo}@{digest}"}}"#,
            reg.image(repo, tag),
            reg.host()
        )
    };
    let pods = format!(
        r#"{{"apiVersion": "v1", "kind": "List", "items": [{{"kind": "Pod",
            "metadata": {{"name": "shop-7d9", "namespace": "prod"}},
            "status": {{"containerStatuses": [{}, {}]}}}}]}}"#,
        status("api", "shop/api", "1.4", &kept),
        status("worker", "shop/worker", "2.0", &gone)
    );
    std::fs::write(dir.path().join("pods.json"), pods).unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = run(
        &reg,
        &["verify", "empty", "--in-use", "pods.json"],
        dir.path(),
    );
    assert_exit(&out, 0);
    reg.delete_manifest("shop/worker", &gone);
    let out = run(
        &reg,
        &["verify", "empty", "--in-use", "pods.json"],
        dir.path(),
    );
    assert_exit(&out, 1);
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        shown.contains("pod prod/shop-7d9 container worker (kubectl)") && shown.contains(&gone),
        "{shown}"
    );
    assert!(!shown.contains("container api"), "{shown}");
}
