//! The bad-input corpus (`testdata/bad/`, plus deep nesting and a 5 MB line
//! generated here):
//! every file gives a `path:line:col` message or a skip reason, never a
//! panic, and `pin --write` never changes its bytes. References in the
//! corpus point at 127.0.0.1:9 (nothing listens), so resolution fails fast.

use crate::cli::text;
use std::path::Path;
use std::process::Command;

/// File, `check`'s exit code, and what its output must say.
const EXPECTED: &[(&str, i32, &str)] = &[
    (".devcontainer.json", 2, ".devcontainer.json:3:30: error: invalid JSON: expected a string key or '}', found ','"),
    ("kustomization.yaml", 2, "kustomization.yaml:5:13: error: invalid YAML: found unexpected end of stream while scanning a quoted scalar"),
    ("unclosed-block.tf", 2, "unclosed-block.tf:3:3: error: invalid HCL: invalid block body"),
    ("Dockerfile.broken", 1, "Dockerfile.broken:4:6: note: \"${UNCLOSED\" cannot be checked: templated value"),
    ("absurd-reference.compose.yaml", 2, "absurd-reference.compose.yaml:3:12: error: invalid image reference"),
    ("alias-bomb.compose.yaml", 2, "alias-bomb.compose.yaml:6:36: error: invalid YAML: aliases expand to more than"),
    ("control-chars.compose.yaml", 0, "control-chars.compose.yaml:3:13: note: \"127.0.0.1:9/a:1\\u{1b}[2J\\u{7}\" cannot be checked"),
    ("double-bom.compose.yaml", 1, "1 unpinned"),
    // Duplicate keys: the last value is the one YAML and JSON readers keep.
    ("duplicate-keys.compose.yaml", 1, "duplicate-keys.compose.yaml:4:12: problem: 127.0.0.1:9/b:2"),
    ("duplicate-keys.task-definition.json", 1, "duplicate-keys.task-definition.json:1:81: problem: 127.0.0.1:9/b:2"),
    ("empty-array.json", 0, "0 references"),
    ("empty.compose.yaml", 0, "0 references"),
    ("no-final-brace.json", 2, "no-final-brace.json:1:1: error: invalid JSON: unterminated object"),
    ("odd-characters.compose.yaml", 2, "odd-characters.compose.yaml:3:13: error: invalid image reference \"127.0.0.1:9/ünïcödé:1\": invalid character 'ü'"),
    ("tabs.compose.yaml", 2, "tabs.compose.yaml:2:1: error: invalid YAML: found character that cannot start any token while scanning for the next token (a tab: YAML indents and separates with spaces)"),
    ("truncated.task-definition.json", 2, "truncated.task-definition.json:1:26: error: invalid JSON: unterminated array"),
    ("unclosed-flow.compose.yaml", 2, "unclosed-flow.compose.yaml:3:12: error: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence"),
    ("undefined-alias.pod.yaml", 2, "undefined-alias.pod.yaml:6:12: error: invalid YAML: unknown anchor 'nowhere' referenced"),
    ("unterminated-quote.compose.yaml", 2, "unterminated-quote.compose.yaml:3:12: error: invalid YAML: found unexpected end of stream while scanning a quoted scalar"),
    ("deep-nesting.task-definition.json", 2, "deep-nesting.task-definition.json:1:"),
    ("deep-flow.compose.yaml", 2, "deep-flow.compose.yaml:1:"),
    ("deep-block.pod.yaml", 2, "deep-block.pod.yaml:"),
    ("deep-nesting.tf", 2, "deep-nesting.tf:1:70: error: invalid HCL: invalid nesting depth"),
    // A 5 MB line (minified JSON) is a valid file: located, not skipped.
    ("huge-line.task-definition.json", 1, "huge-line.task-definition.json:1:5000069: problem: 127.0.0.1:9/a:1 is not pinned"),
];

/// 10,000-deep JSON objects, YAML flow sequences, 2,000-deep block
/// mappings and 100,000-deep HCL lists: too big to keep in the repository,
/// cheap to make.
fn generate(dir: &Path) {
    let deep_json = "{\"image\":".repeat(10_000) + "\"127.0.0.1:9/a:1\"" + &"}".repeat(10_000);
    std::fs::write(dir.join("deep-nesting.task-definition.json"), deep_json).unwrap();
    let deep_flow = "image: ".to_string() + &"[".repeat(10_000) + &"]".repeat(10_000) + "\n";
    std::fs::write(dir.join("deep-flow.compose.yaml"), deep_flow).unwrap();
    let huge = format!(
        "{{\"family\":\"web\",\"x\":\"{}\",\"containerDefinitions\":[{{\"name\":\"c\",\"image\":\"127.0.0.1:9/a:1\"}}]}}",
        "y".repeat(5_000_000)
    );
    std::fs::write(dir.join("huge-line.task-definition.json"), huge).unwrap();
    let mut block = String::from("spec:\n");
    for depth in 1..=2_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
    }
    block.push_str(&" ".repeat(2_001));
    block.push_str("image: 127.0.0.1:9/a:1\n");
    std::fs::write(dir.join("deep-block.pod.yaml"), block).unwrap();
    let deep_hcl = "x = ".to_string()
        + &"[".repeat(100_000)
        + &"]".repeat(100_000)
        + "\nimage = \"127.0.0.1:9/a:1\"\n";
    std::fs::write(dir.join("deep-nesting.tf"), deep_hcl).unwrap();
}

fn run(args: &[&str], cwd: &Path, config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imgpin"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("DOCKER_CONFIG", config)
        .args(["--timeout", "5"].iter().filter(|_| args[0] == "pin"))
        .output()
        .expect("run imgpin");
    let all = text(&out.stdout) + &text(&out.stderr);
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {all}"));
    assert!(!all.contains("panicked"), "{args:?}: {all}");
    assert!((0..=2).contains(&code), "{args:?}: exit {code}: {all}");
    (code, all)
}

#[test]
fn every_bad_input_gets_a_place_or_a_reason_and_keeps_its_bytes() {
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let bad = work.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bad");
    let mut listed: Vec<String> = EXPECTED.iter().map(|(f, _, _)| f.to_string()).collect();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            listed.contains(&name),
            "testdata/bad/{name} has no expectation here"
        );
        std::fs::copy(entry.path(), bad.join(&name)).unwrap();
    }
    generate(&bad);
    listed.sort();
    for (name, want, needle) in EXPECTED {
        let path = format!("bad/{name}");
        let before = std::fs::read(bad.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (code, all) = run(&["check", &path], work.path(), config.path());
        assert_eq!(code, *want, "{name}: {all}");
        assert!(
            all.contains(needle),
            "{name}: missing {needle:?} in:\n{all}"
        );
        let (_, all) = run(&["pin", "--write", &path], work.path(), config.path());
        assert_eq!(
            std::fs::read(bad.join(name)).unwrap(),
            before,
            "{name} changed: {all}"
        );
    }
    // The whole directory at once: each file on its own, all of them counted.
    let (code, all) = run(&["check", "bad"], work.path(), config.path());
    assert_eq!(code, 2, "{all}");
    assert!(
        all.contains(&format!("imgpin: {} files scanned", listed.len())),
        "{all}"
    );
    let failed = EXPECTED
        .iter()
        .filter(|(_, _, n)| {
            n.contains(": error: invalid YAML")
                || n.contains(": error: invalid JSON")
                || n.contains(": error: invalid HCL")
                || n.starts_with("deep-")
        })
        .count();
    assert!(
        all.contains(&format!("; {failed} files failed")),
        "{failed} files failed expected:\n{all}"
    );
}
