//! Whole-file properties: splicing keeps every fixture valid, no panic on truncated or mutated input, line:col, format names, declared platforms.

use super::*;

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
        // An invalid reference is not pinned either.
        let Ok(r) = crate::reference::ImageRef::parse(&o.text) else {
            continue;
        };
        out.splice(o.span.clone(), o.pinned_text(&r, &pin()).into_bytes());
    }
    out
}

fn pin() -> crate::digest::Digest {
    crate::digest::Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap()
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
            let parsed = crate::reference::ImageRef::parse(&b.text);
            if let (None, Ok(r)) = (&b.skip, parsed) {
                assert_eq!(a.text, r.pinned_text(&pin()), "{name}");
                // An inserted field is where the reference is found next.
                let inserted =
                    matches!(&b.splice, Splice::Digest { before, .. } if !before.is_empty());
                if !inserted {
                    assert_eq!(a.location, b.location, "{name}");
                }
            } else {
                assert_eq!(a.location, b.location, "{name}");
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
    // Fargate's default is LINUX/X86_64; a declared architecture wins; EC2 has none.
    let fargate = r#"{"family": "f", "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "a", "image": "api:1"}]}"#;
    let got = platforms("td.json", fargate);
    assert_eq!(got[0].1.as_deref(), Some("linux"));
    assert_eq!(got[0].2, ["amd64"]);
    assert_eq!(
        got[0].3,
        "requiresCompatibilities FARGATE (no runtimePlatform.cpuArchitecture: Fargate runs X86_64)"
    );
    let arm = r#"{"family": "f", "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "ARM64"},
        "containerDefinitions": [{"name": "a", "image": "api:1"}]}"#;
    assert_eq!(platforms("td.json", arm)[0].2, ["arm64"]);
    let ec2 = r#"{"family": "e", "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{"name": "a", "image": "api:1"}]}"#;
    assert_eq!(platforms("td.json", ec2)[0].3, "");
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
