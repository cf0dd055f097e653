//! Files that are not ours, and broken or hostile ones: errors with their place, never a panic.

use super::*;

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
