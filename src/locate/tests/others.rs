//! Dockerfiles, CI files (GitHub, CircleCI, GitLab) and CloudFormation.

use super::*;

#[test]
fn argo_workflow_and_tekton_containers() {
    check(
        fixture!("workflows-crds.yaml"),
        Format::Kubernetes,
        &[
            (
                "spec.templates[0].container.image",
                "alpine:3.20",
                (10, 16),
                None,
            ),
            (
                "spec.templates[1].script.image",
                "python:3.12",
                (14, 16),
                None,
            ),
            (
                "document 2: spec.stepTemplate.image",
                "busybox:1.36",
                (23, 12),
                None,
            ),
            (
                "document 2: spec.steps[0].image",
                "golang:1.23",
                (26, 14),
                None,
            ),
            (
                "document 2: spec.sidecars[0].image",
                "docker:27-dind",
                (31, 14),
                None,
            ),
        ],
    );
}

#[test]
fn dockerfile_stages_copy_from_mounts_heredocs_and_continuations() {
    check(
        fixture!("Dockerfile"),
        Format::Dockerfile,
        &[
            // The frontend BuildKit pulls is an image too.
            ("# syntax", "docker/dockerfile:1.7", (1, 10), None),
            // `from ${BASE}` is the global ARG's default, pinned where it is set.
            (
                "ARG BASE (FROM (stage 2 runtime))",
                "python:3.12-slim",
                (2, 10),
                None,
            ),
            ("FROM (stage 1 build)", "golang:1.23", (3, 32), None),
            ("COPY --from", "ghcr.io/astral-sh/uv:0.4.20", (5, 13), None),
            ("--mount from", "busybox:1.36", (7, 28), None),
            (
                "FROM (stage 3)",
                "gcr.io/distroless/static:nonroot",
                (18, 3),
                None,
            ),
        ],
    );
    check(
        fixture!("Containerfile.crlf"),
        Format::Dockerfile,
        &[("FROM (stage 1)", "nginx:1.27", (1, 6), None)],
    );
    let (_, bytes) = fixture!("Dockerfile");
    let located = locate(Path::new("Dockerfile"), bytes).unwrap().unwrap();
    let platforms: Vec<Option<&str>> = located
        .occurrences
        .iter()
        .map(|o| o.platform.as_ref().map(|p| p.source.as_str()))
        .collect();
    // `--platform=$BUILDPLATFORM` declares nothing; `linux/arm64` does.
    assert_eq!(
        platforms,
        [
            None,
            None,
            None,
            None,
            None,
            Some("FROM --platform=linux/arm64")
        ]
    );
    // `# syntax = …` with spaces, after a BOM, CRLF: the value's own span.
    // A directive after a comment or an instruction is a comment.
    let text = "\u{feff}# syntax = docker/dockerfile:1 \r\n# escape=\\\r\nFROM alpine:3.20\r\n# syntax=late:1\r\n";
    let located = locate(Path::new("Dockerfile"), text.as_bytes())
        .unwrap()
        .unwrap();
    let found: Vec<_> = located
        .occurrences
        .iter()
        .map(|o| (o.text.as_str(), o.span.start))
        .collect();
    assert_eq!(found, [("docker/dockerfile:1", 14), ("alpine:3.20", 53)]);
    let text = "# a comment\n# syntax=docker/dockerfile:1\nFROM alpine:3.20\n";
    let located = locate(Path::new("Dockerfile"), text.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(located.occurrences.len(), 1);
    // A `# escape=` directive changes the continuation character.
    let windows =
        "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir c:\\\n";
    let located = locate(Path::new("Dockerfile.win"), windows.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(located.occurrences.len(), 1);
    assert_eq!(
        located.occurrences[0].text,
        "mcr.microsoft.com/windows/servercore:ltsc2022"
    );
}

#[test]
fn github_workflow_containers_services_and_docker_steps() {
    check(
        fixture!("github-workflow.yml"),
        Format::GithubActions,
        &[
            ("jobs.test.container.image", "rust:1.85-bookworm", (9, 14), None),
            ("jobs.test.services.postgres.image", "postgres:16", (12, 16), None),
            ("jobs.test.steps[1].uses", "alpine:3.20", (17, 24), None),
            ("jobs.test.steps[2].uses", "ghcr.io/org/tool:1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000", (20, 25), None),
            ("jobs.lint.container", "node:20-alpine", (24, 16), None),
            ("jobs.lint.services.cache.image", "${{ matrix.image }}", (30, 16), templated("${{ matrix.image }}")),
        ],
    );
    check(
        fixture!("action-docker.yml"),
        Format::GithubActions,
        &[("runs.image", "ghcr.io/org/linter:3.1", (5, 19), None)],
    );
}

#[test]
fn circleci_docker_images_of_jobs_and_executors() {
    check(
        fixture!("circleci.yml"),
        Format::CircleCi,
        &[
            (
                "executors.py.docker[0].image",
                "cimg/python:3.12",
                (7, 16),
                None,
            ),
            (
                "jobs.test.docker[0].image",
                "cimg/node:20.11",
                (11, 16),
                None,
            ),
            (
                "jobs.test.docker[1].image",
                "cimg/postgres:16.2",
                (14, 17),
                None,
            ),
        ],
    );
}

#[test]
fn gitlab_ci_images_and_services_in_every_form() {
    check(
        fixture!("gitlab-ci.yml"),
        Format::GitlabCi,
        &[
            ("image", "ruby:3.3", (2, 8), None),
            ("default.services[0]", "postgres:16", (8, 7), None),
            ("default.services[1].name", "redis:7", (9, 13), None),
            (".template.image.name", "alpine/git:2.45", (14, 11), None),
            (
                "build.image",
                "$CI_REGISTRY_IMAGE/builder:latest",
                (19, 10),
                templated("$CI_REGISTRY_IMAGE"),
            ),
            ("test.services[0]", "docker:27-dind", (26, 15), None),
        ],
    );
}

#[test]
fn cloudformation_task_definitions_lambda_batch_and_intrinsics() {
    const TD: &str = "Resources.TaskDef.Properties.ContainerDefinitions";
    check(
        fixture!("cloudformation.yaml"),
        Format::CloudFormation,
        &[
            (
                &format!("{TD}[0].Image"),
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.4",
                (14, 18),
                None,
            ),
            (
                &format!("{TD}[1].Image"),
                "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/envoy:${Tag}",
                (16, 24),
                templated(
                    "!Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/envoy:${Tag}",
                ),
            ),
            (
                &format!("{TD}[2].Image"),
                "ImageParam",
                (18, 23),
                templated("!Ref ImageParam"),
            ),
            (
                &format!("{TD}[3].Image"),
                "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2",
                (20, 19),
                None,
            ),
            (
                "Resources.Fn.Properties.Code.ImageUri",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:7",
                (26, 19),
                None,
            ),
            (
                "Resources.Job.Properties.ContainerProperties.Image",
                "public.ecr.aws/docker/library/busybox:1.36",
                (34, 21),
                None,
            ),
        ],
    );
    check(
        fixture!("cloudformation.json"),
        Format::CloudFormation,
        &[
            (
                "Resources.Job.Properties.ContainerProperties.Image",
                "public.ecr.aws/docker/library/python:3.12",
                (7, 43),
                None,
            ),
            (
                "Resources.Fn.Properties.Code.ImageUri",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:3",
                (12, 80),
                None,
            ),
            (
                "Resources.Sam.Properties.ImageUri",
                "",
                (16, 58),
                templated("Fn::Join"),
            ),
        ],
    );
    let (_, bytes) = fixture!("cloudformation.yaml");
    let located = locate(Path::new("t.yaml"), bytes).unwrap().unwrap();
    let platform = located.occurrences[0].platform.as_ref().unwrap();
    assert_eq!(platform.architectures, ["arm64"]);
    assert_eq!(platform.os.as_deref(), Some("linux"));
    assert!(
        located.occurrences[4].platform.is_none(),
        "the Lambda function declares none"
    );
}

#[test]
fn dockerfile_heredocs_open_only_on_a_heredoc_word_and_blank_continuation_lines_are_skipped() {
    // `'shift: 1<<3'` opens no heredoc (it once hid the rest of the file);
    // `<<-EOT`, `<<"END-OF-FILE"` and `3<<X` do, and their bodies are not
    // instructions; a blank line inside a continuation does not end it.
    check(
        fixture!("Dockerfile.heredocs"),
        Format::Dockerfile,
        &[
            ("# syntax", "docker/dockerfile:1.7", (1, 10), None),
            ("FROM (stage 1 build)", "golang:1.23", (2, 6), None),
            ("COPY --from", "busybox:1.36", (17, 10), None),
            (
                "FROM (stage 2)",
                "gcr.io/distroless/static:nonroot",
                (18, 6),
                None,
            ),
        ],
    );
}

#[test]
fn compose_build_services_keep_their_image_and_pin_docker_image_contexts() {
    check(
        fixture!("compose.build.yaml"),
        Format::Compose,
        &[
            // A template with `build:` names a build output.
            (
                "x-app.image",
                "registry.example.com/shop/app:dev",
                (4, 10),
                built("x-app"),
            ),
            // Image and `build:` merged from two templates: built here.
            (
                "services.jobs.image",
                "registry.example.com/shop/jobs:1.2",
                (6, 10),
                built("services.jobs"),
            ),
            // Pulled by `cron`, built by `tools`: the build output wins.
            (
                "services.tools.image",
                "registry.example.com/shop/base:3",
                (10, 10),
                built("services.tools"),
            ),
            (
                "services.api.build.additional_contexts.base",
                "alpine:3.20",
                (16, 30),
                None,
            ),
            (
                "services.api.image",
                "registry.example.com/shop/api:dev",
                (18, 12),
                built("services.api"),
            ),
            (
                "services.worker.build.additional_contexts[0]",
                "python:3.12-slim",
                (23, 32),
                None,
            ),
            (
                "services.worker.build.additional_contexts[2]",
                "python:${PY}",
                (25, 11),
                templated("${PY}"),
            ),
            (
                "services.worker.image",
                "shop/worker",
                (26, 12),
                built("services.worker"),
            ),
            ("services.db.image", "postgres:16", (28, 12), None),
        ],
    );
}

fn built(service: &str) -> Option<SkipReason> {
    Some(SkipReason::BuildOutput(service.to_owned()))
}

#[test]
fn composite_action_docker_steps() {
    check(
        fixture!("action-composite.yml"),
        Format::GithubActions,
        &[(
            "runs.steps[1].uses",
            "hadolint/hadolint:v2.12.0",
            (7, 22),
            None,
        )],
    );
}

#[test]
fn cloudformation_batch_multi_node_ecs_and_eks_containers() {
    const R: &str = "Resources";
    check(
        fixture!("cloudformation-batch.yaml"),
        Format::CloudFormation,
        &[
            (
                &format!("{R}.MultiNode.Properties.NodeProperties.NodeRangeProperties[0].Container.Image"),
                "busybox:1.36",
                (13, 22),
                None,
            ),
            (
                &format!("{R}.OnFargate.Properties.EcsProperties.TaskProperties[0].Containers[0].Image"),
                "public.ecr.aws/amazonlinux/amazonlinux:2023",
                (22, 24),
                None,
            ),
            (
                &format!("{R}.OnFargate.Properties.EcsProperties.TaskProperties[0].Containers[1].Image"),
                "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/log:1",
                (24, 30),
                templated("!Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/log:1"),
            ),
            (
                &format!("{R}.OnEks.Properties.EksProperties.PodProperties.InitContainers[0].Image"),
                "alpine:3.20",
                (33, 22),
                None,
            ),
            (
                &format!("{R}.OnEks.Properties.EksProperties.PodProperties.Containers[0].Image"),
                "python:3.12",
                (36, 22),
                None,
            ),
        ],
    );
}

#[test]
fn dockerfile_escape_directive_only_at_the_top() {
    // A comment that is not a directive ends the directives: the later
    // `# escape=` is a comment and `\` still continues lines.
    let text = "# Build with --build-arg A=1\n# escape=`\nFROM \\\n  alpine:3.20\n";
    let located = locate(Path::new("Dockerfile"), text.as_bytes())
        .unwrap()
        .unwrap();
    let texts: Vec<&str> = located
        .occurrences
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(texts, ["alpine:3.20"]);
}

#[test]
fn dockerfile_from_a_global_arg_is_the_arg_default() {
    let text = "\
ARG REGISTRY=ghcr.io/acme
ARG BASE=\"python:3.12-slim\" NODE=node:20
ARG TARGET=build
ARG NO_DEFAULT
FROM ${NODE} AS build
ARG LOCAL=alpine:3.20
FROM $BASE
FROM ${BASE} AS again
FROM ${TARGET}
FROM ${LOCAL}
FROM ${NO_DEFAULT}
FROM ${REGISTRY}/app:1
";
    let located = locate(Path::new("Dockerfile"), text.as_bytes())
        .unwrap()
        .unwrap();
    check_invariants(text.as_bytes(), &located);
    let got: Vec<(&str, &str, Option<SkipReason>)> = located
        .occurrences
        .iter()
        .map(|o| (o.location.as_str(), o.text.as_str(), o.skip.clone()))
        .collect();
    assert_eq!(
        got,
        [
            // Two FROMs share BASE: one occurrence, inside the quotes.
            ("ARG BASE (FROM (stage 2))", "python:3.12-slim", None),
            ("ARG NODE (FROM (stage 1 build))", "node:20", None),
            // A stage ARG is not seen by FROM; an ARG naming a stage is a stage.
            ("FROM (stage 5)", "${LOCAL}", templated("${LOCAL}")),
            (
                "FROM (stage 6)",
                "${NO_DEFAULT}",
                templated("${NO_DEFAULT}")
            ),
            (
                "FROM (stage 7)",
                "${REGISTRY}/app:1",
                templated("${REGISTRY}")
            ),
        ]
    );
}

#[test]
fn terraform_attributes_jsonencode_objects_and_heredoc_json() {
    check(
        fixture!("main.tf"),
        Format::Terraform,
        &[
            (
                "resource.aws_ecs_task_definition.api.container_definitions[0].image",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:3.1",
                (11, 20),
                None,
            ),
            (
                "resource.aws_ecs_task_definition.api.container_definitions[1].image",
                "${local.registry}/envoy:v1.31",
                (16, 18),
                templated("${local.registry}"),
            ),
            (
                "resource.aws_ecs_task_definition.legacy.container_definitions[0].image",
                "public.ecr.aws/nginx/nginx:1.27",
                (25, 33),
                None,
            ),
            (
                "resource.aws_lambda_function.fn.image_uri",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:7",
                (33, 20),
                None,
            ),
            (
                "resource.kubernetes_deployment_v1.web.spec.template.spec.container.image",
                "ghcr.io/example/web:2.0",
                (44, 20),
                None,
            ),
            (
                "resource.kubernetes_deployment_v1.web.spec.template.spec.init_container.image",
                "var.init_image",
                (48, 19),
                templated("var.init_image"),
            ),
        ],
    );
}

#[test]
fn dockerfile_tag_from_a_global_arg_is_pinned_in_the_arg_default() {
    let text = "ARG NODE_VERSION=20.18\nARG REGISTRY=docker.io\nARG GO=1.23\nARG SHARED=3\nFROM ${REGISTRY}/library/node:${NODE_VERSION} AS web\nFROM golang:${GO}-alpine\nFROM a:${SHARED}\nFROM b:$SHARED\n";
    let located = locate(Path::new("Dockerfile"), text.as_bytes())
        .unwrap()
        .unwrap();
    let got: Vec<_> = located
        .occurrences
        .iter()
        .map(|o| {
            (
                o.text.as_str(),
                line_col(text.as_bytes(), o.span.start),
                o.skip.clone(),
                o.splice.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // The digest goes beside the version, in the ARG's default.
            (
                "docker.io/library/node:20.18",
                (1, 18),
                None,
                Splice::Tag {
                    tag: "20.18".into()
                }
            ),
            // The version is not at the end: a digest at the FROM would
            // outlive a bump of GO. Left templated.
            (
                "golang:${GO}-alpine",
                (6, 6),
                templated("${GO}"),
                Splice::Reference
            ),
            // One default cannot hold the digests of two images.
            (
                "a:${SHARED}",
                (7, 6),
                templated("${SHARED}"),
                Splice::Reference
            ),
            ("b:$SHARED", (8, 6), templated("$SHARED"), Splice::Reference),
        ]
    );
    assert_eq!(
        located.occurrences[0].location,
        "ARG NODE_VERSION (FROM (stage 1 web))"
    );
}
