//! Running a `docker-credential-<name> get` helper: the process with a
//! timeout and bounded output, its answer, and failure messages that never
//! quote its stdout (which may hold a secret).

use super::*;

/// Prefix of every credential helper's program name.
pub(super) const HELPER_PREFIX: &str = "docker-credential-";
/// What a helper prints on stdout when it has no entry for a server.
pub(super) const NOT_FOUND_MESSAGE: &str = "credentials not found";
/// At most this many characters of a helper's message go into an error.
pub(super) const MAX_MESSAGE_CHARS: usize = 1000;
/// At most this many bytes are read from a helper's stdout or stderr.
pub(super) const MAX_OUTPUT_BYTES: u64 = 1 << 20;

/// What a helper prints on success. `ServerURL` is not needed.
#[derive(serde::Deserialize)]
pub(super) struct HelperAnswer {
    #[serde(rename = "Username", default)]
    pub(super) username: Option<String>,
    #[serde(rename = "Secret", default)]
    pub(super) secret: Option<String>,
}

/// Whether `path` is a file this process may execute.
pub(super) fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// A finished helper's exit status and output.
pub(super) struct RawOutput {
    pub(super) status: ExitStatus,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Vec<u8>,
}

/// Why a helper run produced no output.
pub(super) enum RunError {
    Timeout,
    Io(io::Error),
}

/// Runs `program get` with `input` and a newline on stdin; kills it after
/// `timeout`. Pipes are served by threads so that no pipe fills up, and a
/// grandchild holding a pipe open cannot hang the caller.
pub(super) fn run_with_timeout(
    program: &Path,
    input: &str,
    timeout: Duration,
) -> Result<RawOutput, RunError> {
    let deadline = Instant::now() + timeout;
    let mut child = spawn_helper(program).map_err(RunError::Io)?;
    let pipes = serve_pipes(&mut child, format!("{input}\n"));
    let (stdout, stderr) = match pipes {
        Ok(pipes) => pipes,
        Err(err) => {
            kill(&mut child);
            return Err(RunError::Io(err));
        }
    };
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(err) => {
                kill(&mut child);
                return Err(RunError::Io(err));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return Err(RunError::Timeout);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    // The pipes close when the helper exits, unless a process it started
    // keeps them open; what the helper wrote is already in them.
    let until = deadline.max(Instant::now() + PIPE_QUIET);
    Ok(RawOutput {
        status,
        stdout: drain(&stdout, until),
        stderr: drain(&stderr, until),
    })
}

/// How long a pipe may stay silent, after the helper exited, before its
/// output is taken as complete.
pub(super) const PIPE_QUIET: Duration = Duration::from_millis(250);

/// Collects a pipe's chunks until it closes, stays quiet for
/// [`PIPE_QUIET`], or `until` passes.
pub(super) fn drain(chunks: &mpsc::Receiver<Vec<u8>>, until: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        match chunks.recv_timeout(left.min(PIPE_QUIET)) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => return out, // closed, or quiet
        }
    }
}

/// Starts the helper with piped stdio. Retries briefly on ETXTBSY, which a
/// helper that is being installed (or a test script another thread is still
/// writing when this one forks) can cause.
pub(super) fn spawn_helper(program: &Path) -> io::Result<Child> {
    let mut attempt: u32 = 0;
    loop {
        let spawned = Command::new(program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Err(err) if err.kind() == io::ErrorKind::ExecutableFileBusy && attempt < 20 => {
                attempt += 1;
                thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

/// Writes `input` to the child's stdin and reads its stdout and stderr, each
/// on a thread; the receivers yield the output once a pipe closes.
#[allow(clippy::type_complexity)]
pub(super) fn serve_pipes(
    child: &mut Child,
    input: String,
) -> io::Result<(mpsc::Receiver<Vec<u8>>, mpsc::Receiver<Vec<u8>>)> {
    if let Some(mut stdin) = child.stdin.take() {
        thread::Builder::new()
            .name("credential-helper-stdin".to_owned())
            .spawn(move || {
                // A helper may exit without reading its input; that is its
                // business, and its exit status tells.
                let _ = stdin.write_all(input.as_bytes());
            })?;
    }
    let stdout = read_pipe(child.stdout.take())?;
    let stderr = read_pipe(child.stderr.take())?;
    Ok((stdout, stderr))
}

/// Reads a pipe on a thread, sending each chunk as it arrives, until the
/// pipe closes or [`MAX_OUTPUT_BYTES`] have been read.
pub(super) fn read_pipe<R: Read + Send + 'static>(
    pipe: Option<R>,
) -> io::Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("credential-helper-output".to_owned())
        .spawn(move || {
            let Some(pipe) = pipe else { return };
            let mut pipe = pipe.take(MAX_OUTPUT_BYTES);
            let mut buf = [0_u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                            return; // nobody listens any more
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    Ok(rx)
}

/// Kills and reaps a child; both may fail only if it is already gone.
pub(super) fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The message for a failed helper: its stderr, or its stdout when stderr
/// is empty (helpers print errors there) unless stdout looks like a JSON
/// answer, which could hold a secret. Trimmed and shortened.
pub(super) fn failure_message(stderr: &[u8], stdout: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let stdout = String::from_utf8_lossy(stdout);
    let text = if !stderr.trim().is_empty() {
        stderr.trim()
    } else if !stdout.trim().is_empty()
        && !stdout.trim_start().starts_with('{')
        && !stdout.contains("Secret")
    {
        stdout.trim()
    } else {
        return "no error message".to_owned();
    };
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
