//! `--format json` output of pin, check and verify validated against the
//! published schema (docs/output.schema.json) with an independent
//! validator: Python's `jsonschema` (Draft 2020-12), installed by
//! scripts/install-test-deps.sh. The inputs produce every kind of finding
//! these commands emit in a normal run.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::cli::text;
use crate::registry::run;
use crate::support::{Registry, LINUX_AMD64, LINUX_ARM64};

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/output.schema.json");
/// The schema of `lifecycle` and `lifecycle protect` output.
pub const LIFECYCLE_SCHEMA: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.schema.json");

/// The schema of `ecs images --format json` (the in-use contract).
pub const ECS_IMAGES_SCHEMA: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ecs-images.schema.json");

/// Validates stdin against argv[1]; every `*.schema.json` beside it is
/// registered under its `$id`, so schemas can refer to each other.
const VALIDATE: &str = r#"
import json, sys, pathlib
import jsonschema
from referencing import Registry, Resource
path = pathlib.Path(sys.argv[1])
resources = []
for other in path.parent.glob("*.schema.json"):
    doc = json.loads(other.read_text())
    resources.append((doc["$id"], Resource.from_contents(doc)))
registry = Registry().with_resources(resources)
schema = json.loads(path.read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, registry=registry)
errors = sorted(validator.iter_errors(json.load(sys.stdin)), key=str)
for e in errors:
    print(f"{list(e.absolute_path)}: {e.message}")
sys.exit(1 if errors else 0)
"#;

/// Validates `document` against the output schema; panics with the validator's words.
fn validate(document: &[u8]) {
    validate_against(SCHEMA, document);
}

/// Validates `document` against the schema file `schema`.
pub fn validate_against(schema: &str, document: &[u8]) {
    let mut child = Command::new("python3")
        .args(["-c", VALIDATE, schema])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 missing: run scripts/install-test-deps.sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(document)
        .expect("write to the validator");
    let out = child.wait_with_output().expect("validator");
    assert!(
        out.status.success(),
        "schema validation failed (python3 -m pip install jsonschema, or run scripts/install-test-deps.sh):\n{}{}\ndocument: {}",
        text(&out.stdout),
        text(&out.stderr),
        text(document)
    );
}

/// Runs `args` with `--format json`, validates the document and returns it.
fn json_run(reg: &Registry, args: &[&str], dir: &Path) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = run(reg, &all, dir);
    validate(&out.stdout);
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn kinds(doc: &serde_json::Value) -> Vec<String> {
    let mut kinds: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn json_output_of_every_command_matches_the_published_schema() {
    let reg = Registry::start_plain();
    let api = reg.push_image("shop/api", "1.0", LINUX_AMD64);
    let gone = reg.push_image("shop/gone", "1.0", LINUX_AMD64);
    let (_, children) = reg.push_oci_index("shop/multi", "1.0", &[LINUX_AMD64, LINUX_ARM64]);
    reg.delete_manifest("shop/gone", &gone);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: String| std::fs::write(dir.path().join(name), body).unwrap();
    write(
        "compose.yaml",
        format!(
            "services:\n  api:\n    image: {}\n  tmpl:\n    image: ${{IMAGE}}\n  bad:\n    image: Not/A:Valid:Ref\n  missing:\n    image: {}\n",
            reg.image("shop/api", "1.0"),
            reg.image("shop/api", "9.9")
        ),
    );
    write(
        "pinned.yaml",
        format!(
            "services:\n  gone:\n    image: {}@{gone}\n  api:\n    image: {}@{api}\n  api2:\n    image: {}@{gone}\n",
            reg.image("shop/gone", "1.0"),
            reg.image("shop/api", "1.0"),
            reg.image("shop/api", "1.0")
        ),
    );
    write(
        "td.json",
        format!(
            "{{\"runtimePlatform\": {{\"cpuArchitecture\": \"ARM64\"}}, \"containerDefinitions\": [{{\"name\": \"a\", \"image\": \"{}@{}\"}}]}}\n",
            reg.image("shop/multi", "1.0"),
            children[0]
        ),
    );
    write(
        "broken.yaml",
        "services:\n  web:\n    image: \"nginx\n  db: [\n".to_string(),
    );

    let check = json_run(&reg, &["check"], dir.path());
    assert_eq!(check["command"], "check");
    for kind in ["invalid-reference", "parse-error", "skipped", "unpinned"] {
        assert!(kinds(&check).contains(&kind.to_string()), "{kind}: {check}");
    }
    let pin = json_run(&reg, &["pin"], dir.path());
    for kind in ["already-pinned", "file-skipped", "resolve-failed"] {
        assert!(kinds(&pin).contains(&kind.to_string()), "{kind}: {pin}");
    }
    let verify = json_run(&reg, &["verify"], dir.path());
    for kind in [
        "digest-missing",
        "inconsistent-pins",
        "platform-child",
        "platform-mismatch",
    ] {
        assert!(
            kinds(&verify).contains(&kind.to_string()),
            "{kind}: {verify}"
        );
    }
    // A pin that succeeds everywhere: changes and pinned findings with replacements.
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    write(
        "compose.yaml",
        format!(
            "services:\n  api:\n    image: {}\n",
            reg.image("shop/api", "1.0")
        ),
    );
    let pin = json_run(&reg, &["pin"], dir.path());
    assert_eq!(pin["changes"].as_array().map(Vec::len), Some(1), "{pin}");
    assert!(kinds(&pin).contains(&"pinned".to_string()), "{pin}");

    // The validator itself rejects a document that breaks the schema.
    let mut broken = pin.clone();
    broken["findings"][0]["kind"] = "no-such-kind".into();
    let result = std::panic::catch_unwind(|| validate(broken.to_string().as_bytes()));
    assert!(result.is_err(), "an unknown kind must fail validation");
}

/// The lifecycle schema accepts the offline example's document and refuses
/// one whose `results[].action` is not one of the preview API's shapes.
#[test]
fn lifecycle_output_matches_its_schema_and_the_schema_can_fail() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lifecycle/offline");
    let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args([
            "lifecycle",
            "--policy",
            "policy.json",
            "--images",
            "images.json",
        ])
        .args([
            "--in-use",
            "ecs-images.json",
            "--at",
            "2023-03-10",
            "--format",
            "json",
        ])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run imgpin");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    validate_against(LIFECYCLE_SCHEMA, &out.stdout);
    let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(1));
    doc["results"][0]["action"]["type"] = "DELETE".into();
    let broken = doc.to_string();
    let refused =
        std::panic::catch_unwind(|| validate_against(LIFECYCLE_SCHEMA, broken.as_bytes()));
    assert!(refused.is_err(), "an unknown action must fail validation");
}
