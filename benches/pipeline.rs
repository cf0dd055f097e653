//! `cargo bench`: the offline core on generated input — reference parsing,
//! locating in YAML, JSON and Dockerfiles, planning + splicing a pin, and
//! evaluating an ECR lifecycle policy over a large repository. Plain timing
//! loops (no benchmark framework, to keep the first build short); each
//! figure is the median of several runs.

use imgpin::edit::{apply, Edit};
use imgpin::lifecycle::{evaluate, parse_policy, ImageDetail, ValidationMode};
use imgpin::locate::locate;
use imgpin::reference::ImageRef;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn median<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

#[allow(clippy::print_stdout)] // a benchmark reports on stdout
fn report(name: &str, items: usize, unit: &str, d: Duration) {
    let per = d.as_secs_f64() / items as f64;
    println!(
        "{name:<40} {:>9.3} ms  {:>9.0} {unit}/s  ({:.2} µs each)",
        d.as_secs_f64() * 1e3,
        items as f64 / d.as_secs_f64(),
        per * 1e6
    );
}

fn k8s_doc(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  # comment {i}\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: registry.example.com/team/init:{i}\n      containers:\n        - name: app\n          image: \"ghcr.io/org/app{i}:1.{i}\"\n          ports: [{{containerPort: 80}}]\n"
        ));
    }
    s
}

fn ecs_doc(n: usize) -> String {
    let containers: Vec<String> = (0..n)
        .map(|i| format!("    {{\"name\": \"c{i}\", \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/svc{i}:{i}\", \"essential\": true}}"))
        .collect();
    format!(
        "{{\n  \"family\": \"big\",\n  \"containerDefinitions\": [\n{}\n  ]\n}}\n",
        containers.join(",\n")
    )
}

fn main() {
    let refs: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => format!("nginx:1.{i}"),
            1 => format!("ghcr.io/org/app{i}:v{i}"),
            2 => format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/svc{i}:release-{i}"),
            _ => format!("localhost:5000/x{i}@sha256:{}", "a".repeat(64)),
        })
        .collect();
    report(
        "reference: parse",
        refs.len(),
        "refs",
        median(9, || {
            for r in &refs {
                black_box(ImageRef::parse(r).ok());
            }
        }),
    );

    let yaml = k8s_doc(2_000);
    report(
        &format!("locate: kubernetes yaml ({} KiB)", yaml.len() / 1024),
        4_000,
        "images",
        median(7, || {
            black_box(locate(Path::new("k8s.yaml"), yaml.as_bytes()).ok());
        }),
    );

    let json = ecs_doc(4_000);
    report(
        &format!("locate: ecs json ({} KiB)", json.len() / 1024),
        4_000,
        "images",
        median(7, || {
            black_box(locate(Path::new("task.json"), json.as_bytes()).ok());
        }),
    );

    let located = locate(Path::new("k8s.yaml"), yaml.as_bytes())
        .unwrap()
        .unwrap();
    let digest = imgpin::digest::Digest::parse(&format!("sha256:{}", "b".repeat(64))).unwrap();
    report(
        "plan + splice: pin 4000 refs in one file",
        4_000,
        "refs",
        median(7, || {
            let edits: Vec<Edit> = located
                .occurrences
                .iter()
                .filter_map(|o| {
                    let r = ImageRef::parse(&o.text).ok()?;
                    Some(Edit {
                        span: o.span.clone(),
                        replacement: r.pinned_text(&digest),
                    })
                })
                .collect();
            black_box(apply(yaml.as_bytes(), &edits).unwrap());
        }),
    );

    let dockerfile: String = (0..2_000)
        .map(|i| format!("FROM --platform=linux/amd64 registry.example.com/base{i}:1.{i} AS s{i}\nRUN echo {i} \\\n    && true\nCOPY --from=s{i} /a /b\n"))
        .collect();
    report(
        &format!("locate: dockerfile ({} KiB)", dockerfile.len() / 1024),
        2_000,
        "images",
        median(7, || {
            black_box(locate(Path::new("Dockerfile"), dockerfile.as_bytes()).ok());
        }),
    );

    // A repository of 10,000 images (every tenth untagged, one push a
    // minute) under a three-rule policy: count, age and catch-all.
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let images: Vec<ImageDetail> = (0..10_000)
        .map(|i| {
            let tags = match i % 10 {
                0 => Vec::new(),
                1..=5 => vec![format!("release-{i}")],
                _ => vec![format!("dev-{i}"), format!("sha-{i:x}")],
            };
            let digest = format!("sha256:{i:064x}");
            ImageDetail::new(digest, tags, start + chrono::Duration::minutes(i))
        })
        .collect();
    let (policy, _) = parse_policy(
        r#"{"rules": [
          {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["release-"], "countType": "imageCountMoreThan", "countNumber": 50}, "action": {"type": "expire"}},
          {"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}},
          {"rulePriority": 3, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500}, "action": {"type": "expire"}}
        ]}"#,
        ValidationMode::Strict,
    )
    .unwrap();
    let now = start + chrono::Duration::days(30);
    report(
        "lifecycle: evaluate 3 rules x 10000 images",
        images.len(),
        "images",
        median(7, || {
            black_box(evaluate(&policy, &images, now));
        }),
    );
}
