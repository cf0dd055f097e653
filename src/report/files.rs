//! Reports written to files beside the main output, for CI: a SARIF log
//! (`--sarif-file`), a Markdown job summary (`--summary-file`, e.g.
//! `$GITHUB_STEP_SUMMARY`) and step outputs (`--github-output`, e.g.
//! `$GITHUB_OUTPUT`). One run, one set of findings, every report.

use super::{Code, Finding, Severity, Summary};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the side reports go; all optional.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// Write the SARIF 2.1.0 log here (replaced).
    pub sarif: Option<PathBuf>,
    /// Append the Markdown summary here.
    pub summary: Option<PathBuf>,
    /// Append `name=value` step outputs here.
    pub outputs: Option<PathBuf>,
}

impl ReportFiles {
    /// Whether any side report is wanted (then the printer keeps every finding).
    pub fn any(&self) -> bool {
        self.sarif.is_some() || self.summary.is_some() || self.outputs.is_some()
    }
}

/// At most this many rows per table in the job summary (GitHub keeps 1 MiB of it).
const MAX_ROWS: usize = 500;

/// The step outputs of a run: `changed` (files changed, or that would
/// change), `findings` (problems and errors), `unpinned` (literal
/// references left without a digest), plus what the command set.
pub fn outputs(
    summary: Option<&Summary>,
    findings: &[Finding],
    extra: &BTreeMap<&'static str, String>,
) -> BTreeMap<&'static str, String> {
    let problems = findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Problem | Severity::Error))
        .count();
    let mut out = BTreeMap::new();
    out.insert(
        "changed",
        summary.map_or(0, |s| s.files_changed).to_string(),
    );
    out.insert("findings", problems.to_string());
    out.insert("unpinned", summary.map_or(0, |s| s.unpinned).to_string());
    out.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    out
}

/// Append `name=value` lines (values are single-line numbers or paths).
pub fn append_outputs(path: &Path, outputs: &BTreeMap<&'static str, String>) -> io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        let value = value.replace(['\r', '\n'], " ");
        let _ = writeln!(text, "{name}={value}");
    }
    append(path, &text)
}

/// Append `text` to `path` (created when missing), as GitHub's files expect.
pub fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
}

/// The Markdown job summary: the summary line, then per file the references
/// pinned (old → new), then every problem, error and warning with its place.
pub fn markdown(command: &str, line: &str, findings: &[Finding]) -> String {
    let mut md = format!("### imgpin {command}\n\n{}\n", cell(line));
    let pinned: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.code == Code::Pinned && f.replacement.is_some())
        .collect();
    if !pinned.is_empty() {
        let _ = writeln!(md, "\n#### Pinned\n");
        let mut current: Option<&Path> = None;
        for (i, f) in pinned.iter().enumerate() {
            if i == MAX_ROWS {
                let _ = writeln!(md, "\n… and {} more\n", pinned.len() - MAX_ROWS);
                break;
            }
            let file = f.file.as_deref();
            if file != current || i == 0 {
                current = file;
                let name = file.map_or("(no file)".into(), |p| p.display().to_string());
                let _ = writeln!(
                    md,
                    "\n`{}`\n\n| Line | Reference | Pinned as |\n| ---: | --- | --- |",
                    code_text(&name)
                );
            }
            let _ = writeln!(
                md,
                "| {} | `{}` | `{}` |",
                f.line.map_or(String::new(), |l| l.to_string()),
                code_text(f.reference.as_deref().unwrap_or("")),
                code_text(f.replacement.as_deref().unwrap_or("")),
            );
        }
    }
    let problems: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            let told = matches!(f.code, Code::Updated | Code::Settling);
            (told
                || matches!(
                    f.severity,
                    Severity::Error | Severity::Problem | Severity::Warning
                ))
                && f.code != Code::Pinned
        })
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(
            md,
            "\n#### Findings\n\n| Severity | Where | Kind | Message |\n| --- | --- | --- | --- |"
        );
        for f in problems.iter().take(MAX_ROWS) {
            let _ = writeln!(
                md,
                "| {} | {} | `{}` | {} |",
                f.severity.label(),
                cell(&place(f)),
                f.code.name(),
                cell(&f.message),
            );
        }
        if problems.len() > MAX_ROWS {
            let _ = writeln!(md, "\n… and {} more", problems.len() - MAX_ROWS);
        }
    }
    md.push('\n');
    md
}

/// `file:line:col`, or the location inside a document, or nothing.
fn place(f: &Finding) -> String {
    f.place().or_else(|| f.location.clone()).unwrap_or_default()
}

/// Text for a Markdown table cell: one line, pipes escaped, no raw HTML.
fn cell(s: &str) -> String {
    super::escape_controls(s, &[])
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for inside backticks in a table cell.
fn code_text(s: &str) -> String {
    super::escape_controls(s, &[])
        .replace('|', "\\|")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(file: &str, line: usize, from: &str, to: &str) -> Finding {
        Finding::new(Code::Pinned, Severity::Note, "pinned")
            .in_file(file)
            .at((line, 3))
            .reference(from)
            .replacement(to)
    }

    #[test]
    fn summary_groups_pins_by_file_and_lists_problems() {
        let findings = vec![
            pinned("a.yaml", 3, "nginx:1.27", "nginx:1.27@sha256:aa"),
            pinned("a.yaml", 9, "redis:7", "redis:7@sha256:bb"),
            pinned("b/Dockerfile", 1, "alpine", "alpine:latest@sha256:cc"),
            Finding::new(
                Code::ResolveFailed,
                Severity::Error,
                "tag 9 | not found <here>",
            )
            .in_file("c.yaml")
            .at((4, 12)),
            Finding::new(Code::AlreadyPinned, Severity::Note, "quiet"),
        ];
        let md = markdown("pin", "3 files scanned", &findings);
        assert!(
            md.starts_with("### imgpin pin\n\n3 files scanned\n"),
            "{md}"
        );
        assert_eq!(
            md.matches("| Line | Reference | Pinned as |").count(),
            2,
            "{md}"
        );
        assert!(
            md.contains("| 9 | `redis:7` | `redis:7@sha256:bb` |"),
            "{md}"
        );
        assert!(md.contains(
            "| error | c.yaml:4:12 | `resolve-failed` | tag 9 \\| not found &lt;here&gt; |"
        ));
        assert!(!md.contains("quiet"));
    }

    #[test]
    fn outputs_count_changes_problems_and_unpinned() {
        let summary = Summary {
            files_changed: 2,
            unpinned: 5,
            ..Summary::default()
        };
        let findings = vec![
            Finding::new(Code::Unpinned, Severity::Problem, "x"),
            Finding::new(Code::ResolveFailed, Severity::Error, "y"),
            Finding::new(Code::Skipped, Severity::Note, "z"),
        ];
        let mut extra = BTreeMap::new();
        extra.insert("sarif-file", "out.sarif".to_string());
        let out = outputs(Some(&summary), &findings, &extra);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "before=1\n").unwrap();
        append_outputs(&path, &out).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "before=1\nchanged=2\nfindings=2\nsarif-file=out.sarif\nunpinned=5\n"
        );
    }
}
