//! ECS service revisions and Managed Daemons in the in-use listing, through
//! the AWS SDK's own replay client (moto implements none of
//! `DescribeServiceDeployments`, `DescribeServiceRevisions`, `ListDaemons`,
//! `DescribeDaemon`, `DescribeDaemonDeployments`, `DescribeDaemonRevisions`,
//! nor Managed Instances capacity providers): answers shaped as the ECS API
//! reference's (awsJson1.1, epoch-second timestamps). A revision carries
//! the digest ECS resolved and the architecture it runs on; the current
//! deployment's source revision (where a rollback returns) and a daemon's
//! rollback target count as in use.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use imgpin::ecs::{list_images, ImageSource};
use serde_json::{json, Value};

const ARN: &str = "arn:aws:ecs:us-west-2:111122223333";
const IMAGE: &str = "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:stable";
const DAEMON_IMAGE: &str = "111122223333.dkr.ecr.us-west-2.amazonaws.com/fluent-bit:4";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn event(body: Value) -> ReplayEvent {
    let request = http::Request::builder()
        .uri("https://ecs.us-west-2.amazonaws.com/")
        .body(SdkBody::from("{}"))
        .expect("request");
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "0b7c1c7a-0000-4000-8000-000000000000")
        .body(SdkBody::from(body.to_string()))
        .expect("response");
    ReplayEvent::new(request, response)
}

fn daemon_revision(id: &str, d: &str) -> Value {
    json!({
        "daemonRevisionArn": format!("{ARN}:daemon-revision/prod/logs/{id}"),
        "clusterArn": format!("{ARN}:cluster/prod"),
        "daemonArn": format!("{ARN}:daemon/prod/logs"),
        "daemonTaskDefinitionArn": format!("{ARN}:daemon-task-definition/logs:{id}"),
        "createdAt": 1.7259e9,
        "containerImages": [{ "containerName": "agent", "imageDigest": d, "image": DAEMON_IMAGE }],
        "propagateTags": "NONE",
        "enableECSManagedTags": false,
        "enableExecuteCommand": false
    })
}

fn revision(id: &str, td: &str, d: &str) -> Value {
    json!({
        "serviceRevisionArn": format!("{ARN}:service-revision/prod/web/{id}"),
        "serviceArn": format!("{ARN}:service/prod/web"),
        "clusterArn": format!("{ARN}:cluster/prod"),
        "taskDefinition": format!("{ARN}:task-definition/{td}"),
        "capacityProviderStrategy": [{ "capacityProvider": "FARGATE", "weight": 1, "base": 0 }],
        "platformVersion": "1.4.0",
        "platformFamily": "DockerLinux",
        "containerImages": [{ "containerName": "app", "imageDigest": d, "image": IMAGE }],
        "guardDutyEnabled": false,
        "createdAt": 1.7259e9
    })
}

#[test]
fn service_revisions_name_the_digests_ecs_resolved_and_the_rollback_target() {
    let (running, previous) = (digest('a'), digest('b'));
    let deployment = format!("{ARN}:service-deployment/prod/web/NCWGC2ZR-taawPAYrIaU5");
    // ECS runs this revision on X86_64 although its task definition says
    // ARM64 (an Express deployment's architecture fallback).
    let mut current = revision("4980306466373577095", "web:7", &running);
    current["overrides"] = json!({ "runtimePlatform": { "cpuArchitecture": "X86_64" } });
    let client = StaticReplayClient::new(vec![
        event(json!({ "serviceArns": [format!("{ARN}:service/prod/web")] })),
        event(json!({
            "services": [{
                "serviceArn": format!("{ARN}:service/prod/web"),
                "serviceName": "web",
                "clusterArn": format!("{ARN}:cluster/prod"),
                "status": "ACTIVE",
                "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": format!("{ARN}:task-definition/web:7"),
                "deployments": [{
                    "id": "ecs-svc/1234567890123456789",
                    "status": "PRIMARY",
                    "taskDefinition": format!("{ARN}:task-definition/web:7"),
                    "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                    "createdAt": 1.7259e9, "updatedAt": 1.7259e9,
                    "rolloutState": "COMPLETED"
                }],
                "currentServiceDeployment": deployment,
                "currentServiceRevisions": [{
                    "arn": format!("{ARN}:service-revision/prod/web/4980306466373577095"),
                    "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0
                }],
                "createdAt": 1.7e9
            }],
            "failures": []
        })),
        event(json!({
            "serviceDeployments": [{
                "serviceDeploymentArn": deployment,
                "serviceArn": format!("{ARN}:service/prod/web"),
                "clusterArn": format!("{ARN}:cluster/prod"),
                "createdAt": 1.7259e9, "startedAt": 1.7259e9, "finishedAt": 1.7259e9,
                "targetServiceRevision": {
                    "arn": format!("{ARN}:service-revision/prod/web/4980306466373577095"),
                    "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0
                },
                "sourceServiceRevisions": [{
                    "arn": format!("{ARN}:service-revision/prod/web/1111111111111111111"),
                    "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0
                }],
                "status": "SUCCESSFUL",
                "deploymentConfiguration": {
                    "deploymentCircuitBreaker": { "enable": true, "rollback": true },
                    "maximumPercent": 200, "minimumHealthyPercent": 100
                }
            }],
            "failures": []
        })),
        event(json!({
            "serviceRevisions": [
                current,
                revision("1111111111111111111", "web:6", &previous)
            ],
            "failures": []
        })),
        event(json!({
            "taskDefinition": {
                "taskDefinitionArn": format!("{ARN}:task-definition/web:7"),
                "family": "web", "revision": 7, "status": "ACTIVE",
                "containerDefinitions": [{ "name": "app", "image": IMAGE, "essential": true }],
                "requiresCompatibilities": ["FARGATE"],
                "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" }
            },
            "tags": []
        })),
        event(json!({
            "taskDefinition": {
                "taskDefinitionArn": format!("{ARN}:task-definition/web:6"),
                "family": "web", "revision": 6, "status": "INACTIVE",
                "containerDefinitions": [{ "name": "app", "image": IMAGE, "essential": true }],
                "requiresCompatibilities": ["FARGATE"]
            },
            "tags": []
        })),
        event(json!({ "taskArns": [] })),
        event(json!({ "taskArns": [] })),
        event(json!({
            "clusters": [{
                "clusterArn": format!("{ARN}:cluster/prod"),
                "clusterName": "prod",
                "status": "ACTIVE",
                "capacityProviders": ["FARGATE", "prod-mi"],
                "defaultCapacityProviderStrategy": []
            }],
            "failures": []
        })),
        event(json!({
            "capacityProviders": [{
                "capacityProviderArn": format!("{ARN}:capacity-provider/prod-mi"),
                "name": "prod-mi",
                "cluster": "prod",
                "status": "ACTIVE",
                "type": "MANAGED_INSTANCES",
                "managedInstancesProvider": {
                    "infrastructureRoleArn": "arn:aws:iam::111122223333:role/ecsInfrastructureRole",
                    "propagateTags": "NONE"
                }
            }],
            "failures": []
        })),
        event(json!({
            "daemonSummariesList": [{
                "daemonArn": format!("{ARN}:daemon/prod/logs"),
                "status": "ACTIVE",
                "createdAt": 1.7259e9, "updatedAt": 1.7259e9
            }]
        })),
        event(json!({
            "daemon": {
                "daemonArn": format!("{ARN}:daemon/prod/logs"),
                "clusterArn": format!("{ARN}:cluster/prod"),
                "status": "ACTIVE",
                "currentRevisions": [{
                    "arn": format!("{ARN}:daemon-revision/prod/logs/2"),
                    "capacityProviders": [],
                    "totalRunningCount": 3,
                    "totalWithoutDaemonCount": 0
                }],
                "deploymentArn": format!("{ARN}:daemon-deployment/prod/logs/d2"),
                "createdAt": 1.7259e9, "updatedAt": 1.7259e9
            }
        })),
        event(json!({
            "daemonDeployments": [{
                "daemonDeploymentArn": format!("{ARN}:daemon-deployment/prod/logs/d2"),
                "clusterArn": format!("{ARN}:cluster/prod"),
                "status": "SUCCESSFUL",
                "targetDaemonRevision": { "arn": format!("{ARN}:daemon-revision/prod/logs/2") },
                "sourceDaemonRevisions": [{ "arn": format!("{ARN}:daemon-revision/prod/logs/1") }],
                "rollback": {
                    "reason": "circuit breaker",
                    "startedAt": 1.7259e9,
                    "rollbackTargetDaemonRevisionArn": format!("{ARN}:daemon-revision/prod/logs/1")
                },
                "createdAt": 1.7259e9
            }],
            "failures": []
        })),
        event(json!({
            "daemonRevisions": [
                daemon_revision("2", &digest('c')),
                daemon_revision("1", &digest('d'))
            ],
            "failures": []
        })),
    ]);
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .http_client(client.clone())
        .build();
    let ecs = aws_sdk_ecs::Client::new(&config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = runtime
        .block_on(list_images(&ecs, "prod", &[]))
        .expect("listing");

    /// Source, task definition, digest, revision, platform.
    type Row<'a> = (
        ImageSource,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        String,
    );
    let found: Vec<Row> = rows
        .iter()
        .map(|r| {
            let platform = r.platform.as_ref().map_or("-".to_owned(), |p| {
                format!(
                    "{}/{} ({})",
                    p.os.as_deref().unwrap_or("?"),
                    p.architectures.join(","),
                    p.source
                )
            });
            (
                r.source,
                r.task_definition.as_str(),
                r.digest.as_deref(),
                r.service_revision
                    .as_deref()
                    .or(r.daemon_revision.as_deref()),
                platform,
            )
        })
        .collect();
    let td = |n: &str| format!("{ARN}:task-definition/{n}");
    let rev = |n: &str| format!("{ARN}:service-revision/prod/web/{n}");
    let daemon_rev = |n: &str| format!("{ARN}:daemon-revision/prod/logs/{n}");
    let daemon_td = |n: &str| format!("{ARN}:daemon-task-definition/logs:{n}");
    let (d2, d1) = (digest('c'), digest('d'));
    assert_eq!(
        found,
        // The deployment's row (a tag, no digest) gives way to its revision's.
        [
            (
                ImageSource::Revision,
                td("web:7").as_str(),
                Some(running.as_str()),
                Some(rev("4980306466373577095").as_str()),
                "linux/amd64 (service revision overrides.runtimePlatform.cpuArchitecture X86_64)".to_owned()
            ),
            (
                ImageSource::Revision,
                td("web:6").as_str(),
                Some(previous.as_str()),
                Some(rev("1111111111111111111").as_str()),
                "linux/amd64 (requiresCompatibilities FARGATE (no runtimePlatform.cpuArchitecture: Fargate runs X86_64))".to_owned()
            ),
            (
                ImageSource::Daemon,
                daemon_td("2").as_str(),
                Some(d2.as_str()),
                Some(daemon_rev("2").as_str()),
                "-".to_owned()
            ),
            (
                ImageSource::Daemon,
                daemon_td("1").as_str(),
                Some(d1.as_str()),
                Some(daemon_rev("1").as_str()),
                "-".to_owned()
            ),
        ]
    );
    assert!(rows
        .iter()
        .filter(|r| r.source == ImageSource::Daemon)
        .all(|r| r.daemon.as_deref() == Some("logs")
            && r.container == "agent"
            && r.image == DAEMON_IMAGE));
    let requests: Vec<(String, Value)> = client
        .actual_requests()
        .map(|r| {
            let target = r
                .headers()
                .get("x-amz-target")
                .unwrap_or_default()
                .to_owned();
            let body = r.body().bytes().expect("in-memory body");
            (target, serde_json::from_slice(body).expect("JSON body"))
        })
        .collect();
    let targets: Vec<&str> = requests
        .iter()
        .map(|(t, _)| t.trim_start_matches("AmazonEC2ContainerServiceV20141113."))
        .collect();
    assert_eq!(
        targets,
        [
            "ListServices",
            "DescribeServices",
            "DescribeServiceDeployments",
            "DescribeServiceRevisions",
            "DescribeTaskDefinition",
            "DescribeTaskDefinition",
            "ListTasks",
            "ListTasks",
            "DescribeClusters",
            "DescribeCapacityProviders",
            "ListDaemons",
            "DescribeDaemon",
            "DescribeDaemonDeployments",
            "DescribeDaemonRevisions",
        ]
    );
    assert_eq!(
        requests[2].1,
        json!({ "serviceDeploymentArns": [deployment] })
    );
    assert_eq!(
        requests[3].1,
        json!({ "serviceRevisionArns": [rev("4980306466373577095"), rev("1111111111111111111")] }),
        "the current revision once, then the source a rollback returns to"
    );
    assert_eq!(requests[4].1["taskDefinition"], td("web:7"));
    assert_eq!(requests[5].1["taskDefinition"], td("web:6"));
    assert_eq!(requests[6].1["desiredStatus"], "RUNNING");
    assert_eq!(requests[7].1["desiredStatus"], "STOPPED");
    assert_eq!(requests[8].1["clusters"], json!(["prod"]));
    assert_eq!(
        requests[9].1,
        json!({ "capacityProviders": ["prod-mi"], "cluster": "prod" }),
        "only the provider that is not ECS's own"
    );
    assert_eq!(requests[10].1["clusterArn"], format!("{ARN}:cluster/prod"));
    assert_eq!(
        requests[11].1,
        json!({ "daemonArn": format!("{ARN}:daemon/prod/logs") })
    );
    assert_eq!(
        requests[12].1,
        json!({ "daemonDeploymentArns": [format!("{ARN}:daemon-deployment/prod/logs/d2")] })
    );
    assert_eq!(
        requests[13].1,
        json!({ "daemonRevisionArns": [daemon_rev("2"), daemon_rev("1")] }),
        "the running revision, then the source and rollback target once"
    );
}
