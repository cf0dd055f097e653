//! `.imgpin.toml`, the project's settings: found by walking up from the
//! working directory (or named with `--config`), read strictly (an unknown
//! key or a wrong type is an error at its `path:line:col`), merged under
//! the command line (flags win; lists add up), and shown with where each
//! setting came from (`imgpin config`).
//!
//! ```toml
//! exclude = ["vendor/**", "testdata/**"]
//! include = ["*.yaml.tmpl"]          # read these names too
//! ignore = ["localhost:5000/**"]     # references left alone
//! platform = "linux/arm64"
//! jobs = 16
//! insecure-registries = ["registry.lan:5000"]
//! ca-files = ["certs/internal-ca.pem"]   # relative to this file
//! helm-values = ["charts/web/values-prod.yaml"]
//!
//! [registries."docker.io"]
//! mirror = "mirror.lan:5000"         # ask this pull-through cache instead
//! rate = 20                          # at most 20 requests a second
//! jobs = 8                           # at most 8 at once
//! ```

use crate::media::Platform;
use crate::resolve::RegistrySettings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name looked for in the working directory and its parents.
pub const FILE_NAME: &str = ".imgpin.toml";

/// A settings file that could not be used: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// 1-based line of the offending key or value.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, in TOML's or imgpin's words.
    pub message: String,
}

/// The settings a file holds, with the line each came from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// `exclude`: globs left out, as `--exclude`.
    pub exclude: Setting<Vec<String>>,
    /// `include`: globs of file names read although imgpin would not pick them.
    pub include: Setting<Vec<String>>,
    /// `ignore`: reference patterns left alone, as an `imgpin: ignore` comment does.
    pub ignore: Setting<Vec<String>>,
    /// `platform`: as `--platform`.
    pub platform: Setting<Option<Platform>>,
    /// `jobs`: as `--jobs`.
    pub jobs: Setting<Option<usize>>,
    /// `insecure-registries`: as `--insecure-registry`.
    pub insecure_registries: Setting<Vec<String>>,
    /// `ca-files`: as `--ca-file`, relative to the file's directory.
    pub ca_files: Setting<Vec<PathBuf>>,
    /// `helm-values`: as `--helm-values`, relative to the file's directory.
    pub helm_values: Setting<Vec<PathBuf>>,
    /// `[registries."host"]`: mirror, rate and concurrency per registry.
    pub registries: Setting<BTreeMap<String, RegistrySettings>>,
    /// The line of each `[registries."host"]` table.
    pub registry_lines: BTreeMap<String, usize>,
}

/// One setting's value and the line of the file that set it (`None`: not set).
#[derive(Debug, Clone, Default)]
pub struct Setting<T> {
    /// The value (empty or `None` when the file does not set it).
    pub value: T,
    /// The 1-based line of its key in the file.
    pub line: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    exclude: Option<toml::Spanned<Vec<String>>>,
    include: Option<toml::Spanned<Vec<String>>>,
    ignore: Option<toml::Spanned<Vec<String>>>,
    platform: Option<toml::Spanned<String>>,
    jobs: Option<toml::Spanned<usize>>,
    insecure_registries: Option<toml::Spanned<Vec<String>>>,
    ca_files: Option<toml::Spanned<Vec<PathBuf>>>,
    helm_values: Option<toml::Spanned<Vec<PathBuf>>>,
    registries: Option<toml::Spanned<BTreeMap<String, toml::Spanned<RawRegistry>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    mirror: Option<String>,
    rate: Option<f64>,
    jobs: Option<usize>,
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Config {
    /// The settings file for this run: `explicit` when given (it must
    /// exist), else the first `.imgpin.toml` in `cwd` or a parent; no file
    /// is no settings.
    pub fn find(explicit: Option<&Path>, cwd: &Path) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            return Config::read(path);
        }
        for dir in cwd.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Config::read(&candidate);
            }
        }
        Ok(Config::default())
    }

    /// Read and check one settings file.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message: format!("cannot read the settings file: {e}"),
        })?;
        let mut config = Config::parse(&text, path)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parse settings `text` read from `path` (paths in it are relative to its directory).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError {
                path: path.display().to_string(),
                line,
                column,
                message,
            }
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            // serde's words for types, in TOML's.
            let message = e
                .message()
                .trim()
                .replace("expected usize", "expected a whole number")
                .replace("expected f64", "expected a number")
                .replace("expected a sequence", "expected an array");
            at(offset, message)
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let line = |span: std::ops::Range<usize>| Some(line_col(text, span.start).0);
        let list = |v: Option<toml::Spanned<Vec<String>>>| match v {
            Some(s) => Setting {
                line: line(s.span()),
                value: s.into_inner(),
            },
            None => Setting::default(),
        };
        let paths = |v: Option<toml::Spanned<Vec<PathBuf>>>| match v {
            Some(s) => Setting {
                line: line(s.span()),
                value: s.into_inner().into_iter().map(|p| base.join(p)).collect(),
            },
            None => Setting::default(),
        };
        let mut config = Config {
            exclude: list(raw.exclude),
            include: list(raw.include),
            ignore: list(raw.ignore),
            insecure_registries: list(raw.insecure_registries),
            ca_files: paths(raw.ca_files),
            helm_values: paths(raw.helm_values),
            ..Config::default()
        };
        for (key, globs) in [("include", &config.include), ("ignore", &config.ignore)] {
            for glob in &globs.value {
                if let Err(e) = globset::Glob::new(glob) {
                    return Err(ConfigError {
                        path: path.display().to_string(),
                        line: globs.line.unwrap_or(1),
                        column: 1,
                        message: format!("{key}: invalid glob {glob:?}: {e}"),
                    });
                }
            }
        }
        if let Some(p) = raw.platform {
            let span = p.span();
            let platform = p
                .into_inner()
                .parse::<Platform>()
                .map_err(|e| at(span.start, format!("platform: {e}")))?;
            config.platform = Setting {
                value: Some(platform),
                line: line(span),
            };
        }
        if let Some(j) = raw.jobs {
            let span = j.span();
            let jobs = j.into_inner();
            if jobs == 0 {
                return Err(at(span.start, "jobs: must be at least 1".into()));
            }
            config.jobs = Setting {
                value: Some(jobs),
                line: line(span),
            };
        }
        if let Some(registries) = raw.registries {
            let span = registries.span();
            let mut out = BTreeMap::new();
            for (host, settings) in registries.into_inner() {
                let at_host = settings.span().start;
                config
                    .registry_lines
                    .insert(host.clone(), line_col(text, at_host).0);
                let s = settings.into_inner();
                if let Some(rate) = s.rate {
                    if !(rate.is_finite() && rate > 0.0) {
                        return Err(at(
                            at_host,
                            format!("registries.{host:?}.rate: requests per second must be above 0, not {rate}"),
                        ));
                    }
                }
                if s.jobs == Some(0) {
                    return Err(at(
                        at_host,
                        format!("registries.{host:?}.jobs: must be at least 1"),
                    ));
                }
                if let Some(mirror) = &s.mirror {
                    if mirror.is_empty() || mirror.contains('/') {
                        return Err(at(
                            at_host,
                            format!("registries.{host:?}.mirror: a registry host[:port], not {mirror:?}"),
                        ));
                    }
                }
                out.insert(
                    host,
                    RegistrySettings {
                        mirror: s.mirror,
                        rate: s.rate,
                        jobs: s.jobs,
                    },
                );
            }
            config.registries = Setting {
                value: out,
                line: line(span),
            };
        }
        Ok(config)
    }

    /// Where a setting came from, for `imgpin config`: `.imgpin.toml:3`.
    pub fn source(&self, line: Option<usize>) -> Option<String> {
        Some(format!("{}:{}", self.path.as_ref()?.display(), line?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("repo/.imgpin.toml"))
    }

    #[test]
    fn every_key_is_read_with_its_line() {
        let c = parse(
            "# settings\nexclude = [\"vendor/**\"]\nplatform = \"linux/arm64\"\njobs = 8\n\
             ca-files = [\"ca.pem\"]\nhelm-values = [\"charts/v.yaml\"]\nignore = [\"localhost:5000/**\"]\n\
             include = [\"*.tmpl\"]\ninsecure-registries = [\"lan:5000\"]\n\
             [registries.\"docker.io\"]\nmirror = \"mirror.lan:5000\"\nrate = 20\njobs = 4\n",
        )
        .unwrap();
        assert_eq!(c.exclude.value, ["vendor/**"]);
        assert_eq!(c.exclude.line, Some(2));
        assert_eq!(
            c.platform.value.as_ref().unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(c.jobs.value, Some(8));
        assert_eq!(c.jobs.line, Some(4));
        assert_eq!(c.ca_files.value, [PathBuf::from("repo/ca.pem")]);
        assert_eq!(c.helm_values.value, [PathBuf::from("repo/charts/v.yaml")]);
        let hub = &c.registries.value["docker.io"];
        assert_eq!(hub.mirror.as_deref(), Some("mirror.lan:5000"));
        assert_eq!(hub.rate, Some(20.0));
        assert_eq!(hub.jobs, Some(4));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_at_their_line() {
        let e = parse("jobs = 4\nexlude = [\"x\"]\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(
            e.to_string()
                .starts_with("repo/.imgpin.toml:2:1: unknown field `exlude`"),
            "{e}"
        );
        let e = parse("\n\njobs = \"many\"\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.ends_with("expected a whole number"), "{e}");
        let e = parse("exclude = \"vendor\"\n").unwrap_err();
        assert!(e.message.ends_with("expected an array"), "{e}");
        let e = parse("platform = \"arm64\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("repo/.imgpin.toml:1:12: platform:"),
            "{e}"
        );
        let e = parse("[registries.\"ghcr.io\"]\nrate = -1\n").unwrap_err();
        assert!(e.message.contains("above 0"), "{e}");
        let e = parse("[registries.\"ghcr.io\"]\nmirrors = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("ignore = [\"a[\"]\n").unwrap_err();
        assert!(e.message.contains("invalid glob"), "{e}");
        assert!(parse("jobs = 0\n").is_err());
    }

    #[test]
    fn found_by_walking_up_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "jobs = 3\n").unwrap();
        let c = Config::find(None, &sub).unwrap();
        assert_eq!(c.jobs.value, Some(3));
        assert_eq!(
            c.path.as_deref(),
            Some(dir.path().join(FILE_NAME).as_path())
        );
        assert_eq!(
            c.source(c.jobs.line).unwrap(),
            format!("{}:1", dir.path().join(FILE_NAME).display())
        );
        assert!(Config::find(Some(&dir.path().join("missing.toml")), &sub).is_err());
        let none = Config::find(None, Path::new("/")).unwrap();
        assert!(none.path.is_none() || none.path == Some(PathBuf::from("/.imgpin.toml")));
    }
}
