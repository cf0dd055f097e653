//! Property tests (proptest): references survive parse → display → parse
//! and pinning; random Compose, Kubernetes and ECS files with images put in
//! known places are pinned exactly there (every other byte kept: comments,
//! quoting, CRLF, BOM), and pinning the result again changes nothing.

use imgpin::digest::Digest;
use imgpin::edit::apply;
use imgpin::plan::{plan_pin, PinOptions};
use imgpin::reference::ImageRef;
use imgpin::resolve::{tag_key, Resolutions, Resolved};
use imgpin::scan::ScannedFile;
use proptest::prelude::*;
use std::path::Path;

const COMPONENT: &str = "[a-z0-9]{1,8}([._-][a-z0-9]{1,6}){0,2}";

fn domain() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("registry.example.com".to_string())),
        Just(Some("localhost:5000".to_string())),
        Just(Some("127.0.0.1:5000".to_string())),
        Just(Some("[::1]:5000".to_string())),
        Just(Some(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com".to_string()
        )),
        "[a-z]{1,6}\\.[a-z]{2,4}(:[1-9][0-9]{0,3})?".prop_map(Some),
    ]
}

fn digest_text() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}"))
}

/// A valid reference and its parts: (text, domain, path, tag, digest).
fn reference() -> impl Strategy<
    Value = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    ),
> {
    (
        domain(),
        proptest::collection::vec(COMPONENT, 1..4),
        proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        proptest::option::of(digest_text()),
    )
        .prop_map(|(domain, mut path, tag, digest)| {
            if domain.is_none() {
                // A first component with a dot would be read as a registry host.
                path[0] = path[0].replace('.', "-");
            }
            let path = path.join("/");
            let mut text = match &domain {
                Some(d) => format!("{d}/{path}"),
                None => path.clone(),
            };
            if let Some(t) = &tag {
                text.push(':');
                text.push_str(t);
            }
            if let Some(d) = &digest {
                text.push('@');
                text.push_str(d);
            }
            (text, domain, path, tag, digest)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn references_round_trip((text, domain, path, tag, digest) in reference(), pin in digest_text()) {
        let parsed = ImageRef::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert_eq!(ImageRef::parse(&parsed.to_string()).unwrap(), parsed.clone());
        prop_assert_eq!(parsed.tag(), tag.as_deref());
        prop_assert_eq!(parsed.digest().map(|d| d.to_string()), digest);
        if let Some(d) = &domain {
            prop_assert_eq!(parsed.domain(), d.as_str());
        }
        prop_assert!(parsed.repository().ends_with(&path));
        // Pinning keeps the name as written and the tag, adds the digest.
        let pinned = ImageRef::parse(&parsed.pinned_text(&Digest::parse(&pin).unwrap())).unwrap();
        prop_assert_eq!(pinned.canonical_name(), parsed.canonical_name());
        prop_assert_eq!(pinned.tag_or_latest(), parsed.tag_or_latest());
        prop_assert_eq!(pinned.digest().map(|d| d.to_string()), Some(pin));
    }

    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(parsed) = ImageRef::parse(&text) {
            prop_assert_eq!(ImageRef::parse(&parsed.to_string()).unwrap(), parsed);
        }
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = ImageRef::parse(&lossy);
    }
}

/// One image slot of a generated file: the reference as written, how it is
/// quoted, and whether it already carries a digest (then it must not change).
#[derive(Debug, Clone)]
struct Slot {
    text: String,
    quote: &'static str,
}

fn slot() -> impl Strategy<Value = Slot> {
    (reference(), prop_oneof![Just(""), Just("'"), Just("\"")]).prop_map(|((text, ..), quote)| {
        // A plain YAML scalar cannot start with `[` (`[::1]:5000/…` needs
        // quotes), and `0`, `1.5`, `0x1f`, `true` or `null` plain are not
        // strings: an image written so is not an image to YAML readers.
        let not_a_string = text.parse::<f64>().is_ok()
            || text.starts_with("0x")
            || text.starts_with("0o")
            || text.bytes().all(|b| b.is_ascii_digit() || b == b'_')
            || ["true", "false", "null", "yes", "no", "on", "off"].contains(&text.as_str());
        let quote = if quote.is_empty() && (text.starts_with('[') || not_a_string) {
            "\""
        } else {
            quote
        };
        Slot { text, quote }
    })
}

/// How a generated file is laid out.
#[derive(Debug, Clone)]
struct Layout {
    crlf: bool,
    bom: bool,
    comments: bool,
    indent: usize,
    final_newline: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(2usize), Just(4)],
        any::<bool>(),
    )
        .prop_map(|(crlf, bom, comments, indent, final_newline)| Layout {
            crlf,
            bom,
            comments,
            indent,
            final_newline,
        })
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Compose,
    Kubernetes,
    Ecs,
}

/// The file with each slot's text replaced by `value(slot)`.
fn render(kind: Kind, layout: &Layout, slots: &[Slot], value: &dyn Fn(&Slot) -> String) -> Vec<u8> {
    let nl = if layout.crlf { "\r\n" } else { "\n" };
    let i = " ".repeat(layout.indent);
    let mut s = String::new();
    if layout.bom {
        s.push('\u{feff}');
    }
    let comment = |s: &mut String, text: &str| {
        if layout.comments {
            s.push_str(&format!("# {text}{nl}"));
        }
    };
    match kind {
        Kind::Compose => {
            comment(&mut s, "deployed by CI");
            s.push_str(&format!("services:{nl}"));
            for (n, slot) in slots.iter().enumerate() {
                s.push_str(&format!("{i}svc{n}:{nl}"));
                if layout.comments {
                    s.push_str(&format!("{i}{i}# pinned by imgpin{nl}"));
                }
                let q = slot.quote;
                let tail = if layout.comments { "   # keep me" } else { "" };
                s.push_str(&format!("{i}{i}image: {q}{}{q}{tail}{nl}", value(slot)));
                s.push_str(&format!("{i}{i}ports: [\"80:80\"]{nl}"));
            }
        }
        Kind::Kubernetes => {
            for (n, slot) in slots.iter().enumerate() {
                if n > 0 {
                    s.push_str(&format!("---{nl}"));
                }
                comment(&mut s, "a workload");
                let q = slot.quote;
                s.push_str(&format!(
                    "apiVersion: apps/v1{nl}kind: Deployment{nl}metadata:{nl}{i}name: app{n}{nl}spec:{nl}{i}template:{nl}{i}{i}spec:{nl}{i}{i}{i}containers:{nl}{i}{i}{i}- name: c{n}{nl}{i}{i}{i}  image: {q}{}{q}{nl}",
                    value(slot)
                ));
            }
        }
        Kind::Ecs => {
            s.push_str(&format!(
                "{{{nl}{i}\"family\": \"web\",{nl}{i}\"containerDefinitions\": [{nl}"
            ));
            for (n, slot) in slots.iter().enumerate() {
                let sep = if n + 1 < slots.len() { "," } else { "" };
                s.push_str(&format!(
                    "{i}{i}{{ \"name\": \"c{n}\", \"image\": \"{}\", \"essential\": true }}{sep}{nl}",
                    value(slot)
                ));
            }
            s.push_str(&format!("{i}]{nl}}}"));
        }
    }
    if layout.final_newline && !s.ends_with(nl) {
        s.push_str(nl);
    }
    if !layout.final_newline {
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
    }
    s.into_bytes()
}

fn pin_once(name: &str, bytes: Vec<u8>, digest: &Digest) -> (Vec<u8>, usize) {
    let (file, _) = ScannedFile::from_bytes(Path::new(name), bytes.clone())
        .unwrap_or_else(|f| panic!("{name}: {}", f.message))
        .unwrap_or_else(|| {
            panic!(
                "{name}: not recognised:\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
    let mut resolutions = Resolutions::new();
    for item in &file.items {
        if let imgpin::scan::Value::Reference(r) = &item.value {
            resolutions.insert(
                tag_key(r),
                Ok(Resolved {
                    digest: digest.clone(),
                }),
            );
        }
    }
    let plan = plan_pin(&file, &resolutions, PinOptions::default());
    let new = apply(&bytes, &plan.edits).unwrap();
    (new, plan.edits.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pinning_changes_only_the_image_spans_and_twice_is_a_no_op(
        kind in prop_oneof![Just(Kind::Compose), Just(Kind::Kubernetes), Just(Kind::Ecs)],
        layout in layout(),
        slots in proptest::collection::vec(slot(), 1..6),
        pin in digest_text(),
    ) {
        let digest = Digest::parse(&pin).unwrap();
        let name = match kind {
            Kind::Compose => "compose.yaml",
            Kind::Kubernetes => "deploy.yaml",
            Kind::Ecs => "task-definition.json",
        };
        let before = render(kind, &layout, &slots, &|s| s.text.clone());
        let expected = render(kind, &layout, &slots, &|s| {
            let r = ImageRef::parse(&s.text).unwrap();
            if r.is_pinned() { s.text.clone() } else { r.pinned_text(&digest) }
        });
        let (after, edits) = pin_once(name, before.clone(), &digest);
        let unpinned = slots.iter().filter(|s| !ImageRef::parse(&s.text).unwrap().is_pinned()).count();
        prop_assert_eq!(edits, unpinned);
        prop_assert_eq!(String::from_utf8_lossy(&after), String::from_utf8_lossy(&expected));
        let (again, edits) = pin_once(name, after.clone(), &digest);
        prop_assert_eq!(edits, 0);
        prop_assert_eq!(again, after);
    }
}
