//! `imgpin formats`: prints the table of formats `locate::formats` keeps.

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
