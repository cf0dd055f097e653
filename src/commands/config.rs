//! `imgpin config`: the effective settings of a run and where each came
//! from (the settings file's line, the command line, or the default).

use crate::cli::{ConfigArgs, DEFAULT_JOBS};
use crate::config::Config;
use crate::report::Status;
use std::io::Write;

/// Print the settings `args` (the command line, not yet merged) and `config` make.
pub fn run(args: &ConfigArgs, config: &Config, out: &mut dyn Write) -> anyhow::Result<Status> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let file = |line: Option<usize>| config.source(line).unwrap_or_default();
    let mut list =
        |key: &str, flag: &str, from_file: &[String], line: Option<usize>, cli: &[String]| {
            let before = rows.len();
            for v in from_file {
                rows.push((key.into(), v.clone(), file(line)));
            }
            for v in cli {
                rows.push((key.into(), v.clone(), format!("command line ({flag})")));
            }
            if rows.len() == before {
                rows.push((key.into(), "-".into(), "default (none)".into()));
            }
        };
    let shown = |paths: &[std::path::PathBuf]| -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    let w = &args.walk;
    let r = &args.registry;
    list(
        "exclude",
        "--exclude",
        &config.exclude.value,
        config.exclude.line,
        &w.exclude,
    );
    list(
        "include",
        "--include",
        &config.include.value,
        config.include.line,
        &w.include,
    );
    list(
        "ignore",
        "--ignore",
        &config.ignore.value,
        config.ignore.line,
        &w.ignore,
    );
    list(
        "helm-values",
        "--helm-values",
        &shown(&config.helm_values.value),
        config.helm_values.line,
        &shown(&w.helm_values),
    );
    list(
        "insecure-registries",
        "--insecure-registry",
        &config.insecure_registries.value,
        config.insecure_registries.line,
        &r.insecure_registry,
    );
    list(
        "ca-files",
        "--ca-file",
        &shown(&config.ca_files.value),
        config.ca_files.line,
        &shown(&r.ca_file),
    );
    let platform = match (&r.platform, &config.platform.value) {
        (Some(p), _) => (p.to_string(), "command line (--platform)".to_string()),
        (None, Some(p)) => (p.to_string(), file(config.platform.line)),
        (None, None) => ("-".into(), "default (what the tag serves)".into()),
    };
    rows.push(("platform".into(), platform.0, platform.1));
    let jobs = match (r.jobs, config.jobs.value) {
        (Some(j), _) => (j.to_string(), "command line (--jobs)".to_string()),
        (None, Some(j)) => (j.to_string(), file(config.jobs.line)),
        (None, None) => (DEFAULT_JOBS.to_string(), "default".into()),
    };
    rows.push(("jobs".into(), jobs.0, jobs.1));
    for (host, s) in &config.registries.value {
        let mut parts = Vec::new();
        if let Some(m) = &s.mirror {
            parts.push(format!("mirror {m}"));
        }
        if let Some(rate) = s.rate {
            parts.push(format!("at most {rate} requests/s"));
        }
        if let Some(j) = s.jobs {
            parts.push(format!("at most {j} at once"));
        }
        let what = if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(", ")
        };
        let line = config
            .registry_lines
            .get(host)
            .copied()
            .or(config.registries.line);
        rows.push((format!("registries.{host}"), what, file(line)));
    }
    match &config.path {
        Some(path) => writeln!(out, "settings file: {}", path.display())?,
        None => writeln!(
            out,
            "settings file: none ({} not found in the working directory or a parent)",
            crate::config::FILE_NAME
        )?,
    }
    let key_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut last = String::new();
    for (key, value, source) in rows {
        let key = if key == last { String::new() } else { key };
        if !key.is_empty() {
            last.clone_from(&key);
        }
        let pad = value_width.saturating_sub(value.chars().count());
        writeln!(
            out,
            "{key:key_width$}  {value}{}  {source}",
            " ".repeat(pad)
        )?;
    }
    out.flush()?;
    Ok(Status::Clean)
}
