//! ECS task definitions and CodePipeline image files.

use super::*;

#[test]
fn ecs_register_input_with_sidecars_on_other_registries() {
    check(
        fixture!("ecs-register-task-definition.json"),
        Format::EcsTaskDefinition,
        &[
            ("containerDefinitions[0].image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:2.14.0", (12, 17), None),
            ("containerDefinitions[1].image", "public.ecr.aws/datadog/agent:7", (27, 17), None),
            ("containerDefinitions[2].image", "amazon/aws-for-fluent-bit:2.32.2", (33, 17), None),
            ("containerDefinitions[3].image", "docker.io/envoyproxy/envoy:v1.30.1@sha256:8f3b0c6c1d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a", (39, 17), None),
        ],
    );
}

#[test]
fn ecs_describe_output_and_an_escaped_slash() {
    check(
        fixture!("ecs-describe-task-definition.json"),
        Format::EcsTaskDefinition,
        &[
            (
                "taskDefinition.containerDefinitions[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-worker:latest",
                (7, 27),
                None,
            ),
            (
                "taskDefinition.containerDefinitions[1].image",
                "otel/opentelemetry-collector-contrib:0.98.0",
                (17, 27),
                ESCAPED,
            ),
        ],
    );
}

#[test]
fn ecs_placeholders_empty_and_non_string_images_are_skipped() {
    check(
        fixture!("ecs-templated-taskdef.json"),
        Format::EcsTaskDefinition,
        &[
            (
                "containerDefinitions[0].image",
                "<IMAGE1_NAME>",
                (4, 32),
                templated("<IMAGE1_NAME>"),
            ),
            (
                "containerDefinitions[1].image",
                "${PROXY_IMAGE}",
                (5, 34),
                templated("${PROXY_IMAGE}"),
            ),
            ("containerDefinitions[2].image", "", (6, 36), EMPTY),
            ("containerDefinitions[3].image", "42", (7, 34), NOT_A_STRING),
        ],
    );
}

#[test]
fn ecs_task_definition_in_yaml() {
    check(
        fixture!("ecs-task-definition.yaml"),
        Format::EcsTaskDefinition,
        &[
            (
                "containerDefinitions[0].image",
                "123456789012.dkr.ecr.eu-central-1.amazonaws.com/reports:1.8.3",
                (6, 12),
                None,
            ),
            (
                "containerDefinitions[1].image",
                "public.ecr.aws/xray/aws-xray-daemon:3.3.12",
                (9, 13),
                None,
            ),
        ],
    );
}

#[test]
fn codepipeline_imagedefinitions() {
    check(
        fixture!("imagedefinitions.json"),
        Format::CodePipelineImageDefinitions,
        &[
            (
                "[0].imageUri",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:2.14.0",
                (4, 18),
                None,
            ),
            (
                "[1].imageUri",
                "public.ecr.aws/datadog/agent:7",
                (8, 18),
                None,
            ),
        ],
    );
}

#[test]
fn codepipeline_image_detail_without_final_newline() {
    check(
        fixture!("imageDetail.json"),
        Format::CodePipelineImageDetail,
        &[(
            "ImageURI",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-worker:release-2024.11.05",
            (1, 14),
            None,
        )],
    );
}

#[test]
fn json_with_a_bom_keeps_offsets_in_the_original_bytes() {
    let bytes = b"\xef\xbb\xbf[{\"name\": \"web\", \"imageUri\": \"nginx:1.27\"}]";
    let located = locate(Path::new("imagedefinitions.json"), bytes)
        .unwrap()
        .unwrap();
    check_invariants(bytes, &located);
    let o = &located.occurrences[0];
    assert_eq!(&bytes[o.span.clone()], b"nginx:1.27");
    assert_eq!(o.span.start, 33);
    assert_eq!(line_col(bytes, o.span.start), (1, 31));
}
