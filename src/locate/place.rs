//! Formats a file's place decides: CI systems and dev containers read their
//! configuration from fixed paths, so a file there is that format whatever
//! its content (a GitHub workflow without `runs-on`, a `.gitlab-ci.yml` with
//! only top-level keys, a Cloud Build file whose images are `steps[].name`).
//!
//! Rule: only the path is looked at, component by component, ignoring case
//! in file names (`.github/workflows/*.yml`, `*.gitlab-ci.yml`,
//! `.circleci/config.yml`, `bitbucket-pipelines.yml`, `.drone.yml`,
//! `.woodpecker.yml`, `.woodpecker/*.yml`, `cloudbuild*.yaml`,
//! `.devcontainer.json`, `.devcontainer/**/devcontainer.json`,
//! `kustomization.yaml`).

use std::path::Path;

use super::Format;

/// The format the path of `file` implies, if any.
pub(crate) fn format_of(file: &Path) -> Option<Format> {
    let name = file.file_name()?.to_str()?.to_ascii_lowercase();
    let parents: Vec<String> = file
        .parent()
        .map(|p| {
            p.components()
                .rev()
                .filter_map(|c| c.as_os_str().to_str())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let parent = |i: usize| parents.get(i).map(String::as_str);
    let (stem, ext) = name.rsplit_once('.')?;
    let yaml = ext == "yml" || ext == "yaml";
    if yaml && parent(0) == Some("workflows") && parent(1) == Some(".github") {
        return Some(Format::GithubActions);
    }
    if yaml && (stem == ".gitlab-ci" || stem.ends_with(".gitlab-ci")) {
        return Some(Format::GitlabCi);
    }
    if yaml && stem == "config" && parent(0) == Some(".circleci") {
        return Some(Format::CircleCi);
    }
    if yaml && stem == "bitbucket-pipelines" {
        return Some(Format::BitbucketPipelines);
    }
    if yaml && (stem == ".drone" || stem == ".woodpecker" || parent(0) == Some(".woodpecker")) {
        return Some(Format::Drone);
    }
    if (yaml || ext == "json") && stem.contains("cloudbuild") {
        return Some(Format::CloudBuild);
    }
    if yaml && stem == "kustomization" {
        return Some(Format::Kustomize);
    }
    if ext == "json"
        && (stem == ".devcontainer"
            || (stem == "devcontainer" && parents.iter().take(2).any(|p| p == ".devcontainer")))
    {
        return Some(Format::DevContainer);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_decide_formats() {
        let cases = [
            (".github/workflows/ci.yml", Some(Format::GithubActions)),
            (
                "repo/.github/workflows/Release.YAML",
                Some(Format::GithubActions),
            ),
            (".github/ci.yml", None),
            ("workflows/ci.yml", None),
            (".gitlab-ci.yml", Some(Format::GitlabCi)),
            ("ci/templates/build.gitlab-ci.yml", Some(Format::GitlabCi)),
            ("gitlab-ci.yml", None),
            (".circleci/config.yml", Some(Format::CircleCi)),
            ("config.yml", None),
            ("bitbucket-pipelines.yml", Some(Format::BitbucketPipelines)),
            (".drone.yml", Some(Format::Drone)),
            (".woodpecker.yaml", Some(Format::Drone)),
            (".woodpecker/test.yml", Some(Format::Drone)),
            ("cloudbuild.yaml", Some(Format::CloudBuild)),
            ("deploy/cloudbuild-prod.json", Some(Format::CloudBuild)),
            (".devcontainer.json", Some(Format::DevContainer)),
            (
                ".devcontainer/devcontainer.json",
                Some(Format::DevContainer),
            ),
            (
                ".devcontainer/python/devcontainer.json",
                Some(Format::DevContainer),
            ),
            ("devcontainer.json", None),
            ("overlays/prod/kustomization.yaml", Some(Format::Kustomize)),
            ("Kustomization.yml", Some(Format::Kustomize)),
            ("compose.yaml", None),
            ("Dockerfile", None),
        ];
        for (path, want) in cases {
            assert_eq!(format_of(Path::new(path)), want, "{path}");
        }
    }
}
