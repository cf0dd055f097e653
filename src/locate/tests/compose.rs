//! Compose files: quoting, anchors and merges, line endings, values never rewritten.

use super::*;

#[test]
fn compose_with_comments_quoting_flow_style_and_interpolation() {
    check(
        fixture!("compose.yaml"),
        Format::Compose,
        &[
            ("services.web.image", "nginx:1.27-alpine", (7, 12), None),
            ("services.db.image", "postgres:16.4", (22, 13), None),
            ("services.cache.image", "redis:7.2-alpine", (26, 19), None),
            ("services.worker.image", "ghcr.io/example/shop-worker:${WORKER_TAG:-latest}", (29, 12), templated("${WORKER_TAG:-latest}")),
            ("services.mailhog.image", "docker.io/mailhog/mailhog@sha256:8d76a3d4ffa32a3661311944007a415332c4bb855657f4f6c57996405c009bea", (33, 12), None),
        ],
    );
}

#[test]
fn compose_anchors_merges_and_extension_templates_report_each_span_once() {
    // `api` and `scheduler` get their image from `x-app` through `<<`, and
    // `envoy` aliases a scalar anchored in `x-images`: each is reported once,
    // at the anchor. `reports` and `migrate` override the merged image.
    check(
        fixture!("docker-compose.anchors.yml"),
        Format::Compose,
        &[
            (
                "x-app.image",
                "registry.example.com/platform/app:3.1.0",
                (9, 10),
                None,
            ),
            (
                "services.envoy.image",
                "envoyproxy/envoy:v1.30.1",
                (14, 28),
                None,
            ),
            (
                "x-images.jobs.image",
                "registry.example.com/platform/jobs:3.1.0",
                (16, 12),
                None,
            ),
            (
                "services.reports.image",
                "registry.example.com/platform/reports:1.0.2",
                (33, 12),
                None,
            ),
            (
                "services.migrate.image",
                "${MIGRATE_IMAGE}",
                (40, 12),
                templated("${MIGRATE_IMAGE}"),
            ),
        ],
    );
}

#[test]
fn compose_with_crlf_line_endings() {
    check(
        fixture!("compose.crlf.yaml"),
        Format::Compose,
        &[
            (
                "services.app.image",
                "mcr.microsoft.com/dotnet/aspnet:8.0",
                (4, 12),
                None,
            ),
            (
                "services.sql.image",
                "mcr.microsoft.com/mssql/server:2022-latest",
                (8, 13),
                None,
            ),
        ],
    );
}

#[test]
fn compose_with_a_bom_and_no_final_newline() {
    let (name, bytes) = fixture!("compose.bom-no-final-newline.yml");
    check(
        (name, bytes),
        Format::Compose,
        &[
            ("services.api.image", "node:20-bookworm-slim", (3, 12), None),
            ("services.proxy.image", "caddy:2.8", (5, 13), None),
        ],
    );
    let located = locate(Path::new(name), bytes).unwrap().unwrap();
    assert_eq!(
        located.occurrences[1].span.end,
        bytes.len() - 1,
        "before the closing quote"
    );
}

#[test]
fn compose_with_multibyte_text_and_tabs_before_images() {
    check(
        fixture!("compose.multibyte.yaml"),
        Format::Compose,
        &[
            (
                "services.app.image",
                "ghcr.io/équipe/app:1.0",
                (8, 13),
                None,
            ),
            ("services.café.image", "python:3.12-slim", (13, 12), None),
            ("services.ui.image", "node:22-alpine", (17, 12), None),
        ],
    );
}

#[test]
fn compose_values_that_must_not_be_rewritten() {
    check(
        fixture!("compose.odd-values.yaml"),
        Format::Compose,
        &[
            ("services.escaped.image", "nginx:1.27", (4, 13), ESCAPED),
            ("services.folded.image", "nginx: 1.27", (7, 7), ESCAPED),
            (
                "services.multiline.image",
                "registry.example.com/team/ app:1.0",
                (10, 13),
                ESCAPED,
            ),
            ("services.number.image", "1.27", (13, 12), NOT_A_STRING),
            ("services.nothing.image", "", (15, 11), EMPTY),
            ("services.blank.image", "  ", (17, 13), EMPTY),
            ("services.mapping.image", "", (20, 7), NOT_A_STRING),
            (
                "services.dollars.image",
                "app:$$literal",
                (22, 13),
                templated("$$"),
            ),
            (
                "services.helm-ish.image",
                "{{ .Values.image }}",
                (24, 13),
                templated("{{ .Values.image }}"),
            ),
            ("services.tagged.image", "busybox:1.36", (26, 18), None),
        ],
    );
}

#[test]
fn compose_service_names_that_need_quoting_in_locations() {
    let bytes = b"services:\n  api.v2:\n    image: nginx:1.27\n";
    let located = locate(Path::new("compose.override.yml"), bytes)
        .unwrap()
        .unwrap();
    assert_eq!(
        located.occurrences[0].location,
        "services[\"api.v2\"].image"
    );
}
