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
            include_bytes!(concat!("../../../testdata/locate/", $name)) as &[u8],
        )
    };
}

/// `(path, bytes)` of a fixture under `testdata/locate/places/`, whose path
/// (relative to that directory) decides its format.
macro_rules! placed {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!("../../../testdata/locate/places/", $path)) as &[u8],
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
    fixture!("k8s-custom-resources.yaml"),
    fixture!("k8s-list.yaml"),
    fixture!("k8s-multi.yaml"),
    fixture!("k8s-pod.json"),
    fixture!("k8s-volumes-tekton.yaml"),
    fixture!("main.tf"),
    fixture!("package.json"),
    fixture!("tsconfig.json"),
    fixture!("workflows-crds.yaml"),
    placed!(".devcontainer/devcontainer.json"),
    placed!(".drone.yml"),
    placed!(".github/workflows/reusable.yml"),
    placed!(".gitlab-ci.yml"),
    placed!(".woodpecker/build.yaml"),
    placed!("bitbucket-pipelines.yml"),
    placed!("cloudbuild.yaml"),
    placed!("overlays/prod/kustomization.yaml"),
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
            if o.skip.is_none() && o.splice == Splice::Reference {
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

mod broken;
mod compose;
mod ecs;
mod kubernetes;
mod others;
mod places;
mod properties;
pub(crate) mod yaml_suite;
