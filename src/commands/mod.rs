//! One module per subcommand, gluing scan → resolve → plan → edit → report.

pub mod check;
pub mod ecs;
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

/// The summary line for text output.
pub(crate) fn summary_line(s: &Summary, tail: &str) -> String {
    format!(
        "{} files scanned, {} with images: {} references, {} pinned, {} already pinned, {} unpinned, {} skipped, {} failed{tail}",
        s.files_scanned,
        s.files_with_images,
        s.references,
        s.pinned,
        s.already_pinned,
        s.unpinned,
        s.skipped,
        s.failed
    )
}
