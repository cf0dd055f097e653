//! Files whose place decides their format: CI systems and dev containers.

use super::*;

#[test]
fn a_workflow_without_runs_on_is_read_by_its_place() {
    check(
        placed!(".github/workflows/reusable.yml"),
        Format::GithubActions,
        &[
            (
                "jobs.integration.container.image",
                "ghcr.io/example/ci-runner:2024.11",
                (8, 14),
                None,
            ),
            (
                "jobs.integration.services.db.image",
                "postgres:16.4",
                (11, 16),
                None,
            ),
        ],
    );
}

#[test]
fn a_gitlab_file_with_only_top_level_keys_is_read_by_its_place() {
    check(
        placed!(".gitlab-ci.yml"),
        Format::GitlabCi,
        &[
            (
                "image",
                "registry.gitlab.com/example/build-image:1.8",
                (2, 8),
                None,
            ),
            ("services[0]", "docker:27.3-dind", (4, 5), None),
            ("services[1].name", "redis:7.4", (5, 11), None),
        ],
    );
}

#[test]
fn bitbucket_images_services_and_steps_at_any_depth() {
    check(
        placed!("bitbucket-pipelines.yml"),
        Format::BitbucketPipelines,
        &[
            ("image", "node:20.18", (1, 8), None),
            (
                "definitions.services.postgres.image",
                "postgres:16.4",
                (6, 14),
                None,
            ),
            (
                "definitions.services.private.image.name",
                "registry.example.com/team/mock:3",
                (11, 15),
                None,
            ),
            // The anchored step, reported once where it is written.
            (
                "definitions.steps[0].step.image",
                "golangci/golangci-lint:v1.62.0",
                (17, 17),
                None,
            ),
            (
                "pipelines.default[1].parallel[1].step.image.name",
                "registry.example.com/team/builder:5.1",
                (32, 21),
                None,
            ),
            (
                "pipelines.branches.main[0].step.image",
                "${DEPLOY_IMAGE}",
                (40, 18),
                templated("${DEPLOY_IMAGE}"),
            ),
        ],
    );
}

#[test]
fn drone_steps_and_services_in_every_pipeline_document() {
    check(
        placed!(".drone.yml"),
        Format::Drone,
        &[
            ("steps[0].image", "golang:1.23", (7, 12), None),
            ("steps[1].image", "plugins/docker:20.18", (11, 12), None),
            ("services[0].image", "redis:7.4", (17, 12), None),
        ],
    );
}

#[test]
fn woodpecker_named_steps_services_and_clone() {
    check(
        placed!(".woodpecker/build.yaml"),
        Format::Drone,
        &[
            (
                "clone.git.image",
                "woodpeckerci/plugin-git:2.6.0",
                (3, 12),
                None,
            ),
            ("steps.build.image", "rust:1.83-slim", (6, 12), None),
            (
                "steps.notify.image",
                "quay.io/example/notify:0.3",
                (9, 13),
                None,
            ),
            ("services.database.image", "mariadb:11.4", (12, 12), None),
        ],
    );
}

#[test]
fn cloud_build_step_names_are_images_and_pushed_images_are_not() {
    check(
        placed!("cloudbuild.yaml"),
        Format::CloudBuild,
        &[
            (
                "steps[0].name",
                "gcr.io/cloud-builders/docker:24.0.9",
                (2, 11),
                None,
            ),
            (
                "steps[1].name",
                "gcr.io/google.com/cloudsdktool/cloud-sdk:502.0.0-slim",
                (4, 12),
                None,
            ),
            (
                "steps[2].name",
                "$_TOOLS_IMAGE",
                (7, 11),
                templated("$_TOOLS_IMAGE"),
            ),
        ],
    );
}

#[test]
fn a_dev_container_with_comments_and_trailing_commas() {
    check(
        placed!(".devcontainer/devcontainer.json"),
        Format::DevContainer,
        &[(
            "image",
            "mcr.microsoft.com/devcontainers/go:1-1.23-bookworm",
            (5, 13),
            None,
        )],
    );
}

#[test]
fn kustomize_images_are_name_and_new_tag_and_pin_into_a_digest_field() {
    let (path, bytes) = placed!("overlays/prod/kustomization.yaml");
    check(
        (path, bytes),
        Format::Kustomize,
        &[
            // Insertions: an empty span at the end of the `newTag` line.
            (
                "images[0].newTag",
                "registry.example.com/web/nginx:1.27",
                (8, 27),
                None,
            ),
            // `1.10` is the tag `1.10`, as Go reads it into a string.
            ("images[1].newTag", "api:1.10", (9, 17), None),
            (
                "images[2].digest",
                "worker:v3@sha256:0aa0a0aa0a000a0aaa00aa0aa0aa0a000000a0000a0000aa0aaaa0000aa0a000",
                (13, 13),
                None,
            ),
            ("images[3].newTag", "cache/redis:7.4", (14, 52), None),
            // `rename-only` has no tag here: its resources carry it.
            (
                "images[5].newTag",
                "templated:${TAG}",
                (18, 19),
                templated("${TAG}"),
            ),
        ],
    );
    let located = locate(Path::new(path), bytes).unwrap().unwrap();
    // An insertion is shown at its tag, not at the end of the line.
    let shown = located.occurrences[0]
        .shown_at
        .map(|at| line_col(bytes, at));
    assert_eq!(shown, Some((8, 14)));
    assert_eq!(located.occurrences[2].shown_at, None);
    let splices: Vec<_> = located.occurrences.iter().map(|o| &o.splice).collect();
    let digest = |before: &str| Splice::Digest {
        before: before.to_string(),
    };
    assert_eq!(
        splices,
        [
            &digest("\r\n    digest: "),
            &digest("\r\n    digest: "),
            &digest(""),
            &digest(", digest: "),
            &digest("\r\n    digest: "),
        ]
    );
}

#[test]
fn helm_values_image_blocks_pin_through_digest_or_tag() {
    let (name, bytes) = (
        "values.yaml",
        include_bytes!("../../../testdata/locate/helm/values.yaml") as &[u8],
    );
    // By name alone, a values file is not a deploy file.
    assert_eq!(locate(Path::new(name), bytes).unwrap(), None);
    let located = locate_as(Path::new(name), bytes, Some(Format::HelmValues))
        .unwrap()
        .unwrap();
    check_invariants(bytes, &located);
    let got: Vec<_> = located
        .occurrences
        .iter()
        .map(|o| {
            (
                o.location.as_str(),
                o.text.as_str(),
                line_col(bytes, o.span.start),
                o.skip.clone(),
                o.splice.clone(),
            )
        })
        .collect();
    let tag = |t: &str| Splice::Tag { tag: t.to_string() };
    let digest = Splice::Digest {
        before: String::new(),
    };
    let d = "sha256:0aa0a0aa0a000a0aaa00aa0aa0aa0a000000a0000a0000aa0aaaa0000aa0a000";
    assert_eq!(
        got,
        [
            (
                "image.tag",
                "registry.example.com/shop/checkout:2.14.0",
                (4, 9),
                None,
                tag("2.14.0"),
            ),
            // `digest: ""` is filled inside its quotes.
            (
                "sidecar.image.digest",
                "docker.io/bitnami/redis:7.4.1-debian-12-r0",
                (11, 14),
                None,
                digest.clone(),
            ),
            (
                "proxy.image.digest",
                &format!("envoyproxy/envoy:v1.31.2@{d}") as &str,
                (13, 64),
                None,
                digest,
            ),
            (
                "jobs[0].image.tag",
                "registry.example.com/shop/migrate:2.0",
                (18, 12),
                Some(SkipReason::NumericTag("2.0".into())),
                tag("2.0"),
            ),
            (
                "jobs[1].image.tag",
                "registry.example.com/shop/tools:",
                (22, 13),
                EMPTY,
                tag(""),
            ),
            (
                "metrics.image",
                "quay.io/prometheus/statsd-exporter:v0.27.1",
                (24, 10),
                None,
                Splice::Reference,
            ),
        ]
    );
}
