//! The module map stays true: every top-level module of `src/` imports only
//! modules that come before it in the dependency order that ARCHITECTURE.md
//! states, every module has a place in that order, and only `src/aws/`
//! builds AWS SDK configuration or clients. The order is read from
//! ARCHITECTURE.md itself, so the document and the code cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The dependency order, as the line after the "## Dependency order"
/// heading's code fence in ARCHITECTURE.md (`a → b → c`).
fn documented_order(architecture: &str) -> Vec<String> {
    let after = architecture
        .split_once("## Dependency order")
        .expect("ARCHITECTURE.md has a '## Dependency order' section")
        .1;
    let fence = after
        .split_once("```")
        .expect("the section has a code fence")
        .1;
    let line = fence
        .lines()
        .skip(1)
        .find(|l| !l.trim().is_empty())
        .expect("the code fence holds the order");
    line.split('→').map(|m| m.trim().to_string()).collect()
}

/// The top-level module a source file belongs to (`src/resolve/ecr/mod.rs`
/// → `resolve`); `None` for the crate root files.
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

/// Code without `//` comments (doc comments name modules in links, which
/// are not dependencies).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names through `crate::`, including
/// every item of a `crate::{a::x, b}` group.
fn crate_uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `imgpin::crate::` cannot occur; a preceding identifier character
        // means another path such as `my_crate::`.
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.extend(first_ident(&item));
        } else {
            out.extend(first_ident(rest));
        }
    }
    out
}

fn first_ident(text: &str) -> Option<String> {
    let ident: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty() && ident != "self").then_some(ident)
}

/// Every way the sources break the rules, in words.
fn violations(order: &[String], files: &[(PathBuf, String)]) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (path, text) in files {
        let Some(module) = top_module(path) else {
            continue;
        };
        let code = without_comments(text);
        let Some(&mine) = rank.get(module.as_str()) else {
            unplaced.insert(module);
            continue;
        };
        for used in crate_uses(&code) {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs > mine => problems.push(format!(
                    "{}: `{module}` imports `crate::{used}`, which comes after it in the dependency order",
                    path.display()
                )),
                _ => {}
            }
        }
        let sdk_setup = ["aws_config::defaults", "BehaviorVersion", "::from_conf("];
        if module != "aws" {
            for needle in sdk_setup {
                if code.contains(needle) {
                    problems.push(format!(
                        "{}: `{needle}` outside src/aws/ (SDK configuration and clients live in `aws`)",
                        path.display()
                    ));
                }
            }
        }
    }
    for module in unplaced {
        problems.push(format!(
            "module `{module}` has no place in ARCHITECTURE.md's dependency order"
        ));
    }
    problems
}

fn sources(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn modules_import_only_modules_before_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let order = documented_order(&architecture);
    let files = sources(&root.join("src"));
    let problems = violations(&order, &files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The order names exactly the modules lib.rs declares.
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let ordered: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        declared, ordered,
        "lib.rs and ARCHITECTURE.md list different modules"
    );
}

#[test]
fn the_check_finds_back_edges_unplaced_modules_and_stray_clients() {
    let order: Vec<String> = ["reference", "resolve", "plan"].map(String::from).to_vec();
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_string());
    let files = [
        // The cycle this test exists for: resolve reaching into plan.
        file("resolve/ecr.rs", "use crate::{reference::ImageRef, plan::tag_key};"),
        file("resolve/mod.rs", "let k = crate::plan::tag_key(&r);"),
        // Fine: earlier modules, comments, doc links and other crates' paths.
        file(
            "plan.rs",
            "use crate::resolve::Resolved; // crate::later\n/// [`crate::later`]\nuse my_crate::later;",
        ),
        file("reference/mod.rs", "use crate::{self};"),
        file("fresh.rs", "pub fn f() {}"),
        file("plan.rs", "let c = aws_sdk_ecr::Client::from_conf(config);"),
        file("lib.rs", "pub mod later; use crate::later;"),
    ];
    let problems = violations(&order, &files);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("resolve/ecr.rs: `resolve` imports `crate::plan`"));
    assert!(problems[1].contains("resolve/mod.rs"));
    assert!(problems[2].contains("plan.rs: `::from_conf(` outside src/aws/"));
    assert!(problems[3].contains("module `fresh` has no place"));
}

#[test]
fn the_order_is_read_from_the_document() {
    let doc = "# A\n\n## Dependency order\n\nText.\n\n```text\ndigest → reference → plan\n```\n";
    assert_eq!(documented_order(doc), ["digest", "reference", "plan"]);
    let uses = crate_uses("use crate::{a::{b, c}, d as e};\ncrate::f::g();\nx_crate::h;");
    assert_eq!(uses, ["a", "d", "f"].map(String::from).into());
}
