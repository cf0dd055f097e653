//! Findings and how they are shown.
//!
//! Findings are data, not errors: an unpinned reference, a skipped template
//! value or a registry that said 404 is a [`Finding`] with a stable
//! kebab-case [`Code`]. Commands collect them; the renderers here (text,
//! JSON, GitHub workflow commands) are the only code that writes to the
//! terminal, and [`Status`] turns what was found into the exit code.

mod files;
mod progress;
mod render;

pub use files::ReportFiles;
pub use progress::Progress;
pub use render::{Color, Format, Printer};

/// `s` with every control character (C0, DEL, C1) except those in `keep`
/// written as an escape (`\n`, `\r`, `\t`, `\x1b`, `\u{9b}`), so a file
/// name or value can neither start a line of its own (a forged GitHub
/// workflow command) nor drive the terminal.
pub fn escape_controls<'a>(s: &'a str, keep: &[char]) -> std::borrow::Cow<'a, str> {
    if !s.chars().any(|c| c.is_control() && !keep.contains(&c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep.contains(&c) || !c.is_control() => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

use serde::Serialize;
use std::path::PathBuf;

/// How serious a finding is. Errors make the exit code 2, problems 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Informational; never changes the exit code.
    Note,
    /// Worth a look; never changes the exit code.
    Warning,
    /// What the command checks for was found (exit 1).
    Problem,
    /// Something failed: a file did not parse, a registry did not answer (exit 2).
    Error,
}

impl Severity {
    /// The word shown in text output.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Problem => "problem",
            Severity::Error => "error",
        }
    }
}

/// The stable code of a finding; documented in docs/messages.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A literal reference carries no digest.
    Unpinned,
    /// A reference was (or would be) pinned.
    Pinned,
    /// A reference already carries a digest.
    AlreadyPinned,
    /// `pin --update` cannot refresh a reference pinned by digest only (no tag to follow).
    NotUpdatable,
    /// `pin --update` re-pinned a moved tag: which platforms changed, the revision and build time.
    Updated,
    /// `--settle`: a multi-platform index too recently built is left for a later run.
    Settling,
    /// A value is not a literal reference (template, empty, …) and was left alone.
    Skipped,
    /// A Compose service with `build:` names the image it builds: never pinned.
    BuiltHere,
    /// An `imgpin: ignore` comment leaves a reference alone.
    Ignored,
    /// A value does not follow the reference grammar.
    InvalidReference,
    /// The registry could not resolve a reference.
    ResolveFailed,
    /// A file could not be parsed.
    ParseError,
    /// A file could not be read.
    ReadError,
    /// A file was passed over (too large, a template, …).
    FileSkipped,
    /// A file could not be written.
    WriteError,
    /// A path given on the command line does not exist.
    PathNotFound,
    /// A pinned digest no longer exists in its registry (`verify`).
    DigestMissing,
    /// A pinned digest is in ECR's archive storage class (or being restored
    /// from it): listed, but pulls fail until it is restored (`verify`).
    DigestArchived,
    /// A pinned reference's tag now points at another digest (`verify`).
    TagMoved,
    /// An ECS container with `versionConsistency: disabled` names its image
    /// by tag: ECS resolves the tag at every task launch (`verify`, `ecs pin`).
    TagPerLaunch,
    /// The same `name:tag` is pinned to different digests in different places (`verify`).
    InconsistentPins,
    /// A pin is one platform's child manifest of the multi-arch index its tag points at (`verify`).
    PlatformChild,
    /// The pinned manifest does not serve the platform its file declares (`verify`).
    PlatformMismatch,
    /// A pinned index lists a child manifest for a platform in use, and that
    /// child is gone or archived: pulls on that platform fail (`verify`).
    PlatformChildMissing,
    /// The declared platform could not be checked against the pinned manifest (`verify`).
    PlatformUnchecked,
    /// An in-use image would be deleted by the lifecycle policy (`lifecycle`).
    LifecycleExpires,
    /// An in-use image would be archived (unpullable) by the lifecycle policy (`lifecycle`).
    LifecycleArchives,
    /// An in-use image may be acted on: on a later pass, or through a tie at a count
    /// boundary (`lifecycle`).
    LifecycleAtRisk,
    /// An in-use image is archived already: pulls fail now (`lifecycle`).
    LifecycleArchived,
    /// An in-use image is kept, but close to its rule's limit (`lifecycle`).
    LifecycleSoon,
    /// An in-use image is not in its repository's image list (`lifecycle`).
    LifecycleImageMissing,
    /// A tag-only reference was checked through the digest its tag points at now (`lifecycle`).
    LifecycleTagResolved,
    /// A repository has no lifecycle policy, so nothing expires (`lifecycle`).
    LifecycleNoPolicy,
    /// A `sinceImagePulled` rule applies and the registry excludes principals
    /// from pull-time updates (`lifecycle`).
    PullTimeExcluded,
    /// A lifecycle policy file was refused (`lifecycle --policy`).
    PolicyInvalid,
    /// A lifecycle policy is accepted, with a warning or note about it (`lifecycle`).
    PolicyNote,
    /// An AWS API call failed; the message names the action and the service's answer.
    AwsError,
    /// A protecting tag was, or would be, added to an in-use image (`lifecycle protect`).
    ProtectTag,
    /// The rule that keeps the protecting tags: missing, present, or not keeping every
    /// protected image (`lifecycle protect`).
    ProtectRule,
    /// A `--in-use` value could not be read.
    InUseInvalid,
}

impl Code {
    /// Every code, in declaration order (for documentation checks).
    pub const ALL: [Code; 40] = [
        Code::Unpinned,
        Code::Pinned,
        Code::AlreadyPinned,
        Code::NotUpdatable,
        Code::Updated,
        Code::Settling,
        Code::Skipped,
        Code::BuiltHere,
        Code::Ignored,
        Code::InvalidReference,
        Code::ResolveFailed,
        Code::ParseError,
        Code::ReadError,
        Code::FileSkipped,
        Code::WriteError,
        Code::PathNotFound,
        Code::DigestMissing,
        Code::DigestArchived,
        Code::TagMoved,
        Code::TagPerLaunch,
        Code::InconsistentPins,
        Code::PlatformChild,
        Code::PlatformMismatch,
        Code::PlatformChildMissing,
        Code::PlatformUnchecked,
        Code::LifecycleExpires,
        Code::LifecycleArchives,
        Code::LifecycleAtRisk,
        Code::LifecycleArchived,
        Code::LifecycleSoon,
        Code::LifecycleImageMissing,
        Code::LifecycleTagResolved,
        Code::LifecycleNoPolicy,
        Code::PullTimeExcluded,
        Code::PolicyInvalid,
        Code::PolicyNote,
        Code::AwsError,
        Code::ProtectTag,
        Code::ProtectRule,
        Code::InUseInvalid,
    ];

    /// The kebab-case name printed as `kind`.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One thing a command has to say, with its place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What kind of finding this is.
    #[serde(rename = "kind")]
    pub code: Code,
    /// How serious it is.
    pub severity: Severity,
    /// The file, when the finding has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The reference as written in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where in the document, e.g. `services.web.image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The text written in its place, for pinned references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// A sentence for people.
    pub message: String,
}

impl Finding {
    /// A finding with a code, a severity and a message; places are added with the builders.
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity,
            file: None,
            line: None,
            column: None,
            reference: None,
            location: None,
            replacement: None,
            message: message.into(),
        }
    }

    /// Attach a file.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Finding {
        self.file = Some(file.into());
        self
    }

    /// Attach a line and column.
    pub fn at(mut self, (line, column): (usize, usize)) -> Finding {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Attach the reference as written.
    pub fn reference(mut self, reference: impl Into<String>) -> Finding {
        self.reference = Some(reference.into());
        self
    }

    /// Attach the location inside the document.
    pub fn location(mut self, location: impl Into<String>) -> Finding {
        self.location = Some(location.into());
        self
    }

    /// `file:line:col` (or `file:line`, `file`) when the finding has a file.
    pub fn place(&self) -> Option<String> {
        let file = self.file.as_ref()?.display();
        Some(match (self.line, self.column) {
            (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
            (Some(line), None) => format!("{file}:{line}"),
            (None, _) => file.to_string(),
        })
    }

    /// Attach the replacement text.
    pub fn replacement(mut self, text: impl Into<String>) -> Finding {
        self.replacement = Some(text.into());
        self
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Files read and recognised or passed over.
    pub files_scanned: usize,
    /// Files that hold at least one image reference.
    pub files_with_images: usize,
    /// Image values found (literal or not).
    pub references: usize,
    /// References pinned (or that would be pinned).
    pub pinned: usize,
    /// References already carrying a digest.
    pub already_pinned: usize,
    /// References not pinned to a digest (`check`).
    pub unpinned: usize,
    /// Values that are not literal references.
    pub skipped: usize,
    /// Of `skipped`: images Compose services build (`build:`), not pull.
    pub built: usize,
    /// Of `skipped`: references an `imgpin: ignore` comment leaves alone.
    pub ignored: usize,
    /// References that could not be resolved or parsed.
    pub failed: usize,
    /// Files changed (or that would change).
    pub files_changed: usize,
    /// Files that could not be read, parsed or written.
    pub files_failed: usize,
    /// Pinned digests that no longer exist, or cannot be pulled because ECR
    /// archived them (`verify`).
    pub missing: usize,
    /// Of `missing`: digests ECR archived, or is restoring (`verify`).
    pub archived: usize,
    /// Pinned references whose tag moved (`verify`).
    pub drifted: usize,
}

/// The exit status of a run: 0 clean, 1 findings or changes needed, 2 errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing to report (exit 0).
    Clean,
    /// Findings, or changes needed with `--check` (exit 1).
    Findings,
    /// Something failed (exit 2).
    Error,
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::Error => 2,
        }
    }

    /// The status a set of findings implies.
    pub fn of(findings: &[Finding]) -> Status {
        findings
            .iter()
            .map(|f| match f.severity {
                Severity::Error => Status::Error,
                Severity::Problem => Status::Findings,
                _ => Status::Clean,
            })
            .max()
            .unwrap_or(Status::Clean)
    }
}

/// An error and its sources, each said once (by Display: an SDK error's
/// Debug form would dump the raw response), without the SDK's generic first
/// links, at most 400 characters. Never carries credentials.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    let joined = parts.join(": ");
    joined
        .trim_start_matches("dispatch failure: ")
        .trim_start_matches("failed to construct request: ")
        .chars()
        .take(400)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_takes_the_worst_finding() {
        let note = Finding::new(Code::Skipped, Severity::Note, "n");
        let problem = Finding::new(Code::Unpinned, Severity::Problem, "p");
        let error = Finding::new(Code::ResolveFailed, Severity::Error, "e");
        assert_eq!(Status::of(&[]), Status::Clean);
        assert_eq!(Status::of(std::slice::from_ref(&note)), Status::Clean);
        assert_eq!(
            Status::of(&[note.clone(), problem.clone()]),
            Status::Findings
        );
        assert_eq!(Status::of(&[problem, error, note]), Status::Error);
    }

    #[test]
    fn json_shape_is_stable() {
        let f = Finding::new(Code::Unpinned, Severity::Problem, "not pinned")
            .in_file("k8s/web.yaml")
            .at((3, 14))
            .reference("nginx:1.27");
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "unpinned", "severity": "problem", "file": "k8s/web.yaml",
                "line": 3, "column": 14, "reference": "nginx:1.27", "message": "not pinned"})
        );
    }
}

#[cfg(test)]
mod code_docs_tests {
    use super::Code;

    /// Every code is documented in docs/messages.md and allowed by the
    /// published schema: adding a code without both fails here.
    #[test]
    fn every_code_is_documented_and_in_the_schema() {
        let messages = include_str!("../../docs/messages.md");
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/output.schema.json")).unwrap();
        let kinds = schema["$defs"]["finding"]["properties"]["kind"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(kinds.len(), Code::ALL.len(), "schema kinds vs codes");
        for code in Code::ALL {
            let name = code.name();
            assert!(!name.is_empty());
            assert!(
                messages.contains(&format!("| `{name}` |")),
                "{name} not in docs/messages.md"
            );
            assert!(
                kinds.iter().any(|k| k == name.as_str()),
                "{name} not in the schema"
            );
        }
    }
}
