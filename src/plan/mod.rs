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
use crate::locate::SkipReason;
use crate::reference::ImageRef;
use crate::report::{Code, Finding, Severity, Summary};
use crate::resolve::{digest_key, digest_key_at, tag_key, Existence, Facts, Resolutions, Resolved};
use crate::scan::{Item, ScannedFile, Value};
use std::collections::BTreeMap;

pub mod update;

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
                let message = format!("invalid image reference {text:?}: {}", err.kind());
                self.push(file, item, Code::InvalidReference, Severity::Error, message);
            }
            Value::Skipped(reason @ (SkipReason::Ignored | SkipReason::IgnoredBy(_))) => {
                self.summary.skipped += 1;
                self.summary.ignored += 1;
                let message = format!("{text:?} is not {verb}: {reason} (audit with --no-ignore)");
                self.push(file, item, Code::Ignored, Severity::Note, message);
            }
            Value::Skipped(SkipReason::BuildOutput(service)) => {
                self.summary.skipped += 1;
                self.summary.built += 1;
                let message = format!(
                    "{text:?} is not {verb}: {service} builds it (it has `build:`); Compose tags the image it builds with this name"
                );
                self.push(file, item, Code::BuiltHere, Severity::Note, message);
            }
            Value::Skipped(reason) => {
                self.summary.skipped += 1;
                let message = format!("{text:?} cannot be {verb}: {reason}");
                // A match pattern (a policy's `image: "*:latest"`) is known
                // not to be an image that runs: a note even under `--strict`.
                let severity = match reason {
                    SkipReason::Pattern => Severity::Note,
                    // The written tag is not the one a chart renders: say so.
                    SkipReason::NumericTag(_) if skip_severity == Severity::Note => {
                        Severity::Warning
                    }
                    _ => skip_severity,
                };
                self.push(file, item, Code::Skipped, severity, message);
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
                    Code::NotUpdatable,
                    Severity::Warning,
                    format!("{text} is pinned by digest only; no tag to follow, not updatable"),
                );
            }
            r => match resolutions.get(&tag_key(r)) {
                Some(Ok(resolved)) => pin_one(file, item, r, resolved, changed, &mut plan),
                Some(Err(err)) if err.kind == crate::resolve::ErrorKind::Settling => {
                    let left = if r.is_pinned() {
                        plan.summary.already_pinned += 1;
                        "left at its pin"
                    } else {
                        plan.summary.skipped += 1;
                        "left unpinned for now"
                    };
                    let message =
                        format!("{text}: {left}: the tag points at a new index, but {err}");
                    plan.push(file, item, Code::Settling, Severity::Note, message);
                }
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
    let spliced = item.occurrence.pinned_text(r, digest);
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
        replacement: spliced,
    });
}

/// Findings of the offline `check` for one file: every literal reference
/// without a digest, handed to `take` 256 references at a time
/// (the counts of the pieces add up to the file's).
pub fn plan_check(file: &ScannedFile, strict: bool, take: &mut dyn FnMut(FilePlan)) {
    let skip = if strict {
        Severity::Problem
    } else {
        Severity::Note
    };
    // A piece at a time: a stream of 20,000 Deployments would otherwise
    // hold 20,000 findings (10 MB) beside its items until all are printed.
    for (piece, items) in file.items.chunks(CHECK_PIECE).enumerate() {
        let mut plan = FilePlan::default();
        plan.summary.references = items.len();
        plan.summary.files_with_images = usize::from(piece == 0);
        for item in items {
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
                let message =
                    format!("{text} is not pinned to a digest (run `imgpin pin --write`)");
                plan.push(file, item, Code::Unpinned, Severity::Problem, message);
            }
        }
        take(plan);
    }
}

/// References [`plan_check`] plans (and hands over) at a time.
const CHECK_PIECE: usize = 256;

impl std::ops::AddAssign<&Summary> for Summary {
    fn add_assign(&mut self, other: &Summary) {
        // Destructured, so a new count cannot be forgotten here.
        let Summary {
            files_scanned,
            files_with_images,
            references,
            pinned,
            already_pinned,
            unpinned,
            skipped,
            built,
            ignored,
            failed,
            files_changed,
            files_failed,
            missing,
            archived,
            drifted,
        } = other;
        self.files_scanned += files_scanned;
        self.files_with_images += files_with_images;
        self.references += references;
        self.pinned += pinned;
        self.already_pinned += already_pinned;
        self.unpinned += unpinned;
        self.skipped += skipped;
        self.built += built;
        self.ignored += ignored;
        self.failed += failed;
        self.files_changed += files_changed;
        self.files_failed += files_failed;
        self.missing += missing;
        self.archived += archived;
        self.drifted += drifted;
    }
}

/// How `verify` judges what it finds.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A tag that moved is a problem (exit 1), not a warning.
    pub strict: bool,
    /// Do not report references without a digest.
    pub pinned_only: bool,
    /// `--platform`: pins to this platform's child of the tag's index are
    /// what the user asked for, not the "one platform's child" mistake.
    pub platform: Option<crate::media::Platform>,
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

/// Why a tag-only image of an ECS container with `versionConsistency:
/// disabled` matters: ECS resolves it at every launch.
/// `fix` says how to pin it.
pub fn tag_per_launch(image: &str, fix: &str) -> String {
    format!(
        "{image}: versionConsistency is disabled, so ECS resolves this tag again at every task launch: a moved tag changes what new tasks run, and a rollback does not bring the old image back ({fix})"
    )
}

/// What a digest-existence answer means for `shown` (a reference, or a use
/// of one): the finding's code, severity and message, counted in `summary`
/// (a digest that exists, one that is gone or archived, or a check that failed).
pub fn existence_finding(
    answer: Option<&Result<bool, crate::resolve::ResolveError>>,
    shown: &str,
    summary: &mut Summary,
) -> (Code, Severity, String) {
    match answer {
        Some(Ok(true)) => {
            summary.already_pinned += 1;
            (
                Code::AlreadyPinned,
                Severity::Note,
                format!("{shown}: digest exists"),
            )
        }
        Some(Ok(false)) => {
            summary.missing += 1;
            (
                Code::DigestMissing,
                Severity::Problem,
                format!("{shown} — digest not found in registry (deleted?)"),
            )
        }
        Some(Err(err)) if err.kind == crate::resolve::ErrorKind::Archived => {
            // Listed but not pullable: counted with the digests that are gone.
            summary.missing += 1;
            summary.archived += 1;
            (
                Code::DigestArchived,
                Severity::Problem,
                format!("{shown} — {err}"),
            )
        }
        Some(Err(err)) => {
            summary.failed += 1;
            (
                Code::ResolveFailed,
                Severity::Error,
                format!("{shown}: {err}"),
            )
        }
        None => {
            summary.failed += 1;
            (
                Code::ResolveFailed,
                Severity::Error,
                format!("{shown}: not checked"),
            )
        }
    }
}

/// The manifests `verify` reads for its platform checks, once the digests
/// and tags are known: each existing pinned digest used where a platform is
/// declared or known (`uses`: the files' and the live sources', with its
/// platform, `true`), and the digest a moved tag points at now (`false`),
/// to tell whether the pin is one platform's child of it.
pub fn platform_wanted<'a>(
    files: &[ScannedFile],
    uses: impl IntoIterator<Item = &'a ImageRef>,
    existence: &Existence,
    tags: &Resolutions,
) -> Vec<(ImageRef, bool)> {
    let exists = |key: &String| matches!(existence.get(key), Some(Ok(true)));
    let mut wanted = BTreeMap::new();
    for pinned in uses {
        if let Some(key) = digest_key(pinned).filter(exists) {
            if let Ok(r) = ImageRef::parse(&key) {
                wanted.insert(key, (r, true));
            }
        }
    }
    for item in files.iter().flat_map(|f| &f.items) {
        let Value::Reference(r) = &item.value else {
            continue;
        };
        let (Some(digest), Some(key)) = (r.digest(), digest_key(r)) else {
            continue;
        };
        if !exists(&key) || r.tag().is_none() {
            continue;
        }
        if let Some(Ok(now)) = tags.get(&tag_key(r)) {
            if &now.digest != digest {
                let key = digest_key_at(r, &now.digest);
                if let Ok(current) = ImageRef::parse(&key) {
                    wanted.entry(key).or_insert((current, false));
                }
            }
        }
    }
    wanted.into_values().collect()
}

/// The platforms a manifest serves, as far as `facts` tell: an index's
/// children, an image's own platform, or the platform the index its tag
/// points at gives it (`child`). `None` when nothing says.
fn served_platforms<'a>(
    facts: &'a crate::media::ManifestFacts,
    child: Option<&'a crate::media::Child>,
) -> Option<Vec<&'a crate::media::Platform>> {
    let mut served = facts.platforms();
    if served.is_empty() {
        served.extend(child.and_then(|c| c.platform.as_ref()));
    }
    (!served.is_empty()).then_some(served)
}

/// The declared platforms (`os/arch`, `arch`, or `os`) that none of
/// `served` satisfies.
fn unserved(
    declared: &crate::locate::DeclaredPlatform,
    served: &[&crate::media::Platform],
) -> Vec<String> {
    let os_ok = |p: &crate::media::Platform| declared.os.as_ref().is_none_or(|os| &p.os == os);
    if declared.architectures.is_empty() {
        return match &declared.os {
            Some(os) if !served.iter().any(|p| os_ok(p)) => vec![os.clone()],
            _ => Vec::new(),
        };
    }
    declared
        .architectures
        .iter()
        .filter(|arch| !served.iter().any(|p| os_ok(p) && &p.architecture == *arch))
        .map(|arch| match &declared.os {
            Some(os) => format!("{os}/{arch}"),
            None => arch.clone(),
        })
        .collect()
}

fn platform_list(platforms: &[&crate::media::Platform]) -> String {
    let mut names: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
    names.sort();
    names.dedup();
    names.join(", ")
}

/// The children of the pinned index `facts` describes that `declared`
/// needs: for each declared architecture (or, with none, the declared
/// OS), the entries serving it, as (digest key, platform). An image
/// manifest, or an index entry without a platform (an attestation), needs none.
pub fn needed_children(
    pinned: &ImageRef,
    declared: &crate::locate::DeclaredPlatform,
    facts: &crate::media::ManifestFacts,
) -> Vec<(String, crate::media::Platform)> {
    let crate::media::ManifestFacts::Index { children } = facts else {
        return Vec::new();
    };
    children
        .iter()
        .filter_map(|c| Some((c, c.platform.as_ref()?)))
        .filter(|(_, p)| {
            declared.os.as_ref().is_none_or(|os| &p.os == os)
                && (declared.architectures.is_empty()
                    || declared.architectures.contains(&p.architecture))
        })
        .filter(|(c, _)| crate::digest::Digest::parse(&c.digest).is_ok())
        .map(|(c, p)| (digest_key_at(pinned, &c.digest), p.clone()))
        .collect()
}

/// The pinned references of the files whose place declares a platform, with it.
pub fn file_platform_uses(
    files: &[ScannedFile],
) -> Vec<(&ImageRef, &crate::locate::DeclaredPlatform)> {
    files
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|item| match (&item.value, &item.occurrence.platform) {
            (Value::Reference(r), Some(p)) if r.digest().is_some() => Some((r, &**p)),
            _ => None,
        })
        .collect()
}

/// Every child manifest `verify` must find for the platforms used:
/// `uses` are the pinned references with the platform each is run on.
pub fn children_wanted<'a>(
    uses: impl IntoIterator<Item = (&'a ImageRef, &'a crate::locate::DeclaredPlatform)>,
    existence: &Existence,
    facts: &Facts,
) -> Vec<ImageRef> {
    let mut wanted = BTreeMap::new();
    for (pinned, declared) in uses {
        let Some(key) = digest_key(pinned) else {
            continue;
        };
        if !matches!(existence.get(&key), Some(Ok(true))) {
            continue;
        }
        let Some(Ok(own)) = facts.get(&key) else {
            continue;
        };
        for (child, _) in needed_children(pinned, declared, own) {
            if existence.contains_key(&child) {
                continue;
            }
            if let Ok(r) = ImageRef::parse(&child) {
                wanted.insert(child, r);
            }
        }
    }
    wanted.into_values().collect()
}

/// What `verify` says of one existing pin used where `declared` runs:
/// the platforms the pinned manifest (or, for a pin to one child, the
/// index entry `child`) does not serve; a needed child manifest of a
/// pinned index that is gone or archived (the index is listed, but pulls
/// on that platform fail); or why the platform could not be checked.
pub(crate) fn platform_findings(
    text: &str,
    pinned: &ImageRef,
    declared: &crate::locate::DeclaredPlatform,
    child: Option<&crate::media::Child>,
    existence: &Existence,
    facts: &Facts,
) -> Vec<(Code, Severity, String)> {
    let Some(key) = digest_key(pinned) else {
        return Vec::new();
    };
    let own = facts.get(&key);
    let served = match own {
        Some(Ok(f)) => served_platforms(f, child),
        _ => None,
    };
    let mut out = Vec::new();
    match (own, served) {
        (Some(Ok(facts)), Some(served)) => {
            let missing = unserved(declared, &served);
            if !missing.is_empty() {
                out.push((
                    Code::PlatformMismatch,
                    Severity::Problem,
                    format!(
                        "{text}: {} needs {}, but the pinned manifest serves only {} (containers would fail with `exec format error`; pin a multi-arch index or a build for that platform)",
                        declared.source,
                        missing.join(", "),
                        platform_list(&served)
                    ),
                ));
            }
            for (child, platform) in needed_children(pinned, declared, facts) {
                let digest = child.rsplit_once('@').map_or(child.as_str(), |(_, d)| d);
                let gone = match existence.get(&child) {
                    Some(Ok(true)) => continue,
                    Some(Ok(false)) => "is gone from the registry".to_owned(),
                    Some(Err(e)) if e.kind == crate::resolve::ErrorKind::Archived => {
                        format!("cannot be pulled: {}", e.message)
                    }
                    Some(Err(e)) => {
                        out.push((
                            Code::PlatformUnchecked,
                            Severity::Warning,
                            format!("{text}: the {platform} manifest {digest} the pinned index lists was not checked: {e}"),
                        ));
                        continue;
                    }
                    None => continue,
                };
                out.push((
                    Code::PlatformChildMissing,
                    Severity::Problem,
                    format!(
                        "{text}: {} needs {platform}, and the pinned index lists manifest {digest} for it, which {gone}: pulls there fail with `manifest unknown` although the index exists (a lifecycle rule on untagged images deletes an index's children; pin a new build with `imgpin pin --update --write`)",
                        declared.source
                    ),
                ));
            }
        }
        (Some(Ok(_)), None) => out.push((
            Code::PlatformUnchecked,
            Severity::Note,
            format!(
                "{text}: cannot tell which platform the pinned image manifest serves, so {} was not checked (ECR serves image configs only through S3)",
                declared.source
            ),
        )),
        (Some(Err(err)), _) => out.push((
            Code::PlatformUnchecked,
            Severity::Warning,
            format!("{text}: {} not checked: {err}", declared.source),
        )),
        (None, _) => {}
    }
    out
}

/// Findings of `verify` over every file: missing digests, moved tags,
/// pins to one platform's child of a multi-arch index, images that do not
/// serve the platform their file declares, inconsistent pins across files,
/// and (unless `pinned_only`) unpinned references.
pub fn plan_verify(
    files: &[ScannedFile],
    existence: &Existence,
    tags: &Resolutions,
    facts: &Facts,
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
                if item.occurrence.tag_per_launch {
                    plan.push(
                        file,
                        item,
                        Code::TagPerLaunch,
                        Severity::Warning,
                        tag_per_launch(text, "pin it: `imgpin pin --write`"),
                    );
                }
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
            // The index the tag points at now, when the pin is one of its children.
            let now = r
                .tag()
                .and_then(|_| tags.get(&tag_key(r)))
                .and_then(|now| now.as_ref().ok());
            let parent = now.filter(|now| &now.digest != digest).and_then(|now| {
                let key = digest_key_at(r, &now.digest);
                let facts = facts.get(&key)?.as_ref().ok()?;
                Some((now, facts.child(digest.as_str())?))
            });
            let exists = matches!(existence.get(&key), Some(Ok(true)));
            let (code, severity, message) =
                existence_finding(existence.get(&key), text, &mut plan.summary);
            plan.push(file, item, code, severity, message);
            if r.tag().is_some() {
                by_tag
                    .entry(tag_key(r))
                    .or_default()
                    .push((file, item, digest));
                // A child pin is deliberate when it is the --platform asked
                // for, or serves everything the file declares.
                let deliberate = |child: &crate::media::Child| {
                    child.platform.as_ref().is_some_and(|own| {
                        options.platform.as_ref().is_some_and(|p| own.satisfies(p))
                            || item
                                .occurrence
                                .platform
                                .as_ref()
                                .is_some_and(|declared| unserved(declared, &[own]).is_empty())
                    })
                };
                if let Some((index, child)) = parent.filter(|(_, child)| !deliberate(child)) {
                    let platform = child
                        .platform
                        .as_ref()
                        .map_or("one platform's".to_string(), |p| p.to_string());
                    let message = format!(
                        "{text} is pinned to the {platform} manifest of the multi-arch index tag {} points at ({}); hosts of other architectures cannot run it (pin the index: `imgpin pin --update --write`)",
                        r.tag_or_latest(),
                        index.digest
                    );
                    plan.push(file, item, Code::PlatformChild, Severity::Warning, message);
                }
                // A tag that no longer resolves is not drift: the digest check above decides.
                if let (Some(now), None) = (now, parent) {
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
            if let (Some(declared), true) = (&item.occurrence.platform, exists) {
                let child = parent.map(|(_, c)| c);
                for (code, severity, message) in
                    platform_findings(text, r, declared, child, existence, facts)
                {
                    plan.push(file, item, code, severity, message);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Child, ManifestFacts};
    use crate::resolve::{Platform, Resolved};

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn platform(text: &str) -> Option<Platform> {
        Some(text.parse().unwrap())
    }

    fn file(name: &str, text: &str) -> ScannedFile {
        ScannedFile::from_bytes(std::path::Path::new(name), text.as_bytes().to_vec())
            .unwrap()
            .unwrap()
            .0
    }

    /// The pinned references of `files` used where a platform is declared.
    fn uses(files: &[ScannedFile]) -> Vec<&ImageRef> {
        file_platform_uses(files)
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    fn index(children: &[(char, &str)]) -> ManifestFacts {
        ManifestFacts::Index {
            children: children
                .iter()
                .map(|(c, p)| Child {
                    digest: d(*c),
                    platform: platform(p),
                })
                .collect(),
        }
    }

    fn image(p: Option<&str>) -> ManifestFacts {
        ManifestFacts::Image {
            platform: p.and_then(platform),
            config: Some(d('c')),
        }
    }

    /// `verify` over `files` where every pinned digest exists, with the
    /// tags and manifest facts given, as `(code, severity, message)`.
    fn verify(
        files: &[ScannedFile],
        tags: &[(&str, char)],
        facts: Vec<(String, ManifestFacts)>,
    ) -> Vec<(Code, Severity, String)> {
        verify_with(files, tags, facts, VerifyOptions::default())
    }

    fn verify_with(
        files: &[ScannedFile],
        tags: &[(&str, char)],
        facts: Vec<(String, ManifestFacts)>,
        options: VerifyOptions,
    ) -> Vec<(Code, Severity, String)> {
        let existence: Existence = verify_wanted(files)
            .0
            .iter()
            .map(|r| (digest_key(r).unwrap(), Ok(true)))
            .collect();
        let tags: Resolutions = tags
            .iter()
            .map(|(key, c)| {
                let digest = Digest::parse(&d(*c)).unwrap();
                (key.to_string(), Ok(Resolved { digest }))
            })
            .collect();
        let facts: Facts = facts.into_iter().map(|(k, f)| (k, Ok(f))).collect();
        plan_verify(files, &existence, &tags, &facts, options)
            .findings
            .into_iter()
            .filter(|f| f.code != Code::AlreadyPinned)
            .map(|f| (f.code, f.severity, f.message))
            .collect()
    }

    /// An archived digest is a problem counted with the missing ones, its
    /// message kept whole; a plain lookup failure stays an error.
    #[test]
    fn an_archived_digest_is_a_problem_counted_as_missing() {
        use crate::resolve::{ErrorKind, ResolveError};
        let mut summary = Summary::default();
        let archived = Err(ResolveError::new(
            ErrorKind::Archived,
            "digest sha256:bb… is ARCHIVED in the ECR archive; restore it with `aws ecr …`",
        ));
        let (code, severity, message) =
            existence_finding(Some(&archived), "x@sha256:bb", &mut summary);
        assert_eq!((code, severity), (Code::DigestArchived, Severity::Problem));
        assert_eq!(
            message,
            "x@sha256:bb — digest sha256:bb… is ARCHIVED in the ECR archive; restore it with `aws ecr …`"
        );
        assert_eq!(
            (summary.missing, summary.archived, summary.failed),
            (1, 1, 0)
        );
        let denied = Err(ResolveError::new(ErrorKind::Unauthorized, "access denied"));
        let (code, severity, _) = existence_finding(Some(&denied), "x", &mut summary);
        assert_eq!((code, severity), (Code::ResolveFailed, Severity::Error));
        assert_eq!((summary.missing, summary.failed), (1, 1));
    }

    /// `versionConsistency: disabled` with a tag-only image: ECS resolves
    /// the tag at every launch, a warning besides `unpinned` (also with
    /// `--pinned-only`); with a digest, or with consistency on, nothing.
    #[test]
    fn a_tag_resolved_at_every_launch_is_a_warning() {
        let td = |consistency: &str, image: &str| {
            file(
                "td.json",
                &format!(
                    r#"{{"family": "api", "containerDefinitions": [
                    {{"name": "app", "image": "{image}"{consistency}}}]}}"#
                ),
            )
        };
        let off = r#", "versionConsistency": "disabled""#;
        let found = verify(&[td(off, "api:1.4")], &[], Vec::new());
        let codes: Vec<(Code, Severity)> = found.iter().map(|(c, s, _)| (*c, *s)).collect();
        assert_eq!(
            codes,
            [
                (Code::TagPerLaunch, Severity::Warning),
                (Code::Unpinned, Severity::Problem)
            ]
        );
        assert!(
            found[0].2.starts_with("api:1.4: versionConsistency is disabled, so ECS resolves this tag again at every task launch"),
            "{}",
            found[0].2
        );
        let pinned_only = verify_with(
            &[td(off, "api:1.4")],
            &[],
            Vec::new(),
            VerifyOptions {
                pinned_only: true,
                ..VerifyOptions::default()
            },
        );
        assert_eq!(pinned_only.len(), 1);
        assert_eq!(pinned_only[0].0, Code::TagPerLaunch);
        let pinned = format!("api:1.4@{}", d('a'));
        assert!(verify(&[td(off, &pinned)], &[], Vec::new()).is_empty());
        for on in [r#", "versionConsistency": "enabled""#, ""] {
            let found = verify(&[td(on, "api:1.4")], &[], Vec::new());
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].0, Code::Unpinned);
        }
    }

    fn ecs(image: &str, arch: &str) -> ScannedFile {
        file(
            "td.json",
            &format!(
                r#"{{"family": "api", "runtimePlatform": {{"cpuArchitecture": "{arch}"}},
                "containerDefinitions": [{{"name": "app", "image": "{image}"}}]}}"#
            ),
        )
    }

    #[test]
    fn a_pin_to_one_child_of_the_tags_index_is_a_warning_not_drift() {
        let files = [file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx:1.27@{}\n", d('a')),
        )];
        let tags = [("docker.io/library/nginx:1.27", 'f')];
        let key = format!("docker.io/library/nginx@{}", d('f'));
        let wanted = platform_wanted(
            &files,
            [],
            &verify_wanted(&files)
                .0
                .iter()
                .map(|r| (digest_key(r).unwrap(), Ok(true)))
                .collect(),
            &tags
                .iter()
                .map(|(k, c)| {
                    let digest = Digest::parse(&d(*c)).unwrap();
                    (k.to_string(), Ok(Resolved { digest }))
                })
                .collect(),
        );
        assert_eq!(wanted.len(), 1, "the index the tag points at is read");
        assert_eq!(digest_key(&wanted[0].0).unwrap(), key);
        let got = verify(
            &files,
            &tags,
            vec![(key, index(&[('a', "linux/amd64"), ('b', "linux/arm64")]))],
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].0, got[0].1),
            (Code::PlatformChild, Severity::Warning)
        );
        assert!(
            got[0]
                .2
                .contains("linux/amd64 manifest of the multi-arch index"),
            "{}",
            got[0].2
        );
        assert!(got[0].2.contains(&d('f')));

        // The tag's index no longer lists the pin: that is drift.
        let key = format!("docker.io/library/nginx@{}", d('f'));
        let got = verify(&files, &tags, vec![(key, index(&[('e', "linux/amd64")]))]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Code::TagMoved);
    }

    /// Regression: `verify --platform linux/arm64` resolved tags to their
    /// arm64 child, so every pin to the index read as a moved tag (a failure
    /// with --strict); and a pin to the child a file asks for was warned
    /// about as the "one platform's child" mistake.
    #[test]
    fn a_child_pin_asked_for_by_platform_or_by_the_file_is_no_warning() {
        let files = [file(
            "compose.yaml",
            &format!(
                "services:
  web:
    image: nginx:1.27@{}
",
                d('b')
            ),
        )];
        let tags = [("docker.io/library/nginx:1.27", 'f')];
        let key = format!("docker.io/library/nginx@{}", d('f'));
        let both = || index(&[('a', "linux/amd64"), ('b', "linux/arm64/v8")]);
        let arm64 = VerifyOptions {
            platform: platform("linux/arm64"),
            ..VerifyOptions::default()
        };
        assert!(verify_with(&files, &tags, vec![(key.clone(), both())], arm64).is_empty());
        let amd64 = VerifyOptions {
            platform: platform("linux/amd64"),
            ..VerifyOptions::default()
        };
        let got = verify_with(&files, &tags, vec![(key.clone(), both())], amd64);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, Code::PlatformChild);
        // An ARM64 task definition pinned to the arm64 child: as it should be.
        let td = [ecs(&format!("nginx:1.27@{}", d('b')), "ARM64")];
        let own = format!("docker.io/library/nginx@{}", d('b'));
        let facts = vec![(key.clone(), both()), (own.clone(), image(None))];
        assert!(verify(&td, &tags, facts).is_empty());
        // An X86_64 one pinned to it: the mismatch and the child warning.
        let td = [ecs(&format!("nginx:1.27@{}", d('b')), "X86_64")];
        let facts = vec![(key, both()), (own, image(None))];
        let codes: Vec<Code> = verify(&td, &tags, facts).iter().map(|g| g.0).collect();
        assert_eq!(codes, [Code::PlatformChild, Code::PlatformMismatch]);
    }

    #[test]
    fn a_declared_architecture_must_be_served() {
        let api = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api";
        let pinned = format!("{api}:1.4@{}", d('a'));
        let key = format!("{api}@{}", d('a'));
        // amd64-only image under an ARM64 task definition.
        let files = [ecs(&pinned, "ARM64")];
        let got = verify(&files, &[], vec![(key.clone(), image(Some("linux/amd64")))]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].0, got[0].1),
            (Code::PlatformMismatch, Severity::Problem)
        );
        assert!(got[0].2.contains("runtimePlatform.cpuArchitecture ARM64 needs arm64, but the pinned manifest serves only linux/amd64"), "{}", got[0].2);
        // An index that includes it; an image of that architecture.
        let both = index(&[('x', "linux/amd64"), ('y', "linux/arm64")]);
        assert!(verify(&files, &[], vec![(key.clone(), both)]).is_empty());
        assert!(verify(&files, &[], vec![(key.clone(), image(Some("linux/arm64")))]).is_empty());
        // X86_64 is amd64.
        let files = [ecs(&pinned, "X86_64")];
        assert!(verify(&files, &[], vec![(key.clone(), image(Some("linux/amd64")))]).is_empty());
        // Unknown platform (ECR image manifest): a note, not a pass or a failure.
        let got = verify(&files, &[], vec![(key, image(None))]);
        assert_eq!(
            (got[0].0, got[0].1),
            (Code::PlatformUnchecked, Severity::Note)
        );
    }

    #[test]
    fn a_child_pin_takes_its_platform_from_the_index_and_every_allowed_arch_is_needed() {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n          - matchExpressions:\n              - {{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}}\n  containers:\n    - name: p\n      image: redis:7@{}\n",
            d('a')
        );
        let files = [file("pod.yaml", &yaml)];
        let tags = [("docker.io/library/redis:7", 'f')];
        let facts = vec![
            (format!("docker.io/library/redis@{}", d('a')), image(None)),
            (
                format!("docker.io/library/redis@{}", d('f')),
                index(&[('a', "linux/amd64"), ('b', "linux/arm64")]),
            ),
        ];
        let got = verify(&files, &tags, facts);
        let codes: Vec<Code> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            codes,
            [Code::PlatformChild, Code::PlatformMismatch],
            "{got:?}"
        );
        assert!(
            got[1]
                .2
                .contains("needs arm64, but the pinned manifest serves only linux/amd64"),
            "{}",
            got[1].2
        );
    }

    #[test]
    fn platform_checks_read_only_what_they_need() {
        // No declared platform, no moved tag: nothing to read.
        let files = [file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx:1.27@{}\n", d('a')),
        )];
        let existence: Existence = [(format!("docker.io/library/nginx@{}", d('a')), Ok(true))]
            .into_iter()
            .collect();
        assert!(platform_wanted(&files, uses(&files), &existence, &Resolutions::new()).is_empty());
        // A declared platform on a missing digest: nothing to read either.
        let files = [ecs(&format!("nginx:1.27@{}", d('a')), "ARM64")];
        let missing: Existence = [(format!("docker.io/library/nginx@{}", d('a')), Ok(false))]
            .into_iter()
            .collect();
        assert!(platform_wanted(&files, uses(&files), &missing, &Resolutions::new()).is_empty());
        let wanted = platform_wanted(&files, uses(&files), &existence, &Resolutions::new());
        assert_eq!(wanted.len(), 1);
        assert!(wanted[0].1, "the image config is read for its platform");
    }

    /// The child of a pinned index each platform in use needs: asked for
    /// once (`children_wanted`), and judged by what the registry said.
    #[test]
    fn a_needed_child_of_a_pinned_index_must_be_pullable() {
        use crate::resolve::{ErrorKind, ResolveError};
        let pinned = ImageRef::parse(&format!("reg.example/shop/api@{}", d('f'))).unwrap();
        let key = digest_key(&pinned).unwrap();
        let child_key = |c: char| digest_key_at(&pinned, &d(c));
        let arm = crate::locate::task_platform(Some("ARM64"), None, false).unwrap();
        let facts: Facts = [(
            key.clone(),
            Ok(index(&[
                ('a', "linux/amd64"),
                ('b', "linux/arm64/v8"),
                ('e', "unknown/unknown"),
            ])),
        )]
        .into_iter()
        .collect();
        let mut existence: Existence = [(key.clone(), Ok(true))].into_iter().collect();
        // Only the arm64 child is wanted (not amd64, not the attestation).
        let wanted = children_wanted([(&pinned, &arm)], &existence, &facts);
        assert_eq!(
            wanted.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            [child_key('b')]
        );
        let check = |existence: &Existence| {
            platform_findings("api", &pinned, &arm, None, existence, &facts)
                .into_iter()
                .map(|(code, severity, message)| {
                    (
                        code,
                        severity,
                        message.split(": pulls").next().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        };
        existence.insert(child_key('b'), Ok(true));
        assert_eq!(check(&existence), []);
        // Asked already: not asked again.
        assert!(children_wanted([(&pinned, &arm)], &existence, &facts).is_empty());
        existence.insert(child_key('b'), Ok(false));
        assert_eq!(
            check(&existence),
            [(
                Code::PlatformChildMissing,
                Severity::Problem,
                format!("api: runtimePlatform.cpuArchitecture ARM64 needs linux/arm64/v8, and the pinned index lists manifest {} for it, which is gone from the registry", d('b'))
            )]
        );
        existence.insert(
            child_key('b'),
            Err(ResolveError::new(ErrorKind::Archived, "it is ARCHIVED")),
        );
        assert_eq!(check(&existence)[0].0, Code::PlatformChildMissing);
        assert!(check(&existence)[0]
            .2
            .ends_with("which cannot be pulled: it is ARCHIVED"));
        existence.insert(
            child_key('b'),
            Err(ResolveError::new(ErrorKind::Network, "connection refused")),
        );
        assert_eq!(check(&existence)[0].0, Code::PlatformUnchecked);
        assert_eq!(check(&existence)[0].1, Severity::Warning);
        // A pin to an image manifest has no children to need.
        let image_facts: Facts = [(key.clone(), Ok(image(Some("linux/arm64"))))]
            .into_iter()
            .collect();
        assert!(children_wanted([(&pinned, &arm)], &existence, &image_facts).is_empty());
    }
}
