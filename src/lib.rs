//! imgpin pins container image references to digests, proves pinned digests
//! still exist, and warns before an ECR lifecycle policy deletes an image
//! that is still deployed.
//!
//! The data flow follows the modules: [`scan`] walks the tree and reads
//! files, [`locate`] finds image strings as byte spans (one module per
//! format), [`mod@reference`] parses them, [`resolve`] turns tags into digests
//! (each unique reference once, concurrently; ECR through [`aws`]), [`plan`]
//! decides the edits (pure), [`edit`] splices them into the original bytes and
//! writes atomically, and [`report`] renders findings and decides the exit
//! code. Beside it, [`in_use`] and [`lifecycle`] model the images in use and
//! simulate ECR lifecycle policies, and [`ecs`] reads and registers live task
//! definitions. The library never prints outside [`report`], and only
//! [`resolve`] and [`aws`] talk to the network.
//!
//! A module uses only modules before it in this order (checked by
//! `tests/it/architecture.rs`, explained in `ARCHITECTURE.md`):
//!
//! ```text
//! digest → reference → media → report → edit → locate → scan → in_use
//!        → lifecycle → aws → resolve → plan → ecs → cli → commands
//! ```
#![deny(missing_docs)]

pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod digest;
pub mod ecs;
pub mod edit;
pub mod in_use;
pub mod lifecycle;
pub mod locate;
pub mod media;
pub mod plan;
pub mod reference;
pub mod report;
pub mod resolve;
pub mod scan;

use cli::{Cli, Command};
use report::Status;

/// Run a parsed command line and return its exit status. The settings
/// file (`--config`, else the first `.imgpin.toml` up from the working
/// directory, none with `--no-config`) is merged under the command line.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    let config = if cli.no_config {
        config::Config::default()
    } else {
        let cwd = std::env::current_dir()?;
        config::Config::find(cli.config.as_deref(), &cwd)?
    };
    match cli.command {
        Command::Check(mut args) => {
            args.walk.merge(&config);
            commands::check::run(&args, &mut args.output.printer())
        }
        Command::Pin(mut args) => {
            args.walk.merge(&config);
            args.registry.merge(&config);
            runtime()?.block_on(commands::pin::run(&args, &mut args.output.printer()))
        }
        Command::Verify(mut args) => {
            args.walk.merge(&config);
            args.registry.merge(&config);
            runtime()?.block_on(commands::verify::run(&args, &mut args.output.printer()))
        }
        Command::Ecs(mut args) => {
            let cli::EcsCommand::Pin(pin) = &mut args.command else {
                return runtime()?.block_on(commands::ecs::run(&args));
            };
            pin.registry.merge(&config);
            runtime()?.block_on(commands::ecs::run(&args))
        }
        Command::Lifecycle(mut args) => {
            args.walk.merge(&config);
            if let Some(cli::LifecycleCommand::Protect(p)) = &mut args.command {
                p.walk.merge(&config);
            }
            runtime()?.block_on(commands::lifecycle::run(&args))
        }
        Command::InUse(mut args) => {
            args.walk.merge(&config);
            runtime()?.block_on(commands::in_use::run(&args))
        }
        Command::Config(args) => {
            commands::config::run(&args, &config, &mut std::io::stdout().lock())
        }
        Command::Formats(args) => commands::formats::run(&args, &mut std::io::stdout().lock()),
        Command::Completions(args) => {
            commands::formats::completions(args.shell, &mut std::io::stdout().lock())
        }
        Command::Man => commands::formats::man(&mut std::io::stdout().lock()),
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Whether an error is a closed stdout (`imgpin pin | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
