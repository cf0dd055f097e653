//! ECR resolution tests without a network: batching, keys, and the wording of
//! every answer and failure (SDK shapes built as the API reference gives them).

use super::*;
use aws_sdk_ecr::error::SdkError;
use aws_sdk_ecr::operation::batch_get_image::BatchGetImageError;
use aws_sdk_ecr::types::ImageIdentifier;

#[test]
fn keys_match_tag_key() {
    for text in [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:1.4",
        "123456789012.dkr-ecr.us-east-1.on.aws/api",
    ] {
        let r = ImageRef::parse(text).unwrap();
        let (batches, _) = plan_batches(std::slice::from_ref(&r), BATCH_SIZE);
        let b = &batches[0];
        let key = format!(
            "{}/{}:{}",
            b.repository.registry, b.repository.repository, b.ids[0]
        );
        assert_eq!(key, tag_key(&r));
    }
}

#[test]
fn batches_250_tags_as_100_100_50() {
    let refs: Vec<ImageRef> = (0..250)
        .map(|i| {
            ImageRef::parse(&format!(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:t{i:03}"
            ))
            .unwrap()
        })
        .collect();
    let (batches, foreign) = plan_batches(&refs, BATCH_SIZE);
    assert!(foreign.is_empty());
    let sizes: Vec<usize> = batches.iter().map(|b| b.ids.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let all: BTreeSet<&String> = batches.iter().flat_map(|b| &b.ids).collect();
    assert_eq!(all.len(), 250);
}

fn digest_text(i: usize) -> String {
    format!("sha256:{i:064x}")
}

#[test]
fn batches_250_digests_as_100_100_50() {
    let h = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let mut refs: Vec<ImageRef> = (0..250)
        .map(|i| ImageRef::parse(&format!("{h}/api@{}", digest_text(i))).unwrap())
        .collect();
    // A duplicate, the same digest under a tag, and references without a digest.
    refs.push(ImageRef::parse(&format!("{h}/api@{}", digest_text(7))).unwrap());
    refs.push(ImageRef::parse(&format!("{h}/api:1.4@{}", digest_text(8))).unwrap());
    refs.push(ImageRef::parse(&format!("{h}/api:1.4")).unwrap());
    refs.push(ImageRef::parse("nginx:1.27").unwrap());
    let (batches, foreign) = plan_id_batches(&refs, BATCH_SIZE, IdKind::Digest);
    assert!(foreign.is_empty(), "{:?}", foreign.keys());
    let sizes: Vec<usize> = batches.iter().map(|b| b.ids.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(batches.iter().all(|b| b.kind == IdKind::Digest));
    let all: BTreeSet<&String> = batches.iter().flat_map(|b| &b.ids).collect();
    assert_eq!(all.len(), 250);
    assert!(all.contains(&digest_text(249)));
}

#[test]
fn digest_keys_match_digest_key() {
    let h = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let refs: Vec<ImageRef> = [
        format!("{h}/team/api:1.4@{}", digest_text(1)),
        format!("nginx@{}", digest_text(2)),
    ]
    .iter()
    .map(|s| ImageRef::parse(s).unwrap())
    .collect();
    let (batches, foreign) = plan_id_batches(&refs, BATCH_SIZE, IdKind::Digest);
    let b = &batches[0];
    assert_eq!(
        IdKind::Digest.key_of(&b.repository, &b.ids[0]),
        digest_key(&refs[0]).unwrap()
    );
    assert_eq!(
        foreign.keys().collect::<Vec<_>>(),
        [&digest_key(&refs[1]).unwrap()]
    );
}

#[test]
fn existence_maps_images_and_failures() {
    use aws_sdk_ecr::types::{Image, ImageFailure};
    let id = |d: &str| ImageIdentifier::builder().image_digest(d).build();
    let batch = Batch {
        repository: repo(),
        kind: IdKind::Digest,
        ids: (1..=4).map(digest_text).collect(),
    };
    let output = BatchGetImageOutput::builder()
        .images(Image::builder().image_id(id(&digest_text(1))).build())
        .failures(
            ImageFailure::builder()
                .image_id(id(&digest_text(2)))
                .failure_code(ImageFailureCode::ImageNotFound)
                .build(),
        )
        .failures(
            ImageFailure::builder()
                .image_id(id(&digest_text(3)))
                .failure_code(ImageFailureCode::KmsError)
                .failure_reason("key disabled")
                .build(),
        )
        .build();
    let got: HashMap<String, Result<bool, ResolveError>> =
        map_existence(&batch, output).into_iter().collect();
    assert_eq!(got[&digest_text(1)], Ok(true));
    assert_eq!(got[&digest_text(2)], Ok(false));
    let kms = got[&digest_text(3)].as_ref().unwrap_err();
    assert_eq!(kms.kind, ErrorKind::Other);
    assert!(
        kms.message
            .starts_with(&format!("ECR could not get digest {}", digest_text(3))),
        "{}",
        kms.message
    );
    let silent = got[&digest_text(4)].as_ref().unwrap_err();
    assert!(silent.message.contains("no answer"), "{}", silent.message);
}

#[test]
fn existence_pairs_anonymous_failures_in_request_order() {
    // moto's answer: the failure names no digest (`imageTag: "null"`).
    use aws_sdk_ecr::types::{Image, ImageFailure};
    let batch = Batch {
        repository: repo(),
        kind: IdKind::Digest,
        ids: (1..=2).map(digest_text).collect(),
    };
    let output = BatchGetImageOutput::builder()
        .images(
            Image::builder()
                .image_id(
                    ImageIdentifier::builder()
                        .image_digest(digest_text(2))
                        .image_tag("kept")
                        .build(),
                )
                .build(),
        )
        .failures(
            ImageFailure::builder()
                .image_id(ImageIdentifier::builder().image_tag("null").build())
                .failure_code(ImageFailureCode::ImageNotFound)
                .build(),
        )
        .build();
    let got: HashMap<String, Result<bool, ResolveError>> =
        map_existence(&batch, output).into_iter().collect();
    assert_eq!(got[&digest_text(1)], Ok(false));
    assert_eq!(got[&digest_text(2)], Ok(true));
}

#[test]
fn batches_group_by_account_region_and_repository() {
    let refs: Vec<ImageRef> = [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1", // duplicate
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",   // latest
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1",
        "210987654321.dkr.ecr.us-east-1.amazonaws.com/api:1",
        "nginx:1.27",
    ]
    .iter()
    .map(|s| ImageRef::parse(s).unwrap())
    .collect();
    let (batches, foreign) = plan_batches(&refs, BATCH_SIZE);
    assert_eq!(batches.len(), 4);
    let api = batches
        .iter()
        .find(|b| {
            b.repository.repository == "api"
                && b.repository.host.account == "123456789012"
                && b.repository.host.region == "us-east-1"
        })
        .unwrap();
    assert_eq!(api.ids, ["1", "latest"]);
    assert_eq!(
        foreign.keys().collect::<Vec<_>>(),
        ["docker.io/library/nginx:1.27"]
    );
}

fn repo() -> RepositoryKey {
    RepositoryKey {
        registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".to_string(),
        host: parse_ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap(),
        repository: "api".to_string(),
    }
}

fn service_error(status: u16, code: &str, message: &str) -> ResolveError {
    use aws_sdk_ecr::config::http::HttpResponse;
    let meta = aws_sdk_ecr::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build();
    let err = BatchGetImageError::generic(meta);
    let raw = HttpResponse::new(status.try_into().unwrap(), "".into());
    map_call_failure(
        &Failure::of(&SdkError::service_error(err, raw)),
        "BatchGetImage",
        &repo(),
    )
}

#[test]
fn service_errors_are_worded_for_the_user() {
    let e = service_error(400, "RepositoryNotFoundException", "The repository ...");
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "repository api not found in account 123456789012 region us-east-1"
    );

    let e = service_error(
        400,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:BatchGetImage",
    );
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.contains("ecr:BatchGetImage permission"),
        "{}",
        e.message
    );

    let e = service_error(400, "ThrottlingException", "Rate exceeded");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.message.contains("after 5 attempts"), "{}", e.message);

    let e = service_error(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.contains("region may not be enabled"),
        "{}",
        e.message
    );

    let e = service_error(500, "ServerException", "boom");
    assert_eq!(e.kind, ErrorKind::Server);
    let e = service_error(418, "", "");
    assert_eq!(e.kind, ErrorKind::Other);
}

#[test]
fn missing_credentials_are_unauthorized() {
    let err: SdkError<BatchGetImageError> =
        SdkError::dispatch_failure(aws_sdk_ecr::error::ConnectorError::other(
            "the credential provider was not enabled: no providers in chain provided credentials"
                .into(),
            None,
        ));
    let e = map_call_failure(&Failure::of(&err), "BatchGetImage", &repo());
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.starts_with("no AWS credentials found ("),
        "{}",
        e.message
    );
}

#[test]
fn failures_map_to_not_found() {
    use aws_sdk_ecr::types::ImageFailure;
    let f = ImageFailure::builder()
        .failure_code(ImageFailureCode::ImageNotFound)
        .failure_reason("Requested image not found")
        .build();
    let e = map_failure(&f, "tag 1.4", &repo());
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "tag 1.4 not found in repository api (account 123456789012, us-east-1)"
    );
    let f = ImageFailure::builder()
        .failure_code(ImageFailureCode::ImageTagDoesNotMatchDigest)
        .build();
    assert_eq!(
        map_failure(&f, "tag 1.4", &repo()).kind,
        ErrorKind::NotFound
    );
    let f = ImageFailure::builder()
        .failure_code(ImageFailureCode::KmsError)
        .failure_reason("key disabled")
        .build();
    let e = map_failure(&f, "tag 1.4", &repo());
    assert_eq!(e.kind, ErrorKind::Other);
    assert!(
        e.message.contains("KmsError (key disabled)"),
        "{}",
        e.message
    );
}
