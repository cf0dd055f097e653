//! ECS service revisions in the in-use listing, through the AWS SDK's own
//! replay client (moto implements neither `DescribeServiceDeployments` nor
//! `DescribeServiceRevisions`): answers shaped as the ECS API reference's
//! examples (awsJson1.1, epoch-second timestamps). The revision carries the
//! digest ECS resolved, and the current deployment's source revision (where
//! a rollback returns) counts as in use.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use imgpin::ecs::{list_images, ImageSource};
use serde_json::{json, Value};

const ARN: &str = "arn:aws:ecs:us-west-2:111122223333";
const IMAGE: &str = "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:stable";

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
            "taskDefinition": {
                "taskDefinitionArn": format!("{ARN}:task-definition/web:7"),
                "family": "web", "revision": 7, "status": "ACTIVE",
                "containerDefinitions": [{ "name": "app", "image": IMAGE, "essential": true }]
            },
            "tags": []
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
                revision("4980306466373577095", "web:7", &running),
                revision("1111111111111111111", "web:6", &previous)
            ],
            "failures": []
        })),
        event(json!({ "taskArns": [] })),
        event(json!({ "taskArns": [] })),
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

    let found: Vec<(ImageSource, &str, Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r.source,
                r.task_definition.as_str(),
                r.digest.as_deref(),
                r.service_revision.as_deref(),
            )
        })
        .collect();
    let td = |n: &str| format!("{ARN}:task-definition/{n}");
    let rev = |n: &str| format!("{ARN}:service-revision/prod/web/{n}");
    assert_eq!(
        found,
        // The deployment's row (a tag, no digest) gives way to its revision's.
        [
            (
                ImageSource::Revision,
                td("web:7").as_str(),
                Some(running.as_str()),
                Some(rev("4980306466373577095").as_str())
            ),
            (
                ImageSource::Revision,
                td("web:6").as_str(),
                Some(previous.as_str()),
                Some(rev("1111111111111111111").as_str())
            ),
        ]
    );
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
            "DescribeTaskDefinition",
            "DescribeServiceDeployments",
            "DescribeServiceRevisions",
            "ListTasks",
            "ListTasks"
        ]
    );
    assert_eq!(requests[5].1["desiredStatus"], "RUNNING");
    assert_eq!(requests[6].1["desiredStatus"], "STOPPED");
    assert_eq!(
        requests[3].1,
        json!({ "serviceDeploymentArns": [deployment] })
    );
    assert_eq!(
        requests[4].1,
        json!({ "serviceRevisionArns": [rev("4980306466373577095"), rev("1111111111111111111")] }),
        "the current revision once, then the source a rollback returns to"
    );
}
