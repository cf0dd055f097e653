//! Dockerfiles and Containerfiles: the base image of every `FROM`, the
//! image of `COPY --from=…` and `RUN --mount=…,from=…`, and the frontend a
//! `# syntax=` parser directive names.
//!
//! Rule: a line parser, as BuildKit reads the file: instructions are
//! case-insensitive, a line ending in the escape character (`\`, or the one
//! a `# escape=` directive sets) continues on the next, comment lines inside
//! a continuation are dropped, and heredoc bodies (`<<EOF` … `EOF`) are not
//! instructions. `FROM scratch` and a `FROM`/`--from` naming an earlier
//! stage (`AS build`) or a stage index are not images. A `FROM` that is
//! exactly `$NAME` / `${NAME}` of an `ARG NAME=default` declared before the
//! first `FROM` names that default, which is the occurrence (where the ARG
//! sets it). A `FROM` that *ends* with such a variable (`node:${VERSION}`,
//! every other variable also a global default) is pinned in that ARG's
//! default, beside the version (`ARG VERSION=20@sha256:…`), unless the
//! default ends two different images. Any other value with `$` is reported
//! as templated. `FROM --platform=linux/arm64` is the
//! platform the image must serve.

use std::collections::HashMap;

use super::classify::template_marker;
use super::{DeclaredPlatform, Occurrence, SkipReason};

/// Whether a file name is a Dockerfile: `Dockerfile`, `Containerfile`,
/// `Dockerfile.prod`, `api.Dockerfile`, `build.dockerfile` (any case).
pub(crate) fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // Notes about a Dockerfile, BuildKit's per-Dockerfile ignore files, and
    // source, data and backup files named after Dockerfiles
    // (`dockerfile.go`, `Dockerfile.py` generators, `Dockerfile.orig`):
    // their `FROM` lines are string templates or stale copies.
    const NOT_DOCKERFILES: &[&str] = &[
        "md",
        "txt",
        "rst",
        "adoc",
        "html",
        "dockerignore",
        "go",
        "rs",
        "py",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "java",
        "kt",
        "kts",
        "scala",
        "groovy",
        "gradle",
        "rb",
        "php",
        "pl",
        "lua",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "bat",
        "cmd",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "cs",
        "swift",
        "json",
        "yaml",
        "yml",
        "toml",
        "xml",
        "lock",
        "sum",
        "mod",
        "sql",
        "csv",
        "bak",
        "orig",
        "rej",
        "swp",
        "tmp",
        "old",
        "patch",
        "diff",
    ];
    if lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| NOT_DOCKERFILES.contains(&ext))
    {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base
            || lower
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('.'))
            || lower
                .strip_suffix(base)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// A word of a logical line and its byte offset in the file.
#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    at: usize,
}

/// Every image the Dockerfile names, in file order.
pub(crate) fn collect(text: &str) -> Vec<Occurrence> {
    let directives = directives(text);
    let escape = escape_char(&directives);
    let mut out = Vec::new();
    // `# syntax=docker/dockerfile:1` names the frontend image BuildKit pulls.
    for (key, value) in &directives {
        if key.eq_ignore_ascii_case("syntax") && !value.text.is_empty() {
            out.push(literal(value, "# syntax".to_string()));
        }
    }
    let mut stages: Vec<String> = Vec::new();
    let mut lines = physical_lines(text).peekable();
    let mut heredoc: Vec<String> = Vec::new();
    // `ARG NAME=default` before the first `FROM`: the only ARGs a `FROM` sees.
    let mut globals: HashMap<&str, Word<'_>> = HashMap::new();
    // For a `FROM name:${TAG}` pinned in its ARG's default: the occurrence's
    // index and what it is when that default cannot be shared.
    let mut fallbacks: Vec<(usize, Occurrence)> = Vec::new();
    while let Some((mut at, mut line)) = lines.next() {
        if let Some(end) = heredoc.first() {
            if line.trim_start_matches('\t').trim_end_matches('\r') == end {
                heredoc.remove(0);
            }
            continue;
        }
        let mut words: Vec<Word<'_>> = Vec::new();
        loop {
            let content = line.trim_end_matches(['\r', ' ', '\t']);
            let continued = content.ends_with(escape);
            let body = if continued {
                &content[..content.len() - escape.len_utf8()]
            } else {
                content
            };
            let comment = words.is_empty() && body.trim_start().starts_with('#');
            if !comment {
                words.extend(split_words(body, at));
            }
            if !continued || comment {
                break;
            }
            // Comment and blank lines inside a continuation are skipped.
            let Some((next_at, next)) = lines.next() else {
                break;
            };
            (at, line) = (next_at, next);
            while line.trim_start().starts_with('#') || line.trim().is_empty() {
                let Some((next_at, next)) = lines.next() else {
                    break;
                };
                (at, line) = (next_at, next);
            }
        }
        let Some(instruction) = words.first() else {
            continue;
        };
        let keyword = instruction.text.to_ascii_uppercase();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            heredoc.extend(heredoc_ends(&words[1..]));
        }
        match keyword.as_str() {
            "ARG" if stages.is_empty() => {
                for word in &words[1..] {
                    if let Some((name, value)) = arg_default(word) {
                        globals.insert(name, value);
                    }
                }
            }
            "FROM" => from(&words[1..], &globals, &mut stages, &mut out, &mut fallbacks),
            "COPY" | "ADD" | "RUN" => {
                for word in &words[1..] {
                    if let Some(found) = from_flag(word, &stages) {
                        out.push(found);
                    }
                }
            }
            _ => {}
        }
    }
    // An ARG default that ends two different images (`FROM a:${V}`,
    // `FROM b:${V}`) cannot hold both digests: those stay templated.
    let shared: Vec<bool> = fallbacks
        .iter()
        .map(|(i, _)| {
            out.iter()
                .any(|o| o.span == out[*i].span && o.text != out[*i].text)
        })
        .collect();
    for ((index, fallback), shared) in fallbacks.into_iter().zip(shared) {
        if shared {
            out[index] = fallback;
        }
    }
    // Several `FROM ${BASE}` share the ARG's default: report it once.
    out.sort_by_key(|o| (o.span.start, o.span.end));
    out.dedup_by(|a, b| a.span == b.span);
    out
}

/// `NAME` and the default of one `ARG NAME=default` word (inside matching
/// quotes, when quoted); `None` for an ARG without a default.
fn arg_default<'a>(word: &Word<'a>) -> Option<(&'a str, Word<'a>)> {
    let (name, value) = word.text.split_once('=')?;
    let mut at = word.at + name.len() + 1;
    let mut value = value;
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            (value, at) = (inner, at + 1);
            break;
        }
    }
    (!name.is_empty()).then_some((name, Word { text: value, at }))
}

/// `NAME` when `text` is exactly `$NAME` or `${NAME}`.
fn arg_reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix('$')?;
    let name = name
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    (!name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
        .then_some(name)
}

/// `FROM [--platform=P] image [AS name]`. An image that is exactly `$NAME`
/// or `${NAME}` of a global `ARG NAME=default` is that default, found where
/// the ARG sets it.
fn from(
    args: &[Word<'_>],
    globals: &HashMap<&str, Word<'_>>,
    stages: &mut Vec<String>,
    out: &mut Vec<Occurrence>,
    fallbacks: &mut Vec<(usize, Occurrence)>,
) {
    let index = stages.len();
    let flags = args.iter().take_while(|w| w.text.starts_with("--")).count();
    let platform = args[..flags]
        .iter()
        .find_map(|w| w.text.strip_prefix("--platform="));
    let mut rest = args[flags..].iter();
    let Some(image) = rest.next() else {
        return;
    };
    let arg = arg_reference(image.text)
        .and_then(|n| globals.get(n).map(|w| (n, w)))
        .filter(|(_, w)| !w.text.is_empty());
    let written = image;
    let image = arg.map_or(image, |(_, w)| w);
    let name = match (rest.next(), rest.next()) {
        (Some(as_), Some(name)) if as_.text.eq_ignore_ascii_case("as") => {
            name.text.to_ascii_lowercase()
        }
        _ => String::new(),
    };
    let is_stage = stages.contains(&image.text.to_ascii_lowercase());
    stages.push(name.clone());
    if is_stage || image.text.eq_ignore_ascii_case("scratch") {
        return;
    }
    let mut location = if name.is_empty() {
        format!("FROM (stage {})", index + 1)
    } else {
        format!("FROM (stage {} {name})", index + 1)
    };
    let platform = platform
        .filter(|p| template_marker(p).is_none())
        .and_then(|p| DeclaredPlatform::from_platform_string(p, format!("FROM --platform={p}")));
    if let Some((arg, _)) = arg {
        location = format!("ARG {arg} ({location})");
    } else if let Some((text, arg, default)) = ending_in_arg(written.text, globals) {
        // `FROM node:${NODE_VERSION}`: the digest goes beside the version,
        // in the ARG's default (`ARG NODE_VERSION=20@sha256:…`), so a bump
        // of the version cannot keep an old digest.
        let mut fallback = literal(written, location.clone());
        fallback.platform = platform.clone().map(Box::new);
        fallbacks.push((out.len(), fallback));
        let quoted = default.text.contains(['"', '\'']);
        out.push(Occurrence {
            span: default.at..default.at + default.text.len(),
            text,
            location: format!("ARG {arg} ({location})"),
            skip: quoted.then_some(SkipReason::EscapedOrMultiline),
            platform: platform.map(Box::new),
            shown_at: None,
            tag_per_launch: false,
            splice: super::Splice::Tag {
                tag: default
                    .text
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
        });
        return;
    }
    let mut found = literal(image, location);
    found.platform = platform.map(Box::new);
    out.push(found);
}

/// For an image that ends with `$NAME`/`${NAME}` (`node:${NODE_VERSION}`)
/// where every variable is a global ARG with a plain default: the image
/// with the defaults in, the last variable's name and its default.
fn ending_in_arg<'g, 'a>(
    text: &str,
    globals: &'g HashMap<&str, Word<'a>>,
) -> Option<(String, &'g str, &'g Word<'a>)> {
    let mut out = String::new();
    let mut rest = text;
    let mut last = None;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}')?;
                (&braced[..end], end + 2)
            }
            None => {
                let end = after
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return None;
        }
        let (key, default) = globals.get_key_value(name)?;
        if default.text.is_empty() || default.text.contains('$') {
            return None;
        }
        out.push_str(default.text);
        rest = &after[len..];
        last = Some((*key, default));
    }
    // Only when a variable ends the image: its default is where the
    // digest goes.
    if !rest.is_empty() {
        return None;
    }
    let (name, default) = last?;
    Some((out, name, default))
}

/// The image of a `--from=image` flag, or of `from=image` inside
/// `--mount=…`, unless it names a stage.
fn from_flag(word: &Word<'_>, stages: &[String]) -> Option<Occurrence> {
    let (flag, offset) = if let Some(v) = word.text.strip_prefix("--from=") {
        ("COPY --from", word.text.len() - v.len())
    } else if let Some(mount) = word.text.strip_prefix("--mount=") {
        let start = word.text.len() - mount.len();
        let mut pos = start;
        let mut found = None;
        for part in mount.split(',') {
            if let Some(v) = part.strip_prefix("from=") {
                found = Some(pos + part.len() - v.len());
            }
            pos += part.len() + 1;
        }
        ("--mount from", found?)
    } else {
        return None;
    };
    let value = &word.text[offset..];
    let value = value.split(',').next().unwrap_or(value);
    let lower = value.to_ascii_lowercase();
    if value.is_empty() || stages.contains(&lower) || value.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let image = Word {
        text: value,
        at: word.at + offset,
    };
    Some(literal(&image, flag.to_string()))
}

fn literal(word: &Word<'_>, location: String) -> Occurrence {
    let skip = template_marker(word.text)
        .map(SkipReason::Templated)
        .or_else(|| {
            (word.text.contains('"') || word.text.contains('\''))
                .then_some(SkipReason::EscapedOrMultiline)
        });
    Occurrence {
        span: word.at..word.at + word.text.len(),
        text: word.text.to_string(),
        location,
        skip,
        platform: None,
        shown_at: None,
        tag_per_launch: false,
        splice: super::Splice::Reference,
    }
}

/// The escape character a `# escape=` parser directive sets (default `\`).
fn escape_char(directives: &[(&str, Word<'_>)]) -> char {
    directives
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("escape"))
        .and_then(|(_, value)| value.text.chars().next())
        .unwrap_or('\\')
}

/// The parser directives at the very top of the file (`# key=value` lines
/// before anything else): each key with its value and where that starts.
fn directives(text: &str) -> Vec<(&str, Word<'_>)> {
    let mut out = Vec::new();
    for (at, line) in physical_lines(text) {
        let line = line.trim_end_matches('\r');
        let Some(directive) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        // `# key=value` with a one-word key; any other comment ends the
        // directives (`# Build with --build-arg A=1` is a comment).
        let key = key.trim();
        if !key.starts_with(|c: char| c.is_ascii_alphabetic())
            || !key.chars().all(|c| c.is_ascii_alphanumeric())
        {
            break;
        }
        let trimmed = value.trim();
        let start = at + (line.len() - value.len()) + (value.len() - value.trim_start().len());
        out.push((
            key,
            Word {
                text: trimmed,
                at: start,
            },
        ));
    }
    out
}

/// Lines with the byte offset of their first character (a BOM skipped).
fn physical_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut at = bom;
    text[bom..].split('\n').map(move |line| {
        let start = at;
        at += line.len() + 1;
        (start, line)
    })
}

/// Whitespace-separated words of `body`, which starts at byte `at`.
fn split_words(body: &str, at: usize) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices().chain([(body.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push(Word {
                    text: &body[s..i],
                    at: at + s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    words
}

/// The terminators of the heredocs an instruction opens, in order. As
/// BuildKit reads them: the arguments are split into shell words (quotes
/// removed, quoted blanks kept), and a word that is `<<EOF`, `<<-EOF` or
/// `3<<EOF` (digits, `<<`, an optional `-`, then a terminator without `<`)
/// opens one. `<<` inside a word (`'a<<b'`, `$((1<<3))`) opens nothing.
fn heredoc_ends(words: &[Word<'_>]) -> Vec<String> {
    let line = words.iter().map(|w| w.text).collect::<Vec<_>>().join(" ");
    shell_words(&line)
        .into_iter()
        .filter_map(|w| {
            let rest = w.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = rest.strip_prefix("<<")?;
            let end = rest.strip_prefix('-').unwrap_or(rest);
            (!end.is_empty() && !end.contains('<')).then(|| end.to_string())
        })
        .collect()
}

/// Shell words of `line`: split at blanks outside quotes, quotes removed, a
/// backslash outside single quotes escaping the next character.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                in_word = true;
                word.extend(chars.next());
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                in_word = true;
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
