//! The pinning rules, as pure functions: scanned files plus resolved digests
//! in, edits and findings out.
//!
//! - An unpinned reference gets `@digest` appended, keeping the user's
//!   spelling of name and tag; with no tag it is written `name:latest@…`.
//! - A reference that carries a digest is left alone, unless `--update`
//!   asks to follow its tag and the tag now points elsewhere.
//! - Templated and other non-literal values are never rewritten.

use crate::digest::Digest;
use crate::edit::Edit;
use crate::reference::ImageRef;
use crate::report::{Code, Finding, Severity, Summary};
use crate::resolve::{Resolutions, Resolved};
use crate::scan::{Item, ScannedFile, Value};
use std::collections::BTreeMap;

/// The key a tag reference is resolved under: the canonical name and the
/// tag (`latest` when none), so every spelling of one image resolves once.
pub fn tag_key(reference: &ImageRef) -> String {
    format!(
        "{}:{}",
        reference.canonical_name(),
        reference.tag_or_latest()
    )
}

/// The key a pinned reference's digest is checked under: the canonical name
/// and the digest, so every spelling of one pinned image is checked once.
/// `None` for a reference without a digest.
pub fn digest_key(reference: &ImageRef) -> Option<String> {
    reference
        .digest()
        .map(|d| format!("{}@{d}", reference.canonical_name()))
}

/// How `pin` treats references.
#[derive(Debug, Clone, Copy, Default)]
pub struct PinOptions {
    /// Re-resolve the tag of pinned references and replace a digest whose tag moved.
    pub update: bool,
    /// `--check`: changes are problems (exit 1), nothing is written.
    pub check: bool,
}

/// The tag references a pin run must resolve, one per [`tag_key`], in a stable order.
pub fn wanted(files: &[ScannedFile], options: PinOptions) -> Vec<ImageRef> {
    let mut unique = BTreeMap::new();
    for item in files.iter().flat_map(|f| &f.items) {
        if let Value::Reference(r) = &item.value {
            let follow = !r.is_pinned() || (options.update && r.tag().is_some());
            if follow {
                unique.entry(tag_key(r)).or_insert_with(|| r.clone());
            }
        }
    }
    unique.into_values().collect()
}

/// What pinning does to one file.
#[derive(Debug, Default)]
pub struct FilePlan {
    /// Splices to apply to the original bytes.
    pub edits: Vec<Edit>,
    /// What to tell the user, in file order.
    pub findings: Vec<Finding>,
    /// Counts to add to the summary.
    pub summary: Summary,
}

fn finding(
    file: &ScannedFile,
    item: &Item,
    code: Code,
    severity: Severity,
    message: String,
) -> Finding {
    Finding::new(code, severity, message)
        .in_file(&file.path)
        .at(item.line_col)
        .reference(item.occurrence.text.clone())
        .location(item.occurrence.location.clone())
}

impl FilePlan {
    fn push(
        &mut self,
        file: &ScannedFile,
        item: &Item,
        code: Code,
        severity: Severity,
        message: String,
    ) {
        self.findings
            .push(finding(file, item, code, severity, message));
    }

    /// A registry failure for `item`.
    fn failed(&mut self, file: &ScannedFile, item: &Item, message: String) {
        self.summary.failed += 1;
        self.push(file, item, Code::ResolveFailed, Severity::Error, message);
    }

    /// The reference in `item`; or, for an invalid or non-literal value, its
    /// finding (skipped values at `skip_severity`, saying they cannot be `verb`).
    fn reference<'f>(
        &mut self,
        file: &ScannedFile,
        item: &'f Item,
        verb: &str,
        skip_severity: Severity,
    ) -> Option<&'f ImageRef> {
        let text = &item.occurrence.text;
        match &item.value {
            Value::Reference(r) => return Some(r),
            Value::Invalid(err) => {
                self.summary.failed += 1;
                let message = format!("invalid image reference {text:?}: {err}");
                self.push(file, item, Code::InvalidReference, Severity::Error, message);
            }
            Value::Skipped(reason) => {
                self.summary.skipped += 1;
                let message = format!("{text:?} cannot be {verb}: {reason}");
                self.push(file, item, Code::Skipped, skip_severity, message);
            }
        }
        None
    }
}

/// Plan `pin` for one file.
pub fn plan_pin(file: &ScannedFile, resolutions: &Resolutions, options: PinOptions) -> FilePlan {
    let mut plan = FilePlan::default();
    plan.summary.references = file.items.len();
    let changed = if options.check {
        Severity::Problem
    } else {
        Severity::Note
    };
    for item in &file.items {
        let text = &item.occurrence.text;
        let Some(r) = plan.reference(file, item, "pinned", Severity::Note) else {
            continue;
        };
        match r {
            r if r.is_pinned() && !options.update => {
                plan.summary.already_pinned += 1;
                plan.push(
                    file,
                    item,
                    Code::AlreadyPinned,
                    Severity::Note,
                    format!("{text} is already pinned"),
                );
            }
            r if r.is_pinned() && r.tag().is_none() => {
                plan.summary.already_pinned += 1;
                plan.push(
                    file,
                    item,
                    Code::AlreadyPinned,
                    Severity::Note,
                    format!("{text} is pinned by digest only; no tag to follow, not updatable"),
                );
            }
            r => match resolutions.get(&tag_key(r)) {
                Some(Ok(resolved)) => pin_one(file, item, r, resolved, changed, &mut plan),
                Some(Err(err)) => plan.failed(file, item, format!("{text}: {err}")),
                None => plan.failed(file, item, format!("{text}: not resolved")),
            },
        }
    }
    plan.summary.files_with_images = usize::from(!file.items.is_empty());
    plan.summary.files_changed = usize::from(!plan.edits.is_empty());
    plan
}

fn pin_one(
    file: &ScannedFile,
    item: &Item,
    r: &ImageRef,
    resolved: &Resolved,
    severity: Severity,
    plan: &mut FilePlan,
) {
    let digest: &Digest = &resolved.digest;
    if r.digest() == Some(digest) {
        plan.summary.already_pinned += 1;
        plan.push(
            file,
            item,
            Code::AlreadyPinned,
            Severity::Note,
            format!("{r} is pinned and its tag still points at that digest"),
        );
        return;
    }
    let replacement = r.pinned_text(digest);
    let verb = if r.is_pinned() {
        "tag moved; repin"
    } else {
        "pin"
    };
    plan.summary.pinned += 1;
    plan.findings.push(
        finding(
            file,
            item,
            Code::Pinned,
            severity,
            format!("{verb} {r} -> {replacement}"),
        )
        .replacement(replacement.clone()),
    );
    plan.edits.push(Edit {
        span: item.occurrence.span.clone(),
        replacement,
    });
}

/// Findings of the offline `check` for one file: every literal reference without a digest.
pub fn plan_check(file: &ScannedFile, strict: bool) -> FilePlan {
    let mut plan = FilePlan::default();
    plan.summary.references = file.items.len();
    plan.summary.files_with_images = usize::from(!file.items.is_empty());
    let skip = if strict {
        Severity::Problem
    } else {
        Severity::Note
    };
    for item in &file.items {
        let text = &item.occurrence.text;
        let Some(r) = plan.reference(file, item, "checked", skip) else {
            continue;
        };
        if r.is_pinned() {
            plan.summary.already_pinned += 1;
            let message = format!("{text} is pinned");
            plan.push(file, item, Code::AlreadyPinned, Severity::Note, message);
        } else {
            plan.summary.unpinned += 1;
            let message = format!("{text} is not pinned to a digest (run `imgpin pin --write`)");
            plan.push(file, item, Code::Unpinned, Severity::Problem, message);
        }
    }
    plan
}

impl std::ops::AddAssign<&Summary> for Summary {
    fn add_assign(&mut self, other: &Summary) {
        self.files_scanned += other.files_scanned;
        self.files_with_images += other.files_with_images;
        self.references += other.references;
        self.pinned += other.pinned;
        self.already_pinned += other.already_pinned;
        self.unpinned += other.unpinned;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.files_changed += other.files_changed;
        self.missing += other.missing;
        self.drifted += other.drifted;
    }
}

/// How `verify` judges what it finds.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// A tag that moved is a problem (exit 1), not a warning.
    pub strict: bool,
    /// Do not report references without a digest.
    pub pinned_only: bool,
}

/// What `verify` must ask registries: the pinned references (one per
/// [`digest_key`]) whose digest must exist, and the tagged pinned
/// references (one per [`tag_key`]) whose tag is checked for drift.
pub fn verify_wanted(files: &[ScannedFile]) -> (Vec<ImageRef>, Vec<ImageRef>) {
    let mut digests = BTreeMap::new();
    let mut tags = BTreeMap::new();
    for item in files.iter().flat_map(|f| &f.items) {
        if let Value::Reference(r) = &item.value {
            if let Some(key) = digest_key(r) {
                digests.entry(key).or_insert_with(|| r.clone());
                if r.tag().is_some() {
                    tags.entry(tag_key(r)).or_insert_with(|| r.clone());
                }
            }
        }
    }
    (
        digests.into_values().collect(),
        tags.into_values().collect(),
    )
}

/// Whether each pinned digest exists, keyed by [`digest_key`].
pub type Existence = std::collections::HashMap<String, Result<bool, crate::resolve::ResolveError>>;

/// Findings of `verify` over every file: missing digests, moved tags,
/// inconsistent pins across files, and (unless `pinned_only`) unpinned references.
pub fn plan_verify(
    files: &[ScannedFile],
    existence: &Existence,
    tags: &Resolutions,
    options: VerifyOptions,
) -> FilePlan {
    let mut plan = FilePlan::default();
    let mut by_tag: BTreeMap<String, Vec<(&ScannedFile, &Item, &Digest)>> = BTreeMap::new();
    for file in files {
        plan.summary.references += file.items.len();
        plan.summary.files_with_images += usize::from(!file.items.is_empty());
        for item in &file.items {
            let text = &item.occurrence.text;
            let Some(r) = plan.reference(file, item, "verified", Severity::Note) else {
                continue;
            };
            let (Some(digest), Some(key)) = (r.digest(), digest_key(r)) else {
                plan.summary.unpinned += 1;
                if !options.pinned_only {
                    plan.push(
                        file,
                        item,
                        Code::Unpinned,
                        Severity::Problem,
                        format!("{text} is not pinned to a digest (run `imgpin pin --write`)"),
                    );
                }
                continue;
            };
            match existence.get(&key) {
                Some(Ok(true)) => {
                    plan.summary.already_pinned += 1;
                    plan.push(
                        file,
                        item,
                        Code::AlreadyPinned,
                        Severity::Note,
                        format!("{text}: digest exists"),
                    );
                }
                Some(Ok(false)) => {
                    plan.summary.missing += 1;
                    plan.push(
                        file,
                        item,
                        Code::DigestMissing,
                        Severity::Problem,
                        format!("{text} — digest not found in registry (deleted?)"),
                    );
                }
                Some(Err(err)) => plan.failed(file, item, format!("{text}: {err}")),
                None => plan.failed(file, item, format!("{text}: not checked")),
            }
            if r.tag().is_some() {
                by_tag
                    .entry(tag_key(r))
                    .or_default()
                    .push((file, item, digest));
                // A tag that no longer resolves is not drift: the digest check above decides.
                if let Some(Ok(now)) = tags.get(&tag_key(r)) {
                    if &now.digest != digest {
                        plan.summary.drifted += 1;
                        let severity = if options.strict {
                            Severity::Problem
                        } else {
                            Severity::Warning
                        };
                        let message = format!(
                            "{text}: tag {} now points at {} (run `imgpin pin --update --write`)",
                            r.tag_or_latest(),
                            now.digest
                        );
                        plan.push(file, item, Code::TagMoved, severity, message);
                    }
                }
            }
        }
    }
    for (key, uses) in by_tag {
        let mut distinct: Vec<&Digest> = uses.iter().map(|(_, _, d)| *d).collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() < 2 {
            continue;
        }
        let places: Vec<String> = uses
            .iter()
            .map(|(f, i, d)| {
                format!(
                    "{}:{}:{} ({d})",
                    f.path.display(),
                    i.line_col.0,
                    i.line_col.1
                )
            })
            .collect();
        let (file, item, _) = uses[0];
        plan.findings.push(finding(
            file,
            item,
            Code::InconsistentPins,
            Severity::Problem,
            format!(
                "{key} is pinned to {} different digests: {}",
                distinct.len(),
                places.join(", ")
            ),
        ));
    }
    plan
}
