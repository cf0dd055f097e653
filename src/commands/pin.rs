//! `imgpin pin`: resolve every unpinned reference once and splice
//! `@sha256:…` into the files: a diff by default, `--write` to write,
//! `--check` to fail when anything would change.

use crate::cli::PinArgs;
use crate::edit::{apply, unified_diff, write_atomic};
use crate::plan::{plan_pin, wanted, PinOptions};
use crate::reference::ImageRef;
use crate::report::{Code, Finding, Printer, Severity, Status, Summary};
use crate::resolve::{digest_key, tag_key, ErrorKind, Resolutions, Resolve, ResolveError};
use crate::scan::Scan;

/// What to do with the planned edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print a diff.
    Diff,
    /// Write files in place.
    Write,
    /// Print a diff and fail if anything would change.
    Check,
}

/// Run `pin` with the real registries and return the exit status.
pub async fn run(args: &PinArgs, printer: &mut Printer) -> anyhow::Result<Status> {
    let scan = crate::scan::scan(&args.walk.options())?;
    let options = PinOptions {
        update: args.update,
        check: args.check,
    };
    let refs = wanted(&scan.files, options);
    let mut explained = Explained::new();
    let resolutions = if refs.is_empty() {
        Resolutions::new()
    } else {
        let progress = printer.progress();
        let router = super::router(&args.registry, printer)?.with_progress(progress.clone());
        printer.info(&format!("resolving {} unique references", refs.len()))?;
        progress.phase("resolving", crate::resolve::Router::unique_count(&refs));
        let mut resolved = router.resolve_all(refs).await;
        let moved = moved(&scan.files, &resolved, args.update, args.settle.is_some());
        if !moved.is_empty() {
            printer.info(&format!(
                "reading {} manifests to explain what moved",
                moved.len()
            ))?;
            explained = explain(&router, moved, &mut resolved, args.settle).await;
        }
        for note in router.notes() {
            printer.info(&note)?;
        }
        resolved
    };
    let mode = if args.write {
        Mode::Write
    } else if args.check {
        Mode::Check
    } else {
        Mode::Diff
    };
    pin_scanned(scan, &resolutions, &explained, options, mode, printer)
}

/// What each update changed, keyed by the `pinned` finding's reference
/// and replacement (the reference as written, and as re-pinned).
type Explained = std::collections::HashMap<(String, String), String>;

/// A reference whose tag points elsewhere than its pin: as written, its
/// replacement text, and the reference at the new digest (to describe).
struct Moved {
    old: ImageRef,
    replacement: String,
    new: ImageRef,
}

/// The references whose tag now points elsewhere than their pin (with
/// `update`), and with `settle` also unpinned ones, once per spelling.
fn moved(
    files: &[crate::scan::ScannedFile],
    resolutions: &Resolutions,
    update: bool,
    settle: bool,
) -> Vec<Moved> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let references = files
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|i| match &i.value {
            crate::scan::Value::Reference(r) => Some(r),
            _ => None,
        });
    for r in references {
        let wanted = if r.is_pinned() {
            update && r.tag().is_some()
        } else {
            settle
        };
        if !wanted {
            continue;
        }
        let Some(Ok(resolved)) = resolutions.get(&tag_key(r)) else {
            continue;
        };
        if r.digest() == Some(&resolved.digest) {
            continue;
        }
        let replacement = r.pinned_text(&resolved.digest);
        if !seen.insert((r.as_written().to_string(), replacement.clone())) {
            continue;
        }
        if let Ok(new) = ImageRef::parse(&replacement) {
            out.push(Moved {
                old: r.clone(),
                replacement,
                new,
            });
        }
    }
    out
}

/// Reads the old and new manifests of `moved`: explains each update, and
/// with `settle` turns the resolution of a too recent index into a
/// [`ErrorKind::Settling`] answer (the reference is left as it is).
async fn explain(
    router: &crate::resolve::Router,
    moved: Vec<Moved>,
    resolutions: &mut Resolutions,
    settle: Option<chrono::Duration>,
) -> Explained {
    let mut wanted: Vec<(ImageRef, bool)> = Vec::new();
    for m in &moved {
        if m.old.is_pinned() {
            wanted.push((m.old.clone(), false));
        }
        wanted.push((m.new.clone(), settle.is_some()));
    }
    let described = router.describe_all(wanted).await;
    let get = |r: &ImageRef| {
        digest_key(r)
            .and_then(|k| described.get(&k))
            .and_then(|d| d.as_ref().ok())
    };
    let now = chrono::Utc::now();
    let mut explained = Explained::new();
    for m in moved {
        let Some(after) = get(&m.new) else {
            continue;
        };
        if let Some(why) = settle.and_then(|s| crate::plan::update::settling(after, s, now)) {
            let waiting = Err(ResolveError::new(ErrorKind::Settling, why));
            resolutions.insert(tag_key(&m.old), waiting);
        } else if m.old.is_pinned() {
            let text = crate::plan::update::explain(get(&m.old), after);
            explained.insert((m.old.as_written().to_string(), m.replacement), text);
        }
    }
    explained
}

/// After each re-pin with an explanation, an `updated` note saying what changed.
fn add_explanations(findings: &mut Vec<Finding>, explained: &Explained) {
    if explained.is_empty() {
        return;
    }
    let mut out = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        let text = match (f.code, &f.reference, &f.replacement) {
            (Code::Pinned, Some(old), Some(new)) => explained.get(&(old.clone(), new.clone())),
            _ => None,
        };
        let note = text.map(|text| Finding {
            code: Code::Updated,
            severity: Severity::Note,
            replacement: None,
            message: format!("{} moved: {text}", f.reference.as_deref().unwrap_or("")),
            ..f.clone()
        });
        out.push(f);
        out.extend(note);
    }
    *findings = out;
}

/// Removes the `.imgpin-XXXXXX.tmp` files an interrupted `pin --write` left
/// (older than this run, so a concurrent run's are spared), each with a note.
fn remove_stale_temp_files(scan: &Scan, printer: &mut Printer) -> anyhow::Result<()> {
    let Some(started) = scan.started else {
        return Ok(());
    };
    for (path, modified) in &scan.temp_files {
        if *modified >= started {
            continue;
        }
        let finding = match std::fs::remove_file(path) {
            Ok(()) => Finding::new(
                Code::FileSkipped,
                Severity::Note,
                "removed: a temporary file left by an interrupted `imgpin pin --write`",
            ),
            Err(e) => Finding::new(
                Code::FileSkipped,
                Severity::Warning,
                format!("a temporary file left by an interrupted run could not be removed: {e}"),
            ),
        };
        printer.finding(finding.in_file(path))?;
    }
    Ok(())
}

/// How many files are planned, then written side by side, at a time.
const WRITE_BATCH: usize = 64;
/// How many writes (each fsynced) run at once.
const WRITERS: usize = 16;

/// One file planned: its plan, the bytes before and after when it changes,
/// or why it cannot be changed.
struct Prepared<'a> {
    plan: crate::plan::FilePlan,
    change: Option<(std::borrow::Cow<'a, [u8]>, Vec<u8>)>,
    failed_write: Option<String>,
}

/// Plan one file and apply its edits in memory (nothing is written here).
fn prepare<'a>(
    file: &'a crate::scan::ScannedFile,
    resolutions: &Resolutions,
    explained: &Explained,
    options: PinOptions,
) -> Prepared<'a> {
    let mut plan = plan_pin(file, resolutions, options);
    add_explanations(&mut plan.findings, explained);
    let errors = plan
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 && !plan.edits.is_empty() {
        // Never leave a file half pinned: a file with a failed reference is left as it is.
        plan.findings.push(
            Finding::new(
                Code::FileSkipped,
                Severity::Warning,
                format!("left unchanged: {errors} reference(s) in this file failed"),
            )
            .in_file(&file.path),
        );
        // Resolved but not written: they stay unpinned, so the counts add up.
        plan.summary.unpinned += plan.summary.pinned;
        plan.summary.pinned = 0;
        plan.summary.files_changed = 0;
        plan.findings
            .retain(|f| !matches!(f.code, Code::Pinned | Code::Updated));
        plan.edits.clear();
    }
    let mut prepared = Prepared {
        plan,
        change: None,
        failed_write: None,
    };
    if prepared.plan.edits.is_empty() {
        return prepared;
    }
    // The bytes again (a scan keeps only their fingerprint), unchanged since.
    match file.content() {
        Ok(original) => match apply(&original, &prepared.plan.edits) {
            Ok(new) => prepared.change = Some((original, new)),
            Err(err) => prepared.failed_write = Some(format!("cannot apply edits: {err}")),
        },
        Err(err) => prepared.failed_write = Some(err.to_string()),
    }
    prepared
}

/// Write every changed file of a batch atomically, [`WRITERS`] at a time;
/// a failed write is kept as the file's `failed_write`.
fn write_all(batch: &[crate::scan::ScannedFile], prepared: &mut [Prepared<'_>]) {
    let jobs: Vec<(usize, &std::path::Path, &[u8], &[u8])> = batch
        .iter()
        .zip(prepared.iter())
        .enumerate()
        .filter_map(|(i, (file, p))| {
            let (original, new) = p.change.as_ref()?;
            Some((i, file.path.as_path(), &original[..], &new[..]))
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|threads| {
        for _ in 0..WRITERS.min(jobs.len()) {
            threads.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((i, path, original, new)) = jobs.get(n) else {
                    break;
                };
                if let Err(err) = write_atomic(path, original, new) {
                    if let Ok(mut failures) = failures.lock() {
                        failures.push((*i, err.to_string()));
                    }
                }
            });
        }
    });
    for (i, why) in failures.into_inner().unwrap_or_default() {
        prepared[i].failed_write = Some(why);
    }
}

/// Plan, apply and report `pin` for files already scanned and resolved.
/// Offline tests drive this with a [`crate::resolve::StaticResolver`].
pub async fn run_with<R: Resolve>(
    scan: Scan,
    resolver: &R,
    options: PinOptions,
    mode: Mode,
    printer: &mut Printer,
) -> anyhow::Result<Status> {
    let resolutions = resolver.resolve_all(wanted(&scan.files, options)).await;
    pin_scanned(
        scan,
        &resolutions,
        &Explained::new(),
        options,
        mode,
        printer,
    )
}

fn pin_scanned(
    mut scan: Scan,
    resolutions: &Resolutions,
    explained: &Explained,
    options: PinOptions,
    mode: Mode,
    printer: &mut Printer,
) -> anyhow::Result<Status> {
    printer.findings(std::mem::take(&mut scan.findings))?;
    if mode == Mode::Write {
        remove_stale_temp_files(&scan, printer)?;
    }
    let mut summary = Summary {
        files_scanned: scan.files_scanned,
        files_failed: scan.files_failed,
        ..Summary::default()
    };
    let progress = printer.progress();
    let label = if mode == Mode::Write {
        "writing"
    } else {
        "planning"
    };
    progress.phase(label, scan.files.len());
    // Files are planned and written a batch at a time, the batch's writes
    // side by side: each write is fsynced, and one after another 2,000
    // fsyncs took 1.5 s on the development machine, 0.7 s 16 at a time.
    // Findings still come out in file order, after their file's write.
    for batch in scan.files.chunks(WRITE_BATCH) {
        let mut prepared: Vec<Prepared> = batch
            .iter()
            .map(|file| {
                progress.tick();
                prepare(file, resolutions, explained, options)
            })
            .collect();
        if mode == Mode::Write {
            write_all(batch, &mut prepared);
        }
        for (file, done) in batch.iter().zip(prepared) {
            let Prepared {
                mut plan,
                change,
                mut failed_write,
            } = done;
            if let (Some((original, new)), Mode::Diff | Mode::Check) = (change, mode) {
                let label = file.path.display().to_string();
                let label = label.trim_start_matches('/');
                printer.diff(file.path.clone(), unified_diff(label, &original, &new))?;
            }
            if let Some(why) = failed_write.take() {
                // Nothing of this file was pinned: its references count as failed.
                plan.findings
                    .push(Finding::new(Code::WriteError, Severity::Error, why).in_file(&file.path));
                plan.findings
                    .retain(|f| !matches!(f.code, Code::Pinned | Code::Updated));
                plan.summary.failed += plan.summary.pinned;
                plan.summary.pinned = 0;
                plan.summary.files_changed = 0;
                plan.summary.files_failed += 1;
            }
            summary += &plan.summary;
            printer.findings(plan.findings)?;
        }
    }
    // Step output `unpinned`: what is still without a digest in the files
    // once this run is over (without --write, what it would pin too).
    let left = summary.unpinned
        + if mode == Mode::Write {
            0
        } else {
            summary.pinned
        };
    printer.set_output("unpinned", left);
    let tail = match mode {
        Mode::Write => format!("; {} written", super::count(summary.files_changed, "file")),
        Mode::Diff | Mode::Check => format!(
            "; {} would change",
            super::count(summary.files_changed, "file")
        ),
    };
    printer.finish("pin", &summary, &super::summary_line(&summary, &tail))?;
    Ok(printer.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails (the file changed since it was read) is that
    /// file's failure, whichever writer met it; the others are written.
    #[test]
    fn a_failed_write_is_kept_by_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"services:\n  a:\n    image: nginx:1\n".to_vec();
        let batch: Vec<crate::scan::ScannedFile> = (0..40)
            .map(|i| {
                let path = dir.path().join(format!("f{i:02}.yaml"));
                std::fs::write(&path, &text).unwrap();
                crate::scan::ScannedFile::from_bytes(&path, text.clone())
                    .unwrap()
                    .unwrap()
                    .0
            })
            .collect();
        let mut prepared: Vec<Prepared> = batch
            .iter()
            .enumerate()
            .map(|(i, _)| {
                // File 17 is expected to hold other bytes than it does.
                let expected: &[u8] = if i == 17 { b"stale" } else { &text };
                Prepared {
                    plan: crate::plan::FilePlan::default(),
                    change: Some((
                        std::borrow::Cow::Owned(expected.to_vec()),
                        b"new\n".to_vec(),
                    )),
                    failed_write: None,
                }
            })
            .collect();
        write_all(&batch, &mut prepared);
        for (i, p) in prepared.iter().enumerate() {
            let now = std::fs::read(&batch[i].path).unwrap();
            if i == 17 {
                assert!(p.failed_write.is_some(), "file 17 failed");
                assert_eq!(now, text, "left as it was");
            } else {
                assert_eq!(p.failed_write, None, "file {i}");
                assert_eq!(now, b"new\n");
            }
        }
    }
}
