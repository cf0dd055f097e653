//! `imgpin ecs pin` and `imgpin ecs images` against moto (ECS and ECR) and a
//! local docker-registry.
//!
//! moto gaps (shared/ECR-LIFECYCLE.md 4.2): DescribeTasks has no
//! `imageDigest`, UpdateService adds no deployment, ListServices ignores
//! pagination, DescribeServices has no 10-name limit. Those paths are tested
//! with fakes in src/ecs/tests.rs; this module tests the plumbing for real.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{assert_exit, text};
use crate::support::images::oci_image;
use crate::support::{moto, Moto, Registry, LINUX_AMD64, LINUX_ARM64};

const REGION: &str = moto::REGION;
const PINNED: &str =
    "busybox:1.36@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The binary with moto's environment (and the registry's, when given).
fn imgpin(moto: &Moto, registry: Option<&Registry>, args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("DOCKER_CONFIG")
        .env_remove("SSL_CERT_FILE");
    moto.configure(&mut cmd);
    if let Some(r) = registry {
        cmd.envs(r.env());
    }
    cmd.output().expect("run imgpin")
}

fn ecr_image(repo: &str, tag: &str) -> String {
    format!(
        "{}.dkr.ecr.{REGION}.amazonaws.com/{repo}:{tag}",
        moto::ACCOUNT_ID
    )
}

fn describe(moto: &Moto, name: &str) -> Value {
    moto.ecs(
        REGION,
        "DescribeTaskDefinition",
        json!({ "taskDefinition": name, "include": ["TAGS"] }),
    )
}

fn images_of(answer: &Value) -> Vec<String> {
    answer["taskDefinition"]["containerDefinitions"]
        .as_array()
        .expect("containerDefinitions")
        .iter()
        .map(|c| c["image"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn register(moto: &Moto, family: &str, images: &[(&str, &str)], tags: Value) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|(name, image)| json!({ "name": name, "image": image, "memory": 128, "essential": true }))
        .collect();
    moto.ecs(
        REGION,
        "RegisterTaskDefinition",
        json!({
            "family": family,
            "containerDefinitions": containers,
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "tags": tags,
        }),
    )
}

#[test]
fn ecs_pin_prints_registerable_json_and_register_adds_one_revision() {
    let moto = Moto::start();
    let reg = Registry::start_plain();
    let dir = tempfile::tempdir().unwrap();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "shop/api" }),
    );
    let api_digest = moto.put_image(REGION, "shop/api", "1.4", &oci_image(LINUX_AMD64));
    let side_digest = reg.push_image("tools/side", "2.0", LINUX_AMD64);
    let api = ecr_image("shop/api", "1.4");
    let side = reg.image("tools/side", "2.0");
    let tags = json!([{ "key": "team", "value": "shop" }]);
    register(
        &moto,
        "web",
        &[("app", &api), ("side", &side), ("base", PINNED)],
        tags.clone(),
    );
    let want = vec![
        format!("{api}@{api_digest}"),
        format!("{side}@{side_digest}"),
        PINNED.to_owned(),
    ];

    // The printed JSON: pinned images (tag kept), no read-only fields, tags, ECS's key order.
    let out = imgpin(
        &moto,
        Some(&reg),
        &["ecs", "pin", "--task-definition", "web"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let printed = text(&out.stdout);
    let input: Value = serde_json::from_str(&printed).expect("stdout is JSON");
    let containers = input["containerDefinitions"].as_array().unwrap();
    let got: Vec<&str> = containers
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(got, want);
    for field in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
    ] {
        assert!(input.get(field).is_none(), "{field} left in:\n{printed}");
    }
    assert_eq!(input["tags"], tags);
    assert_eq!(input["cpu"], "256");
    assert_eq!(input["requiresCompatibilities"], json!(["FARGATE"]));
    // moto's order, not alphabetical: family before volumes before cpu; name before image.
    let at = |needle: &str| {
        printed
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {printed}"))
    };
    assert!(
        at("\"family\"") < at("\"volumes\"") && at("\"volumes\"") < at("\"cpu\": \"256\""),
        "{printed}"
    );
    assert!(at("\"name\"") < at("\"image\""), "{printed}");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("-      \"image\": \"{api}\",")),
        "{err}"
    );
    assert!(
        err.contains(&format!("+      \"image\": \"{api}@{api_digest}\",")),
        "{err}"
    );
    assert!(
        !err.contains(PINNED),
        "an unchanged image is not in the diff:\n{err}"
    );

    // RegisterTaskDefinition takes the printed JSON unchanged.
    let registered = moto.ecs(REGION, "RegisterTaskDefinition", input.clone());
    assert_eq!(registered["taskDefinition"]["revision"], 2);
    let two = describe(&moto, "web:2");
    assert_eq!(images_of(&two), want);
    assert_eq!(two["tags"], tags);

    // --output writes the same JSON (and prints nothing on stdout).
    let file = dir.path().join("web.json");
    let out = imgpin(
        &moto,
        Some(&reg),
        &[
            "ecs",
            "pin",
            "--task-definition",
            "web:1",
            "--output",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);

    // --register: revision N+1 (3) with pinned images and the tags; stdout is its ARN.
    let out = imgpin(
        &moto,
        Some(&reg),
        &["ecs", "pin", "--task-definition", "web:1", "--register"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let arn3 = format!(
        "arn:aws:ecs:{REGION}:{}:task-definition/web:3",
        moto::ACCOUNT_ID
    );
    assert_eq!(text(&out.stdout), format!("{arn3}\n"));
    let three = describe(&moto, "web:3");
    assert_eq!(images_of(&three), want);
    assert_eq!(three["tags"], tags);
    assert_eq!(three["taskDefinition"]["memory"], "512");

    // A second run registers nothing and prints the ARN it described.
    let out = imgpin(
        &moto,
        Some(&reg),
        &["ecs", "pin", "--task-definition", "web", "--register"],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), format!("{arn3}\n"));
    assert!(
        text(&out.stderr).contains("nothing to pin; nothing registered"),
        "{}",
        text(&out.stderr)
    );
    let four = moto.try_ecs(
        REGION,
        "DescribeTaskDefinition",
        json!({ "taskDefinition": "web:4" }),
    );
    assert!(four.is_err(), "web:4 was registered: {four:?}");

    // --format json: one document with the task definition, the diff and the counts.
    let out = imgpin(
        &moto,
        Some(&reg),
        &[
            "ecs",
            "pin",
            "--task-definition",
            "web:1",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_exit(&out, 0);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["command"], "ecs pin");
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["registeredTaskDefinitionArn"], Value::Null);
    assert_eq!(doc["taskDefinition"], input);
    assert_eq!(doc["summary"]["pinned"], 2);
    assert_eq!(doc["summary"]["alreadyPinned"], 1);
    assert!(doc["changes"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("@sha256:"));
}

#[test]
fn ecs_pin_errors_name_the_family_or_the_image_and_register_nothing() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();

    let out = imgpin(
        &moto,
        None,
        &["ecs", "pin", "--task-definition", "nope:3"],
        dir.path(),
    );
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("ecs:DescribeTaskDefinition: task definition nope:3 not found"),
        "{err}"
    );
    assert!(!err.contains("testing"), "credentials in output: {err}");

    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "shop/api" }),
    );
    moto.put_image(REGION, "shop/api", "1.4", &oci_image(LINUX_AMD64));
    let good = ecr_image("shop/api", "1.4");
    let missing = ecr_image("shop/api", "9.9");
    register(&moto, "job", &[("ok", &good), ("bad", &missing)], json!([]));
    let out = imgpin(
        &moto,
        None,
        &["ecs", "pin", "--task-definition", "job", "--register"],
        dir.path(),
    );
    assert_exit(&out, 2);
    assert_eq!(
        text(&out.stdout),
        "",
        "nothing is printed when an image fails"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("job:1: error: container bad: {missing}")),
        "{err}"
    );
    assert!(
        err.contains("nothing printed, written or registered"),
        "{err}"
    );
    let two = moto.try_ecs(
        REGION,
        "DescribeTaskDefinition",
        json!({ "taskDefinition": "job:2" }),
    );
    assert!(two.is_err(), "job:2 was registered: {two:?}");
}

/// The id of one of moto's default subnets (RunTask with awsvpc needs a real one).
fn default_subnet(moto: &Moto) -> String {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/ec2/aws4_request, \
         SignedHeaders=content-type;host, Signature=0"
    );
    let body = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/", moto.endpoint()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", authorization)
        .body("Action=DescribeSubnets&Version=2016-11-15")
        .send()
        .expect("DescribeSubnets")
        .text()
        .unwrap();
    let start = body.find("<subnetId>").expect("a subnet in moto") + "<subnetId>".len();
    let end = start + body[start..].find("</subnetId>").unwrap();
    body[start..end].to_owned()
}

fn run_task(moto: &Moto, subnet: &str, task_definition: &str, group: Option<&str>) -> String {
    let mut body = json!({
        "cluster": "prod",
        "taskDefinition": task_definition,
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": { "awsvpcConfiguration": { "subnets": [subnet], "securityGroups": ["sg-1"] } },
    });
    if let Some(g) = group {
        body["group"] = json!(g);
    }
    let answer = moto.ecs(REGION, "RunTask", body);
    assert_eq!(
        answer["tasks"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    answer["tasks"][0]["taskArn"].as_str().unwrap().to_owned()
}

#[test]
fn ecs_images_lists_deployments_and_running_tasks() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let web1 = format!("shop/web:1.0@sha256:{}", "1".repeat(64));
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    register(
        &moto,
        "web",
        &[("app", &web1), ("proxy", "envoy:1.30")],
        json!([]),
    );
    register(
        &moto,
        "web",
        &[("app", "shop/web:2.0"), ("proxy", "envoy:1.30")],
        json!([]),
    );
    register(&moto, "api", &[("app", "shop/api:3")], json!([]));
    register(&moto, "batch", &[("job", "shop/batch:nightly")], json!([]));
    for (name, td) in [("web", "web:1"), ("api", "api:1")] {
        moto.ecs(
            REGION,
            "CreateService",
            json!({ "cluster": "prod", "serviceName": name, "taskDefinition": td, "desiredCount": 1, "launchType": "FARGATE" }),
        );
    }
    // moto stores "web:2" as given and keeps the web:1 deployment: both must be listed.
    moto.ecs(
        REGION,
        "UpdateService",
        json!({ "cluster": "prod", "service": "web", "taskDefinition": "web:2" }),
    );
    let subnet = default_subnet(&moto);
    run_task(&moto, &subnet, "web:1", Some("service:web"));
    run_task(&moto, &subnet, "batch:1", None);
    // A task that stopped: ECS still lists it for about an hour.
    let done = run_task(&moto, &subnet, "api:1", None);
    moto.ecs(
        REGION,
        "StopTask",
        json!({ "cluster": "prod", "task": done }),
    );

    let arn = |td: &str| {
        format!(
            "arn:aws:ecs:{REGION}:{}:task-definition/{td}",
            moto::ACCOUNT_ID
        )
    };
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "prod", "--format", "json"],
        dir.path(),
    );
    assert_exit(&out, 0);
    crate::schema::validate_against(crate::schema::ECS_IMAGES_SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["command"], "ecs images");
    assert_eq!(doc["cluster"], "prod");
    let mut rows: Vec<String> = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["cluster"], "prod");
            format!(
                "{} {} {} {} {} {}",
                r["service"].as_str().unwrap(),
                r["taskDefinition"].as_str().unwrap(),
                r["container"].as_str().unwrap(),
                r["image"].as_str().unwrap(),
                r["digest"].as_str().unwrap_or("null"),
                r["source"].as_str().unwrap()
            )
        })
        .collect();
    rows.sort();
    let d1 = format!("sha256:{}", "1".repeat(64));
    let mut want = vec![
        format!("- {} job shop/batch:nightly null task", arn("batch:1")),
        format!("- {} app shop/api:3 null stopped-task", arn("api:1")),
        format!("api {} app shop/api:3 null deployment", arn("api:1")),
        format!("web {} app {web1} {d1} deployment", arn("web:1")),
        format!("web {} proxy envoy:1.30 null deployment", arn("web:1")),
        format!("web {} app shop/web:2.0 null deployment", arn("web:2")),
        format!("web {} proxy envoy:1.30 null deployment", arn("web:2")),
        format!("web {} app {web1} {d1} task", arn("web:1")),
        // moto's RunTask reports only the first container of a task.
    ];
    want.sort();
    assert_eq!(rows, want);

    // Text: a table on stdout, the count on stderr.
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "prod", "--service", "web"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let table = text(&out.stdout);
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        [
            "SERVICE",
            "TASK",
            "DEFINITION",
            "CONTAINER",
            "IMAGE",
            "DIGEST",
            "SOURCE"
        ]
    );
    let body: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(body.len(), 5, "{table}");
    assert!(body.iter().all(|r| r[0] == "web"), "{table}");
    assert!(
        body.contains(&vec![
            "web",
            "web:2",
            "app",
            "shop/web:2.0",
            "-",
            "deployment"
        ]),
        "{table}"
    );
    assert!(
        body.contains(&vec![
            "web",
            "web:1",
            "app",
            web1.as_str(),
            d1.as_str(),
            "task"
        ]),
        "{table}"
    );
    assert!(
        text(&out.stderr).contains("cluster prod: 5 images in use across 1 service"),
        "{}",
        text(&out.stderr)
    );

    // Missing service and missing cluster: errors naming the action.
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "prod", "--service", "nope"],
        dir.path(),
    );
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("ecs:DescribeServices: not found in cluster prod"),
        "{}",
        text(&out.stderr)
    );
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "ghost"],
        dir.path(),
    );
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("ecs:ListServices"),
        "{}",
        text(&out.stderr)
    );
}

/// `--update` re-pins an image whose tag moved; without it a pinned image is
/// left alone. Nothing else in the task definition changes.
#[test]
fn ecs_pin_update_repins_a_moved_tag() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "api" }),
    );
    let old = moto.put_image(REGION, "api", "1.4", &oci_image(LINUX_AMD64));
    let pinned = format!("{}@{old}", ecr_image("api", "1.4"));
    let bare = format!("busybox@sha256:{}", "a".repeat(64));
    register(
        &moto,
        "job",
        &[("app", &pinned), ("base", &bare)],
        json!([]),
    );
    // The tag moves to a new image.
    let new = moto.put_image(REGION, "api", "1.4", &oci_image(LINUX_ARM64));
    assert_ne!(old, new);

    let out = imgpin(
        &moto,
        None,
        &["ecs", "pin", "--task-definition", "job"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let input: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(input["containerDefinitions"][0]["image"], pinned.as_str());

    let out = imgpin(
        &moto,
        None,
        &["ecs", "pin", "--task-definition", "job", "--update"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let input: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        input["containerDefinitions"][0]["image"],
        format!("{}@{new}", ecr_image("api", "1.4"))
    );
    // A digest without a tag has nothing to follow: left alone.
    assert_eq!(input["containerDefinitions"][1]["image"], bare.as_str());
    assert!(
        text(&out.stderr).contains("1 pinned, 1 already pinned"),
        "{}",
        text(&out.stderr)
    );
}

/// A CODE_DEPLOY or EXTERNAL (blue/green) service has no deployments: its
/// task sets name the task definitions, and both colours are in use.
#[test]
fn ecs_images_lists_the_task_sets_of_blue_green_services() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "bg" }));
    register(&moto, "shop", &[("app", "shop/api:blue")], json!([]));
    register(&moto, "shop", &[("app", "shop/api:green")], json!([]));
    moto.ecs(
        REGION,
        "CreateService",
        json!({ "cluster": "bg", "serviceName": "shop", "desiredCount": 0,
                "deploymentController": { "type": "EXTERNAL" } }),
    );
    for td in ["shop:1", "shop:2"] {
        moto.ecs(
            REGION,
            "CreateTaskSet",
            json!({ "cluster": "bg", "service": "shop", "taskDefinition": td }),
        );
    }
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "bg", "--format", "json"],
        dir.path(),
    );
    assert_exit(&out, 0);
    crate::schema::validate_against(crate::schema::ECS_IMAGES_SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut rows: Vec<String> = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["service"].as_str().unwrap(),
                r["image"].as_str().unwrap(),
                r["source"].as_str().unwrap()
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "shop shop/api:blue deployment",
            "shop shop/api:green deployment"
        ]
    );

    // An empty region (AWS_REGION= in CI) is told as a missing one.
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "bg", "--region", ""],
        dir.path(),
    );
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("no AWS region: pass --region"),
        "{}",
        text(&out.stderr)
    );
    // A cluster ARN names its region: no --region needed.
    moto.ecs("eu-west-1", "CreateCluster", json!({ "clusterName": "eu" }));
    let eu = format!("arn:aws:ecs:eu-west-1:{}:cluster/eu", moto::ACCOUNT_ID);
    let out = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", &eu],
        dir.path(),
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("0 images in use"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn ecs_help_teaches_flags_examples_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run imgpin");
        assert_exit(&out, 0);
        text(&out.stdout)
    };
    let pin = help(&["ecs", "pin", "--help"]);
    for needle in [
        "--task-definition",
        "--register",
        "--output",
        "--update",
        "--region",
        "--aws-profile",
        "register-task-definition --cli-input-json",
        "Exit codes",
    ] {
        assert!(
            pin.contains(needle),
            "{needle} missing from ecs pin --help:\n{pin}"
        );
    }
    let images = help(&["ecs", "images", "--help"]);
    for needle in [
        "--cluster",
        "--service",
        "--format",
        "imageDigest",
        "Exit codes",
    ] {
        assert!(
            images.contains(needle),
            "{needle} missing from ecs images --help:\n{images}"
        );
    }
    // --cluster is required: a usage error, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(["ecs", "images"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
}

/// A scripted ECS endpoint on 127.0.0.1: the n-th request gets the n-th
/// (status, `__type`-style JSON body) answer, the last one repeated. Counts requests.
fn scripted_ecs(answers: Vec<(u16, String)>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            // Read the head, then Content-Length bytes of body.
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let mut want = None;
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                if want.is_none() {
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        want = Some(end + 4 + length);
                    }
                }
                if want.is_some_and(|w| data.len() >= w) {
                    break;
                }
            }
            let i = seen.fetch_add(1, Ordering::SeqCst);
            let (status, body) = &answers[i.min(answers.len() - 1)];
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, count)
}

fn imgpin_at(endpoint: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    for name in moto::ENV_REMOVE {
        cmd.env_remove(name);
    }
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    cmd.args(args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty);
    cmd.output().expect("run imgpin")
}

#[test]
fn ecs_pin_retries_throttling_and_names_the_action_when_denied() {
    let throttled = (
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned(),
    );
    let answer = json!({
        "taskDefinition": {
            "taskDefinitionArn": format!("arn:aws:ecs:{REGION}:123456789012:task-definition/web:7"),
            "containerDefinitions": [{ "name": "app", "image": PINNED }],
            "family": "web",
            "revision": 7,
            "status": "ACTIVE",
        },
        "tags": [],
    });
    let (url, count) = scripted_ecs(vec![
        throttled.clone(),
        throttled,
        (200, answer.to_string()),
    ]);
    let out = imgpin_at(&url, &["ecs", "pin", "--task-definition", "web:7"]);
    assert_exit(&out, 0);
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "two throttled answers, then success"
    );
    let input: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        input,
        json!({ "containerDefinitions": [{ "name": "app", "image": PINNED }], "family": "web" })
    );
    assert!(
        text(&out.stderr).contains("web:7: 1 images, 0 pinned, 1 already pinned; nothing to pin"),
        "{}",
        text(&out.stderr)
    );

    let denied = (
        400,
        r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeTaskDefinition"}"#.to_owned(),
    );
    let (url, count) = scripted_ecs(vec![denied]);
    let out = imgpin_at(&url, &["ecs", "pin", "--task-definition", "web:7"]);
    assert_exit(&out, 2);
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "access denied is not retried"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("ecs:DescribeTaskDefinition: access denied for web:7: the caller needs permission for ecs:DescribeTaskDefinition"),
        "{err}"
    );
    assert!(!err.contains("testing-secret"), "{err}");
}

/// What real ECS answers has fields moto never sends: `deleteRequestedAt`
/// (read-only), `enableFaultInjection: false` on every task definition, and
/// one day fields newer than imgpin. The printed input must hold only
/// RegisterTaskDefinition parameters, every block unchanged.
#[test]
fn ecs_pin_drops_every_read_only_field_real_ecs_sends() {
    let container = json!({
        "name": "app", "image": PINNED, "cpu": 0, "essential": true,
        "secrets": [{ "name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf" }],
        "environmentFiles": [{ "value": "arn:aws:s3:::cfg/app.env", "type": "s3" }],
        "dependsOn": [{ "containerName": "log_router", "condition": "START" }],
        "healthCheck": { "command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3 },
        "logConfiguration": { "logDriver": "awsfirelens", "options": { "Name": "cloudwatch" } }
    });
    let router = json!({
        "name": "log_router", "image": PINNED, "essential": true,
        "firelensConfiguration": { "type": "fluentbit", "options": { "enable-ecs-log-metadata": "true" } }
    });
    let answer = json!({
        "taskDefinition": {
            "taskDefinitionArn": format!("arn:aws:ecs:{REGION}:123456789012:task-definition/web:7"),
            "containerDefinitions": [container, router],
            "family": "web",
            "revision": 7,
            "volumes": [],
            "status": "INACTIVE",
            "requiresAttributes": [{ "name": "ecs.capability.secrets.asm.environment-variables" }],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "registeredAt": 1732000000.123,
            "deregisteredAt": 1732100000.5,
            "deleteRequestedAt": 1732200000.25,
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/ci",
            "ephemeralStorage": { "sizeInGiB": 30 },
            "enableFaultInjection": false,
            "futureSetting": "on"
        },
        "tags": [
            { "key": "aws:servicecatalog:productArn", "value": "arn:aws:catalog:us-east-1:123456789012:product/prod-x" },
            { "key": "team", "value": "platform" }
        ],
    });
    let (url, _) = scripted_ecs(vec![(200, answer.to_string())]);
    let out = imgpin_at(&url, &["ecs", "pin", "--task-definition", "web:7"]);
    assert_exit(&out, 0);
    let input: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = input
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "containerDefinitions",
        "family",
        "volumes",
        "placementConstraints",
        "runtimePlatform",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "ephemeralStorage",
        "futureSetting",
        "tags",
    ];
    let mut keys = keys;
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(
        input["containerDefinitions"],
        answer["taskDefinition"]["containerDefinitions"]
    );
    assert_eq!(
        input["tags"],
        json!([{ "key": "team", "value": "platform" }])
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("web:7: warning: tag aws:servicecatalog:productArn is left out"),
        "{err}"
    );
    assert!(
        err.contains("web:7: warning: field futureSetting is newer than imgpin: kept as described"),
        "{err}"
    );
}

/// `verify --ecs-cluster` checks the platform ECS runs a service on: an
/// ARM64 task definition pinned to a multi-arch index whose arm64 child was
/// deleted (what a rule on untagged images does) is a problem at the
/// service, though the index itself is there; the X86_64 one is clean.
#[test]
fn verify_checks_the_platform_child_a_live_service_needs() {
    use crate::support::images::oci_index;
    use crate::support::LINUX_ARM64;
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "api" }),
    );
    let index = oci_index(&[LINUX_AMD64, LINUX_ARM64]);
    for (child, tag) in index.children.iter().zip(["amd", "arm"]) {
        moto.put_image(REGION, "api", tag, child);
    }
    let pinned = moto.put_image(REGION, "api", "1.0", &index);
    let image = format!("{}@{pinned}", ecr_image("api", "1.0"));
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    for (family, arch) in [("arm", "ARM64"), ("x86", "X86_64")] {
        moto.ecs(
            REGION,
            "RegisterTaskDefinition",
            json!({
                "family": family,
                "containerDefinitions": [{ "name": "app", "image": image, "memory": 128, "essential": true }],
                "requiresCompatibilities": ["FARGATE"],
                "runtimePlatform": { "cpuArchitecture": arch, "operatingSystemFamily": "LINUX" },
                "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            }),
        );
        moto.ecs(
            REGION,
            "CreateService",
            json!({ "cluster": "prod", "serviceName": family, "taskDefinition": format!("{family}:1"), "desiredCount": 1, "launchType": "FARGATE" }),
        );
    }
    std::fs::create_dir_all(dir.path().join("no-files")).unwrap();
    let verify = || {
        imgpin(
            &moto,
            None,
            &["verify", "no-files", "--ecs-cluster", "prod"],
            dir.path(),
        )
    };
    assert_exit(&verify(), 0);
    let arm = &index.children[1].digest;
    moto.ecr(
        REGION,
        "BatchDeleteImage",
        json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": arm }] }),
    );
    let out = verify();
    assert_exit(&out, 1);
    assert_eq!(
        text(&out.stdout),
        format!(
            "problem: {image}, used by service arm container app (cluster prod): runtimePlatform.cpuArchitecture ARM64, runtimePlatform.operatingSystemFamily LINUX needs linux/arm64/v8, and the pinned index lists manifest {arm} for it, which is gone from the registry: pulls there fail with `manifest unknown` although the index exists (a lifecycle rule on untagged images deletes an index's children; pin a new build with `imgpin pin --update --write`)\n"
        )
    );
}

/// moto's serializer has no `imageStatus`: the proxy in front of it marks
/// the image tagged `0.9` ARCHIVED, as ECR's DescribeImages answers.
fn archive_tag_09(answer: &mut Value) {
    for image in answer["imageDetails"].as_array_mut().into_iter().flatten() {
        if image["imageTags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("0.9")))
        {
            image["imageStatus"] = json!("ARCHIVED");
            image["lastArchivedAt"] = json!(1764547200.0);
        }
    }
}

/// `ecs images` says which images the cluster runs can no longer be
/// pulled: an archived one is a problem (exit 1) with the restore command,
/// a deleted one a warning; the listing itself is unchanged.
#[test]
fn ecs_images_reports_archived_and_deleted_images() {
    use crate::support::aws_proxy::AwsProxy;
    let moto = Moto::start();
    let proxy = AwsProxy::start(moto.endpoint(), "DescribeImages", archive_tag_09);
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "api" }),
    );
    let kept = moto.put_image(REGION, "api", "1.0", &oci_image(LINUX_AMD64));
    let archived = moto.put_image(REGION, "api", "0.9", &oci_image(LINUX_AMD64));
    let gone = moto.put_image(REGION, "api", "0.8", &oci_image(LINUX_AMD64));
    let api = |tag: &str, digest: &str| format!("{}@{digest}", ecr_image("api", tag));
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    for (name, tag, digest) in [
        ("web", "1.0", &kept),
        ("old", "0.9", &archived),
        ("older", "0.8", &gone),
    ] {
        register(&moto, name, &[("app", &api(tag, digest))], json!([]));
        moto.ecs(
            REGION,
            "CreateService",
            json!({ "cluster": "prod", "serviceName": name, "taskDefinition": format!("{name}:1"), "desiredCount": 1, "launchType": "FARGATE" }),
        );
    }
    moto.ecr(
        REGION,
        "BatchDeleteImage",
        json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": gone }] }),
    );
    let images = |format: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
        moto.configure(&mut cmd);
        cmd.args(["ecs", "images", "--cluster", "prod", "--format", format])
            .env("NO_COLOR", "1")
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .output()
            .expect("run imgpin")
    };
    let out = images("text");
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let account = moto::ACCOUNT_ID;
    let problem = format!(
        "problem: {account}.dkr.ecr.{REGION}.amazonaws.com/api@{archived}, used by service old container app (cluster prod) — digest {archived} in repository api (account {account}, {REGION}) is ARCHIVED in the ECR archive since 2025-12-01T00:00:00Z and cannot be pulled; restore it with `aws ecr update-image-storage-class --registry-id {account} --region {REGION} --repository-name api --image-id imageDigest={archived} --target-storage-class STANDARD`"
    );
    assert!(stdout.contains(&problem), "{stdout}");
    assert_eq!(stdout.matches("problem:").count(), 1, "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: {account}.dkr.ecr.{REGION}.amazonaws.com/api@{gone}, used by service older container app (cluster prod) — digest not found in its repository (deleted?): a new task of it fails to pull"
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("old   "),
        "the table still lists every row: {stdout}"
    );

    let out = images("json");
    assert_exit(&out, 1);
    crate::schema::validate_against(crate::schema::ECS_IMAGES_SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("digest-archived", "problem"),
            ("digest-missing", "warning")
        ]
    );
    assert_eq!(doc["images"].as_array().unwrap().len(), 3);

    // `verify` counts the archived digest with the missing ones, and says so.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    moto.configure(&mut cmd);
    let out = cmd
        .args(["verify", ".", "--ecs-cluster", "prod"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .output()
        .expect("run imgpin");
    assert_exit(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("imgpin: 0 files scanned: 3 pinned references, 2 digests missing (1 archived), 0 tags moved, 0 unpinned, 0 failed"),
        "{stderr}"
    );
}

/// `verify --ecs-cluster`: the digests a live cluster deploys must still
/// exist; deleting one with BatchDeleteImage is flagged at the service that
/// uses it. `--in-use FILE` reads the same rows from `ecs images` JSON.
#[test]
fn verify_checks_the_digests_an_ecs_cluster_uses() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "api" }),
    );
    let kept = moto.put_image(REGION, "api", "1.0", &oci_image(LINUX_AMD64));
    let gone = moto.put_image(REGION, "api", "0.9", &oci_image(LINUX_AMD64));
    let api = |tag: &str, digest: &str| format!("{}@{digest}", ecr_image("api", tag));
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    register(&moto, "web", &[("app", &api("1.0", &kept))], json!([]));
    register(&moto, "old", &[("app", &api("0.9", &gone))], json!([]));
    for (name, td) in [("web", "web:1"), ("old", "old:1")] {
        moto.ecs(
            REGION,
            "CreateService",
            json!({ "cluster": "prod", "serviceName": name, "taskDefinition": td, "desiredCount": 1, "launchType": "FARGATE" }),
        );
    }
    // A running task of the old service: the same image as its deployment,
    // which must be reported once, not once per row.
    let subnet = default_subnet(&moto);
    run_task(&moto, &subnet, "old:1", Some("service:old"));
    let empty = dir.path().join("no-files");
    std::fs::create_dir_all(&empty).unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "no-files"];
        args.extend(extra);
        imgpin(&moto, None, &args, dir.path())
    };
    assert_exit(&verify(&["--ecs-cluster", "prod"]), 0);

    moto.ecr(
        REGION,
        "BatchDeleteImage",
        json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": gone }] }),
    );
    let out = verify(&["--ecs-cluster", "prod"]);
    assert_exit(&out, 1);
    assert_eq!(
        text(&out.stdout),
        format!(
            "problem: {}, used by service old container app (cluster prod) — digest not found in registry (deleted?)\n",
            api("0.9", &gone)
        )
    );
    // The same rows saved by `ecs images --format json`, read back with --in-use.
    let listed = imgpin(
        &moto,
        None,
        &["ecs", "images", "--cluster", "prod", "--format", "json"],
        dir.path(),
    );
    assert_exit(&listed, 0);
    std::fs::write(dir.path().join("in-use.json"), &listed.stdout).unwrap();
    let from_file = verify(&["--in-use", "in-use.json"]);
    assert_exit(&from_file, 1);
    assert_eq!(text(&from_file.stdout), text(&out.stdout));
    let json_out = verify(&["--in-use-from", "ecs:prod", "--format", "json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["summary"]["missing"], 1, "{v:#}");
    let missing: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "digest-missing")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(
        missing[0]["location"],
        "service old container app (cluster prod)"
    );
}

/// `versionConsistency: disabled` on a tag-only container: `ecs pin` warns
/// that ECS resolves the tag at every launch (exit 0, the pin goes ahead),
/// at the container's place; a pinned or consistent container gets nothing.
#[test]
fn ecs_pin_warns_about_a_tag_resolved_at_every_launch() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "shop/api" }),
    );
    let digest = moto.put_image(REGION, "shop/api", "1.4", &oci_image(LINUX_AMD64));
    let api = ecr_image("shop/api", "1.4");
    let described = moto.ecs(
        REGION,
        "RegisterTaskDefinition",
        json!({
            "family": "vc",
            "containerDefinitions": [
                { "name": "app", "image": api, "memory": 128, "versionConsistency": "disabled" },
                { "name": "same", "image": api, "memory": 128, "versionConsistency": "enabled" },
                { "name": "base", "image": PINNED, "memory": 128, "versionConsistency": "disabled" }
            ],
        }),
    );
    assert_eq!(
        described["taskDefinition"]["containerDefinitions"][0]["versionConsistency"], "disabled",
        "moto keeps the field: {described}"
    );
    let out = imgpin(
        &moto,
        None,
        &["ecs", "pin", "--task-definition", "vc"],
        dir.path(),
    );
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("versionConsistency"))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "vc:1: warning: container app: {api}: versionConsistency is disabled, so ECS resolves this tag again at every task launch: a moved tag changes what new tasks run, and a rollback does not bring the old image back (a revision registered with the pinned image ends it: `--register`)"
        )],
        "{err}"
    );
    let input: Value = serde_json::from_str(&text(&out.stdout)).expect("stdout is JSON");
    assert_eq!(
        input["containerDefinitions"][0]["image"],
        format!("{api}@{digest}")
    );
}

/// `--all-clusters` with two `--region`s: every cluster of each Region
/// (`ListClusters`) counts, reported by its ARN (account and Region); a
/// cluster name is looked for in each Region, and one in none is an error.
#[test]
fn verify_all_clusters_of_several_regions() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("no-files")).unwrap();
    let account = moto::ACCOUNT_ID;
    let mut gone = String::new();
    for (region, cluster, keep) in [("us-east-1", "prod", true), ("eu-west-1", "eu", false)] {
        moto.ecr(
            region,
            "CreateRepository",
            json!({ "repositoryName": "api" }),
        );
        let digest = moto.put_image(region, "api", "1.0", &oci_image(LINUX_AMD64));
        let image = format!("{account}.dkr.ecr.{region}.amazonaws.com/api:1.0@{digest}");
        moto.ecs(region, "CreateCluster", json!({ "clusterName": cluster }));
        moto.ecs(
            region,
            "RegisterTaskDefinition",
            json!({ "family": "web", "containerDefinitions": [{ "name": "app", "image": image, "memory": 128 }] }),
        );
        moto.ecs(
            region,
            "CreateService",
            json!({ "cluster": cluster, "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1 }),
        );
        if !keep {
            moto.ecr(
                region,
                "BatchDeleteImage",
                json!({ "repositoryName": "api", "imageIds": [{ "imageDigest": digest }] }),
            );
            gone = image;
        }
    }
    let two = ["--region", "us-east-1", "--region", "eu-west-1"];
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "no-files", "-v"];
        args.extend(extra);
        imgpin(&moto, None, &args, dir.path())
    };

    let mut args = vec!["--all-clusters"];
    args.extend(two);
    let out = verify(&args);
    assert_exit(&out, 1);
    assert_eq!(
        text(&out.stdout),
        format!(
            "problem: {gone}, used by service web container app (cluster arn:aws:ecs:eu-west-1:{account}:cluster/eu) — digest not found in registry (deleted?)\n"
        )
    );
    let err = text(&out.stderr);
    assert!(err.contains("ECS in us-east-1: 1 clusters"), "{err}");
    assert!(err.contains("ECS in eu-west-1: 1 clusters"), "{err}");
    // Only the first Region: the kept image, nothing missing.
    assert_exit(&verify(&["--all-clusters", "--region", "us-east-1"]), 0);

    // A name is looked for in each Region.
    let mut args = vec!["--ecs-cluster", "eu"];
    args.extend(two);
    let out = verify(&args);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("ECS cluster eu: not in us-east-1"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("(cluster eu)"),
        "{}",
        text(&out.stdout)
    );
    let mut args = vec!["--ecs-cluster", "nope"];
    args.extend(two);
    let out = verify(&args);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr)
            .contains("ECS cluster nope was not found in any of the regions us-east-1, eu-west-1"),
        "{}",
        text(&out.stderr)
    );
}
