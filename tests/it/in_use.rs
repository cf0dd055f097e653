//! `imgpin in-use` against moto (ECS, ECR, Lambda, AWS Batch, IAM for the
//! Lambda role): one document from every source, validated against
//! docs/in-use.schema.json, read back by `lifecycle --in-use FILE`; an
//! incomplete document is refused.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{assert_exit, text};
use crate::schema::validate_against;
use crate::support::images::oci_image;
use crate::support::{moto, Moto, LINUX_AMD64, LINUX_ARM64};

const REGION: &str = moto::REGION;
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/in-use.schema.json");

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgpin"));
    moto.configure(&mut cmd);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run imgpin")
}

fn host() -> String {
    format!("{}.dkr.ecr.{REGION}.amazonaws.com", moto::ACCOUNT_ID)
}

/// Every source in one document; the Lambda version kept for rollback
/// keeps the digest it resolved, and `lifecycle --in-use` protects it.
#[test]
fn in_use_gathers_files_ecs_lambda_and_batch_into_one_document() {
    let moto = Moto::start();
    let host = host();
    let account = moto::ACCOUNT_ID;
    for repo in ["api", "worker", "thumbs"] {
        moto.ecr(
            REGION,
            "CreateRepository",
            json!({ "repositoryName": repo }),
        );
    }
    let api = moto.put_image(REGION, "api", "1.0", &oci_image(LINUX_AMD64));
    moto.put_image(REGION, "worker", "2", &oci_image(LINUX_AMD64));
    // The first thumbs image is also `v1` (moto deletes an image whose last
    // tag moves away; ECR keeps it untagged).
    let first = oci_image(LINUX_AMD64);
    let old = moto.put_image(REGION, "thumbs", "v1", &first);
    moto.put_image(REGION, "thumbs", "stable", &first);
    // Older pushes rank older (moto keeps whole seconds).
    std::thread::sleep(Duration::from_millis(1100));

    // ECS: a service running api:1.0.
    moto.ecs(REGION, "CreateCluster", json!({ "clusterName": "prod" }));
    moto.ecs(
        REGION,
        "RegisterTaskDefinition",
        json!({ "family": "web", "containerDefinitions": [{ "name": "app", "image": format!("{host}/api:1.0@{api}"), "memory": 128 }] }),
    );
    moto.ecs(
        REGION,
        "CreateService",
        json!({ "cluster": "prod", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1 }),
    );

    // Lambda: version 1 runs thumbs:stable as it was; then the tag moves
    // and $LATEST runs the new image.
    let role = moto.iam_role("thumbs-role");
    let function = "/2015-03-31/functions";
    moto.rest(
        "lambda",
        REGION,
        "POST",
        function,
        json!({ "FunctionName": "thumbs", "Role": role, "PackageType": "Image",
                "Code": { "ImageUri": format!("{host}/thumbs:stable") } }),
    );
    moto.rest(
        "lambda",
        REGION,
        "POST",
        &format!("{function}/thumbs/versions"),
        json!({}),
    );
    let new = moto.put_image(REGION, "thumbs", "stable", &oci_image(LINUX_ARM64));
    moto.rest(
        "lambda",
        REGION,
        "PUT",
        &format!("{function}/thumbs/code"),
        json!({ "ImageUri": format!("{host}/thumbs:stable") }),
    );
    // A zip function runs no image.
    moto.rest(
        "lambda",
        REGION,
        "POST",
        function,
        json!({ "FunctionName": "zipped", "Role": role, "Runtime": "python3.12", "Handler": "a.b",
                "Code": { "ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==" } }),
    );

    // Batch: revision 2 replaced revision 1; only the latest counts.
    for tag in ["1", "2"] {
        moto.rest(
            "batch",
            REGION,
            "POST",
            "/v1/registerjobdefinition",
            json!({ "jobDefinitionName": "nightly", "type": "container",
                    "containerProperties": { "image": format!("{host}/worker:{tag}"), "vcpus": 1, "memory": 512 } }),
        );
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("k8s")).unwrap();
    std::fs::write(
        dir.path().join("k8s/web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: nginx:1.27\n",
    )
    .unwrap();
    let gather = [
        "in-use",
        "k8s",
        "--ecs-cluster",
        "prod",
        "--lambda",
        "--batch",
        "--format",
        "json",
    ];
    let out = run(&moto, dir.path(), &gather);
    assert_exit(&out, 0);
    validate_against(SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["complete"], true);
    let entries = doc["entries"].as_array().unwrap();
    let rows: Vec<(String, String, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_owned(),
                e["label"].as_str().unwrap().to_owned(),
                e["digest"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("file".into(), "k8s/web.yaml:8:14".into(), Value::Null),
            (
                "ecs-deployment".into(),
                "service web container app (cluster prod)".into(),
                json!(api)
            ),
            (
                "lambda".into(),
                "Lambda function thumbs:$LATEST (us-east-1)".into(),
                json!(new)
            ),
            (
                "lambda".into(),
                "Lambda function thumbs:1 (us-east-1)".into(),
                json!(old)
            ),
            (
                "batch".into(),
                "Batch job definition nightly:2 (us-east-1)".into(),
                Value::Null
            ),
        ],
        "{}",
        text(&out.stdout)
    );
    let lambda = &entries[3];
    assert_eq!(lambda["image"], format!("{host}/thumbs:stable"));
    assert_eq!(lambda["function"], "thumbs");
    assert_eq!(lambda["version"], "1");
    assert_eq!(lambda["account"], account);
    assert_eq!(lambda["region"], REGION);
    assert_eq!(entries[1]["cluster"], "prod");
    assert_eq!(entries[1]["region"], REGION);
    assert_eq!(entries[4]["image"], format!("{host}/worker:2"));
    assert_eq!(entries[4]["jobDefinition"], "nightly:2");

    // The text form is a table, one row per use.
    let table = run(&moto, dir.path(), &gather[..gather.len() - 2]);
    assert_exit(&table, 0);
    let stdout = text(&table.stdout);
    assert!(stdout.starts_with("SOURCE "), "{stdout}");
    assert!(
        stdout.contains("lambda          Lambda function thumbs:1 (us-east-1)"),
        "{stdout}"
    );
    assert!(
        text(&table.stderr)
            .contains("5 uses by source: file 1, ecs-deployment 1, lambda 2, batch 1"),
        "{}",
        text(&table.stderr)
    );

    // lifecycle reads the document back: keeping only the newest thumbs
    // image would expire the one Lambda version 1 runs.
    std::fs::write(dir.path().join("in-use.json"), &out.stdout).unwrap();
    let policy = json!({"rules": [{"rulePriority": 1, "description": "newest only",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]});
    std::fs::write(dir.path().join("policy.json"), policy.to_string()).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(
        &moto,
        dir.path(),
        &[
            "lifecycle",
            "empty",
            "--in-use",
            "in-use.json",
            "--policy",
            "policy.json",
        ],
    );
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("problem:"))
        .collect();
    assert_eq!(problems.len(), 1, "{stdout}");
    assert!(
        problems[0].starts_with(&format!(
            "problem: {host}/thumbs:stable ({}), used by Lambda function thumbs:1 (us-east-1), in repository thumbs (account {account}, us-east-1) will be deleted within about 24 h",
            &old[..19]
        )),
        "{stdout}{}",
        text(&out.stderr)
    );
    assert!(
        !stdout.contains("problem: {host}/thumbs:stable, used by Lambda function thumbs:$LATEST"),
        "the newest image is kept: {stdout}"
    );
}

/// A source that cannot be read: exit 2, the document says it is
/// incomplete, and `--in-use` refuses it with the reason.
#[test]
fn an_incomplete_in_use_document_is_refused() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &moto,
        dir.path(),
        &[
            "in-use",
            "--no-files",
            "--ecs-cluster",
            "nope",
            "--format",
            "json",
        ],
    );
    assert_exit(&out, 2);
    validate_against(SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["complete"], false);
    std::fs::write(dir.path().join("partial.json"), &out.stdout).unwrap();
    let out = run(
        &moto,
        dir.path(),
        &["verify", "--no-config", "--in-use", "partial.json", "."],
    );
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("partial.json: this in-use document is incomplete (gathered with errors: cannot list the images of ECS cluster nope: ecs:ListServices: cluster nope not found"),
        "{err}"
    );
}

/// Standalone ECS tasks started by an EventBridge rule and by an
/// EventBridge Scheduler schedule: their task definitions' images are in
/// use, labelled with the rule or schedule.
#[test]
fn in_use_reads_the_tasks_eventbridge_rules_and_schedules_start() {
    let moto = Moto::start();
    let host = host();
    moto.ecr(
        REGION,
        "CreateRepository",
        json!({ "repositoryName": "jobs" }),
    );
    let digest = moto.put_image(REGION, "jobs", "nightly", &oci_image(LINUX_AMD64));
    for (family, image) in [
        ("report", format!("{host}/jobs:nightly@{digest}")),
        ("cleanup", format!("{host}/jobs:weekly")),
    ] {
        moto.ecs(
            REGION,
            "RegisterTaskDefinition",
            json!({ "family": family, "containerDefinitions": [{ "name": "job", "image": image, "memory": 128 }] }),
        );
    }
    let td = |f: &str| {
        format!(
            "arn:aws:ecs:{REGION}:{}:task-definition/{f}:1",
            moto::ACCOUNT_ID
        )
    };
    let cluster = format!("arn:aws:ecs:{REGION}:{}:cluster/jobs", moto::ACCOUNT_ID);
    let role = format!("arn:aws:iam::{}:role/events", moto::ACCOUNT_ID);
    moto.events(
        REGION,
        "PutRule",
        json!({ "Name": "nightly-report", "ScheduleExpression": "cron(0 3 * * ? *)" }),
    );
    moto.events(
        REGION,
        "PutTargets",
        json!({ "Rule": "nightly-report", "Targets": [{
            "Id": "report", "Arn": cluster, "RoleArn": role,
            "EcsParameters": { "TaskDefinitionArn": td("report"), "TaskCount": 1 } }] }),
    );
    moto.rest(
        "scheduler",
        REGION,
        "POST",
        "/schedules/weekly-cleanup",
        json!({ "ScheduleExpression": "rate(7 days)", "FlexibleTimeWindow": { "Mode": "OFF" },
                "Target": { "Arn": cluster, "RoleArn": role,
                            "EcsParameters": { "TaskDefinitionArn": td("cleanup") } } }),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &moto,
        dir.path(),
        &[
            "in-use",
            "--no-files",
            "--scheduled",
            "--region",
            REGION,
            "--format",
            "json",
        ],
    );
    assert_exit(&out, 0);
    validate_against(SCHEMA, &out.stdout);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String, Value, Value)> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_owned(),
                e["label"].as_str().unwrap().to_owned(),
                e["digest"].clone(),
                e["rule"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "eventbridge".to_owned(),
                "EventBridge rule nightly-report (bus default) task definition report:1 container job (us-east-1)".to_owned(),
                json!(digest),
                json!("nightly-report")
            ),
            (
                "scheduler".to_owned(),
                "EventBridge Scheduler schedule default/weekly-cleanup task definition cleanup:1 container job (us-east-1)".to_owned(),
                Value::Null,
                json!("weekly-cleanup")
            ),
        ],
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
