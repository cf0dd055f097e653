//! Registry-level ECR calls of `lifecycle`, through the AWS SDK's own replay
//! client, answers shaped as the ECR API reference gives them:
//! `ListPullTimeUpdateExclusions` (moto does not implement it), every page,
//! and its AccessDenied words; `DescribeRegistry` read raw, keeping
//! `deleteReplication`, which neither the SDK's model nor moto's carries.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use imgpin::aws::ecr::LiveEcr;
use serde_json::{json, Value};

fn event(status: u16, body: Value) -> ReplayEvent {
    let request = http::Request::builder()
        .uri("https://api.ecr.us-west-2.amazonaws.com/")
        .body(SdkBody::from("{}"))
        .expect("request");
    let response = http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "7d1e2f3a-0000-4000-8000-000000000000")
        .body(SdkBody::from(body.to_string()))
        .expect("response");
    ReplayEvent::new(request, response)
}

fn live(client: &StaticReplayClient) -> LiveEcr {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .http_client(client.clone())
        .build();
    LiveEcr::with_config(config, Duration::from_secs(5))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn targets(client: &StaticReplayClient) -> Vec<(String, Value)> {
    client
        .actual_requests()
        .map(|r| {
            let target = r
                .headers()
                .get("x-amz-target")
                .unwrap_or_default()
                .trim_start_matches("AmazonEC2ContainerRegistry_V20150921.")
                .to_owned();
            let body = r.body().bytes().expect("in-memory body");
            (target, serde_json::from_slice(body).expect("JSON body"))
        })
        .collect()
}

#[test]
fn pull_time_exclusions_are_read_page_by_page() {
    let role = |n: &str| format!("arn:aws:iam::111122223333:role/{n}");
    let client = StaticReplayClient::new(vec![
        event(
            200,
            json!({ "pullTimeUpdateExclusions": [role("ecsTaskExecutionRole")], "nextToken": "page-2" }),
        ),
        event(
            200,
            json!({ "pullTimeUpdateExclusions": [role("scanner")] }),
        ),
    ]);
    let found = runtime()
        .block_on(live(&client).pull_time_exclusions("us-west-2"))
        .expect("exclusions");
    assert_eq!(found, [role("ecsTaskExecutionRole"), role("scanner")]);
    let sent = targets(&client);
    assert_eq!(sent[0].0, "ListPullTimeUpdateExclusions");
    assert_eq!(sent[1].1["nextToken"], "page-2");
}

#[test]
fn pull_time_exclusions_denied_name_the_permission() {
    let client = StaticReplayClient::new(vec![event(
        400,
        json!({ "__type": "AccessDeniedException",
                "message": "User: arn:aws:sts::111122223333:assumed-role/auditor/x is not authorized to perform: ecr:ListPullTimeUpdateExclusions" }),
    )]);
    let err = runtime()
        .block_on(live(&client).pull_time_exclusions("us-west-2"))
        .unwrap_err();
    assert_eq!(err.action, "ListPullTimeUpdateExclusions");
    assert!(
        err.message.starts_with(
            "access denied for the registry: the caller needs permission for ecr:ListPullTimeUpdateExclusions (HTTP 400 AccessDeniedException"
        ),
        "{}",
        err.message
    );
}

#[test]
fn describe_registry_keeps_delete_replication() {
    let client = StaticReplayClient::new(vec![event(
        200,
        json!({
            "registryId": "111122223333",
            "replicationConfiguration": { "rules": [
                { "destinations": [{ "region": "eu-west-1", "registryId": "111122223333" }],
                  "repositoryFilters": [{ "filter": "team/", "filterType": "PREFIX_MATCH" }],
                  "deleteReplication": { "enabled": true } },
                { "destinations": [{ "region": "ap-south-1", "registryId": "444455556666" }] }
            ] }
        }),
    )]);
    let replication = runtime()
        .block_on(live(&client).replication("us-west-2"))
        .expect("registry");
    assert_eq!(replication.registry_id, "111122223333");
    assert_eq!(replication.region, "us-west-2");
    assert_eq!(replication.rules.len(), 2);
    assert!(replication.rules[0].delete_replication);
    assert_eq!(replication.rules[0].prefixes, ["team/"]);
    assert!(!replication.rules[1].delete_replication);
    assert_eq!(
        replication.rules[1].destinations,
        [("ap-south-1".to_owned(), "444455556666".to_owned())]
    );
    assert_eq!(targets(&client)[0].0, "DescribeRegistry");
}
