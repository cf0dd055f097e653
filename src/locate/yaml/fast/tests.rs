//! The fast path against libyaml-safer: wherever the fast path reads a
//! stream, both loaders build the same documents; where libyaml rejects a
//! stream, the fast path gives up. Plus: what it must read itself (the files
//! the fast path exists for), and the hand-over when it gives up halfway.

use proptest::prelude::*;

use super::super::{prepared, with_libyaml, Loader};
use crate::locate::tree::Node;
use crate::locate::LocateError;

/// The documents the fast path builds, or `None` when it gives up.
fn fast(text: &str) -> Option<Vec<Node>> {
    let (base, input) = prepared(text);
    let mut documents = Vec::new();
    let mut take = |d| documents.push(d);
    let read = super::load(&input, &mut Loader::new(text, base, &mut take)).is_ok();
    read.then_some(documents)
}

/// The documents libyaml-safer's events build.
fn libyaml(text: &str) -> Result<Vec<Node>, LocateError> {
    let (base, input) = prepared(text);
    let mut documents = Vec::new();
    let mut take = |d| documents.push(d);
    with_libyaml(&input, &mut Loader::new(text, base, &mut take))?;
    Ok(documents)
}

/// Both loaders agree on `text`; whether the fast path read it.
fn agree(text: &str) -> bool {
    let Some(documents) = fast(text) else {
        return false;
    };
    match libyaml(text) {
        Ok(expected) => assert_eq!(documents, expected, "the loaders differ on:\n{text}"),
        Err(e) => panic!(
            "the fast path read what libyaml rejects ({}):\n{text}",
            e.message
        ),
    }
    true
}

/// Shapes deploy files take; each must take the fast path.
const TYPICAL: &[&str] = &[
    "# Deployment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app.kubernetes.io/name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/team/web:1.2.0 # pinned later\n          args: [\"--port\", '8080', -v]\n          command: [\n            \"/bin/app\",\n            \"--port=8080\"\n          ]\n          resources:\n            limits: {cpu: 500m, memory: 256Mi}\n          env:\n            - {name: MODE, value: production}\n            - name: URL\n              value: http://example.com:8080/a?b=c#d\n      initContainers:\n      - name: init\n        image: \"busybox:1.36\"\n",
    "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n    environment:\n      - MODE=production\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]\n  api:\n    build: .\n    image: team/api:dev\n  empty:\n",
    "image: ruby:3.3\nservices: [postgres:16]\nstages: [test, build]\ntest:\n  script:\n    - bundle exec rspec\n    -\n    - 'it''s'\n",
    "---\na: 1\n---\n# only a comment\n---\n- x\n- - y\n  - z\n-   k: v\n    l: w\n",
    "kind: List\nitems: []\nmeta: {}\n\"quoted key\": 'single'\n'other key' : value\nlonger value: words with spaces  # and a comment\ncolon: a:b\nhash: a#b\n",
    "\u{feff}name: bom\nnon_ascii: caf\u{e9} \u{2014} \u{1f600}\n",
    "no final newline: x",
    "jobs:\n  build:\n    steps:\n      - run: |\n          make\n\n          # not a comment\n            deeper\n      - run: |-\n          one line\n        name: x\n      - run: |+\n          kept\n\n\nscript: |\n  a\r\n  b\r\n",
    "crlf: yes\r\nlist:\r\n- [a,\r\n  b]  # c\r\n",
];

#[test]
fn typical_deploy_files_take_the_fast_path_and_agree() {
    for text in TYPICAL {
        assert!(agree(text), "the fast path gave up on:\n{text}");
    }
}

#[test]
fn the_fast_path_gives_up_outside_its_subset() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: >\n  folded\n",
        "a: |2\n   explicit indentation\n",
        "a: |\nb: empty literal\n",
        "a: plain\n  continued\n",
        "a: \"esc\\taped\"\n",
        "a:\tb\n",
        "a: b\rc: d\n",
        "%YAML 1.2\n---\na: b\n",
        "a: b\n...\n",
        "? complex\n: key\n",
        "[a, b]: c\n",
        "a: b: c\n",
        "a: [x,]\n",
        "a: \"open\n  quote\"\n",
    ] {
        assert!(fast(text).is_none(), "the fast path read:\n{text}");
    }
}

#[test]
fn a_stream_it_gives_up_on_halfway_is_handed_over_once() {
    let text = "a: 1\n---\nb: 2\n---\nc: &x 3\nd: *x\n---\ne: 5\n";
    let mut documents = Vec::new();
    super::super::each_document(text, &mut |d| documents.push(d)).unwrap();
    assert_eq!(documents, libyaml(text).unwrap());
    assert_eq!(documents.len(), 4);
}

#[test]
fn the_loaders_agree_on_the_yaml_test_suite() {
    let cases = crate::locate::tests::yaml_suite::cases();
    let read = cases.iter().filter(|(_, text, _)| agree(text)).count();
    // The suite is mostly about what the fast path leaves to libyaml; it
    // must still read a fair share of it.
    assert!(
        read > 40,
        "the fast path read only {read} of {} cases",
        cases.len()
    );
}

#[test]
fn the_loaders_agree_on_every_yaml_file_in_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("testdata"), root.join(".github")];
    let (mut files, mut read) = (0, 0);
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                files += 1;
                read += usize::from(agree(&text));
            }
        }
    }
    assert!(
        files > 30 && read * 2 > files,
        "read {read} of {files} files"
    );
}

/// Lines YAML files are made of, valid and not, for the property below.
const PIECES: &[&str] = &[
    "a: b",
    "a:",
    "- a",
    "-",
    "- a: b",
    "- - a",
    "key: [x, y]",
    "key: {a: b, c: d}",
    "key: [",
    "]",
    "}",
    "  \"x\",",
    "'q': v",
    "\"q\": 'v'",
    "a: b # c",
    "# comment",
    "",
    "---",
    "...",
    "a: b: c",
    "k: v:",
    "a: -1",
    "- -x",
    "x",
    "a: 'it''s'",
    "a: [a, [b, {c: d}]]",
    "{a: b}",
    "[a]: b",
    "a: b#c",
    "a:b",
    "a : b",
    "k: {a: [",
    "  ], b: c}",
    "a: \"x\" y",
    "a: [x]#c",
    "a: \u{e9}",
    "-  a: b",
    "a: ,",
    "a: %x",
    "a: @x",
    "k: [a: b]",
    "k: {a, b}",
    "a: {a: }",
    "a: |",
    "a: |-",
    "a: |+",
    "- |",
    "a: | # c",
    "a: |2",
    "a: >",
    "text",
    "  # inside",
    "a: |x",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Any mix of those lines at any indentation: where the fast path reads
    /// it, libyaml accepts it and builds the same documents.
    #[test]
    fn the_loaders_agree_on_mixed_lines(
        lines in prop::collection::vec((0usize..6, 0..PIECES.len()), 1..14),
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let text: String = lines
            .iter()
            .map(|&(indent, piece)| format!("{}{}{end}", " ".repeat(indent), PIECES[piece]))
            .collect();
        agree(&text);
    }
}

/// A random document for the property below: what to write, and how.
#[derive(Debug, Clone)]
enum Tree {
    /// A scalar: which of [`WORDS`], and a style choice.
    Scalar(usize, u8),
    Map(Vec<(usize, Tree)>, u8),
    Seq(Vec<Tree>, u8),
}

/// Scalar texts, plain-safe or not: the renderer quotes some of them.
const WORDS: &[&str] = &[
    "nginx:1.27",
    "registry.example.com/team/app:v1",
    "8080",
    "true",
    "",
    "a b",
    "it's",
    "-x",
    "http://h:80/p?q#f",
    "null",
    "~",
    "1.10",
    "a#b",
    "caf\u{e9}",
    "x: y",
    "# no",
    "- z",
];

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (0..WORDS.len(), any::<u8>()).prop_map(|(w, s)| Tree::Scalar(w, s));
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            (
                prop::collection::vec((0..WORDS.len(), inner.clone()), 0..5),
                any::<u8>()
            )
                .prop_map(|(e, s)| Tree::Map(e, s)),
            (prop::collection::vec(inner, 0..5), any::<u8>()).prop_map(|(i, s)| Tree::Seq(i, s)),
        ]
    })
}

/// A scalar as YAML writes it: plain, single- or double-quoted.
fn scalar(word: &str, style: u8) -> String {
    match style % 3 {
        0 => word.to_owned(),
        1 => format!("'{}'", word.replace('\'', "''")),
        _ => format!("\"{word}\""),
    }
}

/// A flow rendering of `tree`.
fn flow(tree: &Tree) -> String {
    match tree {
        Tree::Scalar(w, s) => scalar(WORDS[*w], *s),
        Tree::Map(entries, _) => {
            let e: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(WORDS[*k], 1), flow(v)))
                .collect();
            format!("{{{}}}", e.join(", "))
        }
        Tree::Seq(items, _) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Whether `tree` is written in flow style.
fn in_flow(tree: &Tree) -> bool {
    match tree {
        Tree::Scalar(..) => false,
        Tree::Map(e, s) => e.is_empty() || s % 4 == 0,
        Tree::Seq(i, s) => i.is_empty() || s % 4 == 0,
    }
}

/// `tree` as the value written right after `key:` or `-` at column
/// `column`; `key` when after a key (a sequence may then be indentless).
fn value(tree: &Tree, column: usize, key: bool, out: &mut String) {
    match tree {
        Tree::Scalar(w, s) if s % 7 == 6 => {
            let chomp = ["", "-", "+"][usize::from(s / 7 % 3)];
            let pad = " ".repeat(column + 2);
            out.push_str(&format!(" |{chomp}\n{pad}{}\n", WORDS[*w]));
            if s % 2 == 0 {
                out.push_str(&format!("\n{pad}  more\n"));
            }
        }
        Tree::Scalar(w, s) => out.push_str(&format!(" {}\n", scalar(WORDS[*w], *s))),
        _ if in_flow(tree) => out.push_str(&format!(" {}\n", flow(tree))),
        Tree::Map(entries, s) => {
            out.push_str(if s % 5 == 1 { " # note\n" } else { "\n" });
            entries_at(entries, *s, column + 2, false, out);
        }
        Tree::Seq(items, s) => {
            out.push_str(if s % 5 == 1 { " # note\n" } else { "\n" });
            let child = if key && s % 2 == 0 {
                column
            } else {
                column + 2
            };
            for item in items {
                out.push_str(&" ".repeat(child));
                out.push('-');
                match item {
                    // The compact form: `- key: value`, the other keys below.
                    Tree::Map(entries, s) if s % 3 == 0 && !in_flow(item) => {
                        out.push(' ');
                        entries_at(entries, *s, child + 2, true, out);
                    }
                    _ => value(item, child, false, out),
                }
            }
        }
    }
}

/// A block mapping's entries at `column`; `first_inline` when the first
/// key is already positioned (after `- `).
fn entries_at(
    entries: &[(usize, Tree)],
    style: u8,
    column: usize,
    first_inline: bool,
    out: &mut String,
) {
    for (n, (k, v)) in entries.iter().enumerate() {
        if n > 0 || !first_inline {
            out.push_str(&" ".repeat(column));
        }
        let key = scalar(WORDS[*k], style.wrapping_add(n as u8));
        out.push_str(&key);
        out.push(':');
        value(v, column, true, out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Random documents written as people write them (block and flow,
    /// compact and indentless sequences, quoting, comments, literal
    /// blocks, CRLF): libyaml accepts most; wherever the fast path reads
    /// one, both loaders build the same documents.
    #[test]
    fn the_loaders_agree_on_random_documents(
        documents in prop::collection::vec(tree(), 1..4),
        crlf in any::<bool>(),
    ) {
        let mut text = String::new();
        for (n, document) in documents.iter().enumerate() {
            if n > 0 {
                text.push_str("---\n");
            }
            match document {
                Tree::Map(entries, s) if !in_flow(document) => entries_at(entries, *s, 0, false, &mut text),
                other => {
                    text.push_str("root:");
                    value(other, 0, true, &mut text);
                }
            }
        }
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        agree(&text);
    }
}
