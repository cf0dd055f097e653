//! The self-describing commands: `imgpin formats` (the table of formats
//! `locate::formats` keeps), `imgpin completions SHELL` and `imgpin man`
//! (both generated from the clap definitions).

use std::io::Write;

use crate::cli::FormatsArgs;
use crate::locate::formats;
use crate::report::Status;

/// Write the table, Markdown or JSON, to `out`.
pub fn run(args: &FormatsArgs, out: &mut impl Write) -> anyhow::Result<Status> {
    if args.json {
        serde_json::to_writer_pretty(&mut *out, formats::FORMATS)?;
        writeln!(out)?;
    } else {
        out.write_all(formats::markdown().as_bytes())?;
    }
    Ok(Status::Clean)
}

/// Write the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> anyhow::Result<Status> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    // clap_complete panics on a failed write (`| head`): write it ourselves.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "imgpin", &mut script);
    out.write_all(&script)?;
    Ok(Status::Clean)
}

/// Write the man page (roff).
pub fn man(out: &mut impl Write) -> anyhow::Result<Status> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command).render(out)?;
    Ok(Status::Clean)
}
