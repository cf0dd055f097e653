//! `imgpin pin` against a real registry (Debian's docker-registry): the
//! digests it writes equal what the registry and skopeo say, for every kind
//! of manifest; TLS with basic auth through DOCKER_CONFIG; failures.

use crate::cli::{assert_exit, text};
use crate::support::{skopeo_digest, Registry, LINUX_AMD64, LINUX_ARM64, LINUX_ARM_V7};
use std::path::Path;
use std::process::{Command, Output};

/// Run the binary with the environment that reaches `registry`.
pub fn run(registry: &Registry, args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("SSL_CERT_FILE");
    for (k, v) in registry.env() {
        cmd.env(k, v);
    }
    cmd.output().expect("run imgpin")
}

fn compose(images: &[(&str, String)]) -> String {
    let mut s = String::from("# deployed by CI\nservices:\n");
    for (name, image) in images {
        s.push_str(&format!(
            "  {name}:\n    image: {image}   # keep this comment\n"
        ));
    }
    s
}

#[test]
fn pins_every_manifest_kind_to_the_registry_digest() {
    let reg = Registry::start_plain();
    let single = reg.push_image("app/single", "1.0", LINUX_AMD64);
    let docker = reg.push_docker_v2("app/docker", "2", LINUX_AMD64);
    let (index, _) = reg.push_oci_index("app/multi", "3.20", &[LINUX_AMD64, LINUX_ARM64]);
    let (list, _) =
        reg.push_docker_manifest_list("app/list", "stable", &[LINUX_AMD64, LINUX_ARM_V7]);
    reg.tag_existing("app/single", &single, "latest");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let host = reg.host();
    let original = compose(&[
        ("single", reg.image("app/single", "1.0")),
        ("docker", reg.image("app/docker", "2")),
        ("multi", reg.image("app/multi", "3.20")),
        ("list", reg.image("app/list", "stable")),
        ("untagged", format!("{host}/app/single")),
        ("again", reg.image("app/single", "1.0")),
    ]);
    std::fs::write(&file, &original).unwrap();

    // Diff mode: exit 0, a diff on stdout, nothing written.
    let out = run(&reg, &["pin"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.starts_with("--- a/compose.yaml\n+++ b/compose.yaml\n"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(
        text(&out.stderr).contains("6 references, 6 pinned"),
        "{}",
        text(&out.stderr)
    );

    // --check: exit 1, nothing written.
    let out = run(&reg, &["pin", "--check"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);

    // --write: the expected bytes exactly.
    let out = run(&reg, &["pin", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = compose(&[
        (
            "single",
            format!("{}@{single}", reg.image("app/single", "1.0")),
        ),
        (
            "docker",
            format!("{}@{docker}", reg.image("app/docker", "2")),
        ),
        (
            "multi",
            format!("{}@{index}", reg.image("app/multi", "3.20")),
        ),
        (
            "list",
            format!("{}@{list}", reg.image("app/list", "stable")),
        ),
        ("untagged", format!("{host}/app/single:latest@{single}")),
        (
            "again",
            format!("{}@{single}", reg.image("app/single", "1.0")),
        ),
    ]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);

    // The cross-check: skopeo sees the same digests.
    assert_eq!(reg.skopeo_digest("app/multi:3.20"), index);
    assert_eq!(reg.skopeo_digest("app/list:stable"), list);
    assert_eq!(reg.skopeo_digest("app/single:1.0"), single);
    assert_eq!(
        skopeo_digest(&reg.image("app/docker", "2"), None, None),
        docker
    );

    // Idempotence: a second run has nothing to do.
    let out = run(&reg, &["pin", "--check"], dir.path());
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn platform_pins_the_child_manifest() {
    let reg = Registry::start_plain();
    let (_, children) = reg.push_oci_index("app/multi", "1", &[LINUX_AMD64, LINUX_ARM64]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pod.yaml");
    let original = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n    - name: a\n      image: \"{}\"\n",
        reg.image("app/multi", "1")
    );
    std::fs::write(&file, &original).unwrap();
    let out = run(
        &reg,
        &["pin", "--write", "--platform", "linux/arm64"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pinned = std::fs::read_to_string(&file).unwrap();
    assert!(
        pinned.contains(&format!("app/multi:1@{}\"", children[1])),
        "{pinned}"
    );

    let out = run(
        &reg,
        &["pin", "--update", "--platform", "windows/amd64"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "the index has no windows/amd64 manifest (it has: linux/amd64, linux/arm64/v8)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn missing_tag_is_an_error_naming_the_registry_answer_and_the_file_is_untouched() {
    let reg = Registry::start_plain();
    reg.push_image("app/api", "1.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad/task-definition.json");
    let good = dir.path().join("good/compose.yaml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::create_dir_all(good.parent().unwrap()).unwrap();
    let task = format!(
        "{{\n  \"family\": \"api\",\n  \"containerDefinitions\": [\n    {{\"name\": \"api\", \"image\": \"{}\"}}\n  ]\n}}\n",
        reg.image("app/api", "9.9")
    );
    std::fs::write(&bad, &task).unwrap();
    std::fs::write(&good, compose(&[("api", reg.image("app/api", "1.0"))])).unwrap();

    let out = run(&reg, &["pin", "--write"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let expected = format!(
        "bad/task-definition.json:4:31: error: {}: registry {} answered MANIFEST_UNKNOWN (manifest unknown)",
        reg.image("app/api", "9.9"),
        reg.host()
    );
    assert!(err.contains(&expected), "{err}");
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        task,
        "failed file must be untouched"
    );
    assert!(
        std::fs::read_to_string(&good).unwrap().contains("@sha256:"),
        "other files are still pinned"
    );
}

#[test]
fn unknown_repository_and_unreachable_registry_are_errors() {
    let reg = Registry::start_plain();
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", crate::support::proc::free_port());
    std::fs::write(
        dir.path().join("compose.yaml"),
        compose(&[
            ("a", reg.image("nope/nope", "1")),
            ("b", format!("{dead}/x:1")),
        ]),
    )
    .unwrap();
    let out = run(&reg, &["pin", "--timeout", "5"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("nope/nope:1: registry"), "{err}");
    assert!(
        err.contains(&format!("{dead}/x:1: cannot reach registry {dead}")),
        "{err}"
    );
}

#[test]
fn tls_registry_with_basic_auth_from_docker_config() {
    let password = "s3cret-pa55word";
    let reg = Registry::start_tls_auth("ci", password);
    let digest = reg.push_image("team/api", "1.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, compose(&[("api", reg.image("team/api", "1.0"))])).unwrap();

    // CA through SSL_CERT_FILE (Registry::env), credentials through DOCKER_CONFIG.
    let out = run(&reg, &["pin", "--check", "-v"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("team/api:1.0@{digest}")),
        "{}",
        text(&out.stdout)
    );
    for stream in [text(&out.stdout), text(&out.stderr)] {
        assert!(!stream.contains(password), "password leaked: {stream}");
    }
    // The registry offers HTTP/2 by ALPN: every request went over it, and
    // Basic auth needs one challenge and no token.
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "registry {}: 2 requests (1 challenge, 1 manifest) over HTTP/2",
            reg.host()
        )),
        "{err}"
    );

    // CA through --ca-file instead.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    cmd.args(["pin", "--write", "--ca-file"])
        .arg(reg.ca_file())
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", reg.docker_config_dir())
        .env_remove("SSL_CERT_FILE");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(reg.skopeo_digest("team/api:1.0"), digest);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&format!("@{digest}")));

    // No credentials: the registry's 401 is reported, nothing is written.
    std::fs::write(&file, compose(&[("api", reg.image("team/api", "1.0"))])).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(["pin", "--write", "--ca-file"])
        .arg(reg.ca_file())
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("@sha256"));
}

/// Dockerfiles and CI files are pinned like deploy files: byte-exact, the
/// stage names and templated values left alone, a second run a no-op.
#[test]
fn pin_writes_dockerfiles_and_ci_files() {
    let reg = Registry::start_plain();
    let base = reg.push_image("base/golang", "1.23", LINUX_AMD64);
    let tool = reg.push_image("tools/uv", "0.4", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let golang = reg.image("base/golang", "1.23");
    let uv = reg.image("tools/uv", "0.4");
    let dockerfile = format!(
        "# syntax={uv}\r\nFROM {golang} AS build\r\nCOPY --from={uv} /uv /bin/uv\r\nFROM build\r\nFROM ${{BASE}}\r\n"
    );
    let workflow = format!(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n    container: {golang}  # build image\n    steps:\n      - uses: 'docker://{uv}'\n"
    );
    std::fs::write(dir.path().join("Dockerfile"), &dockerfile).unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    std::fs::write(dir.path().join(".github/workflows/ci.yml"), &workflow).unwrap();
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(
        read("Dockerfile"),
        dockerfile
            .replace(
                &format!("FROM {golang} "),
                &format!("FROM {golang}@{base} ")
            )
            .replace(&format!("={uv} "), &format!("={uv}@{tool} "))
            .replace(&format!("syntax={uv}\r"), &format!("syntax={uv}@{tool}\r"))
    );
    assert_eq!(
        read(".github/workflows/ci.yml"),
        workflow
            .replace(&format!("{golang}  #"), &format!("{golang}@{base}  #"))
            .replace(
                &format!("docker://{uv}'"),
                &format!("docker://{uv}@{tool}'")
            )
    );
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty());
}

/// YAML that kubectl accepts and a spec-strict parser refused (a flow
/// sequence closed at its key's indentation), a folded block scalar as the
/// image and a file without a final line break: pinned in place, every other
/// byte kept (the `>-` style too), a second run a no-op.
#[test]
fn pin_writes_yaml_shapes_real_repositories_use() {
    let reg = Registry::start_plain();
    let api = reg.push_image("team/api", "2.1", LINUX_AMD64);
    let side = reg.push_image("team/side", "0.9", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let (api_ref, side_ref) = (reg.image("team/api", "2.1"), reg.image("team/side", "0.9"));
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: {api_ref}\n          command: [\n            \"/bin/api\",\n            \"--port=8080\"\n          ]\n        - name: side\n          image: >-\n            {side_ref}\n          args: [\"-v\"]"
    );
    std::fs::write(dir.path().join("deploy.yaml"), &deployment).unwrap();
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("deploy.yaml")).unwrap();
    assert_eq!(
        written,
        deployment
            .replace(
                &format!("image: {api_ref}\n"),
                &format!("image: {api_ref}@{api}\n")
            )
            .replace(
                &format!("  {side_ref}\n"),
                &format!("  {side_ref}@{side}\n")
            )
    );
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty());
}

/// A Compose service with `build:` names the image it builds: that name is
/// never pinned, also through an `x-` template merged with `<<:`, while
/// the images services pull are; the summary says how many were built and
/// `-v` names them.
#[test]
fn pin_never_writes_a_digest_into_a_compose_build_target() {
    let reg = Registry::start_plain();
    let base = reg.push_image("shop/base", "3", LINUX_AMD64);
    // Pushed too, so a wrong pin would succeed: only the rule stops it.
    reg.push_image("shop/app", "dev", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let (app, base_ref) = (reg.image("shop/app", "dev"), reg.image("shop/base", "3"));
    let compose = format!(
        "x-app: &app\n  build: ./app\n  image: {app}\nx-base: &base\n  image: {base_ref}\nservices:\n  web:\n    <<: *app\n  api:\n    <<: *base\n    build: .\n  db:\n    image: {base_ref}\n"
    );
    std::fs::write(dir.path().join("compose.yaml"), &compose).unwrap();
    let out = run(&reg, &["pin", "--write", "-v", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert_eq!(
        written,
        compose.replace(
            &format!("    image: {base_ref}\n"),
            &format!("    image: {base_ref}@{base}\n")
        )
    );
    let err = text(&out.stderr);
    assert!(err.contains("3 references, 1 pinned, 0 already pinned, 0 unpinned, 2 skipped (2 built here), 0 failed"), "{err}");
    assert!(
        err.contains("compose.yaml:3:10: note:") && err.contains("x-app builds it"),
        "{err}"
    );
    assert!(
        err.contains("compose.yaml:5:10: note:") && err.contains("services.api builds it"),
        "{err}"
    );
    let json = run(&reg, &["check", "--format", "json", "."], dir.path());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["built"], 2);
    assert_eq!(doc["summary"]["skipped"], 2);
}

/// Files found by their place (CI systems, dev containers) are pinned like
/// any other: byte-exact (JSONC comments and trailing commas kept), a second
/// run a no-op.
#[test]
fn pin_writes_ci_and_dev_container_files_found_by_their_place() {
    let reg = Registry::start_plain();
    let tool = reg.push_image("ci/tool", "1.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let t = reg.image("ci/tool", "1.0");
    let files = [
        ("bitbucket-pipelines.yml", format!("image: {t}\npipelines:\n  default:\n    - step:\n        image:\n          name: {t}\n        script: [make]\n")),
        (".devcontainer/devcontainer.json", format!("// dev\n{{\n  \"image\": \"{t}\", /* pulled */\n  \"features\": {{}},\n}}\n")),
        ("cloudbuild.yaml", format!("steps:\n  - name: {t}\n    args: [build]\nimages: ['{t}']\n")),
        (".woodpecker/ci.yaml", format!("steps:\n  build:\n    image: {t}\n")),
        (".gitlab-ci.yml", format!("image: {t}\ninclude: {{project: x/y, file: /a.yml}}\n")),
        (".github/workflows/call.yml", format!("on: workflow_call\njobs:\n  j:\n    container: {t}\n")),
    ];
    for (path, text) in &files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pinned = format!("{t}@{tool}");
    for (path, before) in &files {
        let after = std::fs::read_to_string(dir.path().join(path)).unwrap();
        let want = if *path == "cloudbuild.yaml" {
            // `images:` is what the build pushes: left alone.
            before.replacen(&t, &pinned, 1)
        } else {
            before.replace(&t, &pinned)
        };
        assert_eq!(after, want, "{path}");
    }
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty());
}

/// Kustomize pins with its own `digest:` field: inserted after `newTag`
/// (indentation, CRLF and comments kept; `, digest:` in a flow mapping),
/// `newName`/`newTag` kept; a second run is a no-op, and `--update` rewrites
/// the digest in place when the tag moves.
#[test]
fn pin_writes_kustomize_digest_fields() {
    let reg = Registry::start_plain();
    let web = reg.push_image("k/web", "1.27", LINUX_AMD64);
    let cache = reg.push_image("k/cache", "7.4", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let host = reg.image("k/web", "1.27").replace("/k/web:1.27", "");
    let before = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\nimages:\r\n  - name: web\r\n    newName: {host}/k/web\r\n    newTag: \"1.27\"  # LTS\r\n  - {{name: cache, newName: {host}/k/cache, newTag: 7.4}}\r\n"
    );
    let path = dir.path().join("kustomization.yaml");
    std::fs::write(&path, &before).unwrap();
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&path).unwrap();
    let want = before
        .replace("  # LTS\r\n", &format!("  # LTS\r\n    digest: {web}\r\n"))
        .replace("newTag: 7.4}", &format!("newTag: 7.4, digest: {cache}}}"));
    assert_eq!(after, want);
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    // The tag moves: --update rewrites the digest value, nothing else.
    let moved = reg.push_image("k/web", "1.27", LINUX_ARM64);
    assert_ne!(moved, web);
    let out = run(&reg, &["pin", "--write", "--update", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let updated = std::fs::read_to_string(&path).unwrap();
    assert_eq!(updated, want.replace(&web.to_string(), &moved.to_string()));
}

/// Helm chart values beside a Chart.yaml (and a file named with
/// `--helm-values`): the pin goes into an empty `digest: ""` or after the
/// tag; a numeric tag is a warning and left alone; a second run is a no-op.
#[test]
fn pin_writes_helm_values_through_digest_or_tag() {
    let reg = Registry::start_plain();
    let app = reg.push_image("chart/app", "2.1.0", LINUX_AMD64);
    let db = reg.push_image("chart/db", "16", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let host = reg
        .image("chart/app", "2.1.0")
        .replace("/chart/app:2.1.0", "");
    let chart = dir.path().join("charts/shop");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
    )
    .unwrap();
    let values = format!(
        "image:\n  registry: {host}\n  repository: chart/app\n  tag: \"2.1.0\" # app\ndb:\n  image: {{repository: {host}/chart/db, tag: '16', digest: \"\"}}\nold:\n  image:\n    repository: {host}/chart/app\n    tag: 2.0\n"
    );
    std::fs::write(chart.join("values.yaml"), &values).unwrap();
    // Elsewhere, named with --helm-values.
    let env = format!("image:\n  repository: {host}/chart/db\n  tag: \"16\"\n");
    std::fs::create_dir_all(dir.path().join("env")).unwrap();
    std::fs::write(dir.path().join("env/prod.yaml"), &env).unwrap();
    let out = run(
        &reg,
        &["pin", "--write", "--helm-values", "env/prod.yaml", "charts"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("the tag 2.0 is a number to YAML"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(chart.join("values.yaml")).unwrap(),
        values
            .replace("tag: \"2.1.0\"", &format!("tag: \"2.1.0@{app}\""))
            .replace("digest: \"\"", &format!("digest: \"{db}\""))
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("env/prod.yaml")).unwrap(),
        env.replace("tag: \"16\"", &format!("tag: \"16@{db}\""))
    );
    let again = run(
        &reg,
        &["pin", "--check", "--helm-values", "env/prod.yaml", "charts"],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty());
}

/// Terraform: attributes, `jsonencode` objects and heredoc JSON are pinned
/// in place (comments, alignment kept); expressions are left alone; a
/// second run is a no-op.
#[test]
fn pin_writes_terraform_files() {
    let reg = Registry::start_plain();
    let api = reg.push_image("tf/api", "3.1", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let r = reg.image("tf/api", "3.1");
    let tf = format!(
        "resource \"aws_ecs_task_definition\" \"a\" {{\n  container_definitions = jsonencode([{{\n    name  = \"api\"\n    image = \"{r}\" # release\n  }}])\n}}\nresource \"aws_ecs_task_definition\" \"b\" {{\n  container_definitions = <<EOF\n[{{\"image\": \"{r}\"}}]\nEOF\n}}\nresource \"kubernetes_pod\" \"p\" {{\n  spec {{\n    container {{\n      image = var.image\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("main.tf"), &tf).unwrap();
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.tf")).unwrap(),
        tf.replace(&format!("{r}\""), &format!("{r}@{api}\""))
    );
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty());
}

/// `FROM name:${VERSION}` with a global `ARG VERSION=…`: the digest goes
/// into the ARG's default, beside the version it belongs to.
#[test]
fn pin_writes_a_dockerfile_arg_version_with_its_digest() {
    let reg = Registry::start_plain();
    let node = reg.push_image("lang/node", "20.18", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let name = reg.image("lang/node", "20.18").replace(":20.18", "");
    let dockerfile = format!(
        "ARG NODE_VERSION=20.18\nFROM {name}:${{NODE_VERSION}} AS build\nRUN node --version\n"
    );
    std::fs::write(dir.path().join("Dockerfile"), &dockerfile).unwrap();
    let out = run(&reg, &["pin", "--write", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        dockerfile.replace("=20.18\n", &format!("=20.18@{node}\n"))
    );
    let again = run(&reg, &["pin", "--check", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
}

/// Regression: `pin --platform linux/arm64` pinned a tag serving a single
/// linux/amd64 image without a word; it must fail for that reference (the
/// file untouched) and still pin a single image of the asked platform.
#[test]
fn platform_refuses_a_single_image_of_another_platform() {
    let reg = Registry::start_plain();
    reg.push_image("app/amd", "1", LINUX_AMD64);
    let arm = reg.push_docker_v2("app/arm", "1", LINUX_ARM64);
    let dir = tempfile::tempdir().unwrap();
    let amd_file = dir.path().join("amd.yaml");
    let amd = format!(
        "services:\n  a:\n    image: {}\n",
        reg.image("app/amd", "1")
    );
    std::fs::write(&amd_file, &amd).unwrap();
    let arm_file = dir.path().join("arm.yaml");
    std::fs::write(
        &arm_file,
        format!(
            "services:\n  a:\n    image: {}\n",
            reg.image("app/arm", "1")
        ),
    )
    .unwrap();
    let out = run(
        &reg,
        &["pin", "--write", "--platform", "linux/arm64/v8"],
        dir.path(),
    );
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains(&format!(
            "amd.yaml:3:12: error: {}: the tag serves a single-platform linux/amd64 image, not linux/arm64/v8",
            reg.image("app/amd", "1")
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&amd_file).unwrap(), amd);
    let pinned = std::fs::read_to_string(&arm_file).unwrap();
    assert!(pinned.contains(&format!("app/arm:1@{arm}\n")), "{pinned}");
}

/// Regression: a local TLS registry whose CA is not trusted was reported as
/// "HTTP 400 Bad Request: Client sent an HTTP request to an HTTPS server"
/// (the plain-HTTP fallback's answer) after three attempts; the cause is the
/// certificate, said once, with the way out. The password never shows.
#[test]
fn untrusted_certificate_is_named_not_hidden_by_the_plain_http_fallback() {
    let password = "s3cret-pa55word";
    let reg = Registry::start_tls_auth("ci", password);
    let digest = reg.push_image("team/api", "1.0", LINUX_AMD64);
    let dir = tempfile::tempdir().unwrap();
    let pinned = format!("{}@{digest}", reg.image("team/api", "1.0"));
    for (command, image) in [("pin", reg.image("team/api", "1.0")), ("verify", pinned)] {
        std::fs::write(dir.path().join("compose.yaml"), compose(&[("api", image)])).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
            .arg(command)
            .current_dir(dir.path())
            .env("DOCKER_CONFIG", reg.docker_config_dir())
            .env("NO_COLOR", "1")
            .env_remove("SSL_CERT_FILE")
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "cannot reach registry {}: invalid peer certificate: UnknownIssuer (trust its CA with --ca-file or SSL_CERT_FILE)\n",
                reg.host()
            )),
            "{command}: {err}"
        );
        assert!(
            !err.contains("HTTPS server") && !err.contains("attempts"),
            "{err}"
        );
        for stream in [text(&out.stdout), err] {
            assert!(!stream.contains(password), "password leaked: {stream}");
        }
    }
}
