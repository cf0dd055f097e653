//! Fixture tests for `locate`: one test per file under `testdata/locate/`,
//! asserting every occurrence (where, text, line:col of the span, skip
//! reason) and that each literal span slices the original bytes to exactly
//! its text. Plus the file-level rules (syntax by name, prefilter, templates,
//! errors) and a no-panic sweep over truncated fixtures.

use std::path::Path;

use super::*;

/// `(name, bytes)` of a fixture; the path is relative to this source file so
/// that any crate including this module finds it.
macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../testdata/locate/", $name)) as &[u8],
        )
    };
}

/// Every fixture, for the sweeps.
const FIXTURES: &[(&str, &[u8])] = &[
    fixture!("Containerfile.crlf"),
    fixture!("Dockerfile"),
    fixture!("Dockerfile.heredocs"),
    fixture!("action-composite.yml"),
    fixture!("action-docker.yml"),
    fixture!("argo-rollout.yaml"),
    fixture!("broken.json"),
    fixture!("broken.yaml"),
    fixture!("cloudformation-batch.yaml"),
    fixture!("circleci.yml"),
    fixture!("cloudformation.json"),
    fixture!("cloudformation.yaml"),
    fixture!("compose.bom-no-final-newline.yml"),
    fixture!("compose.build.yaml"),
    fixture!("compose.crlf.yaml"),
    fixture!("compose.multibyte.yaml"),
    fixture!("compose.odd-values.yaml"),
    fixture!("compose.yaml"),
    fixture!("devcontainer.json"),
    fixture!("docker-compose.anchors.yml"),
    fixture!("ecs-describe-task-definition.json"),
    fixture!("ecs-register-task-definition.json"),
    fixture!("ecs-task-definition.yaml"),
    fixture!("ecs-templated-taskdef.json"),
    fixture!("github-workflow.yml"),
    fixture!("gitlab-ci.yml"),
    fixture!("helm-deployment.yaml"),
    fixture!("helm-values.yaml"),
    fixture!("imageDetail.json"),
    fixture!("imagedefinitions.json"),
    fixture!("k8s-list.yaml"),
    fixture!("k8s-multi.yaml"),
    fixture!("k8s-pod.json"),
    fixture!("package.json"),
    fixture!("tsconfig.json"),
    fixture!("workflows-crds.yaml"),
];

/// One expected occurrence: location, text, line:col of the span start, skip.
type Want<'a> = (&'a str, &'a str, (usize, usize), Option<SkipReason>);

/// Check the invariants every result must hold, whatever the input.
fn check_invariants(bytes: &[u8], located: &Located) {
    let mut previous: Option<&Occurrence> = None;
    for o in &located.occurrences {
        let raw = bytes
            .get(o.span.clone())
            .unwrap_or_else(|| panic!("span {:?} is outside the file", o.span));
        // On UTF-8 input every span is on character boundaries; a literal's
        // span is its text on any input.
        let utf8 = std::str::from_utf8(bytes).is_ok();
        if utf8 || o.skip.is_none() {
            let raw = std::str::from_utf8(raw)
                .unwrap_or_else(|_| panic!("span {:?} is not on character boundaries", o.span));
            if o.skip.is_none() {
                assert_eq!(raw, o.text, "literal span must slice to its text");
            }
        }
        if let Some(p) = previous {
            assert!(
                (p.span.start, p.span.end) < (o.span.start, o.span.end),
                "occurrences sorted and unique"
            );
        }
        previous = Some(o);
    }
}

/// Locate `name` and compare with `want`.
fn check((name, bytes): (&str, &[u8]), format: Format, want: &[Want<'_>]) {
    let located = locate(Path::new(name), bytes)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name}: not recognised"));
    assert_eq!(located.format, format, "{name}");
    assert_eq!(located.note, None, "{name}");
    check_invariants(bytes, &located);
    let got: Vec<Want<'_>> = located
        .occurrences
        .iter()
        .map(|o| {
            (
                o.location.as_str(),
                o.text.as_str(),
                line_col(bytes, o.span.start),
                o.skip.clone(),
            )
        })
        .collect();
    assert_eq!(got, want, "{name}");
}

fn templated(marker: &str) -> Option<SkipReason> {
    Some(SkipReason::Templated(marker.to_owned()))
}

const NOT_A_STRING: Option<SkipReason> = Some(SkipReason::NotAString);
const EMPTY: Option<SkipReason> = Some(SkipReason::Empty);
const ESCAPED: Option<SkipReason> = Some(SkipReason::EscapedOrMultiline);

// --- ECS and CodePipeline -------------------------------------------------

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

// --- Compose ----------------------------------------------------------------

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
            ("services.folded.image", "nginx:1.27", (7, 7), ESCAPED),
            (
                "services.multiline.image",
                "registry.example.com/team/ app:1.0",
                (9, 13),
                ESCAPED,
            ),
            ("services.number.image", "1.27", (12, 12), NOT_A_STRING),
            ("services.nothing.image", "", (14, 10), EMPTY),
            ("services.blank.image", "  ", (16, 13), EMPTY),
            ("services.mapping.image", "", (19, 7), NOT_A_STRING),
            (
                "services.dollars.image",
                "app:$$literal",
                (21, 13),
                templated("$$"),
            ),
            (
                "services.helm-ish.image",
                "{{ .Values.image }}",
                (23, 13),
                templated("{{ .Values.image }}"),
            ),
            ("services.tagged.image", "busybox:1.36", (25, 18), None),
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

// --- Kubernetes -------------------------------------------------------------

#[test]
fn kubernetes_multi_document_workloads() {
    check(
        fixture!("k8s-multi.yaml"),
        Format::Kubernetes,
        &[
            (
                "spec.template.spec.initContainers[0].image",
                "registry.example.com/shop/checkout-migrate:2.14.0",
                (21, 19),
                None,
            ),
            (
                "spec.template.spec.containers[0].image",
                "registry.example.com/shop/checkout:2.14.0",
                (25, 18),
                None,
            ),
            (
                "spec.template.spec.containers[1].image",
                "docker.io/istio/proxyv2:1.22.3",
                (30, 18),
                None,
            ),
            (
                "document 4: spec.jobTemplate.spec.template.spec.containers[0].image",
                "registry.example.com/shop/checkout-tools:2.14.0",
                (58, 23),
                None,
            ),
            (
                "document 5: spec.containers[0].image",
                "registry.example.com/shop/checkout:2.14.0",
                (68, 14),
                None,
            ),
            (
                "document 5: spec.ephemeralContainers[0].image",
                "busybox:1.36",
                (71, 14),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_list_items() {
    check(
        fixture!("k8s-list.yaml"),
        Format::Kubernetes,
        &[
            (
                "items[0].spec.template.spec.containers[0].image",
                "redis:7.2.5",
                (14, 22),
                None,
            ),
            (
                "items[2].spec.template.spec.containers[0].image",
                "quay.io/prometheus/node-exporter:v1.8.1",
                (30, 22),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_argo_rollout() {
    check(
        fixture!("argo-rollout.yaml"),
        Format::Kubernetes,
        &[(
            "spec.template.spec.containers[0].image",
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/storefront:4.2.0",
            (22, 18),
            None,
        )],
    );
}

#[test]
fn kubernetes_json_manifest_with_multibyte_text() {
    check(
        fixture!("k8s-pod.json"),
        Format::Kubernetes,
        &[
            (
                "spec.initContainers[0].image",
                "busybox:1.36",
                (10, 35),
                None,
            ),
            (
                "spec.containers[0].image",
                "ghcr.io/example/net-probe:0.4.1",
                (13, 36),
                None,
            ),
        ],
    );
}

#[test]
fn kubernetes_aliased_image_is_reported_once_and_odd_shapes_are_ignored() {
    let text = "\
apiVersion: v1
kind: Pod
spec:
  containers:
    - {name: a, image: &img \"nginx:1.27\"}
    - {name: b, image: *img}
    - {name: c}
    - plain-string
  initContainers: {not: a list}
  ephemeralContainers: []
";
    let bytes = text.as_bytes();
    let located = locate(Path::new("pod.yaml"), bytes).unwrap().unwrap();
    check_invariants(bytes, &located);
    let got: Vec<_> = located
        .occurrences
        .iter()
        .map(|o| (o.location.as_str(), o.skip.clone()))
        .collect();
    assert_eq!(got, [("spec.containers[0].image", None)]);
}

#[test]
fn kubernetes_object_without_containers_is_recognised_with_nothing_to_pin() {
    let bytes = b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: app\n    newTag: 1.2.3\n";
    let located = locate(Path::new("kustomization.yaml"), bytes)
        .unwrap()
        .unwrap();
    assert_eq!(located.format, Format::Kubernetes);
    assert!(located.occurrences.is_empty());
}

#[test]
fn helm_template_is_a_note_not_an_error() {
    let (name, bytes) = fixture!("helm-deployment.yaml");
    let located = locate(Path::new(name), bytes).unwrap().unwrap();
    assert_eq!(located.format, Format::Kubernetes);
    assert!(located.occurrences.is_empty());
    assert_eq!(
        located.note.as_deref(),
        Some("looks like a Helm/Go template; not parsed")
    );
}

// --- Not ours, and broken ---------------------------------------------------

#[test]
fn files_of_no_known_format_are_ignored() {
    for (name, bytes) in [
        fixture!("package.json"),
        fixture!("tsconfig.json"),
        fixture!("devcontainer.json"),
        fixture!("helm-values.yaml"),
    ] {
        assert_eq!(locate(Path::new(name), bytes), Ok(None), "{name}");
    }
}

#[test]
fn the_file_name_chooses_the_syntax_only() {
    let (_, compose) = fixture!("compose.yaml");
    assert!(locate(Path::new("stack.YML"), compose).unwrap().is_some());
    assert_eq!(locate(Path::new("compose.txt"), compose), Ok(None));
    // A Dockerfile name means Dockerfile syntax: no FROM, nothing to pin.
    let dockerfile = locate(Path::new("Dockerfile"), compose).unwrap().unwrap();
    assert_eq!(dockerfile.format, Format::Dockerfile);
    assert!(dockerfile.occurrences.is_empty());
    // A Compose file named .json is parsed as JSON, fails, and is an error.
    assert!(locate(Path::new("compose.json"), compose).is_err());
    for (name, candidate) in [
        ("deploy/compose.yaml", true),
        ("k8s/app.YML", true),
        ("taskdef.json", true),
        ("Dockerfile", true),
        ("api.Dockerfile", true),
        ("Containerfile.prod", true),
        ("build/dockerfile", true),
        ("Dockerfiles", false),
        ("docs/Dockerfile.md", false),
        ("Dockerfile.dockerignore", false),
        ("Dockerfile.j2", true),
        ("Dockerfile.arm64", true),
        ("pkg/gen/dockerfile.go", false),
        ("tools/Dockerfile.py", false),
        ("Dockerfile.orig", false),
        ("Dockerfile.yaml", true),
        ("my-dockerfile", false),
        ("values.yaml.tpl", false),
        ("json", false),
        (".yaml", false),
    ] {
        assert_eq!(is_candidate_name(Path::new(name)), candidate, "{name}");
    }
    let (_, ecs) = fixture!("ecs-register-task-definition.json");
    let located = locate(Path::new("anything-at-all.json"), ecs)
        .unwrap()
        .unwrap();
    assert_eq!(located.format, Format::EcsTaskDefinition);
}

#[test]
fn prefilter_and_encoding() {
    // Broken, but never mentions an image: not parsed at all.
    assert_eq!(locate(Path::new("a.json"), b"{ not json"), Ok(None));
    assert_eq!(locate(Path::new("a.yaml"), b"a: [unclosed"), Ok(None));
    // A GitLab job with only `services` (the runner's default image).
    let gitlab =
        b"stages: [test]\ntest:\n  services: [postgres:16, \"redis:7\"]\n  script: [make]\n";
    let located = locate(Path::new(".gitlab-ci.yml"), gitlab)
        .unwrap()
        .unwrap();
    let texts: Vec<&str> = located
        .occurrences
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(texts, ["postgres:16", "redis:7"]);
    // An `include`d template file with hidden jobs only.
    let template = b".docker:\n  image: docker:27\n  services: [docker:27-dind]\n.lint: {image: hadolint/hadolint:v2.12.0}\n";
    let located = locate(Path::new("ci/docker.yml"), template)
        .unwrap()
        .unwrap();
    assert_eq!(located.format, Format::GitlabCi);
    let texts: Vec<&str> = located
        .occurrences
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["docker:27", "docker:27-dind", "hadolint/hadolint:v2.12.0"]
    );
    // Not UTF-8 and not a deploy file.
    assert_eq!(locate(Path::new("a.yaml"), b"image: \xff\xfe\n"), Ok(None));
    // Latin-1 comments (`Caf\xe9`) do not hide a file's images; a value with
    // such a byte is never rewritten. Offsets stay byte offsets.
    let compose = b"# Caf\xe9 \xe0 la carte\nservices:\n  web:\n    image: nginx:1.27 # \xe9\n  bad:\n    image: caf\xe9:1\n";
    let located = locate(Path::new("compose.yaml"), compose).unwrap().unwrap();
    check_invariants(compose, &located);
    let got: Vec<(&str, (usize, usize), Option<SkipReason>)> = located
        .occurrences
        .iter()
        .map(|o| {
            (
                o.text.as_str(),
                line_col(compose, o.span.start),
                o.skip.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("nginx:1.27", (4, 12), None),
            ("caf?:1", (6, 12), Some(SkipReason::Pattern))
        ]
    );
    let dockerfile =
        b"# escape=\\\r\n# \xc9tape de build\r\nFROM golang:1.23 AS build\r\nFROM alpine:3.20\r\n";
    let located = locate(Path::new("Dockerfile"), dockerfile)
        .unwrap()
        .unwrap();
    check_invariants(dockerfile, &located);
    let texts: Vec<&str> = located
        .occurrences
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(texts, ["golang:1.23", "alpine:3.20"]);
    assert_eq!(locate(Path::new("a.yaml"), b""), Ok(None));
}

#[test]
fn malformed_yaml_is_an_error_with_its_place() {
    let (name, bytes) = fixture!("broken.yaml");
    let err = locate(Path::new(name), bytes).unwrap_err();
    assert_eq!(line_col(bytes, err.offset), (6, 4));
    assert!(err.message.starts_with("invalid YAML: "), "{}", err.message);
    assert_eq!(err.to_string(), err.message);
}

#[test]
fn malformed_json_is_an_error_with_its_place() {
    let (name, bytes) = fixture!("broken.json");
    let err = locate(Path::new(name), bytes).unwrap_err();
    assert_eq!(line_col(bytes, err.offset), (7, 7));
    assert_eq!(
        err.message,
        "invalid JSON: expected ',' or '}' in an object, found '\"'"
    );
}

#[test]
fn yaml_error_offsets_are_bytes_after_multibyte_text() {
    let text = "# ✓✓✓ ünïcode\nservices:\n  web:\n    image: \"nginx\n";
    let err = locate(Path::new("compose.yaml"), text.as_bytes()).unwrap_err();
    assert!(text.is_char_boundary(err.offset));
    assert_eq!(line_col(text.as_bytes(), err.offset), (4, 12));
}

#[test]
fn hostile_yaml_is_an_error_not_a_crash() {
    let mut bomb = String::from("image: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    assert!(locate(Path::new("bomb.yaml"), bomb.as_bytes()).is_err());
    let deep = format!("image: {}", "[".repeat(50_000));
    assert!(locate(Path::new("deep.yaml"), deep.as_bytes()).is_err());
    let deep = format!("{{\"image\": {}", "[".repeat(50_000));
    assert!(locate(Path::new("deep.json"), deep.as_bytes()).is_err());
}

// --- Whole-file properties ----------------------------------------------------

/// Splice `@sha256:…` into every literal span, back to front, as the editor
/// will.
fn pin_all(bytes: &[u8], located: &Located) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for o in located
        .occurrences
        .iter()
        .rev()
        .filter(|o| o.skip.is_none())
    {
        let pinned = format!("{}@sha256:{}", o.text, "a".repeat(64));
        out.splice(o.span.clone(), pinned.into_bytes());
    }
    out
}

#[test]
fn splicing_into_every_span_keeps_each_file_valid_and_changes_only_images() {
    for &(name, bytes) in FIXTURES {
        let Ok(Some(before)) = locate(Path::new(name), bytes) else {
            continue;
        };
        let after_bytes = pin_all(bytes, &before);
        let after = locate(Path::new(name), &after_bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: no longer recognised"));
        check_invariants(&after_bytes, &after);
        assert_eq!(after.occurrences.len(), before.occurrences.len(), "{name}");
        for (b, a) in before.occurrences.iter().zip(&after.occurrences) {
            assert_eq!(a.location, b.location, "{name}");
            if b.skip.is_none() {
                assert_eq!(
                    a.text,
                    format!("{}@sha256:{}", b.text, "a".repeat(64)),
                    "{name}"
                );
            } else {
                assert_eq!((&a.text, &a.skip), (&b.text, &b.skip), "{name}");
            }
        }
    }
}

#[test]
fn no_panic_on_any_prefix_of_any_fixture() {
    for &(name, bytes) in FIXTURES {
        for end in 0..=bytes.len() {
            let prefix = &bytes[..end];
            if let Ok(Some(located)) = locate(Path::new(name), prefix) {
                check_invariants(prefix, &located);
            } else if let Err(e) = locate(Path::new(name), prefix) {
                assert!(
                    e.offset <= prefix.len(),
                    "{name}[..{end}]: offset out of range"
                );
            }
        }
    }
}

#[test]
fn no_panic_on_mutated_fixtures() {
    // A fixed xorshift sequence: replace one byte with a YAML/JSON-significant
    // character and check the invariants still hold.
    let specials = b"\"'\\:-[]{},#&*!|>\n\r\t {}$%";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for &(name, bytes) in FIXTURES {
        if bytes.is_empty() {
            continue;
        }
        for _ in 0..300 {
            let mut mutated = bytes.to_vec();
            let at = (next() % bytes.len() as u64) as usize;
            mutated[at] = specials[(next() % specials.len() as u64) as usize];
            match locate(Path::new(name), &mutated) {
                Ok(Some(located)) => check_invariants(&mutated, &located),
                Ok(None) => {}
                Err(e) => assert!(e.offset <= mutated.len()),
            }
        }
    }
}

#[test]
fn line_col_counts_characters_and_skips_the_bom() {
    let bytes = "\u{feff}ab\r\nçé✓x\n".as_bytes();
    assert_eq!(line_col(bytes, 0), (1, 1));
    assert_eq!(line_col(bytes, 3), (1, 1));
    assert_eq!(line_col(bytes, 4), (1, 2));
    assert_eq!(line_col(bytes, 7), (2, 1));
    let x = bytes.iter().position(|&b| b == b'x').unwrap();
    assert_eq!(line_col(bytes, x), (2, 4));
    assert_eq!(line_col(bytes, bytes.len()), (3, 1));
    assert_eq!(line_col(bytes, usize::MAX), (3, 1));
    assert_eq!(line_col(b"\xff\xfe\nz", 3), (2, 1));
    assert_eq!(line_col(b"", 5), (1, 1));
}

#[test]
fn format_names_are_stable() {
    let names: Vec<_> = [
        Format::EcsTaskDefinition,
        Format::CodePipelineImageDefinitions,
        Format::CodePipelineImageDetail,
        Format::Compose,
        Format::Kubernetes,
    ]
    .iter()
    .map(|f| (f.name(), f.to_string()))
    .collect();
    assert_eq!(
        names.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [
            "ecs-task-definition",
            "imagedefinitions",
            "imagedetail",
            "compose",
            "kubernetes"
        ]
    );
    assert!(names.iter().all(|(n, d)| n == d));
}

/// The declared platform of each literal occurrence, as `(location, os, archs)`.
fn platforms(name: &str, text: &str) -> Vec<(String, Option<String>, Vec<String>, String)> {
    let located = locate(Path::new(name), text.as_bytes()).unwrap().unwrap();
    located
        .occurrences
        .iter()
        .map(|o| {
            let p = o.platform.clone();
            (
                o.location.clone(),
                p.as_ref().and_then(|p| p.os.clone()),
                p.as_ref()
                    .map(|p| p.architectures.clone())
                    .unwrap_or_default(),
                p.map(|p| p.source).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn ecs_runtime_platform_applies_to_every_container() {
    let describe = r#"{"taskDefinition": {"family": "api",
        "containerDefinitions": [{"name": "a", "image": "api:1"}, {"name": "b", "image": "log:2"}],
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}}}"#;
    let got = platforms("td.json", describe);
    assert_eq!(got.len(), 2);
    for (_, os, archs, source) in &got {
        assert_eq!(os.as_deref(), Some("linux"));
        assert_eq!(archs, &["arm64"]);
        assert_eq!(
            source,
            "runtimePlatform.cpuArchitecture ARM64, runtimePlatform.operatingSystemFamily LINUX"
        );
    }
    let register = r#"{"family": "api", "runtimePlatform": {"cpuArchitecture": "X86_64"},
        "containerDefinitions": [{"name": "a", "image": "api:1"}]}"#;
    let got = platforms("td.json", register);
    assert_eq!(got[0].2, ["amd64"]);
    assert_eq!(got[0].1, None);
    let windows = r#"{"family": "w", "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"},
        "containerDefinitions": [{"name": "a", "image": "iis:1"}]}"#;
    assert_eq!(
        platforms("td.json", windows)[0].1.as_deref(),
        Some("windows")
    );
    let none = r#"{"family": "n", "containerDefinitions": [{"name": "a", "image": "api:1"}]}"#;
    assert_eq!(platforms("td.json", none)[0].3, "");
}

#[test]
fn kubernetes_node_selector_and_affinity_declare_architectures() {
    let yaml = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      nodeSelector:
        kubernetes.io/arch: arm64
        kubernetes.io/os: linux
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: kubernetes.io/arch, operator: In, values: [arm64, amd64]}
              - {key: kubernetes.io/hostname, operator: In, values: [n1]}
  containers:
    - name: p
      image: redis:7
---
apiVersion: v1
kind: Pod
metadata: {name: q}
spec:
  nodeSelector: {disktype: ssd}
  containers:
    - name: q
      image: redis:7
";
    let got = platforms("deploy.yaml", yaml);
    assert_eq!(got.len(), 4);
    for (_, os, archs, source) in &got[..2] {
        assert_eq!(os.as_deref(), Some("linux"));
        assert_eq!(archs, &["arm64"]);
        assert_eq!(
            source,
            "nodeSelector kubernetes.io/arch=arm64, nodeSelector kubernetes.io/os=linux"
        );
    }
    assert_eq!(got[2].2, ["amd64", "arm64"]);
    assert_eq!(
        got[2].3,
        "node affinity kubernetes.io/arch In [arm64, amd64]"
    );
    assert_eq!(got[3].3, "", "a selector on other labels declares nothing");
}

#[test]
fn compose_platform_is_declared_per_service() {
    let yaml = "\
services:
  web:
    image: nginx:1.27
    platform: linux/arm64/v8
  db:
    image: postgres:16
  tmpl:
    image: redis:7
    platform: ${PLATFORM}
";
    let got = platforms("compose.yaml", yaml);
    assert_eq!(got[0].2, ["arm64"]);
    assert_eq!(got[0].1.as_deref(), Some("linux"));
    assert_eq!(got[0].3, "services.web.platform linux/arm64/v8");
    assert_eq!(got[1].3, "");
    assert_eq!(got[2].3, "", "a templated platform declares nothing");
}

// --- Dockerfiles, CI files, CloudFormation ----------------------------------

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
        [None, None, None, None, Some("FROM --platform=linux/arm64")]
    );
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
                "Resources.Sam.Properties.ImageUri",
                "",
                (12, 58),
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
            (
                "services.api.build.additional_contexts.base",
                "alpine:3.20",
                (7, 30),
                None,
            ),
            (
                "services.worker.build.additional_contexts[0]",
                "python:3.12-slim",
                (14, 32),
                None,
            ),
            (
                "services.worker.build.additional_contexts[2]",
                "python:${PY}",
                (16, 11),
                templated("${PY}"),
            ),
            ("services.db.image", "postgres:16", (19, 12), None),
        ],
    );
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
