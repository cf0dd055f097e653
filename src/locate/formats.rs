//! The table of every format imgpin reads, in words: which files, where in
//! them images are read, and what is left alone and why. `imgpin formats`
//! prints it and README's "What it reads" is the same table (a test keeps
//! them equal), so the documentation cannot drift from the locators.

use super::Format;

/// One row of the table.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FormatDoc {
    /// The format's stable name (`--format json` output, `-v`).
    pub name: &'static str,
    /// Which files: by name, place or content.
    pub files: &'static str,
    /// Where in a file the images are.
    pub images: &'static str,
    /// What is left alone, and why.
    pub skipped: &'static str,
}

const fn row(
    format: Format,
    files: &'static str,
    images: &'static str,
    skipped: &'static str,
) -> FormatDoc {
    FormatDoc {
        name: format.name(),
        files,
        images,
        skipped,
    }
}

/// Every format, one row each, in the order the README shows them.
pub const FORMATS: &[FormatDoc] = &[
    row(
        Format::EcsTaskDefinition,
        "ECS task definitions (register input or describe output), any `.json`/`.yaml` name",
        "`containerDefinitions[].image`, `taskDefinition.containerDefinitions[].image`",
        "templated values (`${TAG}`, `<IMAGE1_NAME>`)",
    ),
    row(
        Format::CodePipelineImageDefinitions,
        "CodePipeline `imagedefinitions.json` (content: `[{name, imageUri}]`)",
        "`[].imageUri`",
        "templated values",
    ),
    row(
        Format::CodePipelineImageDetail,
        "CodePipeline `imageDetail.json` (content: `{ImageURI}`)",
        "`ImageURI`",
        "templated values",
    ),
    row(
        Format::Compose,
        "Docker Compose: any YAML with a `services` mapping (overrides, anchors, `x-` templates)",
        "`services.<name>.image`, `x-*.image`, `build.additional_contexts` `docker-image://…`",
        "the `image` of a service or template with `build:` (what Compose builds, also through `<<:` merges: \"N built here\"); `${VAR}` interpolation",
    ),
    row(
        Format::Kubernetes,
        "Kubernetes objects (`apiVersion` and `kind`): multi-document, `List`, custom resources",
        "`containers`, `initContainers`, `ephemeralContainers`, Tekton `steps`/`sidecars`, `container`/`script`/`stepTemplate` at any depth; image volumes `volumes[].image.reference`; Tekton StepAction `spec.image` and bundles (`taskRef`/`pipelineRef` `bundle`, bundles resolver `bundle` parameter); any string `image` under `spec` (a custom resource's own image: Prometheus, ECK, KubeVirt `containerDisk`); one-line `|`/`>-` block scalars",
        "`image` in metadata, status and Crossplane `forProvider` (VM images); multi-line scalars; Helm templates that are not YAML (a note)",
    ),
    row(
        Format::CloudFormation,
        "CloudFormation / SAM templates (YAML or JSON, `Resources`)",
        "`AWS::ECS::TaskDefinition` `ContainerDefinitions[].Image`, `AWS::Batch::JobDefinition` `ContainerProperties.Image` (multi-node, ECS, EKS), `AWS::Lambda::Function` `Code.ImageUri`, `AWS::Serverless::Function` `ImageUri`; `!Sub`/`Fn::Sub` without `$` as a literal",
        "`!Ref`, `Fn::*` and `!Sub` with substitutions, named",
    ),
    row(
        Format::Dockerfile,
        "`Dockerfile`, `Containerfile`, `Dockerfile.*`, `*.Dockerfile` (not `.go`, `.orig`, … sources and backups)",
        "the `# syntax=` frontend, every `FROM`, `COPY --from=`, `RUN --mount=…,from=`, the default of a global `ARG` a `FROM` uses (where the `ARG` sets it); `FROM node:${NODE_VERSION}` is pinned in the ARG's default, beside the version (`ARG NODE_VERSION=20@sha256:…`)",
        "`scratch`, earlier stages, a variable not at the end (`golang:${GO}-alpine`: a digest there would outlive a version bump), one ARG ending two images",
    ),
    row(
        Format::GithubActions,
        "`.github/workflows/*.yml` (by place), Docker container and composite actions (`action.yml`)",
        "`jobs.<id>.container` (or its `image`), `jobs.<id>.services.<name>.image`, `steps[].uses: docker://…`, `runs.image: docker://…`, `runs.steps[].uses: docker://…`",
        "`${{ … }}` expressions; a Dockerfile path in `runs.image`",
    ),
    row(
        Format::GitlabCi,
        "`.gitlab-ci.yml`, `*.gitlab-ci.yml` (by place), or content with jobs, hidden jobs or `stages`",
        "`image` (or `image.name`), `services[]` (or `services[].name`) at the top, in `default` and in every job",
        "`$VARIABLE` values",
    ),
    row(
        Format::CircleCi,
        "`.circleci/config.yml` (by place), or a `version` with `docker` executors",
        "`jobs.<id>.docker[].image`, `executors.<id>.docker[].image`",
        "`<< parameters.x >>` values",
    ),
    row(
        Format::BitbucketPipelines,
        "`bitbucket-pipelines.yml`",
        "top-level `image`, every `step`'s `image` at any depth (parallel, branches, anchored `definitions.steps`), `definitions.services.<name>.image`; a string or `name:`",
        "`$VARIABLE` values",
    ),
    row(
        Format::Drone,
        "Drone and Woodpecker: `.drone.yml`, `.woodpecker.yml`, `.woodpecker/*.yml`",
        "`image` of each `steps`, `services`, `pipeline` and `clone` entry (a list or named mapping)",
        "`${VAR}` values",
    ),
    row(
        Format::CloudBuild,
        "Google Cloud Build: `cloudbuild*.yaml`, `cloudbuild*.json`",
        "`steps[].name`",
        "`images:` (what the build pushes); `$_SUBSTITUTIONS`",
    ),
    row(
        Format::Kustomize,
        "`kustomization.yaml`, or `kind: Kustomization`/`Component`",
        "`images[]`: `(newName or name):newTag`; the pin is Kustomize's own `digest:` field, inserted after `newTag` (`newName`/`newTag` kept)",
        "entries without `newTag` (the resources carry the tag)",
    ),
    row(
        Format::HelmValues,
        "Helm chart values: `values*.yaml` beside a `Chart.yaml`, or `--helm-values FILE`",
        "image blocks `{registry?, repository, tag, digest?}` at any depth: into `digest` (an empty `digest: \"\"` is filled), else after `tag` (`tag: 1.2@sha256:…`); bare `image:` strings",
        "a tag YAML reads as a number (`tag: 2.0` renders as `2`: a warning); an empty tag (the chart's `appVersion`)",
    ),
    row(
        Format::Terraform,
        "Terraform `*.tf` (HCL, parsed with spans)",
        "`image`/`image_uri` attributes in blocks at any depth, `image` keys in objects (`jsonencode([{ image = … }])`) and in heredoc JSON",
        "interpolated strings and expressions (`var.image`), named",
    ),
    row(
        Format::DevContainer,
        "`.devcontainer.json`, `.devcontainer/**/devcontainer.json` (comments and trailing commas allowed)",
        "`image`",
        "`build` and `dockerComposeFile` containers (the Compose file is read on its own); `features`",
    ),
];

/// The table as Markdown: what `imgpin formats` prints and README shows.
pub fn markdown() -> String {
    let mut out =
        String::from("| format | files | images | left alone |\n| --- | --- | --- | --- |\n");
    for doc in FORMATS {
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            doc.name,
            cell(doc.files),
            cell(doc.images),
            cell(doc.skipped)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format has exactly one row (the match fails to compile when a
    /// format is added without deciding its row).
    #[test]
    fn every_format_has_one_row() {
        let all = [
            Format::EcsTaskDefinition,
            Format::CodePipelineImageDefinitions,
            Format::CodePipelineImageDetail,
            Format::Compose,
            Format::Kubernetes,
            Format::CloudFormation,
            Format::Dockerfile,
            Format::GithubActions,
            Format::GitlabCi,
            Format::CircleCi,
            Format::BitbucketPipelines,
            Format::Drone,
            Format::CloudBuild,
            Format::Kustomize,
            Format::HelmValues,
            Format::Terraform,
            Format::DevContainer,
        ];
        for format in all {
            // Exhaustive: a new variant must be added to `all` above.
            match format {
                Format::EcsTaskDefinition
                | Format::CodePipelineImageDefinitions
                | Format::CodePipelineImageDetail
                | Format::Compose
                | Format::Kubernetes
                | Format::CloudFormation
                | Format::Dockerfile
                | Format::GithubActions
                | Format::GitlabCi
                | Format::CircleCi
                | Format::BitbucketPipelines
                | Format::Drone
                | Format::CloudBuild
                | Format::Kustomize
                | Format::HelmValues
                | Format::Terraform
                | Format::DevContainer => {}
            }
            let rows = FORMATS.iter().filter(|d| d.name == format.name()).count();
            assert_eq!(rows, 1, "{format}");
        }
        assert_eq!(FORMATS.len(), all.len());
    }

    #[test]
    fn the_readme_shows_the_same_table() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("<!-- formats:start -->\n")
            .expect("formats:start marker")
            + 23;
        let end = readme
            .find("<!-- formats:end -->")
            .expect("formats:end marker");
        assert_eq!(
            &readme[start..end],
            markdown(),
            "README's table differs from `imgpin formats`; paste its output"
        );
    }
}
