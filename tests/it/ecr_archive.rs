//! ECR archive storage class in `verify`'s existence check, through the AWS
//! SDK's own replay client (moto has no `imageStatus`): answers shaped as the
//! ECR API reference gives them (awsJson1.1, epoch-second timestamps,
//! `__type` errors). Exists means pullable: an archived or restoring digest
//! is an [`ErrorKind::Archived`] answer, whatever `BatchGetImage` said.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use imgpin::reference::ImageRef;
use imgpin::resolve::ecr::EcrResolver;
use imgpin::resolve::{ErrorKind, RegistryOptions};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const HOST: &str = "111122223333.dkr.ecr.us-west-2.amazonaws.com";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// One exchange: the request imgpin should send (`target`, checked by the
/// test from the recorded requests) and ECR's answer.
fn event(status: u16, body: Value) -> ReplayEvent {
    let request = http::Request::builder()
        .uri("https://api.ecr.us-west-2.amazonaws.com/")
        .body(SdkBody::from("{}"))
        .expect("request");
    let response = http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "6b5a3c2e-0000-4000-8000-000000000000")
        .body(SdkBody::from(body.to_string()))
        .expect("response");
    ReplayEvent::new(request, response)
}

fn manifest() -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": digest('0') },
        "layers": []
    })
    .to_string()
}

fn image(d: &str) -> Value {
    json!({
        "registryId": ACCOUNT,
        "repositoryName": "team/api",
        "imageId": { "imageDigest": d },
        "imageManifest": manifest(),
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"
    })
}

fn detail(d: &str, status: &str, archived_at: Option<f64>) -> Value {
    let mut v = json!({
        "registryId": ACCOUNT,
        "repositoryName": "team/api",
        "imageDigest": d,
        "imageTags": [],
        "imageSizeInBytes": 2_048_576,
        "imagePushedAt": 1.7e9,
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "imageStatus": status
    });
    if let Some(t) = archived_at {
        v["lastArchivedAt"] = json!(t);
    }
    v
}

fn resolver(client: &StaticReplayClient) -> EcrResolver {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .http_client(client.clone())
        .build();
    // One call at a time: the replay client answers in order.
    let options = RegistryOptions {
        jobs: 1,
        ..RegistryOptions::default()
    };
    EcrResolver::with_config(config, &options)
}

/// The `X-Amz-Target` action and JSON body of each request sent.
fn sent(client: &StaticReplayClient) -> Vec<(String, Value)> {
    client
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
        .collect()
}

#[test]
fn archived_and_restoring_digests_are_not_pullable() {
    let (active, archived, restoring, got_404, gone) = (
        digest('a'),
        digest('b'),
        digest('c'),
        digest('d'),
        digest('e'),
    );
    let client = StaticReplayClient::new(vec![
        // BatchGetImage: three answered, two ImageNotFound.
        event(
            200,
            json!({
                "images": [image(&active), image(&archived), image(&restoring)],
                "failures": [
                    { "imageId": { "imageDigest": got_404 }, "failureCode": "ImageNotFound", "failureReason": "Requested image not found" },
                    { "imageId": { "imageDigest": gone }, "failureCode": "ImageNotFound", "failureReason": "Requested image not found" }
                ]
            }),
        ),
        // DescribeImages for the three present digests, in one call.
        event(
            200,
            json!({ "imageDetails": [
                detail(&active, "ACTIVE", None),
                detail(&archived, "ARCHIVED", Some(1_764_547_200.0)),
                detail(&restoring, "ACTIVATING", Some(1_764_547_200.0)),
            ] }),
        ),
        // Each missing digest on its own: one is archived, one really gone.
        event(
            200,
            json!({ "imageDetails": [detail(&got_404, "ARCHIVED", Some(1_764_633_600.0))] }),
        ),
        event(
            400,
            json!({
                "__type": "ImageNotFoundException",
                "message": format!("The image with imageId {{imageDigest:'{gone}', imageTag:'null'}} does not exist within the repository with name 'team/api' in the registry with id '{ACCOUNT}'")
            }),
        ),
    ]);
    let resolver = resolver(&client);
    let refs: Vec<ImageRef> = [&active, &archived, &restoring, &got_404, &gone]
        .iter()
        .map(|d| ImageRef::parse(&format!("{HOST}/team/api:v1@{d}")).expect("reference"))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = runtime.block_on(resolver.digests_exist(refs));
    let key = |d: &str| format!("{HOST}/team/api@{d}");

    assert_eq!(out[&key(&active)], Ok(true));
    assert_eq!(out[&key(&gone)], Ok(false));
    let err = out[&key(&archived)].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Archived);
    assert_eq!(
        err.message,
        format!(
            "digest {archived} in repository team/api (account {ACCOUNT}, us-west-2) is ARCHIVED in the ECR archive since 2025-12-01T00:00:00Z and cannot be pulled; restore it with `aws ecr update-image-storage-class --registry-id {ACCOUNT} --region us-west-2 --repository-name team/api --image-id imageDigest={archived} --target-storage-class STANDARD`"
        )
    );
    let err = out[&key(&restoring)].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Archived);
    assert!(
        err.message.contains("is being restored from the ECR archive (ACTIVATING; archived since 2025-12-01T00:00:00Z): pulls fail until it is ACTIVE again"),
        "{}",
        err.message
    );
    let err = out[&key(&got_404)].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Archived, "{}", err.message);
    assert!(
        err.message.contains("since 2025-12-02T00:00:00Z"),
        "{}",
        err.message
    );

    assert_eq!(resolver.batch_calls(), 1);
    assert_eq!(resolver.describe_calls(), 3);
    let requests = sent(&client);
    let targets: Vec<&str> = requests.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        targets,
        [
            "AmazonEC2ContainerRegistry_V20150921.BatchGetImage",
            "AmazonEC2ContainerRegistry_V20150921.DescribeImages",
            "AmazonEC2ContainerRegistry_V20150921.DescribeImages",
            "AmazonEC2ContainerRegistry_V20150921.DescribeImages",
        ]
    );
    let ids = |body: &Value| -> Vec<String> {
        body["imageIds"]
            .as_array()
            .expect("imageIds")
            .iter()
            .map(|id| id["imageDigest"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let describe = &requests[1].1;
    assert_eq!(
        describe["filter"],
        json!({ "imageStatus": "ANY" }),
        "{describe}"
    );
    assert_eq!(describe["registryId"], ACCOUNT);
    assert_eq!(describe["repositoryName"], "team/api");
    assert_eq!(
        ids(describe),
        [active.clone(), archived.clone(), restoring.clone()]
    );
    assert_eq!(ids(&requests[2].1), std::slice::from_ref(&got_404));
    assert_eq!(ids(&requests[3].1), std::slice::from_ref(&gone));
}

/// A digest BatchGetImage found whose storage class cannot be read (a role
/// without ecr:DescribeImages) is not proven pullable: an error naming the
/// permission, never a pass.
#[test]
fn a_storage_class_that_cannot_be_read_is_an_error() {
    let d = digest('a');
    let client = StaticReplayClient::new(vec![
        event(200, json!({ "images": [image(&d)], "failures": [] })),
        event(
            400,
            json!({
                "__type": "AccessDeniedException",
                "message": "User: arn:aws:sts::111122223333:assumed-role/ci/verify is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-west-2:111122223333:repository/team/api"
            }),
        ),
    ]);
    let resolver = resolver(&client);
    let reference = ImageRef::parse(&format!("{HOST}/team/api@{d}")).expect("reference");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = runtime.block_on(resolver.digests_exist(vec![reference]));
    let err = out[&format!("{HOST}/team/api@{d}")].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(
        err.message.starts_with(
            "access denied to repository team/api (account 111122223333, us-west-2): the AWS credentials need the ecr:DescribeImages permission"
        ),
        "{}",
        err.message
    );
}
