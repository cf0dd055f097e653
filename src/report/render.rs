//! Renderers: human text, JSON, GitHub workflow commands and SARIF.
//!
//! Text: diffs and problems on stdout (they are the answer), errors,
//! warnings, notes and the summary on stderr. JSON: one document on stdout
//! at the end. GitHub: `::error file=…,line=…,col=…::…` lines that become
//! pull-request annotations, plus the diff as text. SARIF 2.1.0: one log on
//! stdout at the end, one result per finding (for code-scanning uploads).

use super::files::{self, ReportFiles};
use super::{Code, Finding, Severity, Status, Summary};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

/// Output format, chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text (default).
    #[default]
    Text,
    /// One JSON document on stdout (schema in docs/json-schema.md).
    Json,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// One SARIF 2.1.0 log on stdout: one result per finding (code scanning).
    Sarif,
}

/// When to colour text output, chosen with `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl Color {
    fn enabled(self, is_tty: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

#[derive(Serialize)]
struct FileChange {
    file: PathBuf,
    diff: String,
}

#[derive(Serialize)]
struct JsonReport<'a, T: Serialize> {
    version: u32,
    command: &'a str,
    findings: &'a [Finding],
    changes: &'a [FileChange],
    summary: &'a Summary,
    /// Fields a command adds to the document (`ecs pin`: the task definition).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a T>,
}

/// Writes what a command found, in the chosen format.
pub struct Printer {
    format: Format,
    color_out: bool,
    color_err: bool,
    quiet: bool,
    verbose: bool,
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    findings: Vec<Finding>,
    changes: Vec<FileChange>,
    status: Status,
    /// GitHub annotations go to stderr: stdout carries the command's answer.
    annotations_on_stderr: bool,
    /// Side reports (SARIF, job summary, step outputs; they need every
    /// finding in `findings`, whatever the format) and the outputs a command sets.
    files: ReportFiles,
    outputs: BTreeMap<&'static str, String>,
    /// The progress bar (disabled unless stderr is a terminal), erased
    /// before anything is printed.
    progress: super::Progress,
}

impl Drop for Printer {
    /// A run that ends early (an error) leaves no bar behind.
    fn drop(&mut self) {
        self.progress.finish();
    }
}

impl Printer {
    /// A printer on the process's stdout and stderr.
    pub fn stdio(format: Format, color: Color, quiet: bool, verbose: bool) -> Printer {
        let color_out = color.enabled(io::stdout().is_terminal());
        let color_err = color.enabled(io::stderr().is_terminal());
        let mut printer = Printer::new(
            format,
            (color_out, color_err),
            quiet,
            verbose,
            // One write per 64 KiB, not one per line: a run with 20,000
            // findings made 20,000 write calls. Stderr stays unbuffered, and
            // stdout is flushed before each stderr line, so the two streams
            // keep their order on a terminal.
            Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout())),
            Box::new(io::stderr()),
        );
        let bar = !quiet
            && matches!(format, Format::Text | Format::Github)
            && super::progress::stderr_can_draw();
        printer.progress = super::Progress::stderr(bar);
        printer
    }

    /// The run's progress bar (a disabled handle unless stderr is a terminal).
    pub fn progress(&self) -> super::Progress {
        self.progress.clone()
    }

    /// A printer on any writers (tests use buffers).
    pub fn new(
        format: Format,
        (color_out, color_err): (bool, bool),
        quiet: bool,
        verbose: bool,
        out: Box<dyn Write>,
        err: Box<dyn Write>,
    ) -> Printer {
        Printer {
            format,
            color_out,
            color_err,
            quiet,
            verbose,
            out,
            err,
            findings: Vec::new(),
            changes: Vec::new(),
            status: Status::Clean,
            annotations_on_stderr: false,
            files: ReportFiles::default(),
            outputs: BTreeMap::new(),
            progress: super::Progress::default(),
        }
    }

    /// Also write these side reports when the command finishes.
    pub fn with_files(mut self, files: ReportFiles) -> Printer {
        self.files = files;
        self
    }

    /// Set a step output (`--github-output`) beyond `changed`, `findings`
    /// and `unpinned`, or override one of those.
    pub fn set_output(&mut self, name: &'static str, value: impl ToString) {
        self.outputs.insert(name, value.to_string());
    }

    /// Send GitHub annotations to stderr, for a command whose stdout is a
    /// document or an ARN (`ecs pin`); the runner reads workflow commands
    /// from both streams.
    pub fn annotations_on_stderr(mut self) -> Printer {
        self.annotations_on_stderr = true;
        self
    }

    /// Whether `-v` was given.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Show the diff of one file.
    pub fn diff(&mut self, file: PathBuf, diff: String) -> io::Result<()> {
        self.progress.clear();
        match self.format {
            Format::Json | Format::Sarif => {
                self.changes.push(FileChange { file, diff });
                Ok(())
            }
            Format::Text | Format::Github => write_diff(&mut self.out, self.color_out, &diff),
        }
    }

    /// Show a diff that is not the command's answer (stdout carries a
    /// document): on stderr in text and GitHub formats, unless `--quiet`;
    /// under `changes` in JSON.
    pub fn side_diff(&mut self, file: PathBuf, diff: String) -> io::Result<()> {
        self.progress.clear();
        match self.format {
            Format::Json | Format::Sarif => {
                self.changes.push(FileChange { file, diff });
                Ok(())
            }
            Format::Text | Format::Github if self.quiet => Ok(()),
            Format::Text | Format::Github => {
                let color = self.color_err;
                write_diff(self.err()?, color, &diff)
            }
        }
    }

    /// Stderr, after what stdout holds is written: the streams keep their
    /// order where both reach one terminal.
    fn err(&mut self) -> io::Result<&mut Box<dyn Write>> {
        self.out.flush()?;
        Ok(&mut self.err)
    }

    /// Write the command's answer (a document, a table) to stdout as it is.
    pub fn answer(&mut self, text: &str) -> io::Result<()> {
        self.progress.clear();
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// The exit status the findings reported so far imply.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Report each of `findings`.
    pub fn findings(&mut self, findings: impl IntoIterator<Item = Finding>) -> io::Result<()> {
        findings.into_iter().try_for_each(|f| self.finding(f))
    }

    /// Report one finding.
    pub fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.status = self.status.max(Status::of(std::slice::from_ref(&finding)));
        match self.format {
            Format::Json | Format::Sarif => {
                self.findings.push(finding);
                return Ok(());
            }
            Format::Github => {
                self.progress.clear();
                self.github(&finding)?;
            }
            Format::Text => {
                self.progress.clear();
                self.text(&finding)?;
            }
        }
        if self.files.any() {
            self.findings.push(finding);
        }
        Ok(())
    }

    /// A line for `-v` output (credential sources, fallbacks); text only, on stderr.
    pub fn info(&mut self, text: &str) -> io::Result<()> {
        if self.verbose && self.format == Format::Text {
            self.progress.clear();
            writeln!(self.err()?, "imgpin: {}", super::escape_controls(text, &[]))?;
        }
        Ok(())
    }

    fn shown(&self, finding: &Finding) -> bool {
        match finding.severity {
            Severity::Error | Severity::Problem => {
                // The diff already shows what was pinned.
                finding.code != Code::Pinned || self.verbose
            }
            Severity::Warning => !self.quiet,
            Severity::Note => {
                let chatty = matches!(
                    finding.code,
                    Code::AlreadyPinned | Code::Pinned | Code::BuiltHere | Code::Ignored
                );
                !self.quiet && (self.verbose || !chatty)
            }
        }
    }

    fn text(&mut self, finding: &Finding) -> io::Result<()> {
        if !self.shown(finding) {
            return Ok(());
        }
        let to_out = finding.severity == Severity::Problem;
        let color = if to_out {
            self.color_out
        } else {
            self.color_err
        };
        let place = place(finding);
        let label = finding.severity.label();
        let label = if color {
            let c = match finding.severity {
                Severity::Error => RED,
                Severity::Problem | Severity::Warning => YELLOW,
                Severity::Note => CYAN,
            };
            format!("{BOLD}{c}{label}{RESET}")
        } else {
            label.to_string()
        };
        let w = if to_out { &mut self.out } else { self.err()? };
        writeln!(
            w,
            "{place}{label}: {}",
            super::escape_controls(&finding.message, &[])
        )
    }

    fn github(&mut self, finding: &Finding) -> io::Result<()> {
        let level = match finding.severity {
            Severity::Error | Severity::Problem => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let told = matches!(finding.code, Code::Skipped | Code::Updated | Code::Settling);
        if finding.severity == Severity::Note && !self.verbose && !told {
            return Ok(());
        }
        let mut props = Vec::new();
        if let Some(file) = &finding.file {
            let file = file.display().to_string();
            let file = super::escape_controls(&file, &['\r', '\n']);
            props.push(format!("file={}", gh_property(&file)));
        }
        if let Some(line) = finding.line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = finding.column {
            props.push(format!("col={col}"));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        let message = super::escape_controls(&finding.message, &['\r', '\n']);
        let line = format!("::{level}{props}::{}", gh_data(&message));
        if self.annotations_on_stderr {
            writeln!(self.err()?, "{line}")
        } else {
            writeln!(self.out, "{line}")
        }
    }

    /// Print the summary (text: one line on stderr; JSON: the whole document).
    pub fn finish(&mut self, command: &str, summary: &Summary, line: &str) -> io::Result<()> {
        self.finish_with::<()>(command, summary, line, None)
    }

    /// Like [`Printer::finish`], with `extra`'s fields (a struct or a map)
    /// added to the JSON document.
    pub fn finish_with<T: Serialize>(
        &mut self,
        command: &str,
        summary: &Summary,
        line: &str,
        extra: Option<&T>,
    ) -> io::Result<()> {
        self.progress.finish();
        match self.format {
            Format::Json => {
                let report = JsonReport {
                    version: 1,
                    command,
                    findings: &self.findings,
                    changes: &self.changes,
                    summary,
                    extra,
                };
                serde_json::to_writer_pretty(&mut self.out, &report)?;
                writeln!(self.out)?;
            }
            Format::Sarif => self.sarif()?,
            Format::Text | Format::Github => {
                if !self.quiet {
                    writeln!(self.err()?, "imgpin: {line}")?;
                }
            }
        }
        self.write_files(command, Some(summary), line)?;
        self.out.flush()?;
        self.err.flush()
    }

    /// Write the side reports asked for (`--sarif-file`, `--summary-file`,
    /// `--github-output`).
    fn write_files(
        &mut self,
        command: &str,
        summary: Option<&Summary>,
        line: &str,
    ) -> io::Result<()> {
        let all = &self.findings;
        if let Some(path) = &self.files.sarif {
            std::fs::write(path, self.sarif_text()?)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        if let Some(path) = &self.files.summary {
            files::append(path, &files::markdown(command, line, all))?;
        }
        if let Some(path) = &self.files.outputs {
            let mut extra = self.outputs.clone();
            if let Some(sarif) = &self.files.sarif {
                extra.insert("sarif-file", sarif.display().to_string());
            }
            files::append_outputs(path, &files::outputs(summary, all, &extra))?;
        }
        Ok(())
    }

    /// Like [`Printer::finish`] for a command with its own JSON document: in JSON
    /// format, prints `{"version": 1, "command": …, <document's fields>, "findings": […]}`;
    /// the other formats behave as [`Printer::finish`] does (text: `line` on stderr).
    pub fn finish_document(
        &mut self,
        command: &str,
        line: &str,
        document: serde_json::Map<String, serde_json::Value>,
    ) -> io::Result<()> {
        self.progress.finish();
        if self.format != Format::Json {
            return self.finish(command, &Summary::default(), line);
        }
        self.write_files(command, None, line)?;
        let mut out = serde_json::Map::new();
        out.insert("version".into(), 1.into());
        out.insert("command".into(), command.into());
        out.extend(document);
        out.insert("findings".into(), serde_json::to_value(&self.findings)?);
        serde_json::to_writer_pretty(&mut self.out, &out)?;
        writeln!(self.out)?;
        self.out.flush()?;
        self.err.flush()
    }

    /// The SARIF 2.1.0 log of the findings shown at this verbosity, on stdout.
    fn sarif(&mut self) -> io::Result<()> {
        let text = self.sarif_text()?;
        self.out.write_all(text.as_bytes())
    }

    /// The SARIF 2.1.0 log of the findings shown at this verbosity, as text.
    fn sarif_text(&self) -> io::Result<String> {
        let shown: Vec<&Finding> = self.findings.iter().filter(|f| self.shown(f)).collect();
        let mut text = serde_json::to_string_pretty(&sarif_log(&shown))?;
        text.push('\n');
        Ok(text)
    }
}

/// A SARIF 2.1.0 log: one run, one rule per finding code used, one result per finding
/// (`ruleId` = the code, `level` error/warning/note, a physical location when the
/// finding has a file).
fn sarif_log(findings: &[&Finding]) -> serde_json::Value {
    use serde_json::json;
    let code_of = |f: &Finding| {
        serde_json::to_value(f.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut rule_ids: Vec<String> = findings.iter().map(|f| code_of(f)).collect();
    rule_ids.sort();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| {
            json!({"id": id, "shortDescription": {"text": format!("imgpin finding {id} (docs/messages.md)")}})
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                Severity::Error | Severity::Problem => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            let mut result = json!({
                "ruleId": code_of(f),
                "level": level,
                "message": {"text": f.message},
            });
            if let Some(file) = &f.file {
                let uri = file.display().to_string().replace('\\', "/");
                let mut location = json!({"artifactLocation": {"uri": uri}});
                if let Some(line) = f.line {
                    let mut region = json!({"startLine": line});
                    if let Some(col) = f.column {
                        region["startColumn"] = col.into();
                    }
                    location["region"] = region;
                }
                result["locations"] = json!([{"physicalLocation": location}]);
            } else if let Some(label) = &f.location {
                result["locations"] =
                    json!([{"logicalLocations": [{"fullyQualifiedName": label}]}]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "imgpin",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// Write a unified diff, coloured line by line when `color` (CRLF kept).
fn write_diff(w: &mut dyn Write, color: bool, diff: &str) -> io::Result<()> {
    // A file's own bytes may hold terminal escapes: shown, not obeyed.
    let diff = super::escape_controls(diff, &['\t', '\r', '\n']);
    if !color {
        return w.write_all(diff.as_bytes());
    }
    for line in diff.split_inclusive('\n') {
        let color = if line.starts_with("+++") || line.starts_with("---") {
            BOLD
        } else if line.starts_with('+') {
            GREEN
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with("@@") {
            CYAN
        } else {
            ""
        };
        if color.is_empty() {
            w.write_all(line.as_bytes())?;
        } else {
            let body = line.trim_end_matches(['\n', '\r']);
            let end = &line[body.len()..];
            write!(w, "{color}{body}{RESET}{end}")?;
        }
    }
    Ok(())
}

fn place(f: &Finding) -> String {
    f.place()
        .map(|p| format!("{}: ", super::escape_controls(&p, &[])))
        .unwrap_or_default()
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Stdout is buffered; whatever goes to stderr comes after what
    /// stdout holds, so both streams on one terminal keep their order.
    #[test]
    fn buffered_stdout_is_written_before_each_stderr_line() {
        let both = Buf::default();
        let mut p = Printer::new(
            Format::Text,
            (false, false),
            false,
            true,
            Box::new(io::BufWriter::new(both.clone())),
            Box::new(both.clone()),
        );
        let problem = |m: &str| Finding::new(Code::Unpinned, Severity::Problem, m);
        p.finding(problem("one")).unwrap();
        p.finding(Finding::new(Code::Skipped, Severity::Warning, "two"))
            .unwrap();
        p.finding(problem("three")).unwrap();
        p.info("four").unwrap();
        assert_eq!(
            both.text(),
            "problem: one\nwarning: two\nproblem: three\nimgpin: four\n"
        );
    }

    fn printer(format: Format) -> (Printer, Buf, Buf) {
        let (o, e) = (Buf::default(), Buf::default());
        let p = Printer::new(
            format,
            (false, false),
            false,
            false,
            Box::new(o.clone()),
            Box::new(e.clone()),
        );
        (p, o, e)
    }

    fn unpinned() -> Finding {
        Finding::new(
            Code::Unpinned,
            Severity::Problem,
            "nginx:1.27 is not pinned to a digest",
        )
        .in_file("k8s/web,prod.yaml")
        .at((3, 14))
        .reference("nginx:1.27")
    }

    #[test]
    fn text_puts_problems_on_stdout_with_place() {
        let (mut p, o, e) = printer(Format::Text);
        p.finding(unpinned()).unwrap();
        p.finding(Finding::new(Code::ResolveFailed, Severity::Error, "boom").in_file("a.json"))
            .unwrap();
        p.finish("check", &Summary::default(), "1 reference")
            .unwrap();
        assert_eq!(
            o.text(),
            "k8s/web,prod.yaml:3:14: problem: nginx:1.27 is not pinned to a digest\n"
        );
        assert_eq!(e.text(), "a.json: error: boom\nimgpin: 1 reference\n");
    }

    #[test]
    fn annotations_can_go_to_stderr_when_stdout_is_an_answer() {
        let (p, o, e) = printer(Format::Github);
        let mut p = p.annotations_on_stderr();
        p.finding(unpinned()).unwrap();
        p.answer("{}\n").unwrap();
        assert_eq!(o.text(), "{}\n");
        assert!(e.text().starts_with("::error file="), "{}", e.text());
    }

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        let evil = Finding::new(
            Code::ReadError,
            Severity::Error,
            "value\u{1b}[2J\n::error::forged",
        )
        .in_file("dir/a\u{1b}]8;;x\u{7}\n::error file=x::forged.yaml")
        .at((3, 5));
        let (mut p, out, err) = printer(Format::Text);
        p.finding(evil.clone()).unwrap();
        let (mut g, gout, _) = printer(Format::Github);
        g.finding(evil).unwrap();
        for shown in [out.text() + &err.text(), gout.text()] {
            assert!(
                !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
                "{shown:?}"
            );
            assert_eq!(shown.lines().count(), 1, "{shown:?}");
            assert!(
                !shown.lines().any(|l| l.starts_with("::error file=x")),
                "{shown:?}"
            );
        }
        assert!(err.text().starts_with("dir/a\\x1b]8;;x\\x07\\n::error file=x::forged.yaml:3:5: error: value\\x1b[2J\\n::error::forged"), "{}", err.text());
        assert_eq!(
            crate::report::escape_controls("caf\u{e9}\u{9b}", &[]),
            "caf\u{e9}\\u{9b}"
        );
    }

    #[test]
    fn github_lines_are_workflow_commands() {
        let (mut p, o, _) = printer(Format::Github);
        p.finding(unpinned()).unwrap();
        p.finding(Finding::new(
            Code::ResolveFailed,
            Severity::Error,
            "50% done\nnext",
        ))
        .unwrap();
        assert_eq!(
            o.text(),
            "::error file=k8s/web%2Cprod.yaml,line=3,col=14::nginx:1.27 is not pinned to a digest\n::error::50%25 done%0Anext\n"
        );
    }

    #[test]
    fn json_is_one_document() {
        let (mut p, o, e) = printer(Format::Json);
        p.finding(unpinned()).unwrap();
        p.diff("a.yaml".into(), "--- a\n".into()).unwrap();
        p.finish(
            "check",
            &Summary {
                unpinned: 1,
                ..Summary::default()
            },
            "x",
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&o.text()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["command"], "check");
        assert_eq!(v["findings"][0]["kind"], "unpinned");
        assert_eq!(v["changes"][0]["file"], "a.yaml");
        assert_eq!(v["summary"]["unpinned"], 1);
        assert_eq!(e.text(), "");
    }

    #[test]
    fn side_diff_goes_to_stderr_and_the_answer_to_stdout() {
        let (mut p, o, e) = printer(Format::Text);
        p.side_diff("web:3".into(), "-a\n+b\n".into()).unwrap();
        p.answer("{}\n").unwrap();
        assert_eq!(o.text(), "{}\n");
        assert_eq!(e.text(), "-a\n+b\n");
        let (mut p, o, e) = printer(Format::Json);
        p.side_diff("web:3".into(), "-a\n".into()).unwrap();
        #[derive(Serialize)]
        struct Extra {
            changed: bool,
        }
        p.finish_with(
            "ecs pin",
            &Summary::default(),
            "x",
            Some(&Extra { changed: true }),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&o.text()).unwrap();
        assert_eq!(v["changes"][0]["file"], "web:3");
        assert_eq!(v["changed"], true);
        assert_eq!(e.text(), "");
    }

    #[test]
    fn sarif_has_one_result_per_finding_with_region() {
        let (mut p, o, _) = printer(Format::Sarif);
        p.finding(unpinned()).unwrap();
        p.finding(Finding::new(Code::ResolveFailed, Severity::Error, "boom").location("svc web"))
            .unwrap();
        p.finding(Finding::new(Code::TagMoved, Severity::Warning, "moved").in_file("a.yaml"))
            .unwrap();
        p.finish("check", &Summary::default(), "x").unwrap();
        let v: serde_json::Value = serde_json::from_str(&o.text()).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0]["ruleId"], "unpinned");
        assert_eq!(results[0]["level"], "error");
        let loc = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "k8s/web,prod.yaml");
        assert_eq!(loc["region"]["startLine"], 3);
        assert_eq!(loc["region"]["startColumn"], 14);
        assert_eq!(results[1]["level"], "error");
        assert_eq!(
            results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "svc web"
        );
        assert_eq!(results[2]["level"], "warning");
        assert!(results[2]["locations"][0]["physicalLocation"]["region"].is_null());
        let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
    }

    #[test]
    fn finish_document_merges_the_command_document() {
        let (mut p, o, _) = printer(Format::Json);
        p.finding(unpinned()).unwrap();
        let mut doc = serde_json::Map::new();
        doc.insert("results".into(), serde_json::json!([1]));
        p.finish_document("lifecycle", "x", doc).unwrap();
        let v: serde_json::Value = serde_json::from_str(&o.text()).unwrap();
        assert_eq!(v["command"], "lifecycle");
        assert_eq!(v["results"][0], 1);
        assert_eq!(v["findings"][0]["kind"], "unpinned");
    }

    #[test]
    fn colour_wraps_diff_lines_but_keeps_crlf() {
        let (o, e) = (Buf::default(), Buf::default());
        let mut p = Printer::new(
            Format::Text,
            (true, false),
            false,
            false,
            Box::new(o.clone()),
            Box::new(e),
        );
        p.diff("f".into(), "-a\r\n+b\n c\n".into()).unwrap();
        assert_eq!(
            o.text(),
            format!("{RED}-a{RESET}\r\n{GREEN}+b{RESET}\n c\n")
        );
    }
}
