//! `imgpin lifecycle` and `imgpin lifecycle protect`: offline against the saved fixtures
//! in testdata/lifecycle/offline (no AWS at all), live against moto (policies through
//! PutLifecyclePolicy, images pushed at controlled times, deploy files in a temp dir), and
//! the DescribeImages paginator against a small fake ECR endpoint (moto never pages).
//!
//! moto cannot back-date pushes and stores whole seconds, so images that must rank
//! differently are pushed more than a second apart; archive policies (which moto refuses)
//! are tested offline only.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{assert_exit, text};
use crate::support::images::{oci_image, Manifest};
use crate::support::{moto, Moto, LINUX_AMD64, LINUX_ARM64};

const REGION: &str = "us-east-1";

fn host() -> String {
    format!("{}.dkr.ecr.{REGION}.amazonaws.com", moto::ACCOUNT_ID)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lifecycle/offline")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// imgpin with no AWS environment at all (offline mode must not need one).
fn offline(args: &[&str]) -> Output {
    offline_command(args).output().expect("run imgpin")
}

/// The binary with no AWS to reach: an endpoint on a closed loopback port.
fn offline_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    for name in moto::ENV_REMOVE {
        cmd.env_remove(name);
    }
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// The JSON document on stdout; a `lifecycle` or `lifecycle protect`
/// document is validated against docs/lifecycle.schema.json on the way.
fn json_of(out: &Output) -> Value {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    if v["command"]
        .as_str()
        .is_some_and(|c| c.starts_with("lifecycle"))
    {
        crate::schema::validate_against(crate::schema::LIFECYCLE_SCHEMA, &out.stdout);
    }
    v
}

#[test]
fn lifecycle_offline_reports_the_retagged_release_its_rule_and_why() {
    let (policy, images, ecs) = (
        fixture("policy.json"),
        fixture("images.json"),
        fixture("ecs-images.json"),
    );
    let out = offline(&[
        "lifecycle",
        "--policy",
        &policy,
        "--images",
        &images,
        "--in-use",
        &ecs,
        "--at",
        "2023-03-10",
    ]);
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("api:tag-1-253-0 (sha256:aaaaaaaaaaaa), used by service web container app (cluster prod), in the image list"),
        "{stdout}"
    );
    assert!(
        stdout.contains("will be deleted within about 24 h"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rule 1 (\"keep the 2 newest releases\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains("adding a tag does not change imagePushedAt"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("tag tag-1-252-0 points at now"),
        "the tag-only ECS row is resolved and said so: {stderr}"
    );
}

/// An ECS cluster's image list names many repositories; offline, only the rows of the
/// saved list's repository (`repositoryName`/`registryId` of describe-images) are
/// checked. A tag of another repository must not be resolved in this one.
#[test]
fn lifecycle_offline_leaves_out_other_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let ecs = dir.path().join("ecs.json");
    let row = |service: &str, image: &str| {
        json!({"cluster": "prod", "service": service, "taskDefinition": format!("{service}:1"),
               "container": "app", "image": image, "digest": null, "source": "deployment"})
    };
    let doc = json!({"images": [
        row("api", &format!("{}/api:tag-1-250-0", host())),
        row("web", &format!("{}/web:tag-1-250-0", host())),
        row("other-account", "210987654321.dkr.ecr.us-east-1.amazonaws.com/api:tag-1-250-0"),
        row("sidecar", "postgres:tag-1-250-0"),
    ]});
    std::fs::write(&ecs, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let ecs_arg = ecs.display().to_string();
    let out = offline(&[
        "lifecycle",
        "--policy",
        &fixture("policy.json"),
        "--images",
        &fixture("images.json"),
        "--in-use",
        &ecs_arg,
        "--in-use",
        "api:tag-1-251-0",
        "--at",
        "2023-03-10",
        "--format",
        "json",
    ]);
    assert_exit(&out, 1);
    let v = json_of(&out);
    let expires: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "lifecycle-expires")
        .collect();
    assert_eq!(expires.len(), 1, "only the api row: {v:#}");
    assert_eq!(
        expires[0]["location"],
        "service api container app (cluster prod)"
    );
    let in_use = v["repositories"][0]["inUse"].as_array().unwrap();
    let used_by: Vec<&Value> = in_use
        .iter()
        .flat_map(|u| u["usedBy"].as_array().unwrap())
        .collect();
    assert!(
        used_by.iter().all(|l| !l.as_str().unwrap().contains("web")
            && !l.as_str().unwrap().contains("other-account")
            && !l.as_str().unwrap().contains("sidecar")),
        "{v:#}"
    );
    assert!(
        used_by.iter().any(|l| l == &"--in-use api:tag-1-251-0"),
        "a short name of the list's repository still counts: {v:#}"
    );
    let left_out = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("is in another repository than the image list")
        })
        .count();
    assert_eq!(left_out, 3, "{v:#}");
}

/// A malformed digest in a saved image list is an error naming the image, never a panic.
#[test]
fn lifecycle_offline_refuses_malformed_digests() {
    let dir = tempfile::tempdir().unwrap();
    for (name, images) in [
        (
            "non-ascii",
            json!([{"imageDigest": "sha256:abcdefghijk\u{e9}\u{e9}", "imageTags": ["tag-1"],
                    "imagePushedAt": 1}]),
        ),
        (
            "child",
            json!([{"imageDigest": digest('e'), "imageTags": ["tag-1"], "imagePushedAt": 1,
                    "manifests": ["not-a-digest"]}]),
        ),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, images.to_string()).unwrap();
        let out = offline(&[
            "lifecycle",
            "--policy",
            &fixture("policy.json"),
            "--images",
            &path.display().to_string(),
            "--in-use",
            "api:tag-1",
        ]);
        assert_exit(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{name}.json: error: image 1: ")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // One saved page of a longer answer (nextToken) is evaluated, with a warning.
    let page = dir.path().join("page.json");
    std::fs::write(
        &page,
        json!({"imageDetails": [{"imageDigest": digest('a'), "imageTags": ["tag-1"],
               "imagePushedAt": 1}], "nextToken": "eyJ..."})
        .to_string(),
    )
    .unwrap();
    let out = offline(&[
        "lifecycle",
        "--policy",
        &fixture("policy.json"),
        "--images",
        &page.display().to_string(),
    ]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("page.json: warning: the image list has a nextToken")
            && text(&out.stderr).contains("imgpin: 1 repository, 1 image: 0 would be expired"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn lifecycle_offline_json_shape_and_index_children() {
    let index = digest('e');
    let out = offline(&[
        "lifecycle",
        "--policy",
        &fixture("policy.json"),
        "--images",
        &fixture("images.json"),
        "--in-use",
        &digest('a'),
        "--in-use",
        &index,
        "--at",
        "2023-06-10",
        "--format",
        "json",
    ]);
    assert_exit(&out, 1);
    let v = json_of(&out);
    assert_eq!(v["command"], "lifecycle");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v:#}");
    let r = &results[0];
    assert_eq!(r["imageDigest"], digest('a'));
    assert_eq!(r["action"], json!({"type": "EXPIRE"}));
    assert_eq!(r["appliedRulePriority"], 1);
    assert_eq!(r["inUse"], true);
    assert!(r["reason"].as_str().unwrap().contains("pushed 2022-12-15"));
    assert!(r["repository"].is_null(), "offline: no repository name");
    assert!(v["nextPass"].as_array().unwrap().is_empty());
    assert!(v["atRisk"].as_array().unwrap().is_empty());
    assert_eq!(v["summary"]["expiringImageTotalCount"], 1);
    assert_eq!(v["summary"]["inUseAtRisk"], 1);
    let repo = &v["repositories"][0];
    assert_eq!(repo["policy"], "file");
    assert!(
        repo["notes"].is_array(),
        "notes is always an array: {repo:#}"
    );
    // The index's untagged child counts as in use, guarded by its live index.
    let child = repo["inUse"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["digest"] == digest('f'))
        .unwrap_or_else(|| panic!("child not in use: {repo:#}"));
    assert_eq!(child["viaIndex"], index);
    assert_eq!(child["fate"], "guarded");
    assert_eq!(v["findings"][0]["kind"], "lifecycle-expires");
}

#[test]
fn lifecycle_offline_archive_policy_and_formats() {
    let args = |format: &str| {
        offline(&[
            "lifecycle",
            "--policy",
            &fixture("policy-archive.json"),
            "--images",
            &fixture("images.json"),
            "--in-use",
            &digest('a'),
            "--at",
            "2023-06-10",
            "--format",
            format,
        ])
    };
    let gh = args("github");
    assert_exit(&gh, 1);
    let gh_out = text(&gh.stdout);
    assert!(gh_out.starts_with("::error::"), "{gh_out}");
    assert!(gh_out.contains("will be archived"), "{gh_out}");
    // Earlier, nothing has gone unpulled for 90 days yet.
    let early = offline(&[
        "lifecycle",
        "--policy",
        &fixture("policy-archive.json"),
        "--images",
        &fixture("images.json"),
        "--in-use",
        &digest('a'),
        "--at",
        "2023-02-15",
    ]);
    assert_exit(&early, 0);
    let sarif = args("sarif");
    assert_exit(&sarif, 1);
    let v = json_of(&sarif);
    assert_eq!(v["version"], "2.1.0");
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "lifecycle-archives");
    assert_eq!(result["level"], "error");
}

#[test]
fn lifecycle_invalid_policy_file_points_at_the_rule_and_exits_2() {
    let policy = fixture("policy-invalid.json");
    let out = offline(&[
        "lifecycle",
        "--policy",
        &policy,
        "--images",
        &fixture("images.json"),
    ]);
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{policy}:9:9: error: [V3] rule 2 (rulePriority 2)"
        )),
        "{err}"
    );
    let bad_in_use = offline(&[
        "lifecycle",
        "--policy",
        &fixture("policy.json"),
        "--images",
        &fixture("images.json"),
        "--in-use",
        "sha256:nothex",
    ]);
    assert_exit(&bad_in_use, 2);
    let no_policy = offline(&["lifecycle", "--images", &fixture("images.json")]);
    assert_exit(&no_policy, 2);
}

// ---------------------------------------------------------------------------------------
// Against moto
// ---------------------------------------------------------------------------------------

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    moto.configure(&mut cmd);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run imgpin")
}

fn create_repo(moto: &Moto, repo: &str) {
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": repo }),
    );
}

fn put_policy(moto: &Moto, repo: &str, policy: &Value) {
    moto.ecr(
        REGION,
        "PutLifecyclePolicy",
        json!({ "repositoryName": repo, "lifecyclePolicyText": policy.to_string() }),
    );
}

/// `(digest, tags, imagePushedAt)` of every image, sorted by digest.
fn describe(moto: &Moto, repo: &str) -> Vec<(String, Vec<String>, f64)> {
    let answer = moto.ecr(REGION, "DescribeImages", json!({ "repositoryName": repo }));
    let mut out: Vec<(String, Vec<String>, f64)> = answer["imageDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut tags: Vec<String> = d["imageTags"]
                .as_array()
                .map(|t| t.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            tags.sort();
            (
                d["imageDigest"].as_str().unwrap().to_owned(),
                tags,
                d["imagePushedAt"].as_f64().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Pushes `tag`, then waits so the next push ranks younger (moto keeps whole seconds).
fn push_then_wait(moto: &Moto, repo: &str, tag: &str, manifest: &Manifest) -> String {
    let digest = moto.put_image(REGION, repo, tag, manifest);
    std::thread::sleep(Duration::from_millis(1100));
    digest
}

fn keep_newest(prefix: &str, n: u64, description: &str) -> Value {
    json!({"rules": [{
        "rulePriority": 1,
        "description": description,
        "selection": {"tagStatus": "tagged", "tagPrefixList": [prefix],
                      "countType": "imageCountMoreThan", "countNumber": n},
        "action": {"type": "expire"}
    }]})
}

fn write(dir: &Path, name: &str, content: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {image}\n"
    )
}

fn task_definition(image: &str) -> String {
    format!(
        "{{\n  \"family\": \"api\",\n  \"containerDefinitions\": [\n    {{ \"name\": \"api\", \"image\": \"{image}\" }}\n  ]\n}}\n"
    )
}

#[test]
fn lifecycle_live_reports_in_use_images_the_policy_expires() {
    let moto = Moto::start();
    let host = host();
    create_repo(&moto, "api");
    let v1 = push_then_wait(&moto, "api", "v1", &oci_image(LINUX_AMD64));
    let _v2 = push_then_wait(&moto, "api", "v2", &oci_image(LINUX_AMD64));
    let v3 = moto.put_image(REGION, "api", "v3", &oci_image(LINUX_AMD64));
    put_policy(&moto, "api", &keep_newest("v", 2, "keep two releases"));
    // A repository without a policy, and a reference outside ECR.
    create_repo(&moto, "tools");
    let tool = moto.put_image(REGION, "tools", "1", &oci_image(LINUX_AMD64));

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "k8s/web.yaml",
        &deployment(&format!("{host}/api:v1")),
    );
    write(
        dir.path(),
        "ecs/task-definition.json",
        &task_definition(&format!("{host}/api:v3@{v3}")),
    );
    write(
        dir.path(),
        "compose.yaml",
        &format!("services:\n  tools:\n    image: {host}/tools:1@{tool}\n  db:\n    image: postgres:16\n"),
    );

    let out = run(&moto, dir.path(), &["lifecycle"]);
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stdout.starts_with(&format!(
            "k8s/web.yaml:10:18: problem: {host}/api:v1 ({}) in repository api (account {}, {REGION}) will be deleted within about 24 h",
            &v1[..19],
            moto::ACCOUNT_ID
        )),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("rule 1 (\"keep two releases\")"),
        "{stdout}"
    );
    assert!(stdout.contains("2 newer ones exist"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "only v1 is at risk: {stdout}");
    assert!(
        stderr.contains("k8s/web.yaml:10:18: note:") && stderr.contains("tag v1 points at now"),
        "{stderr}"
    );
    assert!(
        stderr.contains("repository tools (account 123456789012, us-east-1): no lifecycle policy: nothing expires"),
        "{stderr}"
    );
    assert!(!stdout.contains("testing") && !stderr.contains("testing"));

    let json_out = run(&moto, dir.path(), &["lifecycle", "--format", "json"]);
    assert_exit(&json_out, 1);
    let v = json_of(&json_out);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v:#}");
    assert_eq!(results[0]["imageDigest"], v1.as_str());
    assert_eq!(results[0]["repository"], "api");
    assert_eq!(results[0]["registryId"], moto::ACCOUNT_ID);
    assert_eq!(results[0]["region"], REGION);
    assert_eq!(results[0]["inUse"], true);
    let repos = v["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 2);
    assert_eq!(repos[0]["repository"], "api");
    assert_eq!(repos[0]["policy"], "live");
    assert_eq!(repos[0]["images"], 3);
    assert_eq!(repos[1]["policy"], "none");
    let expires: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "lifecycle-expires")
        .collect();
    assert_eq!(expires.len(), 1, "{v:#}");
    assert_eq!(expires[0]["file"], "k8s/web.yaml");
    assert_eq!(expires[0]["line"], 10);

    // A policy change tested before PutLifecyclePolicy: keep five.
    let policy = dir.path().join("keep-five.json");
    std::fs::write(
        &policy,
        serde_json::to_string_pretty(&keep_newest("v", 5, "keep five releases")).unwrap(),
    )
    .unwrap();
    let policy_arg = policy.display().to_string();
    let relaxed = run(
        &moto,
        dir.path(),
        &["lifecycle", "--policy", &policy_arg, "k8s", "ecs"],
    );
    assert_exit(&relaxed, 0);
    // Only the newest image in use: clean with the live policy too.
    let clean = run(&moto, dir.path(), &["lifecycle", "ecs"]);
    assert_exit(&clean, 0);
    // --at in the past changes nothing for count rules; an invalid --at is a usage error.
    let bad_at = run(&moto, dir.path(), &["lifecycle", "--at", "next week"]);
    assert_exit(&bad_at, 2);
    // A broken policy file: exit 2, nothing evaluated.
    std::fs::write(&policy, "{\"rules\": [{\"rulePriority\": 1}]}").unwrap();
    let broken = run(&moto, dir.path(), &["lifecycle", "--policy", &policy_arg]);
    assert_exit(&broken, 2);
    // A repository that does not exist: the error names the action and AWS's answer.
    write(
        dir.path(),
        "ghost/compose.yaml",
        &format!("services:\n  g:\n    image: {host}/ghost:1\n"),
    );
    let ghost = run(&moto, dir.path(), &["lifecycle", "ghost"]);
    assert_exit(&ghost, 2);
    let ghost_err = text(&ghost.stderr);
    assert!(
        ghost_err.contains("ECR GetLifecyclePolicy for repository ghost")
            && ghost_err.contains("RepositoryNotFoundException"),
        "{ghost_err}"
    );
    // The error is placed where the repository is used (and names the other uses), and
    // the other repositories are still evaluated and reported.
    write(
        dir.path(),
        "ghost/task.json",
        &task_definition(&format!("{host}/ghost:2")),
    );
    let partial = run(&moto, dir.path(), &["lifecycle", "ghost", "k8s"]);
    assert_exit(&partial, 2);
    let partial_err = text(&partial.stderr);
    assert!(
        partial_err.contains(
            "ghost/compose.yaml:3:12: error: ECR GetLifecyclePolicy for repository ghost"
        ) && partial_err.contains("(also used by ghost/task.json:"),
        "{partial_err}"
    );
    assert!(
        text(&partial.stdout).contains("k8s/web.yaml:10:18: problem:"),
        "{}",
        text(&partial.stdout)
    );
    let partial_json = json_of(&run(
        &moto,
        dir.path(),
        &["lifecycle", "ghost", "k8s", "--format", "json"],
    ));
    let aws_errors: Vec<&Value> = partial_json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "aws-error")
        .collect();
    assert_eq!(aws_errors.len(), 1, "{partial_json:#}");
    assert_eq!(aws_errors[0]["file"], "ghost/compose.yaml");
    assert_eq!(aws_errors[0]["line"], 3);
    assert_eq!(partial_json["results"].as_array().unwrap().len(), 1);
}

#[test]
fn lifecycle_live_children_of_an_in_use_index_count_as_in_use() {
    let moto = Moto::start();
    let host = host();
    create_repo(&moto, "multi");
    // Index rel-1 over two tagged platform images, then a younger rel-2.
    let index = crate::support::images::oci_index(&[LINUX_AMD64, LINUX_ARM64]);
    let mut children = Vec::new();
    for (i, child) in index.children.iter().enumerate() {
        children.push(moto.put_image(REGION, "multi", &format!("rel-1-p{i}"), child));
    }
    let index_digest = push_then_wait(&moto, "multi", "rel-1", &index);
    moto.put_image(REGION, "multi", "rel-2", &oci_image(LINUX_AMD64));
    put_policy(
        &moto,
        "multi",
        &keep_newest("rel", 1, "keep the newest release"),
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yaml",
        &format!("services:\n  app:\n    image: {host}/multi:rel-1@{index_digest}\n"),
    );
    let out = run(&moto, dir.path(), &["lifecycle", "--format", "json"]);
    assert_exit(&out, 1);
    let v = json_of(&out);
    let in_use = v["repositories"][0]["inUse"].as_array().unwrap();
    for child in &children {
        let f = in_use
            .iter()
            .find(|f| f["digest"] == child.as_str())
            .unwrap_or_else(|| panic!("child {child} not in use: {v:#}"));
        assert_eq!(f["viaIndex"], index_digest.as_str());
        assert_eq!(f["fate"], "next-pass", "{f:#}");
    }
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"lifecycle-expires"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "lifecycle-at-risk").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(v["nextPass"].as_array().unwrap().len(), 2, "{v:#}");
}

#[test]
fn lifecycle_protect_tags_in_use_digests_without_changing_them() {
    let moto = Moto::start();
    let host = host();
    create_repo(&moto, "api");
    let v1 = push_then_wait(&moto, "api", "v1", &oci_image(LINUX_AMD64));
    let v2 = moto.put_image(REGION, "api", "v2", &oci_image(LINUX_AMD64));
    put_policy(&moto, "api", &keep_newest("v", 1, "keep one release"));
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ecs/task-definition.json",
        &task_definition(&format!("{host}/api:v1@{v1}")),
    );
    write(
        dir.path(),
        "k8s/web.yaml",
        &deployment(&format!("{host}/api:v2")),
    );
    let before = describe(&moto, "api");
    let keep1 = format!("keep-{}", &v1[7..19]);
    let keep2 = format!("keep-{}", &v2[7..19]);

    // Dry run: says what it would do, changes nothing.
    let dry = run(&moto, dir.path(), &["lifecycle", "protect"]);
    assert_exit(&dry, 0);
    let dry_err = text(&dry.stderr);
    assert!(
        dry_err.contains(&format!("would tag {} as {keep1}", &v1[..19])),
        "{dry_err}"
    );
    assert!(
        dry_err.contains("add this rule at the top priority"),
        "{dry_err}"
    );
    assert_eq!(describe(&moto, "api"), before, "a dry run changes nothing");

    // --apply: PutImage adds the tags; digests and push times stay.
    let applied = run(
        &moto,
        dir.path(),
        &["lifecycle", "protect", "--apply", "--format", "json"],
    );
    assert_exit(&applied, 0);
    let v = json_of(&applied);
    assert_eq!(v["summary"]["tagged"], 2, "{v:#}");
    let after = describe(&moto, "api");
    assert_eq!(after.len(), before.len());
    for ((d0, tags0, t0), (d1, tags1, t1)) in before.iter().zip(&after) {
        assert_eq!(d0, d1);
        assert_eq!(t0, t1, "imagePushedAt unchanged");
        let keep = if *d0 == v1 { &keep1 } else { &keep2 };
        let mut want = tags0.clone();
        want.push(keep.clone());
        want.sort();
        assert_eq!(tags1, &want);
    }
    let rule = &v["repositories"][0]["rule"];
    assert_eq!(rule["status"], "missing");
    assert_eq!(
        rule["suggested"]["selection"]["tagPrefixList"],
        json!(["keep-"])
    );
    assert!(rule["stillActedOn"].as_array().unwrap().is_empty());

    // Put the proposed policy: now the check passes, and protect finds the rule.
    let proposed: Value = serde_json::from_str(rule["proposedPolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        proposed["rules"][1]["rulePriority"], 2,
        "the old rule moved down"
    );
    put_policy(&moto, "api", &proposed);
    let check = run(&moto, dir.path(), &["lifecycle"]);
    assert_exit(&check, 0);
    let again = run(&moto, dir.path(), &["lifecycle", "protect", "--apply"]);
    assert_exit(&again, 0);
    let again_err = text(&again.stderr);
    assert!(
        again_err.contains(&format!("already carries {keep1}")),
        "{again_err}"
    );
    assert!(
        again_err.contains(
            "rule 1 (\"imgpin: keep images tagged keep-* (in use)\") keeps keep-* images"
        ),
        "{again_err}"
    );
    assert_eq!(describe(&moto, "api"), after);

    // A keep rule that is too small: reported (exit 1).
    put_policy(
        &moto,
        "api",
        &json!({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep-"],
             "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}),
    );
    let small = run(&moto, dir.path(), &["lifecycle", "protect"]);
    assert_exit(&small, 1);
    assert!(
        text(&small.stdout).contains("ecs/task-definition.json:4:")
            && text(&small.stdout).contains("but the policy would still act on it"),
        "{}",
        text(&small.stdout)
    );

    // A keep rule below the release rule that owns the protected images (they carry a
    // v* tag too): exit 1, and the policy with the keep rule moved up is proposed.
    put_policy(
        &moto,
        "api",
        &json!({"rules": [
            {"rulePriority": 1, "description": "keep one release",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
             "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 10, "description": "keep protected",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep-"],
             "countType": "imageCountMoreThan", "countNumber": 100}, "action": {"type": "expire"}}]}),
    );
    let below = run(
        &moto,
        dir.path(),
        &["lifecycle", "protect", "--format", "json"],
    );
    assert_exit(&below, 1);
    let below_v = json_of(&below);
    let rule = &below_v["repositories"][0]["rule"];
    assert_eq!(rule["status"], "insufficient", "{below_v:#}");
    assert_eq!(rule["stillActedOn"], json!([v1]));
    assert_eq!(rule["stillActedOnIfMoved"], json!([]), "{below_v:#}");
    let moved: Value = serde_json::from_str(rule["proposedPolicy"].as_str().unwrap()).unwrap();
    assert_eq!(moved["rules"][0]["description"], "keep protected");
    assert_eq!(moved["rules"][0]["rulePriority"], 1);
    assert_eq!(moved["rules"][1]["rulePriority"], 2);
    let below_text = run(&moto, dir.path(), &["lifecycle", "protect"]);
    assert!(
        text(&below_text.stderr).contains(
            "moving rule 10 (\"keep protected\") to the top priority (the others move down, order kept) keeps every protected image"
        ),
        "{}",
        text(&below_text.stderr)
    );
    put_policy(&moto, "api", &moved);
    assert_exit(&run(&moto, dir.path(), &["lifecycle", "protect"]), 0);
}

// ---------------------------------------------------------------------------------------
// The DescribeImages paginator (moto never pages)
// ---------------------------------------------------------------------------------------

/// A fake ECR JSON endpoint: GetLifecyclePolicy answers `policy`; DescribeImages answers
/// `pages` one after another, linked by nextToken. Returns the endpoint and the
/// DescribeImages request bodies seen.
fn fake_ecr(
    policy: String,
    pages: Vec<Value>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some((headers, _, body)) = crate::support::aws_proxy::read_request(&mut stream)
            else {
                continue;
            };
            let head: String = headers
                .iter()
                .find(|(k, _)| k == "x-amz-target")
                .map(|(_, v)| v.to_lowercase())
                .unwrap_or_default();
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut status = "200 OK";
            let answer = if head.contains("batchgetimage") {
                // A read-only auditor role without ecr:BatchGetImage.
                status = "400 Bad Request";
                json!({"__type": "AccessDeniedException",
                       "message": "User: arn:aws:sts::123456789012:assumed-role/auditor/x is not authorized to perform: ecr:BatchGetImage"})
            } else if head.contains("getlifecyclepolicy") {
                json!({"registryId": "123456789012", "repositoryName": "api",
                       "lifecyclePolicyText": policy, "lastEvaluatedAt": 1.7e9})
            } else if head.contains("describeimages") {
                log.lock().unwrap().push(request.clone());
                let index = request["nextToken"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("page-"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut page = pages[index].clone();
                if index + 1 < pages.len() {
                    page["nextToken"] = json!(format!("page-{}", index + 1));
                }
                page
            } else {
                json!({})
            };
            let body = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (endpoint, seen)
}

#[test]
fn lifecycle_reads_every_describe_images_page() {
    let image = |c: char, tag: &str, pushed: f64| {
        json!({"imageDigest": digest(c), "imageTags": [tag], "imagePushedAt": pushed,
               "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"})
    };
    let pages = vec![
        json!({"imageDetails": [image('1', "v1", 1.6e9)]}),
        json!({"imageDetails": [image('2', "v2", 1.6e9 + 10.0)]}),
        json!({"imageDetails": [image('3', "v3", 1.6e9 + 20.0)]}),
    ];
    let policy = keep_newest("v", 2, "keep two releases").to_string();
    let (endpoint, seen) = fake_ecr(policy, pages);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    for name in moto::ENV_REMOVE {
        cmd.env_remove(name);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("creds"), "").unwrap();
    let out = cmd
        .args([
            "lifecycle",
            "--in-use",
            &format!("{}/api@{}", host(), digest('1')),
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("creds"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("creds"))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let v = json_of(&out);
    assert_eq!(v["repositories"][0]["images"], 3, "{v:#}");
    assert_eq!(v["results"][0]["imageDigest"], digest('1'));
    let requests = seen.lock().unwrap();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[1]["nextToken"], "page-1");
    assert_eq!(requests[0]["filter"]["imageStatus"], "ANY");
}

/// A role without ecr:BatchGetImage: the index's children are unknown (a warning naming
/// the action and AWS's answer), and the policy is still evaluated.
#[test]
fn lifecycle_evaluates_when_batch_get_image_is_denied() {
    let pages = vec![json!({"imageDetails": [
        {"imageDigest": digest('1'), "imageTags": ["v1"], "imagePushedAt": 1.6e9,
         "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"},
        {"imageDigest": digest('2'), "imageTags": ["v2"], "imagePushedAt": 1.6e9 + 10.0,
         "imageManifestMediaType": "application/vnd.oci.image.index.v1+json"},
        {"imageDigest": digest('3'), "imageTags": ["v3"], "imagePushedAt": 1.6e9 + 20.0,
         "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}]})];
    let policy = keep_newest("v", 2, "keep two releases").to_string();
    let (endpoint, _seen) = fake_ecr(policy, pages);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("creds"), "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    for name in moto::ENV_REMOVE {
        cmd.env_remove(name);
    }
    let out = cmd
        .args([
            "lifecycle",
            "--in-use",
            &format!("{}/api@{}", host(), digest('1')),
        ])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("creds"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("creds"))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stdout.contains("will be deleted within about 24 h"),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains(&format!("the index {}", digest('2')))
            && stderr.contains("AccessDeniedException"),
        "{stderr}"
    );
}

#[test]
fn lifecycle_help_teaches_offline_mode_protect_and_exit_codes() {
    let help = text(&offline(&["lifecycle", "--help"]).stdout);
    for needle in [
        "--policy",
        "--images",
        "--in-use",
        "--at",
        "imgpin ecs images --format json",
        "Exit codes",
        "1  an in-use image would be expired or archived",
        "protect",
    ] {
        assert!(help.contains(needle), "{needle} missing:\n{help}");
    }
    let protect = text(&offline(&["lifecycle", "protect", "--help"]).stdout);
    for needle in ["--tag-prefix", "--apply", "PutImage", "Exit codes"] {
        assert!(protect.contains(needle), "{needle} missing:\n{protect}");
    }
}

/// `--ecs-cluster`: the images a live service deploys are in use, with no
/// file at all; `--in-use ecs:NAME` is the same; a missing cluster is an
/// error naming the ECS action.
#[test]
fn lifecycle_counts_the_images_an_ecs_cluster_runs() {
    let moto = Moto::start();
    let host = host();
    create_repo(&moto, "api");
    let v1 = push_then_wait(&moto, "api", "v1", &oci_image(LINUX_AMD64));
    let _v2 = push_then_wait(&moto, "api", "v2", &oci_image(LINUX_AMD64));
    let _v3 = moto.put_image(REGION, "api", "v3", &oci_image(LINUX_AMD64));
    put_policy(&moto, "api", &keep_newest("v", 2, "keep two releases"));
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    moto.ecs(
        REGION,
        "RegisterTaskDefinition",
        json!({
            "family": "web",
            "containerDefinitions": [{"name": "app", "image": format!("{host}/api:v1@{v1}"), "memory": 256}]
        }),
    );
    moto.ecs(
        REGION,
        "CreateService",
        json!({ "cluster": "prod", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1 }),
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let empty_arg = empty.display().to_string();

    let out = run(
        &moto,
        dir.path(),
        &["lifecycle", "--ecs-cluster", "prod", &empty_arg],
    );
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "problem: {host}/api:v1@{v1} ({}), used by service web container app (cluster prod), in repository api",
            &v1[..19]
        )),
        "{stdout}{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("rule 1 (\"keep two releases\")"),
        "{stdout}"
    );

    let same = run(
        &moto,
        dir.path(),
        &["lifecycle", "--in-use-from", "ecs:prod", &empty_arg],
    );
    assert_exit(&same, 1);
    assert_eq!(text(&same.stdout), stdout);

    let missing = run(
        &moto,
        dir.path(),
        &["lifecycle", "--ecs-cluster", "nope", &empty_arg],
    );
    assert_exit(&missing, 2);
    assert!(
        text(&missing.stderr).contains(
            "error: cannot list the images of ECS cluster nope: ecs:ListServices: cluster nope not found"
        ),
        "{}{}",
        text(&missing.stdout),
        text(&missing.stderr)
    );
}

/// `--in-use -` reads the in-use document from standard input, so
/// `imgpin ecs images --format json | imgpin lifecycle --in-use -` works; the
/// answer is the same as from the saved file.
#[test]
fn lifecycle_reads_the_in_use_document_from_stdin() {
    let (policy, images, ecs) = (
        fixture("policy.json"),
        fixture("images.json"),
        fixture("ecs-images.json"),
    );
    let args = |in_use: &str| {
        vec![
            "lifecycle".to_string(),
            "--policy".into(),
            policy.clone(),
            "--images".into(),
            images.clone(),
            "--in-use".into(),
            in_use.to_string(),
            "--at".into(),
            "2023-03-10".into(),
        ]
    };
    let from_file = offline(&args(&ecs).iter().map(String::as_str).collect::<Vec<_>>());
    let mut child = offline_command(&args("-").iter().map(String::as_str).collect::<Vec<_>>())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run imgpin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&ecs).unwrap())
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_exit(&from_stdin, 1);
    assert_eq!(text(&from_stdin.stdout), text(&from_file.stdout));
    assert!(text(&from_stdin.stdout).contains("used by service web container app (cluster prod)"));
}

// ---------------------------------------------------------------------------------------
// Delete replication across Regions
// ---------------------------------------------------------------------------------------

/// Adds `deleteReplication.enabled` to every rule of a DescribeRegistry
/// answer: moto's serializer follows botocore's model, which (like the
/// SDK's, aws-sdk-ecr 1.138) has no such field, so moto drops it.
fn delete_replication(answer: &mut Value) {
    if let Some(rules) = answer["replicationConfiguration"]["rules"].as_array_mut() {
        for rule in rules {
            rule["deleteReplication"] = json!({ "enabled": true });
        }
    }
}

/// Two Regions, deletes replicated from us-east-1 to eu-west-1, a service
/// running in eu-west-1 only, and a count rule in us-east-1 that would
/// expire its image: `lifecycle` exits 1 naming the eu-west-1 service;
/// after `lifecycle protect --apply` it exits 0.
#[test]
fn lifecycle_counts_replicas_where_deletes_replicate() {
    use crate::support::aws_proxy::AwsProxy;
    let moto = Moto::start();
    let proxy = AwsProxy::start(moto.endpoint(), "DescribeRegistry", delete_replication);
    let account = moto::ACCOUNT_ID;
    let (source, destination) = ("us-east-1", "eu-west-1");
    let image = oci_image(LINUX_AMD64);
    for region in [source, destination] {
        moto.ecr(
            region,
            "CreateRepository",
            json!({ "repositoryName": "api" }),
        );
    }
    let old = moto.put_image(source, "api", "v1", &image);
    std::thread::sleep(Duration::from_millis(1100));
    moto.put_image(source, "api", "v2", &oci_image(LINUX_AMD64));
    // The replica (moto does not replicate: put the same manifest there).
    assert_eq!(moto.put_image(destination, "api", "v1", &image), old);
    moto.ecr(
        source,
        "PutLifecyclePolicy",
        json!({ "repositoryName": "api", "lifecyclePolicyText": json!({"rules": [
            {"rulePriority": 1, "description": "protected",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep-"],
                           "countType": "imageCountMoreThan", "countNumber": 1000},
             "action": {"type": "expire"}},
            {"rulePriority": 2, "description": "keep one release",
             "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
                           "countType": "imageCountMoreThan", "countNumber": 1},
             "action": {"type": "expire"}}]}).to_string() }),
    );
    moto.ecr(
        source,
        "PutReplicationConfiguration",
        json!({ "replicationConfiguration": { "rules": [
            { "destinations": [{ "region": destination, "registryId": account }] }] } }),
    );
    let eu = format!("{account}.dkr.ecr.{destination}.amazonaws.com/api:v1@{old}");
    moto.ecs(destination, "CreateCluster", json!({ "clusterName": "eu" }));
    moto.ecs(
        destination,
        "RegisterTaskDefinition",
        json!({ "family": "web", "containerDefinitions": [{ "name": "app", "image": eu, "memory": 128 }] }),
    );
    moto.ecs(
        destination,
        "CreateService",
        json!({ "cluster": "eu", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1 }),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let through = |endpoint: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "empty",
            "--ecs-cluster",
            "eu",
            "--region",
            destination,
            "--region",
            source,
        ]);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
        moto.configure(&mut cmd);
        cmd.args(&all)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .expect("run imgpin")
    };

    let out = through(proxy.endpoint(), &["lifecycle"]);
    assert_exit(&out, 1);
    let problems: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("problem:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        problems.len(),
        1,
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        problems[0].starts_with(&format!(
            "problem: {eu} ({}), used by service web container app (cluster eu), through the replica in eu-west-1 (account {account}; delete replication from us-east-1), in repository api (account {account}, us-east-1) will be deleted within about 24 h: rule 2 (\"keep one release\")",
            &old[..19]
        )),
        "{}",
        problems[0]
    );
    // Without delete replication the source's policy does not reach the replica.
    assert_exit(&through(&moto.endpoint(), &["lifecycle"]), 0);

    let protect = through(proxy.endpoint(), &["lifecycle", "protect", "--apply"]);
    assert_exit(&protect, 0);
    let keep = format!("keep-{}", &old[7..19]);
    let tags = |region: &str| {
        let answer = moto.ecr(
            region,
            "DescribeImages",
            json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": old }] }),
        );
        answer["imageDetails"][0]["imageTags"].clone()
    };
    assert!(
        tags(source).as_array().unwrap().contains(&json!(keep)),
        "the source repository is tagged: {}",
        tags(source)
    );
    assert!(tags(destination).as_array().unwrap().contains(&json!(keep)));
    let after = through(proxy.endpoint(), &["lifecycle"]);
    assert_exit(&after, 0);
}

/// A protecting tag another image carries already is never moved: in a
/// mutable repository that would unprotect the other image, in an immutable
/// one PutImage fails. Either way: an error that says why and what to do,
/// and nothing changes.
#[test]
fn lifecycle_protect_never_moves_a_tag_another_image_carries() {
    let moto = Moto::start();
    let host = host();
    let dir = tempfile::tempdir().unwrap();
    for (repo, mutability, words) in [
        ("locked", "IMMUTABLE", "the repository's tags are immutable (IMMUTABLE): PutImage would fail with ImageTagAlreadyExistsException; use another --tag-prefix"),
        ("open", "MUTABLE", "moving it would leave that image unprotected; use another --tag-prefix"),
    ] {
        moto.ecr(
            REGION,
            "CreateRepository",
            json!({ "repositoryName": repo, "imageTagMutability": mutability }),
        );
        let first = oci_image(LINUX_AMD64);
        let other = moto.put_image(REGION, repo, "v1", &first);
        let used = moto.put_image(REGION, repo, "v2", &oci_image(LINUX_AMD64));
        let keep = format!("keep-{}", &used[7..19]);
        // Someone gave the other image the tag that would protect `used`.
        moto.put_image(REGION, repo, &keep, &first);
        let before = describe(&moto, repo);
        let out = run(
            &moto,
            dir.path(),
            &[
                "lifecycle",
                "protect",
                "--apply",
                "--in-use",
                &format!("{host}/{repo}@{used}"),
            ],
        );
        assert_exit(&out, 2);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            all.contains(&format!(
                "repository {repo} (account {}, {REGION}): cannot protect {} with {keep}: the tag is on {} already",
                moto::ACCOUNT_ID,
                &used[..19],
                &other[..19]
            )),
            "{all}"
        );
        assert!(all.contains(words), "{all}");
        assert_eq!(describe(&moto, repo), before, "nothing moved in {repo}");
    }
}
