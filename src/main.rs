//! The `imgpin` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[allow(clippy::print_stderr)] // the one place that reports a fatal error
fn main() -> ExitCode {
    let cli = imgpin::cli::Cli::parse();
    match imgpin::run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) if imgpin::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("imgpin: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
