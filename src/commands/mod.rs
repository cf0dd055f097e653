//! One thin module per subcommand: read the arguments, call the library
//! (scan → resolve → plan → edit, or in_use → lifecycle), hand results to
//! report. Domain rules live in the library, not here.

pub mod check;
pub mod config;
pub mod ecs;
pub mod formats;
pub mod in_use;
pub mod lifecycle;
pub mod pin;
pub mod verify;

use crate::cli::RegistryArgs;
use crate::report::{Printer, Summary};
use crate::resolve::{credentials::CredentialStore, Router};

/// The registry router for `args`: docker credentials as docker finds them
/// (said with `-v`), the AWS chain (or `--aws-profile`) for ECR.
pub(crate) fn router(args: &RegistryArgs, printer: &mut Printer) -> anyhow::Result<Router> {
    let store = CredentialStore::from_env()?;
    if let Some(path) = store.config_path() {
        printer.info(&format!("docker credentials from {}", path.display()))?;
    }
    Ok(Router::new(
        &args.options(),
        store,
        args.aws_profile.clone(),
    )?)
}

/// A text table: the header and one line per row, columns aligned by
/// character count, the last column unpadded, trailing spaces trimmed.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |fields: Vec<&str>| {
        let mut text = String::new();
        for (i, (f, w)) in fields.iter().zip(&widths).enumerate() {
            if i + 1 == fields.len() {
                text.push_str(f);
            } else {
                text.push_str(&format!("{f:<w$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// `1 file`, `2 files`, `3 repositories`: a count and its noun, plural when needed.
pub(crate) fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// The summary line for text output.
pub(crate) fn summary_line(s: &Summary, tail: &str) -> String {
    format!(
        "{} scanned, {} with images: {}, {} pinned, {} already pinned, {} unpinned, {} skipped{}, {} failed{tail}{}",
        count(s.files_scanned, "file"),
        s.files_with_images,
        count(s.references, "reference"),
        s.pinned,
        s.already_pinned,
        s.unpinned,
        s.skipped,
        skipped_on_purpose(s),
        s.failed,
        files_failed(s)
    )
}

/// ` (N built here, M ignored)`: what of the skipped Compose services build
/// and what `imgpin: ignore` comments leave alone, when any.
fn skipped_on_purpose(s: &Summary) -> String {
    let parts: Vec<String> = [(s.built, "built here"), (s.ignored, "ignored")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// `; N files failed` (not read, not parsed or not written), when any did.
pub(crate) fn files_failed(s: &Summary) -> String {
    if s.files_failed == 0 {
        String::new()
    } else {
        format!(
            "; {} failed (not read, not parsed or not written)",
            count(s.files_failed, "file")
        )
    }
}
