//! CI configuration that runs containers: GitHub Actions workflows and
//! Docker container actions, GitLab CI files, and CircleCI configurations
//! (`jobs.<id>.docker[].image`, `executors.<id>.docker[].image`).
//!
//! Rule, GitHub: a top-level `jobs` mapping whose jobs have `runs-on`,
//! `steps` or `uses` is a workflow. Occurrences: `jobs.<id>.container`
//! (a string, or its `image`), `jobs.<id>.services.<name>.image`, and the
//! image of each `steps[i].uses: docker://…` (the span starts after
//! `docker://`). A `runs` mapping with `using: docker` is a container
//! action; its `runs.image: docker://…` is an occurrence (a Dockerfile path
//! is not). A `runs` mapping with `using: composite` is a composite action;
//! each `runs.steps[i].uses: docker://…` is an occurrence.
//!
//! Rule, GitLab: a top-level mapping with a job (a mapping with `script`,
//! `run`, `trigger` or `extends`), a hidden job (a `.`-key whose mapping has
//! `image`, `services` or scripts: an `include`d template file) or `stages`
//! is a GitLab CI file.
//! Occurrences: `image` (a string, or its `name`) and each `services[i]`
//! (a string, or its `name`), at the top, under `default`, and in each job.

use super::classify::occurrence;
use super::tree::{join_index, join_key, Node};
use super::Occurrence;

const DOCKER_SCHEME: &str = "docker://";

/// The mappings under `key` (`jobs`, `executors`) that run in Docker
/// images: CircleCI's `docker: [{image: …}, …]`.
fn circleci_docker_entries<'n>(root: &'n Node, key: &str) -> Vec<(&'n str, &'n [Node])> {
    root.get(key)
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|(name, node)| Some((name.as_str(), node.get("docker")?.items()?)))
        .collect()
}

/// Whether `root` is a CircleCI configuration: a `version` and a job or
/// executor that runs in `docker` images.
pub(crate) fn detect_circleci(root: &Node) -> bool {
    root.get("version").is_some()
        && (!circleci_docker_entries(root, "jobs").is_empty()
            || !circleci_docker_entries(root, "executors").is_empty())
}

/// `jobs.<id>.docker[i].image` and `executors.<id>.docker[i].image`.
pub(crate) fn collect_circleci(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for key in ["executors", "jobs"] {
        for (name, images) in circleci_docker_entries(root, key) {
            let path = join_key(&join_key(key, name), "docker");
            for (i, entry) in images.iter().enumerate() {
                if let Some(image) = entry.get("image") {
                    out.push(occurrence(image, join_key(&join_index(&path, i), "image")));
                }
            }
        }
    }
    out
}

/// Whether `root` is a GitHub Actions workflow or a Docker container action.
pub(crate) fn detect_github(root: &Node) -> bool {
    let workflow = root
        .get("jobs")
        .and_then(Node::entries)
        .is_some_and(|jobs| {
            jobs.iter().any(|(_, job)| {
                ["runs-on", "steps", "uses"]
                    .iter()
                    .any(|k| job.get(k).is_some())
            })
        });
    let action = root
        .get("runs")
        .and_then(|r| r.get("using"))
        .and_then(Node::scalar)
        .is_some_and(|s| s.value == "docker" || s.value == "composite");
    workflow || action
}

/// Container, service and `docker://` step images, in file order.
pub(crate) fn collect_github(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    for (id, job) in root.get("jobs").and_then(Node::entries).unwrap_or_default() {
        let path = join_key("jobs", id);
        if let Some(container) = job.get("container") {
            let at = join_key(&path, "container");
            match container.get("image") {
                Some(image) => out.push(occurrence(image, join_key(&at, "image"))),
                None if container.entries().is_none() => out.push(occurrence(container, at)),
                None => {}
            }
        }
        for (name, service) in job
            .get("services")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            if let Some(image) = service.get("image") {
                let at = join_key(&join_key(&join_key(&path, "services"), name), "image");
                out.push(occurrence(image, at));
            }
        }
        let steps = job.get("steps").and_then(Node::items).unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            let at = join_key(&join_index(&join_key(&path, "steps"), i), "uses");
            out.extend(step.get("uses").and_then(|uses| docker_scheme(uses, at)));
        }
    }
    if let Some(image) = root.get("runs").and_then(|r| r.get("image")) {
        out.extend(docker_scheme(image, "runs.image".to_string()));
    }
    let steps = root
        .get("runs")
        .and_then(|r| r.get("steps"))
        .and_then(Node::items)
        .unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let at = join_key(&join_index("runs.steps", i), "uses");
        out.extend(step.get("uses").and_then(|uses| docker_scheme(uses, at)));
    }
    out
}

/// The image of a `docker://image` value, its span after the scheme; `None`
/// for any other value (`actions/checkout@v4`, `Dockerfile`).
fn docker_scheme(node: &Node, location: String) -> Option<Occurrence> {
    let scalar = node.scalar()?;
    scalar.value.strip_prefix(DOCKER_SCHEME)?;
    let mut found = occurrence(node, location);
    if found.skip.is_none() {
        found.span.start += DOCKER_SCHEME.len();
        found.text.drain(..DOCKER_SCHEME.len());
    }
    Some(found)
}

/// Top-level keys of a GitLab CI file that are not jobs.
const GITLAB_KEYWORDS: [&str; 11] = [
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
];

fn is_gitlab_job(key: &str, value: &Node) -> bool {
    !GITLAB_KEYWORDS.contains(&key)
        && ["script", "run", "trigger", "extends"]
            .iter()
            .any(|k| value.get(k).is_some())
}

/// Whether `root` is a GitLab CI file.
pub(crate) fn detect_gitlab(root: &Node) -> bool {
    let Some(entries) = root.entries() else {
        return false;
    };
    root.get("stages").and_then(Node::items).is_some()
        || entries
            .iter()
            .any(|(k, v)| is_gitlab_job(k, v) || is_hidden_job(k, v))
}

/// A hidden job (`.docker:`), the template an `include`d file offers:
/// a `.`-key whose mapping has a job's `image`, `services` or scripts.
fn is_hidden_job(key: &str, value: &Node) -> bool {
    key.starts_with('.')
        && ["image", "services", "script", "before_script"]
            .iter()
            .any(|k| value.get(k).is_some())
}

/// `image` and `services` at the top, under `default` and in every job.
pub(crate) fn collect_gitlab(root: &Node) -> Vec<Occurrence> {
    let mut out = Vec::new();
    gitlab_images(root, "", &mut out);
    for (key, value) in root.entries().unwrap_or_default() {
        if key == "default" || is_gitlab_job(key, value) || key.starts_with('.') {
            gitlab_images(value, key, &mut out);
        }
    }
    out
}

fn gitlab_images(node: &Node, path: &str, out: &mut Vec<Occurrence>) {
    if let Some(image) = node.get("image") {
        let at = join_key(path, "image");
        out.extend(name_or_string(image, at));
    }
    let services = node
        .get("services")
        .and_then(Node::items)
        .unwrap_or_default();
    for (i, service) in services.iter().enumerate() {
        out.extend(name_or_string(
            service,
            join_index(&join_key(path, "services"), i),
        ));
    }
}

/// A string value, or the `name` of a mapping (`{name: …, entrypoint: …}`).
pub(super) fn name_or_string(node: &Node, at: String) -> Option<Occurrence> {
    match node.get("name") {
        Some(name) => Some(occurrence(name, join_key(&at, "name"))),
        None if node.entries().is_none() => Some(occurrence(node, at)),
        None => None,
    }
}
