//! Walking the tree and reading each candidate file.
//!
//! Paths default to `.`; directories recurse with `.gitignore`/`.ignore`
//! respected (also outside a git checkout), `.git` never entered, `--exclude`
//! globs applied to files and whole directories, symbolic links inside a
//! directory not followed (with a note; a link named on the command line is
//! read), imgpin's own temporary files set aside (never scanned), and files
//! over the size limit passed over with a note. Each file
//! read is handed to [`crate::locate`], and each image value it finds is
//! parsed into an [`ImageRef`]. Files are read and located on all cores;
//! the result keeps the walk's order.

use crate::locate::{self, Format, LineCursor, Occurrence, SkipReason};
use crate::reference::{ImageRef, RefError};
use crate::report::{Code, Finding, Severity};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};

/// Files larger than this are passed over unless `--max-file-size` says otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// What to walk and what to leave out.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Files and directories to scan; empty means `.`.
    pub paths: Vec<PathBuf>,
    /// Globs of paths to leave out (matched against the path as displayed and each of its parents).
    pub exclude: Vec<String>,
    /// Files larger than this many bytes are passed over with a note.
    pub max_file_size: u64,
    /// Files to read as Helm chart values wherever they are (`values*.yaml`
    /// beside a `Chart.yaml` are read so without being named).
    pub helm_values: Vec<PathBuf>,
    /// Treat references with an `imgpin: ignore` comment, or matching an
    /// `ignore` pattern, like any other (`--no-ignore`, to audit them).
    pub no_ignore: bool,
    /// Globs of file names (or paths) read although imgpin does not pick
    /// such names itself (`include` in `.imgpin.toml`, `--include`).
    pub include: Vec<String>,
    /// Reference patterns left alone (`ignore`, `--ignore`): `*` matches
    /// any characters, tried on the reference as written and on its
    /// normalised `domain/repository[:tag][@digest]`.
    pub ignore: Vec<String>,
    /// The run writes nothing (`check`, `verify`, `lifecycle`): the bytes
    /// of a located file are dropped without a fingerprint.
    pub read_only: bool,
}

impl Default for WalkOptions {
    /// `.`, nothing excluded or included, the default size limit, ignore comments honoured.
    fn default() -> WalkOptions {
        WalkOptions {
            paths: Vec::new(),
            exclude: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            helm_values: Vec::new(),
            no_ignore: false,
            include: Vec::new(),
            ignore: Vec::new(),
            read_only: false,
        }
    }
}

/// Which references a scan leaves alone, on purpose.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    /// Honour `imgpin: ignore` comments.
    pub comments: bool,
    /// Reference patterns, and their text (in the set's order).
    pub patterns: GlobSet,
    /// The patterns as written, to say which one matched.
    pub texts: Vec<String>,
}

impl IgnoreRules {
    /// The rules of `options` (none with `--no-ignore`).
    fn of(options: &WalkOptions) -> Result<IgnoreRules, ExcludeError> {
        if options.no_ignore {
            return Ok(IgnoreRules::default());
        }
        let mut set = globset::GlobSetBuilder::new();
        for pattern in &options.ignore {
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(false)
                .build()
                .map_err(|source| ExcludeError {
                    what: "ignore pattern",
                    glob: pattern.clone(),
                    source,
                })?;
            set.add(glob);
        }
        Ok(IgnoreRules {
            comments: true,
            texts: options.ignore.clone(),
            patterns: set.build().map_err(|source| ExcludeError {
                what: "ignore pattern",
                glob: options.ignore.join(", "),
                source,
            })?,
        })
    }

    /// The first `ignore` pattern that matches `written` or its parsed form.
    fn matching(&self, written: &str, parsed: Option<&ImageRef>) -> Option<SkipReason> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut hits = self.patterns.matches(written);
        if let (true, Some(r)) = (hits.is_empty(), parsed) {
            let mut full = r.canonical_name();
            if let Some(tag) = r.tag() {
                full.push(':');
                full.push_str(tag);
            }
            if let Some(digest) = r.digest() {
                full.push('@');
                full.push_str(digest.as_str());
            }
            hits = self.patterns.matches(&full);
        }
        let first = *hits.first()?;
        Some(SkipReason::IgnoredBy(
            self.texts.get(first).cloned().unwrap_or_default(),
        ))
    }
}

/// What an image value turned out to be.
#[derive(Debug, Clone)]
pub enum Value {
    /// A literal reference that follows the grammar.
    Reference(ImageRef),
    /// A literal value that does not follow the grammar.
    Invalid(RefError),
    /// Not a literal reference (template, empty, …): never rewritten.
    Skipped(SkipReason),
}

/// One image value in a file, with its place.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where the locator found it.
    pub occurrence: Occurrence,
    /// What it is.
    pub value: Value,
    /// 1-based line and column of the value's first character.
    pub line_col: (usize, usize),
}

/// A deploy file with the image values in it, and its bytes or their
/// fingerprint.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    /// The path as given or walked (used for messages and writing).
    pub path: PathBuf,
    /// The bytes as read; [`scan`] lets them go once the file is located
    /// (memory follows the largest file, not the tree), and
    /// [`ScannedFile::content`] reads them again.
    pub bytes: Vec<u8>,
    /// What is kept of the bytes once they were let go.
    pub fingerprint: Kept,
    /// The format the locator recognised.
    pub format: Format,
    /// Image values in file order.
    pub items: Vec<Item>,
}

/// What a scanned file keeps of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Kept {
    /// The bytes themselves (`bytes`).
    #[default]
    Bytes,
    /// Their sha256 and length: [`ScannedFile::content`] reads them again
    /// and refuses bytes that changed.
    Fingerprint(crate::digest::Digest, usize),
    /// Nothing: the run writes nothing (`check`, `verify`, `lifecycle`),
    /// so the bytes are not hashed either.
    Nothing,
}

/// What [`ScannedFile::from_located`] keeps of the bytes (see [`Kept`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The bytes.
    Bytes,
    /// Their sha256 and length; the bytes are let go before the items are built.
    Fingerprint,
    /// Nothing (a run that writes nothing).
    Nothing,
}

impl Kept {
    /// What `keep` keeps of `bytes`: the one place a fingerprint is taken.
    fn of(bytes: &[u8], keep: Keep) -> Kept {
        match keep {
            Keep::Bytes => Kept::Bytes,
            Keep::Fingerprint => {
                Kept::Fingerprint(crate::digest::Digest::sha256_of(bytes), bytes.len())
            }
            Keep::Nothing => Kept::Nothing,
        }
    }
}

/// The outcome of a walk.
#[derive(Debug, Default)]
pub struct Scan {
    /// Recognised deploy files.
    pub files: Vec<ScannedFile>,
    /// Files looked at (recognised or not).
    pub files_scanned: usize,
    /// Files that could not be read or parsed (each has an error finding).
    pub files_failed: usize,
    /// `.imgpin-XXXXXX.tmp` files met on the way (never scanned), with
    /// their modification times: what an interrupted `pin --write` left.
    pub temp_files: Vec<(PathBuf, std::time::SystemTime)>,
    /// When the scan began: temporary files older than this are stale.
    pub started: Option<std::time::SystemTime>,
    /// Problems met on the way: unreadable or malformed files, files passed over.
    pub findings: Vec<Finding>,
}

/// Bad `--exclude` glob.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} {glob:?}: {source}")]
pub struct ExcludeError {
    what: &'static str,
    glob: String,
    source: globset::Error,
}

/// What [`scan_each`] hands over, in walk order.
pub enum Scanned {
    /// A finding about a path or a file (not found, not read, not parsed, a note).
    Finding(Finding),
    /// A located file.
    File(ScannedFile),
}

/// Files are read this many at a time (on all cores) by [`scan_each`]:
/// memory follows a batch, not the tree.
const BATCH: usize = 512;

/// Walk `options.paths` and locate image values in every candidate file.
pub fn scan(options: &WalkOptions) -> Result<Scan, ExcludeError> {
    let mut found = Vec::new();
    let mut findings = Vec::new();
    let mut scan = scan_each(options, &mut |item| match item {
        Scanned::Finding(f) => findings.push(f),
        Scanned::File(file) => found.push(file),
    })?;
    scan.findings = findings;
    scan.files = found;
    Ok(scan)
}

/// [`scan`], handing each finding and located file to `take` as soon as
/// its batch is read (in walk order), so a run that does not need every
/// file at once (`check`) holds one batch. The returned [`Scan`] has the
/// counts and temporary files, no files or findings.
pub fn scan_each(
    options: &WalkOptions,
    take: &mut dyn FnMut(Scanned),
) -> Result<Scan, ExcludeError> {
    let exclude = exclude_set(&options.exclude)?;
    let rules = ReadRules {
        read_only: options.read_only,
        include: glob_set(&options.include, "--include glob")?,
        ignore: IgnoreRules::of(options)?,
        max_size: options.max_file_size,
    };
    let mut scan = Scan {
        started: Some(std::time::SystemTime::now()),
        ..Scan::default()
    };
    let mut roots: Vec<PathBuf> = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    // Files named with --helm-values are read even outside the paths.
    roots.extend(options.helm_values.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    // Files to read, in walk order.
    let mut queue: Vec<(PathBuf, Option<locate::Format>)> = Vec::new();
    let helm_named: Vec<PathBuf> = options
        .helm_values
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    for root in &roots {
        if !root.exists() {
            scan.findings.push(
                Finding::new(
                    Code::PathNotFound,
                    Severity::Error,
                    "no such file or directory",
                )
                .in_file(root),
            );
            continue;
        }
        if root.is_file() && !rules.reads(root) && !excluded(&exclude, root) {
            scan.findings.push(
                Finding::new(
                    Code::FileSkipped,
                    Severity::Note,
                    "not read: imgpin reads .json, .yaml/.yml, .tf and Dockerfile/Containerfile names",
                )
                .in_file(root),
            );
        }
        for path in walk(root, &exclude, &mut scan.findings) {
            if is_temp_file(&path) {
                if let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) {
                    scan.temp_files.push((path, modified));
                }
                continue;
            }
            // One root yields each file once; only overlapping roots (or a
            // --helm-values file, which is a root too) need the canonical
            // path, a readlink per component, to tell a file seen twice.
            let key = if roots.len() > 1 {
                std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone())
            } else {
                path.clone()
            };
            let format = helm_values(&path, &key, &helm_named);
            if seen.insert(key) {
                queue.push((path, format));
            }
        }
    }
    for finding in std::mem::take(&mut scan.findings) {
        take(Scanned::Finding(finding));
    }
    // The next batch is read while this one is handed over (`take` plans
    // and prints on this thread): two batches in memory at most.
    let workers = workers();
    std::thread::scope(|threads| {
        let rules = &rules;
        let mut batches = queue
            .chunks(BATCH)
            .map(|batch| move || read_all(batch, rules, workers));
        let mut pending = batches.next().map(|read| threads.spawn(read));
        while let Some(reading) = pending {
            let parts = reading
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            pending = batches.next().map(|read| threads.spawn(read));
            for part in parts {
                scan.files_scanned += part.files_scanned;
                scan.files_failed += part.files_failed;
                for finding in part.findings {
                    take(Scanned::Finding(finding));
                }
                for file in part.files {
                    take(Scanned::File(file));
                }
            }
        }
    });
    Ok(scan)
}

/// Threads that read files: one per core (asked once: the answer costs a
/// dozen reads of cgroup files).
fn workers() -> usize {
    static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORKERS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Reads and locates every queued file on all cores; the results keep the
/// queue's order (the walk's), so output does not depend on timing.
fn read_all(
    queue: &[(PathBuf, Option<locate::Format>)],
    rules: &ReadRules,
    workers: usize,
) -> Vec<Scan> {
    // Each reader keeps one buffer for the files it reads (see `REUSED`).
    let read = |(path, format): &(PathBuf, Option<locate::Format>), buffer: &mut Vec<u8>| {
        let mut part = Scan::default();
        read_one(path, *format, rules, &mut part, buffer);
        let_go_if_large(buffer);
        part
    };
    let workers = workers.min(queue.len()).max(1);
    if workers == 1 {
        let mut buffer = Vec::new();
        return queue.iter().map(|q| read(q, &mut buffer)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Scan)> = std::thread::scope(|threads| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                threads.spawn(|| {
                    let (mut mine, mut buffer) = (Vec::new(), Vec::new());
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(queued) = queue.get(i) else {
                            return mine;
                        };
                        mine.push((i, read(queued, &mut buffer)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, part)| part).collect()
}

/// Why `bytes` cannot be read as a UTF-8 text file, if they cannot: a
/// UTF-16 or UTF-32 byte-order mark (editing would have to keep the
/// encoding), or NUL bytes (binary content).
fn not_text(bytes: &[u8]) -> Option<String> {
    let encoding = match bytes {
        [0xFF, 0xFE, 0, 0, ..] => Some("UTF-32LE"),
        [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32BE"),
        [0xFF, 0xFE, ..] => Some("UTF-16LE"),
        [0xFE, 0xFF, ..] => Some("UTF-16BE"),
        _ => None,
    };
    if let Some(encoding) = encoding {
        return Some(format!(
            "encoded as {encoding} (byte-order mark); imgpin reads UTF-8 files (convert it: iconv -f {encoding} -t UTF-8)"
        ));
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    head.contains(&0).then(|| {
        "contains NUL bytes: a binary file, or text in an encoding other than UTF-8".to_string()
    })
}

/// A temporary file of [`crate::edit::write_atomic`]: `.imgpin-` and six
/// letters or digits, then `.tmp`.
pub fn is_temp_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.strip_prefix(".imgpin-")
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|middle| {
            middle.len() == 6 && middle.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

fn exclude_set(globs: &[String]) -> Result<GlobSet, ExcludeError> {
    glob_set(globs, "--exclude glob")
}

/// Path globs (`--exclude`, `--include`), matched as [`excluded`] does.
fn glob_set(globs: &[String], what: &'static str) -> Result<GlobSet, ExcludeError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let trimmed = glob.trim_start_matches("./").trim_end_matches('/');
        let compiled = Glob::new(trimmed).map_err(|source| ExcludeError {
            what,
            glob: glob.clone(),
            source,
        })?;
        builder.add(compiled);
    }
    builder.build().map_err(|source| ExcludeError {
        what,
        glob: globs.join(", "),
        source,
    })
}

fn excluded(set: &GlobSet, path: &Path) -> bool {
    if set.is_empty() {
        return false;
    }
    let shown = path.strip_prefix(".").unwrap_or(path);
    set.is_match(shown) || shown.file_name().is_some_and(|name| set.is_match(name))
}

fn walk(root: &Path, exclude: &GlobSet, findings: &mut Vec<Finding>) -> Vec<PathBuf> {
    if root.is_file() {
        // An explicit file is read whatever its ignore status, but --exclude still applies.
        return if excluded(exclude, root) {
            Vec::new()
        } else {
            vec![root.to_path_buf()]
        };
    }
    let exclude_dirs = exclude.clone();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    // Directories are read on every core (a 10,000-directory tree is
    // mostly path lookups and ignore-file probes); the paths are sorted
    // afterwards, component by component, which is the order a walk with
    // siblings sorted by name visits them in.
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .threads(workers)
        .filter_entry(move |entry| {
            entry.file_name() != ".git" && !excluded(&exclude_dirs, entry.path())
        })
        .build_parallel();
    enum Seen {
        File(PathBuf),
        Link(PathBuf),
        Error(String),
    }
    let seen = std::sync::Mutex::new(Vec::new());
    walker.run(|| {
        let seen = &seen;
        Box::new(move |entry| {
            let item = match entry {
                Ok(entry)
                    if entry.file_type().is_some_and(|t| t.is_symlink()) && entry.depth() > 0 =>
                {
                    Seen::Link(entry.into_path())
                }
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    Seen::File(entry.into_path())
                }
                Ok(_) => return ignore::WalkState::Continue,
                Err(err) => Seen::Error(err.to_string()),
            };
            if let Ok(mut seen) = seen.lock() {
                seen.push(item);
            }
            ignore::WalkState::Continue
        })
    });
    let mut seen = seen.into_inner().unwrap_or_default();
    // Paths in order, then the errors (by their words).
    seen.sort_unstable_by(|a, b| match (a, b) {
        (Seen::File(a) | Seen::Link(a), Seen::File(b) | Seen::Link(b)) => path_order(a, b),
        (Seen::Error(a), Seen::Error(b)) => a.cmp(b),
        (Seen::Error(_), _) => std::cmp::Ordering::Greater,
        (_, Seen::Error(_)) => std::cmp::Ordering::Less,
    });
    let mut files = Vec::new();
    for item in seen {
        match item {
            Seen::Link(path) => findings.push(
                Finding::new(
                    Code::FileSkipped,
                    Severity::Note,
                    "symbolic link: not followed inside a directory (name it on the command line to read it)",
                )
                .in_file(path),
            ),
            Seen::File(path) => {
                // `./k8s/web.yaml` is shown as `k8s/web.yaml`.
                let shown = match path.strip_prefix(".") {
                    Ok(rest) if root == Path::new(".") => rest.to_path_buf(),
                    _ => path,
                };
                files.push(shown);
            }
            Seen::Error(err) => findings.push(Finding::new(
                Code::ReadError,
                Severity::Error,
                format!("cannot walk: {err}"),
            )),
        }
    }
    files
}

/// [`locate::Format::HelmValues`] for a file named with `--helm-values`
/// (`canonical` is its resolved path) or a `values*.yaml` beside a
/// `Chart.yaml`.
fn helm_values(path: &Path, canonical: &Path, named: &[PathBuf]) -> Option<locate::Format> {
    let beside_chart = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(locate::is_values_name)
        && path.with_file_name("Chart.yaml").is_file();
    (beside_chart || named.iter().any(|n| n == canonical)).then_some(locate::Format::HelmValues)
}

/// What a scan reads beyond imgpin's own names, what it leaves alone, and
/// the size limit.
struct ReadRules {
    /// The run writes nothing: bytes are dropped, not fingerprinted.
    read_only: bool,
    include: GlobSet,
    ignore: IgnoreRules,
    max_size: u64,
}

impl ReadRules {
    /// Whether `path` is read: a name imgpin knows, or an `include` match.
    fn reads(&self, path: &Path) -> bool {
        locate::is_candidate_name(path) || self.included(path)
    }

    fn included(&self, path: &Path) -> bool {
        !self.include.is_empty() && excluded(&self.include, path)
    }
}

/// Read the `len` bytes fstat reported (one `read` for a file that size,
/// where `read_to_end` also asks for the size again, seeks, and reads once
/// more to see the end); a file that reports no size (procfs) is read to its end.
/// Bytes appended after the fstat are not read: a run that writes checks
/// the file against what it read before writing.
fn read_len(file: &mut std::fs::File, len: u64, bytes: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    let Ok(len) = usize::try_from(len) else {
        return Err(std::io::Error::other("file too large"));
    };
    if len == 0 {
        return file.read_to_end(bytes).map(|_| ());
    }
    bytes.resize(len, 0);
    let mut filled = 0;
    while filled < len {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(())
}

/// A read buffer up to this size is kept for the reader's next file (a
/// malloc of each file's size cost more than its `read`); a larger one is
/// let go, so memory still follows the file being read.
const REUSED: usize = 256 * 1024;

/// Let a read buffer go when it is past [`REUSED`].
fn let_go_if_large(buffer: &mut Vec<u8>) {
    if buffer.capacity() > REUSED {
        *buffer = Vec::new();
    }
}

fn read_one(
    path: &Path,
    format: Option<locate::Format>,
    rules: &ReadRules,
    scan: &mut Scan,
    bytes: &mut Vec<u8>,
) {
    scan.files_scanned += 1;
    let known = locate::is_candidate_name(path);
    if !known && !rules.included(path) {
        return;
    }
    let max_size = rules.max_size;
    let error = |code, message: String| Finding::new(code, Severity::Error, message).in_file(path);
    // One open and one fstat per file (a path lookup each costs more than
    // reading a small file).
    let opened = std::fs::File::open(path).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    });
    let (mut file, len) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            scan.files_failed += 1;
            scan.findings
                .push(error(Code::ReadError, format!("cannot read: {err}")));
            return;
        }
    };
    if len > max_size {
        scan.findings.push(
            Finding::new(
                Code::FileSkipped,
                Severity::Note,
                format!(
                    "file is {len} bytes, over the {max_size}-byte limit (--max-file-size); not scanned"
                ),
            )
            .in_file(path),
        );
        return;
    }
    bytes.clear();
    if let Err(err) = read_len(&mut file, len, bytes) {
        scan.files_failed += 1;
        scan.findings
            .push(error(Code::ReadError, format!("cannot read: {err}")));
        return;
    }
    drop(file);
    if let Some(why) = not_text(bytes) {
        scan.findings.push(
            Finding::new(
                Code::FileSkipped,
                Severity::Warning,
                format!("{why}; not scanned"),
            )
            .in_file(path),
        );
        return;
    }
    let located = if known {
        locate::locate_as(path, bytes, format)
    } else {
        locate::locate_included(path, bytes, format)
    };
    let keep = if rules.read_only {
        Keep::Nothing
    } else {
        Keep::Fingerprint
    };
    match ScannedFile::from_located(path, bytes, located, &rules.ignore, keep) {
        Ok(None) => {}
        Ok(Some((file, note))) => {
            if let Some(note) = note {
                scan.findings
                    .push(Finding::new(Code::FileSkipped, Severity::Note, note).in_file(path));
            }
            scan.files.push(file);
        }
        Err(finding) => {
            scan.files_failed += 1;
            scan.findings.push(*finding);
        }
    }
}

impl ScannedFile {
    /// The file without its bytes: only their fingerprint is kept, for
    /// [`ScannedFile::content`] to check against when they are read again.
    pub fn released(mut self) -> ScannedFile {
        let bytes = std::mem::take(&mut self.bytes);
        self.fingerprint = Kept::of(&bytes, Keep::Fingerprint);
        self
    }

    /// The bytes the file was located in: kept ones, or read again from
    /// disk and checked against their fingerprint, so edits planned
    /// against them are never spliced into other bytes.
    pub fn content(&self) -> Result<std::borrow::Cow<'_, [u8]>, crate::edit::WriteError> {
        let (hash, len) = match &self.fingerprint {
            Kept::Bytes => return Ok(std::borrow::Cow::Borrowed(&self.bytes)),
            Kept::Fingerprint(hash, len) => (hash, len),
            // Not kept on purpose (a read-only run); reading again could
            // splice into bytes that changed since.
            Kept::Nothing => {
                return Err(crate::edit::WriteError::Changed {
                    path: self.path.clone(),
                })
            }
        };
        let bytes = std::fs::read(&self.path).map_err(|source| crate::edit::WriteError::Io {
            path: self.path.clone(),
            source,
        })?;
        if bytes.len() != *len || crate::digest::Digest::sha256_of(&bytes) != *hash {
            return Err(crate::edit::WriteError::Changed {
                path: self.path.clone(),
            });
        }
        Ok(std::borrow::Cow::Owned(bytes))
    }

    /// Locates and parses the image references in `bytes`, read from
    /// `path`: `None` for a file without a recognised format, the file and
    /// its file-level note otherwise, or the parse error as a finding at
    /// its `path:line:col`.
    pub fn from_bytes(
        path: &Path,
        bytes: Vec<u8>,
    ) -> Result<Option<(ScannedFile, Option<String>)>, Box<Finding>> {
        let rules = IgnoreRules {
            comments: true,
            ..IgnoreRules::default()
        };
        let located = locate::locate_as(path, &bytes, None);
        Self::from_located(path, &mut { bytes }, located, &rules, Keep::Bytes)
    }

    /// [`ScannedFile::from_bytes`] for what a locator found in `bytes`
    /// (the caller chose the format and the locator), with references left
    /// alone as `ignore` says.
    /// `bytes` are taken when kept; otherwise they are left in place for
    /// the caller's next file (a buffer past `REUSED`, 256 KiB, is let go).
    pub fn from_located(
        path: &Path,
        bytes: &mut Vec<u8>,
        located: Result<Option<locate::Located>, locate::LocateError>,
        ignore: &IgnoreRules,
        keep: Keep,
    ) -> Result<Option<(ScannedFile, Option<String>)>, Box<Finding>> {
        let located = match located {
            Ok(Some(located)) => located,
            Ok(None) => return Ok(None),
            Err(err) => {
                let at = LineCursor::new().line_col(bytes, err.offset);
                return Err(Box::new(
                    Finding::new(Code::ParseError, Severity::Error, err.message)
                        .in_file(path)
                        .at(at),
                ));
            }
        };
        // Where each occurrence is shown and whether a comment ignores it:
        // the only questions asked of the bytes, answered in one pass, so a
        // file that does not keep its bytes lets them go before the items
        // are built (they never stand beside the items: 8 MB of a stream of
        // 20,000 Deployments beside 13 MB of items).
        let mut lines = LineCursor::new();
        let mut places: Vec<(bool, (usize, usize))> = located
            .occurrences
            .iter()
            .map(|occurrence| {
                let shown = occurrence.shown_at.unwrap_or(occurrence.span.start);
                let commented = ignore.comments
                    && occurrence.skip.is_none()
                    && locate::is_ignored(bytes, shown, occurrence.span.end);
                (commented, lines.line_col(bytes, shown))
            })
            .collect();
        let fingerprint = Kept::of(bytes, keep);
        let bytes = if keep == Keep::Bytes {
            std::mem::take(bytes)
        } else {
            let_go_if_large(bytes);
            Vec::new()
        };
        // Items are built from the occurrences, which are let go as they are
        // used (taken from the end of the reversed list, the list shrunk
        // every few thousand): the two lists never stand side by side in
        // full (4.5 MB of occurrences beside 7.4 MB of items for a stream
        // of 20,000 Deployments).
        let mut occurrences = located.occurrences;
        occurrences.reverse();
        places.reverse();
        let mut items = Vec::with_capacity(occurrences.len());
        while let (Some(occurrence), Some((commented, line_col))) =
            (occurrences.pop(), places.pop())
        {
            if occurrences.len() % 4096 == 0 {
                occurrences.shrink_to_fit();
            }
            let value = match &occurrence.skip {
                _ if commented => Value::Skipped(SkipReason::Ignored),
                Some(reason) => Value::Skipped(reason.clone()),
                None => {
                    let parsed = ImageRef::parse(&occurrence.text);
                    match ignore.matching(&occurrence.text, parsed.as_ref().ok()) {
                        Some(reason) => Value::Skipped(reason),
                        None => match parsed {
                            Ok(r) => Value::Reference(r),
                            Err(e) => Value::Invalid(e),
                        },
                    }
                }
            };
            items.push(Item {
                occurrence,
                value,
                line_col,
            });
        }
        let file = ScannedFile {
            path: path.to_path_buf(),
            bytes,
            fingerprint,
            format: located.format,
            items,
        };
        Ok(Some((file, located.note)))
    }
}

/// The order `Path::cmp` gives (component by component) for the walker's
/// paths, at a fraction of its cost: their bytes compared with separators
/// lowest. The same order, because those paths share their root's spelling
/// and are otherwise normalised (one separator between names, none at the
/// end), and a name holds no byte lower than a separator's 0.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    fn low(b: &u8) -> u8 {
        if std::path::is_separator(char::from(*b)) {
            0
        } else {
            *b
        }
    }
    a.as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(low)
        .cmp(b.as_os_str().as_encoded_bytes().iter().map(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_matches_dirs_and_basenames() {
        let set =
            exclude_set(&["vendor".into(), "*.json".into(), "./deploy/old/**".into()]).unwrap();
        assert!(excluded(&set, Path::new("./vendor")));
        assert!(excluded(&set, Path::new("a/b/c.json")));
        assert!(excluded(&set, Path::new("deploy/old/x.yaml")));
        assert!(!excluded(&set, Path::new("deploy/new/x.yaml")));
    }

    #[test]
    fn a_released_file_is_read_again_only_if_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        let text = b"services:\n  a:\n    image: nginx:1.27\n".to_vec();
        std::fs::write(&path, &text).unwrap();
        let (file, _) = ScannedFile::from_bytes(&path, text.clone())
            .unwrap()
            .unwrap();
        assert_eq!(
            file.content().unwrap().as_ref(),
            text.as_slice(),
            "kept bytes"
        );
        let file = file.released();
        assert!(file.bytes.is_empty());
        assert_eq!(
            file.content().unwrap().as_ref(),
            text.as_slice(),
            "read again"
        );
        // Same length, other bytes: refused, as a changed file.
        std::fs::write(&path, b"services:\n  a:\n    image: nginx:1.28\n").unwrap();
        let err = file.content().unwrap_err();
        assert!(
            matches!(err, crate::edit::WriteError::Changed { .. }),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(file.content().is_err());
    }

    #[test]
    fn utf16_utf32_and_binary_files_get_a_reason() {
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("{\"image\":1}".bytes().flat_map(|b| [b, 0]))
            .collect();
        assert!(not_text(&utf16).unwrap().starts_with("encoded as UTF-16LE"));
        assert!(not_text(&[0xFF, 0xFE, 0, 0, b'{', 0, 0, 0])
            .unwrap()
            .starts_with("encoded as UTF-32LE"));
        assert!(not_text(&[0xFE, 0xFF, 0, b'{'])
            .unwrap()
            .starts_with("encoded as UTF-16BE"));
        assert!(not_text(b"image: a\0b").unwrap().contains("NUL bytes"));
        assert_eq!(not_text("\u{feff}image: nginx # café\n".as_bytes()), None);
    }

    #[test]
    fn temp_files_are_recognised_by_their_exact_pattern() {
        assert!(is_temp_file(Path::new("k8s/.imgpin-a1B2c3.tmp")));
        for other in [
            ".imgpin-a1B2c.tmp",
            ".imgpin-a1B2c3.tmp.bak",
            "imgpin-a1B2c3.tmp",
            ".imgpin-a1-2c3.tmp",
            ".imgpin-a1B2c3.yaml",
        ] {
            assert!(!is_temp_file(Path::new(other)), "{other}");
        }
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(exclude_set(&["a[".into()]).is_err());
    }

    #[test]
    fn an_explicit_file_imgpin_does_not_read_gets_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "image: nginx:1.27\n").unwrap();
        let compose = dir.path().join("compose.yaml");
        std::fs::write(&compose, "services:\n  web:\n    image: nginx:1.27\n").unwrap();
        let scan = scan(&WalkOptions {
            paths: vec![notes.clone(), compose],
            ..WalkOptions::default()
        })
        .unwrap();
        assert_eq!(scan.files.len(), 1);
        assert_eq!(scan.findings.len(), 1, "{:?}", scan.findings);
        assert_eq!(scan.findings[0].code, Code::FileSkipped);
        assert_eq!(scan.findings[0].file.as_deref(), Some(notes.as_path()));
        assert!(scan.findings[0].message.starts_with("not read:"));
    }

    #[test]
    fn include_reads_other_names_and_ignore_patterns_leave_references_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("web.yaml.tmpl"),
            "services:\n  web:\n    image: nginx:1.27\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("build.df"),
            "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  a:\n    image: localhost:5000/tools/x:1\n  b:\n    image: redis:7\n",
        )
        .unwrap();
        let options = WalkOptions {
            paths: vec![dir.path().to_path_buf()],
            include: vec!["*.tmpl".into(), "*.df".into()],
            ignore: vec![
                "localhost:5000/**".into(),
                "docker.io/library/redis:*".into(),
            ],
            ..WalkOptions::default()
        };
        let found = scan(&options).unwrap();
        let values: Vec<String> = found
            .files
            .iter()
            .flat_map(|f| f.items.iter())
            .map(|i| match &i.value {
                Value::Reference(r) => format!("ref {r}"),
                Value::Skipped(why) => format!("skip {why}"),
                Value::Invalid(_) => "invalid".into(),
            })
            .collect();
        assert!(values.contains(&"ref nginx:1.27".to_string()), "{values:?}");
        assert!(
            values.contains(&"ref alpine:3.20".to_string()),
            "{values:?}"
        );
        assert!(
            values.contains(
                &"skip the ignore pattern \"localhost:5000/**\" leaves it alone".to_string()
            ),
            "{values:?}"
        );
        assert!(
            values.contains(
                &"skip the ignore pattern \"docker.io/library/redis:*\" leaves it alone"
                    .to_string()
            ),
            "{values:?}"
        );
        // --no-ignore audits them; without include the other names are not read.
        let audit = scan(&WalkOptions {
            no_ignore: true,
            include: Vec::new(),
            ..options
        })
        .unwrap();
        assert_eq!(audit.files.len(), 1);
        assert!(audit.files[0]
            .items
            .iter()
            .all(|i| matches!(i.value, Value::Reference(_))));
    }

    #[test]
    fn a_read_only_scan_keeps_neither_bytes_nor_a_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  web:\n    image: nginx:1.27\n",
        )
        .unwrap();
        let options = WalkOptions {
            paths: vec![dir.path().to_path_buf()],
            ..WalkOptions::default()
        };
        let writing = scan(&options).unwrap();
        assert!(matches!(
            writing.files[0].fingerprint,
            Kept::Fingerprint(_, 39)
        ));
        assert!(writing.files[0].content().is_ok());
        let reading = scan(&WalkOptions {
            read_only: true,
            ..options
        })
        .unwrap();
        assert_eq!(reading.files[0].fingerprint, Kept::Nothing);
        assert!(reading.files[0].bytes.is_empty());
        assert!(
            reading.files[0].content().is_err(),
            "never spliced into unchecked bytes"
        );
        assert_eq!(reading.files[0].items.len(), 1);
    }

    /// The walk reads directories in parallel and sorts afterwards: the
    /// order must be the one a sequential walk with siblings sorted by
    /// name gives (names that sort around a directory's, nested levels).
    #[test]
    fn the_parallel_walk_keeps_the_sorted_walk_order() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "a/x.yaml",
            "a/b/z.yaml",
            "a-b.yaml",
            "a.yaml",
            "a0/c.yaml",
            "B.yaml",
            "b/c/d.yaml",
            "b/c.yaml",
            "b.d/e.yaml",
            "_/f.yaml",
            "Z/g.yaml",
        ] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x: 1\n").unwrap();
        }
        let sequential: Vec<PathBuf> = ignore::WalkBuilder::new(dir.path())
            .sort_by_file_name(|a, b| a.cmp(b))
            .build()
            .flatten()
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .map(|e| e.into_path())
            .collect();
        let mut findings = Vec::new();
        let parallel = walk(dir.path(), &GlobSet::empty(), &mut findings);
        assert_eq!(parallel, sequential);
        assert_eq!(parallel.len(), 11);
        assert!(findings.is_empty());
    }

    #[test]
    fn scan_each_hands_over_files_and_findings_in_walk_order() {
        let dir = tempfile::tempdir().unwrap();
        let image = "services:\n  web:\n    image: nginx:1.27\n";
        for i in 0..(BATCH + 3) {
            std::fs::write(dir.path().join(format!("c{i:04}.yaml")), image).unwrap();
        }
        std::fs::write(dir.path().join("c0001x.yaml"), "services: [\n").unwrap();
        let options = WalkOptions {
            paths: vec![dir.path().to_path_buf()],
            ..WalkOptions::default()
        };
        let mut seen = Vec::new();
        let counts = scan_each(&options, &mut |item| {
            seen.push(match item {
                Scanned::File(f) => f.path.file_name().unwrap().to_string_lossy().into_owned(),
                Scanned::Finding(f) => format!("finding {:?}", f.code),
            })
        })
        .unwrap();
        assert_eq!(counts.files_scanned, BATCH + 4);
        assert_eq!(counts.files_failed, 1);
        assert!(counts.files.is_empty() && counts.findings.is_empty());
        // Walk order across batch boundaries, the parse error in its place.
        assert_eq!(
            seen[..3],
            ["c0000.yaml", "c0001.yaml", "finding ParseError"]
        );
        assert_eq!(seen.last().unwrap(), &format!("c{:04}.yaml", BATCH + 2));
        let whole = scan(&options).unwrap();
        assert_eq!(whole.files.len(), BATCH + 3);
        assert_eq!(whole.findings.len(), 1);
    }
}
